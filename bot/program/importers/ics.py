"""Importer for iCalendar (``.ics``) files: each timed VEVENT becomes one program entry.

Decisions:

- All-day VEVENTs (``DTSTART;VALUE=DATE``) are skipped: in conference calendars they mark
  days ("Conference day 1"), not sessions.
- Cancelled VEVENTs (``STATUS:CANCELLED``) are skipped. A VEVENT without SUMMARY is an
  error, but an empty SUMMARY gives the title "Untitled" (exporters write blank slots).
- Recurrence rules are not expanded: a VEVENT with ``RRULE`` gives its first occurrence only.
  An overridden occurrence (``RECURRENCE-ID``) is an entry of its own.
- Times with a TZID are in that zone, UTC times stay UTC, and floating times (no zone) are
  read in ``--tz``, else in the calendar's ``X-WR-TIMEZONE``; with neither they are an error.
- Entry ids are ``ics-`` plus a slug of the UID, so re-imports keep them. Real files reuse
  UIDs for different events, so a repeated UID gets ``-2``, ``-3`` in file order; only an
  exact copy (same UID, RECURRENCE-ID, DTSTART and SUMMARY) is an error.

icalendar reports no line numbers, so the file is also scanned here (unfolding RFC 5545
continuation lines) to check its structure and to find the line of each VEVENT and property.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

from icalendar import Calendar
from icalendar.parser import Contentline
from pydantic import ValidationError

from bot.errors import ProgramError
from bot.program.importers import ImportOptions
from bot.program.importers.frab import (
    check_option_zone,
    first_validation_error,
    kind_from_type,
    make_links,
    zone_is_known,
)
from bot.program.model import Entry, Program, Workshop, slugify, sort_entries

#: Title of a VEVENT whose SUMMARY is present but empty.
UNTITLED = "Untitled"

#: Deeper nesting than VCALENDAR > VEVENT > VALARM (with room to spare) is not a schedule.
_MAX_DEPTH = 6


@dataclass
class _Component:
    """Where one component and the first occurrence of each of its properties are."""

    name: str
    line: int
    props: dict[str, int] = field(default_factory=dict)

    def line_of(self, prop: str) -> int:
        return self.props.get(prop, self.line)


@dataclass
class _Scan:
    calendar: _Component
    vevents: list[_Component]


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """RFC 5545 content lines with the 1-based line each one starts on."""
    lines: list[tuple[int, str]] = []
    for number, raw in enumerate(re.split(r"\r?\n", text), start=1):
        if raw[:1] in (" ", "\t") and lines:
            start, joined = lines[-1]
            lines[-1] = (start, joined + raw[1:])
        elif raw:
            lines.append((number, raw))
    return lines


def _scan(text: str, source: str) -> _Scan:
    """Check the BEGIN/END structure and each line's syntax, recording where things are."""
    lines = _logical_lines(text)
    stack: list[_Component] = []
    calendar: _Component | None = None
    vevents: list[_Component] = []

    def fail(message: str, line: int) -> NoReturn:
        raise ProgramError(message, source=source, line=line)

    for number, line in lines:
        try:
            name, _params, value = Contentline(line).parts()
        except Exception:
            # icalendar raises assorted types for malformed lines; all mean the same here.
            fail(f"not an iCalendar content line: {line[:80]!r}", number)
        name = name.upper()
        if name == "BEGIN":
            component = _Component(value.strip().upper(), number)
            if not stack:
                if component.name != "VCALENDAR":
                    fail(f"expected BEGIN:VCALENDAR, found BEGIN:{component.name}", number)
                if calendar is not None:
                    fail("a second VCALENDAR: import one calendar per file", number)
                calendar = component
            elif len(stack) >= _MAX_DEPTH:
                fail(f"BEGIN:{component.name} is nested too deeply", number)
            if component.name == "VEVENT":
                vevents.append(component)
            stack.append(component)
        elif name == "END":
            ended = value.strip().upper()
            if not stack:
                fail(f"END:{ended} without a BEGIN:{ended}", number)
            if stack[-1].name != ended:
                open_one = stack[-1]
                fail(
                    f"END:{ended}, but BEGIN:{open_one.name} at line {open_one.line} "
                    "is not ended yet",
                    number,
                )
            stack.pop()
        elif stack:
            stack[-1].props.setdefault(name, number)
        elif name != "X-COMMENT":
            # icalendar tolerates X-COMMENT after the calendar, and so do we.
            fail(f"{name} is outside BEGIN:VCALENDAR ... END:VCALENDAR", number)

    if calendar is None:
        fail("not an iCalendar file: there is no BEGIN:VCALENDAR", lines[0][0] if lines else 1)
    if stack:
        innermost = stack[-1]
        if innermost.name == "VCALENDAR":
            fail("the file is cut off: there is no END:VCALENDAR", lines[-1][0])
        fail(
            f"the file is cut off: BEGIN:{innermost.name} at line {innermost.line} has no "
            f"END:{innermost.name}",
            innermost.line,
        )
    return _Scan(calendar, vevents)


