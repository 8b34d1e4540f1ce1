"""The program's schema: a workshop and its entries, each held as exact instants."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from rapidfuzz.distance import OSA

#: Kinds the bot knows how to label and treat specially. Importers map onto these where they
#: can; other slugs are allowed and shown with a generated label.
KNOWN_KINDS: dict[str, str] = {
    "opening": "Opening",
    "keynote": "Keynote",
    "talk": "Talk",
    "presentation": "Presentation",
    "poster_session": "Poster session",
    "poster": "Poster",
    "panel": "Panel",
    "break": "Break",
    "workshop": "Workshop",
    "closing": "Closing",
    "other": "Other",
}

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
#: Control characters (Unicode Cc, tab and newline aside) and lone surrogates: invisible,
#: unstorable (PostgreSQL refuses NUL, UTF-8 refuses surrogates) or able to garble a message.
CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def is_session_kind(kind: str) -> bool:
    """Kinds that hold other entries (``poster_session``, ``session``, ``demo_session``…)."""
    return kind == "session" or kind.endswith("_session")


def control_character_problem(text: str) -> str | None:
    """Why ``text`` cannot be program text (it holds a control character), or None."""
    found = CONTROL_CHARACTER.search(text)
    if found is None:
        return None
    char = found.group()
    name = unicodedata.name(char, "") or _CONTROL_NAMES.get(char, "control character")
    return (
        f"contains the control character U+{ord(char):04X} ({name}) at character "
        f"{found.start() + 1}: remove it"
    )


_CONTROL_NAMES = {"\x00": "NUL", "\x1b": "ESC", "\x7f": "DEL", "\r": "carriage return"}


def kind_label(kind: str) -> str:
    """Human label of an entry kind (``poster_session`` -> ``Poster session``)."""
    return KNOWN_KINDS.get(kind) or kind.replace("_", " ").capitalize()


_KIND_WORD = re.compile(r"[a-z0-9]+")


@lru_cache(maxsize=4096)
def kind_key(text: str) -> str:
    """A kind however it is written, comparable: its id, its label, a plural, any case or accent.

    ``"Poster sessions"``, ``"poster_session"`` and ``"Poster-Session"`` -> ``"postersession"``.
    """
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(_singular(word) for word in _KIND_WORD.findall(folded.lower()))


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def kind_distance(a: str, b: str) -> int | None:
    """Edits between two kinds' keys (a swap of two letters is one) when they look like one
    kind spelled two ways ("panle", "panels" and "panel": 1 and 0), else None."""
    key_a, key_b = kind_key(a), kind_key(b)
    if key_a == key_b:
        return 0
    shorter = min(len(key_a), len(key_b))
    allowed = 0 if shorter < 4 else 1 if shorter < 8 else 2
    if not allowed:
        return None
    distance = int(OSA.distance(key_a, key_b, score_cutoff=allowed))
    return distance if distance <= allowed else None


def slugify(text: str, max_length: int = 60) -> str:
    """A lowercase ASCII id fragment of ``text`` (accents folded, punctuation dropped)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")
    if len(slug) > max_length:
        cut = slug[:max_length]
        slug = cut.rsplit("-", 1)[0] if "-" in cut else cut
    return slug or "entry"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _one_kind_of_line_break(value: object) -> object:
    """CRLF and CR (frab and iCalendar text has them) become LF, as YAML does with the file's
    own line breaks: in multi-line text, line breaks are not content."""
    if isinstance(value, str) and "\r" in value:
        return value.replace("\r\n", "\n").replace("\r", "\n")
    return value


class Link(_Strict):
    title: str = Field(min_length=1, max_length=200)
    url: str = Field(min_length=1, max_length=2000, pattern=r"^https?://\S+$")


class Person(_Strict):
    name: str = Field(min_length=1, max_length=200)
    affiliation: str | None = Field(default=None, max_length=300)
    bio: str | None = Field(default=None, max_length=20000)

    @field_validator("bio", mode="before")
    @classmethod
    def _bio_line_breaks(cls, value: object) -> object:
        return _one_kind_of_line_break(value)


_Day = date  # ``date`` inside Workshop is its field


