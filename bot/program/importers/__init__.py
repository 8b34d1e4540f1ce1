"""Importers: each turns one kind of published schedule into a validated Program.

Every importer module exposes ``parse(text, source, options, report=None) -> Program`` and
raises only ``bot.errors.ProgramError`` (naming the line or field) on bad input. What it kept,
changed and dropped goes into the ``ImportReport`` it is given (see ``importers/report.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Protocol

from bot.program.model import Link, Program

if TYPE_CHECKING:
    from bot.program.importers.report import ImportReport


@dataclass(frozen=True)
class ImportOptions:
    """What the organizer tells an importer that the source itself may not say."""

    date: date | None = None  # the workshop day (virtual-site pages show only weekdays)
    tz: str | None = None  # IANA zone of the times as displayed in the source
    name: str | None = None  # workshop name, acronym, venue: override what the source says
    acronym: str | None = None
    venue: str | None = None
    venue_tz: str | None = None  # the venue's IANA zone (defaults to tz)
    links: tuple[Link, ...] = field(default_factory=tuple)
    # (source type, kind) pairs from --kind-map: the organizer's word on what a type means.
    kind_map: tuple[tuple[str, str], ...] = field(default_factory=tuple)


class Importer(Protocol):
    def __call__(
        self, text: str, source: str, options: ImportOptions, report: ImportReport | None = None
    ) -> Program: ...


def get_importer(fmt: str) -> Importer:
    """The parse function for a format name: virtual-site, frab (also pretalx), schedule2, ics,
    workshop-site (a workshop website's markdown page)."""
    if fmt == "virtual-site":
        from bot.program.importers import virtual_site

        return virtual_site.parse
    if fmt in ("frab", "pretalx"):
        from bot.program.importers import frab

        return frab.parse
    if fmt == "schedule2":
        from bot.program.importers import schedule2

        return schedule2.parse
    if fmt == "ics":
        from bot.program.importers import ics

        return ics.parse
    if fmt == "workshop-site":
        from bot.program.importers import workshop_site

        return workshop_site.parse
    raise ValueError(f"unknown import format {fmt!r}")


FORMATS = ("virtual-site", "frab", "schedule2", "ics", "workshop-site")