@dataclass
class _Event:
    """One VEVENT with the means to complain about it at the right line."""

    component: Any
    lines: _Component
    source: str

    def fail(self, message: str, prop: str | None = None) -> NoReturn:
        line = self.lines.line_of(prop) if prop else self.lines.line
        raise ProgramError(message, source=self.source, line=line, field=prop)

    def single(self, prop: str) -> Any:
        value = self.component.get(prop)
        if isinstance(value, list):
            self.fail(f"{prop} appears more than once in this VEVENT", prop)
        return value

    def text(self, prop: str) -> str:
        value = self.component.get(prop)
        if isinstance(value, list):
            value = value[0] if value else None
        return "" if value is None else str(value).strip()

    def moment(self, prop: str, floating_zone: str | None) -> datetime | date | None:
        """The property's date-time as an aware instant (a bare date is returned as is)."""
        prop_value = self.single(prop)
        if prop_value is None:
            return None
        value = getattr(prop_value, "dt", None)
        if isinstance(value, datetime):
            if value.tzinfo is None:
                tzid = prop_value.params.get("TZID")
                if tzid:
                    self.fail(f"unknown TZID {tzid!r} (and no VTIMEZONE defines it)", prop)
                if floating_zone is None:
                    self.fail(
                        f"{prop} has no time zone (a floating time); give the zone its times "
                        "are in with --tz",
                        prop,
                    )
                value = value.replace(tzinfo=ZoneInfo(floating_zone))
            try:
                # Program files keep whole seconds; a fixed UTC instant is what we store.
                return value.astimezone(UTC).replace(microsecond=0)
            except (OverflowError, ValueError):
                self.fail(f"{prop} is out of range", prop)
        if isinstance(value, date):
            return value
        self.fail(f"{prop} must be a date-time such as 20150918T093000Z", prop)


