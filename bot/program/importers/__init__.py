"""Importers: each turns one kind of published schedule into a validated Program.

Every importer module exposes ``parse(text: str, source: str, options: ImportOptions) -> Program``
and raises only ``bot.errors.ProgramError`` (naming the line or field) on bad input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from bot.program.model import Link, Program


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


Importer = Callable[[str, str, ImportOptions], Program]


def get_importer(fmt: str) -> Importer:
    """The parse function for a format name: virtual-site, frab (also pretalx) or ics."""
    if fmt == "virtual-site":
        from bot.program.importers import virtual_site

        return virtual_site.parse
    if fmt in ("frab", "pretalx"):
        from bot.program.importers import frab

        return frab.parse
    if fmt == "ics":
        from bot.program.importers import ics

        return ics.parse
    raise ValueError(f"unknown import format {fmt!r}")


FORMATS = ("virtual-site", "frab", "ics")