class Workshop(_Strict):
    name: str = Field(min_length=1, max_length=300)
    acronym: str = Field(min_length=1, max_length=40)
    venue: str = Field(default="", max_length=300)
    timezone: str = Field(description="IANA name of the venue's zone, e.g. America/New_York")
    date: date
    end_date: _Day | None = Field(
        default=None, description="the last day of a workshop of several days (default: date)"
    )
    description: str = Field(default="", max_length=20000)
    links: tuple[Link, ...] = ()
    organizers: tuple[Person, ...] = ()

    @field_validator("end_date")
    @classmethod
    def _not_before_date(cls, value: _Day | None, info: ValidationInfo) -> _Day | None:
        first = info.data.get("date")
        if value is not None and first is not None and value < first:
            raise ValueError(f"end_date {value} is before date {first}")
        return value

    @property
    def last_date(self) -> _Day:
        return self.end_date or self.date

    @field_validator("description", mode="before")
    @classmethod
    def _description_line_breaks(cls, value: object) -> object:
        return _one_kind_of_line_break(value)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise ValueError(f"unknown timezone {value!r} (use an IANA name)") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Entry(_Strict):
    id: str = Field(description="stable id, lowercase letters, digits, '.', '_' and '-'")
    kind: str
    title: str = Field(min_length=1, max_length=2000)
    people: tuple[str, ...] = Field(default=(), description="speakers or authors, in order")
    abstract: str = Field(default="", max_length=20000)
    start: AwareDatetime
    end: AwareDatetime
    session: str | None = Field(default=None, description="id of the parent (poster) session")
    room: str | None = Field(default=None, max_length=200)
    links: tuple[Link, ...] = ()

    @field_validator("abstract", mode="before")
    @classmethod
    def _abstract_line_breaks(cls, value: object) -> object:
        return _one_kind_of_line_break(value)

    @field_validator("start", "end", mode="before")
    @classmethod
    def _a_time_not_a_number(cls, value: object) -> object:
        # A bare number would be read as seconds or milliseconds since 1970: never meant.
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise ValueError("give a time with its UTC offset, e.g. 2022-07-23T09:00:00-04:00")
        return value

    @field_validator("start", "end")
    @classmethod
    def _whole_seconds(cls, value: datetime) -> datetime:
        # The program file writes times to the second: what it holds reads back the same.
        return value.replace(microsecond=0)

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not ID_PATTERN.match(value):
            raise ValueError(
                f"id {value!r} must be 1-100 lowercase letters, digits, '.', '_' or '-'"
            )
        return value

    @field_validator("kind")
    @classmethod
    def _kind_shape(cls, value: str) -> str:
        if not KIND_PATTERN.match(value):
            raise ValueError(f"kind {value!r} must be a lowercase word such as 'keynote'")
        return value

    @field_validator("people")
    @classmethod
    def _people_named(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(p.strip() for p in value)
        if any(not p for p in cleaned):
            raise ValueError("a person's name is empty")
        return cleaned

    @model_validator(mode="after")
    def _ends_after_start(self) -> Entry:
        if self.end < self.start:
            raise ValueError(f"end {self.end.isoformat()} is before start {self.start.isoformat()}")
        return self


class Program(_Strict):
    workshop: Workshop
    entries: tuple[Entry, ...]
    #: What is known of the people the entries name (affiliation, biography), by name.
    people: tuple[Person, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Program:
        _refuse_control_characters(self)
        names: set[str] = set()
        for index, person in enumerate(self.people):
            if person.name in names:
                raise ProgramConsistencyError(
                    0, f"{person.name!r} is listed twice in people", ("people", index, "name")
                )
            names.add(person.name)
        seen: set[str] = set()
        for index, entry in enumerate(self.entries):
            if entry.id in seen:
                raise DuplicateIdError(index, entry.id)
            seen.add(entry.id)
        by_id = {e.id: e for e in self.entries}
        for index, entry in enumerate(self.entries):
            if entry.session is None:
                continue
            parent = by_id.get(entry.session)
            if parent is None:
                raise UnknownSessionError(index, entry.session)
            if parent is entry:
                raise SessionError(index, f"entry {entry.id!r} is its own session")
            if not is_session_kind(parent.kind):
                raise SessionError(
                    index,
                    f"session {parent.id!r} is a {parent.kind}, not a session (an entry of "
                    "kind poster_session, session or another ..._session)",
                )
            if parent.session is not None:
                raise SessionError(index, _nesting_problem(entry, by_id))
        return self

    def by_id(self) -> dict[str, Entry]:
        return {e.id: e for e in self.entries}


class ProgramConsistencyError(ValueError):
    """Raised inside validation with the index of the offending entry, for line lookup."""

    field_name = "id"

    def __init__(self, index: int, message: str, path: tuple[str | int, ...] = ()) -> None:
        self.index = index
        self.path = path
        super().__init__(message)

    @property
    def loc(self) -> tuple[str | int, ...]:
        """Where the problem is: ``("entries", 3, "session")``, or the path it was given."""
        return self.path or ("entries", self.index, self.field_name)


def _strings(
    value: object, path: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every string held by a model (its fields, their tuples and models), with its path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, tuple):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))
    elif isinstance(value, BaseModel):
        for name, item in value.__dict__.items():
            yield from _strings(item, (*path, name))