def parse(text: str, source: str, options: ImportOptions) -> Program:
    """Parse an iCalendar file into a validated Program."""
    text = text.removeprefix("\ufeff")
    scan = _scan(text, source)
    calendar = _load(text, source)

    check_option_zone(options.tz, "--tz", source)
    check_option_zone(options.venue_tz, "--venue-tz", source)
    calendar_zone = _text(calendar.get("X-WR-TIMEZONE")) or None
    if calendar_zone is not None and not zone_is_known(calendar_zone):
        raise ProgramError(
            f"unknown timezone {calendar_zone!r} (give the zone with --tz)",
            source=source,
            line=scan.calendar.line_of("X-WR-TIMEZONE"),
            field="X-WR-TIMEZONE",
        )
    floating_zone = options.tz or calendar_zone
    zone = options.venue_tz or options.tz or calendar_zone or "UTC"

    components = list(calendar.walk("VEVENT"))
    if len(components) != len(scan.vevents):
        # Cannot happen for a file that passed the scan; checked so lines are never wrong.
        raise ProgramError(
            f"found {len(scan.vevents)} BEGIN:VEVENT lines but icalendar read "
            f"{len(components)} events",
            source=source,
        )
    events = [_Event(c, lines, source) for c, lines in zip(components, scan.vevents, strict=True)]

    for event in events:
        _check_readable(event)
    ids = _entry_ids(events)
    entries: list[Entry] = []
    for event, entry_id in zip(events, ids, strict=True):
        entry = _entry(event, entry_id, floating_zone)
        if entry is not None:
            entries.append(entry)

    name = options.name or _text(calendar.get("X-WR-CALNAME")) or _prodid_name(calendar)
    if not name:
        raise ProgramError(
            "the calendar has no X-WR-CALNAME; give the workshop's name with --name",
            source=source,
            line=scan.calendar.line,
        )
    workshop_date = options.date
    if workshop_date is None:
        if not entries:
            raise ProgramError(
                "the calendar has no timed events to take the date from; give it with --date",
                source=source,
                line=scan.calendar.line,
            )
        workshop_date = min(e.start for e in entries).astimezone(ZoneInfo(zone)).date()
    try:
        workshop = Workshop(
            name=name,
            acronym=options.acronym or slugify(name, 40),
            venue=options.venue or "",
            timezone=zone,
            date=workshop_date,
            links=options.links,
        )
    except ValidationError as exc:
        model_field, message = first_validation_error(exc)
        prop = "X-WR-CALNAME" if model_field == "name" else None
        raise ProgramError(
            message,
            source=source,
            line=scan.calendar.line_of(prop) if prop else None,
            field=prop or model_field,
        ) from None
    try:
        return Program(workshop=workshop, entries=tuple(sort_entries(entries)))
    except ValidationError as exc:
        model_field, message = first_validation_error(exc)
        raise ProgramError(message, source=source, field=model_field) from None


def _load(text: str, source: str) -> Any:
    try:
        with warnings.catch_warnings():
            # icalendar warns about sloppy input it repairs; what matters is checked here.
            warnings.simplefilter("ignore")
            return Calendar.from_ical(text)
    except Exception as exc:
        # The scan has already placed structural and line errors; this is the remainder
        # (e.g. a malformed calendar-level property), which icalendar raises untyped.
        raise ProgramError(f"not a valid iCalendar file: {exc}", source=source) from None


def _text(value: Any) -> str:
    if isinstance(value, list):
        value = value[0] if value else None
    return "" if value is None else str(value).strip()


def _prodid_name(calendar: Any) -> str:
    """The owner part of ``PRODID`` (``-//PYVOBJECT//NONSGML Version 1//EN`` -> PYVOBJECT)."""
    parts = [p.strip() for p in _text(calendar.get("PRODID")).split("//")]
    return parts[1] if len(parts) > 1 and parts[1] else ""


def _entry_ids(events: list[_Event]) -> list[str]:
    """Stable, unique ids: ``ics-`` and the UID's slug, then ``-2``, ``-3`` on a clash.

    Generators do reuse a UID for different events (pyconuk2015.ics has two talks with
    ``...-58703@...``), so only a VEVENT that repeats another's UID, occurrence, DTSTART
    and SUMMARY (a copy, which would show twice) is an error.
    """
    ids: list[str] = []
    taken: set[str] = set()
    copies: dict[tuple[str, ...], int] = {}
    for event in events:
        uid = event.text("UID")
        if uid:
            occurrence = _occurrence(event.component.get("RECURRENCE-ID"))
            key = (
                uid,
                occurrence,
                _occurrence(event.component.get("DTSTART")),
                event.text("SUMMARY"),
            )
            if key in copies:
                event.fail(
                    f"this VEVENT repeats the one at line {copies[key]} (same UID {uid!r}, "
                    "start and title)",
                    "UID",
                )
            copies[key] = event.lines.line_of("UID")
            base = "ics-" + slugify(f"{uid} {occurrence}".strip(), 90)
        else:
            # Without a UID the title is the most stable thing the event has.
            base = "ics-" + slugify(event.text("SUMMARY"), 90)
        entry_id, n = base, 1
        while entry_id in taken:
            n += 1
            entry_id = f"{base}-{n}"
        taken.add(entry_id)
        ids.append(entry_id)
    return ids


