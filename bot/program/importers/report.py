"""What an import kept, changed and dropped, and the text cleaning and ids every importer shares.

Dropping or rewriting content without a word is a defect: whatever an importer does not carry
over as it was gets a line in the :class:`ImportReport` (a count and the first few examples with
their source lines), which ``workshop-bot import`` prints after writing the program file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import islice
from zoneinfo import ZoneInfo

from bot.errors import ProgramError
from bot.program.model import slugify

#: A line number, or a function that finds it (locating a JSON path costs a scan, so only the
#: few examples a report shows are ever located).
Where = int | Callable[[], int | None] | None

#: Examples kept per report line.
EXAMPLES = 3

#: Characters no program text may hold: C0 controls except tab and newline, DEL, the C1
#: controls, and lone surrogates (JSON's "\ud800" decodes to one and cannot be written as
#: UTF-8). Carriage returns are newlines from another platform and are handled apart.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_CR = re.compile("\r\n?")
_PLAIN_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_CONTROL_NAMES = {"\x00": "NUL", "\x1b": "ESC", "\x7f": "DEL"}


@dataclass
class _Line:
    action: str  # "kept", "changed" or "dropped"
    what: str
    count: int = 0
    examples: list[tuple[Where, str]] = field(default_factory=list)


@dataclass
class ImportReport:
    """Counts and examples of what an import did to its source, for the organizer to read."""

    source: str = "<source>"
    kept: int = 0
    _lines: dict[tuple[str, str], _Line] = field(default_factory=dict)

    def _add(self, action: str, what: str, example: str, where: Where, count: int) -> None:
        line = self._lines.get((action, what))
        if line is None:
            line = self._lines[(action, what)] = _Line(action, what)
        line.count += count
        if len(line.examples) < EXAMPLES and (example or where is not None):
            line.examples.append((where, example))

    def note(self, what: str, example: str = "", where: Where = None, count: int = 1) -> None:
        """Something kept, but not as the source had it in mind (e.g. all-day events)."""
        self._add("kept", what, example, where, count)

    def changed(self, what: str, example: str = "", where: Where = None, count: int = 1) -> None:
        self._add("changed", what, example, where, count)

    def dropped(self, what: str, example: str = "", where: Where = None, count: int = 1) -> None:
        self._add("dropped", what, example, where, count)

    def count(self, action: str, what: str) -> int:
        """How many times ``what`` was reported under ``action`` (0 when never)."""
        line = self._lines.get((action, what))
        return 0 if line is None else line.count

    def items(self) -> list[tuple[str, str, int, list[tuple[int | None, str]]]]:
        """(action, what, count, [(line, example), ...]) in the order first reported."""
        out = []
        for line in self._lines.values():
            examples = [(_resolve(where), example) for where, example in line.examples]
            out.append((line.action, line.what, line.count, examples))
        return out

    def headline(self) -> str:
        return f"kept {self.kept} entries"

    def render(self) -> list[str]:
        """The report as short lines: what was kept, then each change and drop with examples."""
        lines = [self.headline()]
        order = {"kept": 0, "changed": 1, "dropped": 2}
        items = sorted(self.items(), key=lambda i: order.get(i[0], 1))
        for action, what, count, examples in items:
            shown = []
            for line, example in examples:
                text = _shorten(example)
                if line is not None:
                    shown.append(f"line {line} {text}" if text else f"line {line}")
                elif text:
                    shown.append(text)
            more = count - len(shown)
            tail = f"; {', '.join(shown)}" if shown else ""
            if shown and more > 0:
                tail += f" and {more} more"
            lines.append(f"  {action}: {count} × {what}{tail}")
        return lines


def _resolve(where: Where) -> int | None:
    return where() if callable(where) else where


def _shorten(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    if not text:
        return ""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"{text!r}"


def prepare_text(text: str, source: str, report: ImportReport) -> str:
    """The source text without a byte-order mark or control characters; refuses an empty file.

    Every importer starts here, so NUL bytes and the like never reach a program file (where
    they would pass validation and then fail in the database).
    """
    if text.startswith("\ufeff"):
        text = text[1:]
        report.changed("byte-order mark at the start of the file removed", where=1)
    if not text or text.isspace():
        raise ProgramError("the file is empty", source=source, line=1)
    if _CONTROL.search(text) is None:
        return text
    for match in islice(_CONTROL.finditer(text), EXAMPLES):
        line = text.count("\n", 0, match.start()) + 1
        report.changed(_CONTROL_WHAT, _control_name(match.group()), line, count=0)
    found = _CONTROL.findall(text)
    report.changed(_CONTROL_WHAT, count=len(found))
    return _without_controls(text, found)


#: C0 controls (tab, newline and carriage return aside) and DEL: single bytes in UTF-8, never
#: part of another character.
_C0_AND_DEL = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_CHUNK = 1 << 20


def _without_controls(text: str, found: list[str]) -> str:
    """``_CONTROL.sub("", text)``; for a big text whose controls are all C0 or DEL, by way of
    UTF-8. A text with one emoji in it is four bytes a character, and ``re.sub`` holds its
    pieces and their join besides the text (+160 MB for a 20 MB export); its UTF-8 is about
    a quarter of that, and deleting bytes is one pass in C."""
    if len(text) <= _CHUNK or any(char >= "\x80" for char in found):
        return _CONTROL.sub("", text)
    raw = b"".join(
        text[at : at + _CHUNK].encode("utf-8", "surrogatepass")
        for at in range(0, len(text), _CHUNK)
    )
    return raw.translate(None, _C0_AND_DEL).decode("utf-8", "surrogatepass")


_CONTROL_WHAT = "control characters (such as NUL) removed"


def _control_name(char: str) -> str:
    return _CONTROL_NAMES.get(char, f"U+{ord(char):04X}")


def clean_value(value: str, report: ImportReport, where: Where = None) -> str:
    """A decoded string without control characters (JSON's "\\u0000"), newlines as ``\\n``."""
    if "\r" in value:
        value = _CR.sub("\n", value)
    if _CONTROL.search(value) is None:
        return value
    found = _CONTROL.findall(value)
    report.changed(_CONTROL_WHAT, _control_name(found[0]), where, count=len(found))
    return _CONTROL.sub("", value)


def last_day(starts: list[datetime], zone: ZoneInfo, first: date) -> date | None:
    """The workshop's ``end_date``: the last venue day an entry starts on, when after ``first``."""
    last = max(start.astimezone(zone).date() for start in starts)
    return last if last > first else None


def make_id(prefix: str, key: str, suffix: str = "", limit: int = 100) -> str:
    """A program id from what identifies an event: ``prefix`` + slug of ``key`` + ``suffix``.

    Two keys whose slugs would be cut to the same prefix stay apart: a too long slug is cut
    and ends with a short hash of the whole key.
    """
    room = limit - len(prefix) - len(suffix)
    slug = key if _PLAIN_SLUG.fullmatch(key) else slugify(key, 10_000)
    if len(slug) > room:
        digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]
        slug = slug[: room - len(digest) - 1].rstrip("-") + "-" + digest
    return f"{prefix}{slug}{suffix}"


