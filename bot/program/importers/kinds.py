"""Entry kinds from a source's free-text session types, and the organizer's ``--kind-map``.

A schedule's ``type`` is sometimes a kind of session ("Workshop 2h", "Lightning Talk") and
sometimes something else entirely: a slot length ("Doppelter Slot", "Normale Länge"), a booking
note. Only words that name a kind of session become kinds; any other type becomes ``other``,
and the import report lists it with the ``--kind-map`` option that would map it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.errors import ProgramError
from bot.program.importers.report import ImportReport, Where
from bot.program.model import KIND_PATTERN, KNOWN_KINDS

#: Words (and word pairs, joined by "_") that name a kind of session, and the kind they give.
SESSION_WORDS: dict[str, str] = {
    "talk": "talk",
    "talks": "talk",
    "lecture": "talk",
    "vortrag": "talk",
    "charla": "talk",
    "contributed_talk": "talk",
    "invited_talk": "talk",
    "oral": "talk",
    "spotlight": "talk",
    "keynote": "keynote",
    "plenary": "plenary",
    "workshop": "workshop",
    "workshops": "workshop",
    "hands_on": "workshop",
    "tutorial": "tutorial",
    "tutorials": "tutorial",
    "panel": "panel",
    "podium": "panel",
    "podiumsdiskussion": "panel",
    "discussion": "discussion",
    "meeting": "meeting",
    "plenum": "meeting",
    "meetup": "meetup",
    "lightning_talk": "lightning_talk",
    "lightning_talks": "lightning_talk",
    "lightning": "lightning_talk",
    "poster": "poster",
    "posters": "poster",
    "poster_session": "poster_session",
    "break": "break",
    "pause": "break",
    "lunch": "break",
    "coffee": "break",
    "opening": "opening",
    "closing": "closing",
    "performance": "performance",
    "concert": "concert",
    "djset": "concert",
    "dj_set": "concert",
    "screening": "screening",
    "movie": "screening",
    "film": "screening",
    "game": "game",
    "demo": "demo",
    "bof": "bof",
    "birds_of_a_feather": "bof",
    "hackathon": "hackathon",
    "sprint": "sprint",
    "sprints": "sprint",
    "summit": "summit",
    "reception": "social",
    "social": "social",
    "party": "social",
    "presentation": "presentation",
}

#: Types that say nothing about the session: ``other``, without a word in the report.
GENERIC_TYPES = frozenset({"other", "others", "misc", "event", "events", "session", "sonstiges"})


def _words(value: str) -> list[str]:
    # Split CamelCase so that pretalx's "LightningTalk" reads like "Lightning Talk".
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", value)
    folded = unicodedata.normalize("NFKD", spaced).encode("ascii", "ignore").decode("ascii")
    words = re.findall(r"[a-z0-9]+", folded.lower())
    # pretalx submission types often carry the slot length ("Workshop 60 Min"): the kind is
    # what comes before it.
    for index, word in enumerate(words):
        if word[0].isdigit() and index > 0:
            return words[:index]
    return words


def session_kind(value: str) -> str | None:
    """The kind a session type names ("Talk 30 min + 10min Q&A" -> ``talk``), else None.

    Pairs of words are tried before single ones, the last first: "Solder Workshop 2h" is a
    workshop, "Theatre/Dance Performance" a performance.
    """
    words = _words(value)
    slug = "_".join(words)
    if slug in SESSION_WORDS:
        return SESSION_WORDS[slug]
    if slug in KNOWN_KINDS:
        return slug
    for size in (2, 1):
        for start in range(len(words) - size, -1, -1):
            key = "_".join(words[start : start + size])
            if key in SESSION_WORDS:
                return SESSION_WORDS[key]
    return None


def _map_key(value: str) -> str:
    return " ".join(value.casefold().split())


def parse_kind_map(pairs: Sequence[tuple[str, str]], source: str) -> dict[str, str]:
    """``--kind-map TYPE=KIND`` pairs as a lookup by folded type; a bad KIND is refused."""
    mapping: dict[str, str] = {}
    for raw, kind in pairs:
        kind = kind.strip()
        if not KIND_PATTERN.match(kind):
            raise ProgramError(
                f"--kind-map {raw}={kind}: the kind must be a lowercase word such as 'talk' "
                "(letters, digits and '_')",
                source=source,
            )
        mapping[_map_key(raw)] = kind
    return mapping


@dataclass
class KindMapper:
    """Turns each event's source type into a kind, reporting the types that are not kinds."""

    report: ImportReport
    kind_map: dict[str, str] = field(default_factory=dict)
    default: str = "talk"
    _used: set[str] = field(default_factory=set)
    # The kind each type gives ("" for a generic type, None for one that names no kind).
    _found: dict[str, str | None] = field(default_factory=dict)

    def kind(
        self, value: str | None, where: Where = None, example: str = "", default: str | None = None
    ) -> str:
        text = (value or "").strip()
        key = _map_key(text)
        if key in self.kind_map:
            self._used.add(key)
            return self.kind_map[key]
        if not text:
            return self.default if default is None else default
        if text not in self._found:
            found = session_kind(text)
            generic = "_".join(_words(text)) in GENERIC_TYPES
            self._found[text] = found or ("" if generic else None)
        found = self._found[text]
        if found:
            return found
        if found is None:
            self.report.changed(
                f"events of type {text[:60]!r} shown as kind 'other' (it names no kind of "
                f"session; to map it: --kind-map '{text[:60]}=KIND')",
                example,
                where,
            )
        return "other"

    def finish(self) -> None:
        """Report the ``--kind-map`` types that no event had (a typo, most likely)."""
        for key in sorted(set(self.kind_map) - self._used):
            self.report.note(f"--kind-map {key!r} matched no event's type")