def _occurrence(recurrence: Any) -> str:
    """A date-time property as text ("" when absent), e.g. RECURRENCE-ID."""
    if isinstance(recurrence, list):
        recurrence = recurrence[0] if recurrence else None
    if recurrence is None:
        return ""
    moment = getattr(recurrence, "dt", None)
    return moment.isoformat() if isinstance(moment, date) else str(recurrence)


_USED = frozenset(
    {
        "UID", "SUMMARY", "DESCRIPTION", "LOCATION", "URL", "DTSTART", "DTEND", "DURATION",
        "CATEGORIES", "ORGANIZER", "ATTENDEE", "RECURRENCE-ID", "STATUS",
    }
)  # fmt: skip


def _check_readable(event: _Event) -> None:
    """Fail on a property icalendar could not parse, if it is one the import uses."""
    for prop, message in event.component.errors:
        if prop is None or prop in _USED:
            event.fail(f"{prop or 'a line'} could not be read: {message}", prop)


def _entry(event: _Event, entry_id: str, floating_zone: str | None) -> Entry | None:
    if event.text("STATUS").upper() == "CANCELLED":
        return None
    start = event.moment("DTSTART", floating_zone)
    if start is None:
        event.fail("DTSTART is missing", "DTSTART")
    if not isinstance(start, datetime):
        return None
    if event.component.get("SUMMARY") is None:
        event.fail("SUMMARY (the title) is missing", "SUMMARY")
    # An empty SUMMARY is a slot the exporter left blank (pyconuk2015.ics has one); kept so
    # the organizer sees it in the program file.
    title = event.text("SUMMARY") or UNTITLED

    end_prop = "DTEND"
    end = event.moment("DTEND", floating_zone)
    if end is None:
        end_prop = "DURATION"
        duration = event.single("DURATION")
        length = getattr(duration, "dt", None) if duration is not None else timedelta(0)
        if not isinstance(length, timedelta):
            event.fail("DURATION must be a duration such as PT1H30M", "DURATION")
        try:
            end = start + length
        except OverflowError:
            event.fail("DURATION runs past the year 9999", "DURATION")
    if not isinstance(end, datetime):
        event.fail("DTEND is a date, but DTSTART is a date-time", "DTEND")

    url = event.text("URL")
    values = {
        "id": entry_id,
        "kind": kind_from_type(_first_category(event.component)),
        "title": title,
        "people": _people(event.component),
        "abstract": event.text("DESCRIPTION"),
        "start": start,
        "end": end,
        "room": event.text("LOCATION") or None,
        "links": make_links([("Event page", url)] if url else []),
    }
    try:
        return Entry.model_validate(values)
    except ValidationError as exc:
        # No field means the model's only whole-entry check failed: end before start.
        model_field, message = first_validation_error(exc)
        prop = {
            "id": "UID",
            "kind": "CATEGORIES",
            "title": "SUMMARY",
            "people": "ATTENDEE",
            "abstract": "DESCRIPTION",
            "start": "DTSTART",
            "end": end_prop,
            "room": "LOCATION",
            "links": "URL",
        }.get(model_field or "end")
        event.fail(message, prop)


def _first_category(component: Any) -> str | None:
    value = component.get("CATEGORIES")
    for prop in value if isinstance(value, list) else [value]:
        for category in getattr(prop, "cats", None) or []:
            if str(category).strip():
                return str(category)
    return None


def _people(component: Any) -> list[str]:
    """Names (CN) of the organizer and attendees, in file order, each once."""
    people: list[str] = []
    for prop in ("ORGANIZER", "ATTENDEE"):
        value = component.get(prop)
        for address in value if isinstance(value, list) else [value]:
            params = getattr(address, "params", None)
            name = str(params.get("CN") or "").strip() if params is not None else ""
            if name and name not in people:
                people.append(name)
    return people