def occurrence_suffix(moment: datetime) -> str:
    """``-20191227t1510z``: the UTC start that tells a repeated event's occurrences apart."""
    return "-" + moment.astimezone(UTC).strftime("%Y%m%dt%H%Mz")


@dataclass(frozen=True)
class IdKey:
    """What identifies one event: its source key (guid, id, UID), when it happens, and a
    tie-breaker (e.g. title and room) for two events that share both."""

    key: str
    occurrence: datetime
    tie: str = ""


def assign_ids(prefix: str, keys: list[IdKey]) -> list[str | None]:
    """Unique ids that depend on what each event is, never on the order of the file.

    A key used once gives ``prefix`` + its slug; a key several events share adds each one's
    UTC start (so removing one of them leaves the others' ids alone), and then a hash of the
    tie-breaker. An event equal to another in all three is a copy: its id is None.
    """
    groups: dict[str, list[int]] = {}
    for index, key in enumerate(keys):
        groups.setdefault(key.key, []).append(index)
    ids: list[str | None] = [None] * len(keys)
    for key_text, members in groups.items():
        if len(members) == 1:
            ids[members[0]] = make_id(prefix, key_text)
            continue
        by_time: dict[datetime, list[int]] = {}
        for index in members:
            by_time.setdefault(keys[index].occurrence, []).append(index)
        for moment, same in by_time.items():
            suffix = occurrence_suffix(moment)
            if len(same) == 1:
                ids[same[0]] = make_id(prefix, key_text, suffix)
                continue
            seen: set[str] = set()
            for index in same:
                tie = keys[index].tie
                if tie in seen:
                    continue  # a copy: left None
                seen.add(tie)
                digest = hashlib.sha1(tie.encode("utf-8")).hexdigest()[:6]
                ids[index] = make_id(prefix, key_text, f"{suffix}-{digest}")
    # Different keys can still slug alike ("A B" and "a-b"): those get a hash of their key.
    owners: dict[str, set[str]] = {}
    for index, entry_id in enumerate(ids):
        if entry_id is not None:
            owners.setdefault(entry_id, set()).add(keys[index].key)
    for index, entry_id in enumerate(ids):
        if entry_id is not None and len(owners[entry_id]) > 1:
            digest = hashlib.sha1(keys[index].key.encode("utf-8")).hexdigest()[:8]
            ids[index] = entry_id[: 100 - len(digest) - 1] + "-" + digest
    return ids