def _refuse_control_characters(program: Program) -> None:
    """Raise for the first string of ``program`` holding a control character.

    One search per entry over its text run together: field by field, a 10,000-entry program
    would cost 100,000 validator calls.
    """
    search = CONTROL_CHARACTER.search
    suspects: list[tuple[tuple[str | int, ...], BaseModel]] = []
    if search("".join(text for _, text in _strings(program.workshop, ()))):
        suspects.append((("workshop",), program.workshop))
    for index, e in enumerate(program.entries):
        run = "".join((e.id, e.kind, e.title, e.abstract, e.room or "", e.session or "", *e.people))
        if search(run) or (e.links and search("".join(x.title + x.url for x in e.links))):
            suspects.append((("entries", index), e))
    if program.people and search("".join(text for _, text in _strings(program.people, ()))):
        suspects.extend((("people", index), p) for index, p in enumerate(program.people))
    for path, model in suspects:
        for where, text in _strings(model, path):
            if problem := control_character_problem(text):
                raise ProgramConsistencyError(
                    int(where[1]) if len(where) > 1 and where[0] == "entries" else 0, problem, where
                )


class DuplicateIdError(ProgramConsistencyError):
    def __init__(self, index: int, entry_id: str) -> None:
        super().__init__(index, f"two entries have the same id {entry_id!r}")


class UnknownSessionError(ProgramConsistencyError):
    field_name = "session"

    def __init__(self, index: int, session: str) -> None:
        super().__init__(index, f"session {session!r} is not the id of any entry")


class SessionError(ProgramConsistencyError):
    field_name = "session"


def _nesting_problem(entry: Entry, by_id: dict[str, Entry]) -> str:
    """Why ``entry``'s session, itself inside a session, is refused: a cycle or nesting."""
    chain = [entry.id]
    current: Entry | None = entry
    while current is not None and current.session is not None:
        chain.append(current.session)
        if current.session in chain[:-1]:
            loop = chain[chain.index(current.session) :]
            return "sessions form a cycle: " + " -> ".join(loop)
        current = by_id.get(current.session)
    session = by_id[entry.session or ""]
    return f"session {session.id!r} is itself in session {session.session!r}: sessions do not nest"


def sort_entries(entries: list[Entry]) -> list[Entry]:
    """Program order: by start, then sessions before their posters, then by title."""
    return sorted(entries, key=lambda e: (e.start, e.end, e.session is not None, e.title))


def venue_iso(moment: datetime, zone: ZoneInfo) -> str:
    """ISO 8601 of an instant in the venue's zone, to the second (as the program file writes it).

    Before standard time (a zone's local mean time, e.g. -04:56:02 in New York before 1883)
    the offset has seconds, which ISO readers refuse: such an instant is written in UTC.
    """
    local = moment.astimezone(zone)
    offset = local.utcoffset()
    if offset is not None and offset.seconds % 60:
        local = moment.astimezone(UTC)
    return local.isoformat(timespec="seconds")
