"""The program's schema: a workshop and its entries, each held as exact instants."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

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
KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def kind_label(kind: str) -> str:
    """Human label of an entry kind (``poster_session`` -> ``Poster session``)."""
    return KNOWN_KINDS.get(kind) or kind.replace("_", " ").capitalize()


def slugify(text: str, max_length: int = 60) -> str:
    """A lowercase ASCII id fragment of ``text`` (accents folded, punctuation dropped)."""
    import unicodedata

    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")
    if len(slug) > max_length:
        cut = slug[:max_length]
        slug = cut.rsplit("-", 1)[0] if "-" in cut else cut
    return slug or "entry"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Link(_Strict):
    title: str = Field(min_length=1, max_length=200)
    url: str = Field(min_length=1, max_length=2000, pattern=r"^https?://\S+$")


class Person(_Strict):
    name: str = Field(min_length=1, max_length=200)
    affiliation: str | None = Field(default=None, max_length=300)


class Workshop(_Strict):
    name: str = Field(min_length=1, max_length=300)
    acronym: str = Field(min_length=1, max_length=40)
    venue: str = Field(default="", max_length=300)
    timezone: str = Field(description="IANA name of the venue's zone, e.g. America/New_York")
    date: date
    description: str = Field(default="", max_length=20000)
    links: tuple[Link, ...] = ()
    organizers: tuple[Person, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
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

    @model_validator(mode="after")
    def _consistent(self) -> Program:
        seen: set[str] = set()
        for index, entry in enumerate(self.entries):
            if entry.id in seen:
                raise DuplicateIdError(index, entry.id)
            seen.add(entry.id)
        for index, entry in enumerate(self.entries):
            if entry.session is not None and entry.session not in seen:
                raise UnknownSessionError(index, entry.session)
        return self

    def by_id(self) -> dict[str, Entry]:
        return {e.id: e for e in self.entries}


class ProgramConsistencyError(ValueError):
    """Raised inside validation with the index of the offending entry, for line lookup."""

    field_name = "id"

    def __init__(self, index: int, message: str) -> None:
        self.index = index
        super().__init__(message)


class DuplicateIdError(ProgramConsistencyError):
    def __init__(self, index: int, entry_id: str) -> None:
        super().__init__(index, f"two entries have the same id {entry_id!r}")


class UnknownSessionError(ProgramConsistencyError):
    field_name = "session"

    def __init__(self, index: int, session: str) -> None:
        super().__init__(index, f"session {session!r} is not the id of any entry")


def sort_entries(entries: list[Entry]) -> list[Entry]:
    """Program order: by start, then sessions before their posters, then by title."""
    return sorted(entries, key=lambda e: (e.start, e.end, e.session is not None, e.title))


def venue_iso(moment: datetime, zone: ZoneInfo) -> str:
    """ISO 8601 of an instant in the venue's zone, to the second (as the program file writes it)."""
    return moment.astimezone(zone).isoformat(timespec="seconds")
