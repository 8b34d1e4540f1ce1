"""Importer for iCalendar (``.ics``, RFC 5545) files: each VEVENT occurrence becomes an entry.

Decisions:

- Only what the program needs is read. The file's structure and every content line are
  checked (naming the line), but icalendar is given only the calendar's name and zone, the
  VTIMEZONEs and the VEVENT properties used below, so a property nobody needs (a calendar's
  ``REFRESH-INTERVAL``, a VALARM, a VTODO) never rejects a file.
- Recurring VEVENTs (``RRULE``, ``RDATE``, ``EXDATE``) are expanded with python-dateutil in
  the event's own zone, so a weekly 10:00 meeting stays at 10:00 across a DST change. An
  overridden occurrence (``RECURRENCE-ID``) replaces the one it names. A rule without an end
  is expanded over its first year (at most 1,000 occurrences), and the report says so.
- All-day VEVENTs (``DTSTART;VALUE=DATE``) are kept as entries from 00:00 of their first day
  to 00:00 after their last (``DTEND`` is exclusive) in the venue's zone, kind ``other``
  unless a category says otherwise; the report counts them.
- Cancelled VEVENTs (``STATUS:CANCELLED``) are dropped, and counted in the report.
- Times with a TZID are in that zone, UTC times stay UTC, and floating times (no zone) are read
  in ``--tz``, else in the calendar's ``X-WR-TIMEZONE``, else in the zone all TZIDs agree on.
  The venue's zone is ``--venue-tz``, ``--tz``, ``X-WR-TIMEZONE``, the TZID all timed events
  agree on, else UTC.
- The workshop's name is ``X-WR-CALNAME`` or ``NAME`` (never ``PRODID``, which names the
  software that wrote the file); without either, ``--name`` is required.
- People are the CNs of ORGANIZER and ATTENDEE (an unquoted CN with commas lists several
  people), else a "Speakers:" block in the DESCRIPTION, else speakers written in the title:
  "Title (talk by Jane Doe)", "Keynote: Jane Doe", or "Jane Doe: Title" when most titles of
  the calendar that have a colon look like that. Each change of a title is reported.
- Entry ids are ``ics-`` plus the UID. A UID that several VEVENTs share (a recurring event, or
  a generator that reuses one UID for many talks) adds each occurrence's start (its
  RECURRENCE-ID), so ids never depend on the order of the file.

icalendar reports no line numbers, so the file is also scanned here (unfolding RFC 5545
continuation lines) to check its structure and to find the line of each VEVENT and property.
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

from dateutil.rrule import rruleset, rrulestr
from icalendar import Calendar
from icalendar.parser import Contentline
from pydantic import ValidationError

from bot.errors import ProgramError
from bot.program.importers import ImportOptions
from bot.program.importers.frab import (
    check_option_zone,
    first_validation_error,
    make_links,
    zone_is_known,
)
from bot.program.importers.kinds import KindMapper, parse_kind_map
from bot.program.importers.report import (
    EXAMPLES,
    IdKey,
    ImportReport,
    assign_ids,
    clean_value,
    last_day,
    prepare_text,
)
from bot.program.model import Entry, Program, Workshop, slugify, sort_entries

#: Title of a VEVENT whose SUMMARY is present but empty.
UNTITLED = "Untitled"

#: Deeper nesting than VCALENDAR > VEVENT > VALARM (with room to spare) is not a schedule.
_MAX_DEPTH = 6

#: A recurrence without an end is expanded this far, and no rule gives more occurrences.
_OPEN_RULE_SPAN = timedelta(days=366)
_MAX_OCCURRENCES = 1000

#: Calendar-level properties the import reads; every other one is left out of the parse.
_CALENDAR_PROPS = frozenset({"VERSION", "X-WR-CALNAME", "NAME", "X-WR-TIMEZONE"})

#: VEVENT properties that only keep the calendar's books: not content, not reported.
_BOOKKEEPING = frozenset(
    {
        "DTSTAMP", "CREATED", "LAST-MODIFIED", "SEQUENCE", "TRANSP", "CLASS", "PRIORITY",
        "X-MICROSOFT-CDO-BUSYSTATUS", "X-MICROSOFT-CDO-INTENDEDSTATUS", "X-MICROSOFT-CDO-ALLDAYEVENT",
        "X-MICROSOFT-CDO-IMPORTANCE", "X-MICROSOFT-CDO-INSTTYPE", "X-MICROSOFT-DISALLOW-COUNTER",
        "X-MOZ-GENERATION", "X-MOZ-LASTACK", "X-APPLE-TRAVEL-ADVISORY-BEHAVIOR", "X-LIC-ERROR",
    }
)  # fmt: skip

#: VEVENT properties the import reads.
_USED = frozenset(
    {
        "UID", "SUMMARY", "DESCRIPTION", "LOCATION", "URL", "DTSTART", "DTEND", "DURATION",
        "CATEGORIES", "ORGANIZER", "ATTENDEE", "RECURRENCE-ID", "STATUS", "RRULE", "RDATE",
        "EXDATE",
    }
)  # fmt: skip

_ENTRY_FIELDS = {
    "id": "UID",
    "kind": "CATEGORIES",
    "title": "SUMMARY",
    "people": "ATTENDEE",
    "abstract": "DESCRIPTION",
    "start": "DTSTART",
    "room": "LOCATION",
    "links": "URL",
}


@dataclass
class _Component:
    """Where one component and the first occurrence of each of its properties are."""

    name: str
    line: int
    props: dict[str, int] = field(default_factory=dict)
    # Read the fast way (see ``_scan``), a VEVENT's decoded text properties (the first value
    # of each), the lines icalendar is given for it (BEGIN to END) while it is read, and then
    # which of the VEVENTs icalendar read holds its other properties.
    texts: dict[str, str] | None = None
    slow: list[str] | None = None
    index: int = -1

    def line_of(self, prop: str) -> int:
        return self.props.get(prop, self.line)


@dataclass
class _Scan:
    calendar: _Component
    vevents: list[_Component]
    needed: str  # the content lines icalendar is given
    skipped: Counter[str]  # components left out, by name
    unread: dict[str, list[int]]  # VEVENT properties with content the program has no place for
    events_given: int  # VEVENTs in ``needed``: fewer than ``vevents`` when read the fast way


# RFC 5545 3.1: name *(";" param) ":" value, where a param value may be quoted.
_PARAM_VALUE = r'(?:"[^"]*"|[^";:,]*)'
_CONTENT_LINE = re.compile(
    rf"(?P<name>[A-Za-z0-9-]+)(?:;[A-Za-z0-9-]+={_PARAM_VALUE}(?:,{_PARAM_VALUE})*)*"
    r":(?P<value>.*)",
    re.DOTALL,
)


def _raw_lines(text: str) -> Iterator[str]:
    """The lines of the text, as ``re.split(r"\\r?\\n", text)`` gives them, one at a time (a
    big file is not held twice)."""
    find = text.find
    start = 0
    while True:
        end = find("\n", start)
        if end < 0:
            yield text[start:]
            return
        yield text[start : end - 1] if end > start and text[end - 1] == "\r" else text[start:end]
        start = end + 1


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """RFC 5545 content lines with the 1-based line each one starts on: a line that starts
    with a space or tab continues the one before (blank lines between are skipped)."""
    start, pieces = 0, list[str]()
    for number, raw in enumerate(_raw_lines(text), start=1):
        if raw[:1] in (" ", "\t") and pieces:
            pieces.append(raw[1:])
        elif raw:
            if pieces:
                yield start, pieces[0] if len(pieces) == 1 else "".join(pieces)
            start, pieces = number, [raw]
    if pieces:
        yield start, pieces[0] if len(pieces) == 1 else "".join(pieces)


#: VEVENT text properties that the fast reading decodes here (``_fast_text``), not icalendar.
_TEXT_PROPS = frozenset({"UID", "SUMMARY", "DESCRIPTION", "LOCATION", "URL", "STATUS"})

#: RFC 5545 3.3.11 TEXT escapes, and ``\:``, as icalendar 7's ``unescape_backslash`` reads
#: them: ``\n`` and ``\N`` are a newline, ``\\ \; \, \:`` the character; any other
#: backslash is kept as it is.
_TEXT_ESCAPE = re.compile(r"\\([\\,;:nN])")
_UNESCAPED = {"\\": "\\", ",": ",", ";": ";", ":": ":", "n": "\n", "N": "\n"}


def _unescape(raw: str) -> str:
    parts = _TEXT_ESCAPE.split(raw)  # text, escaped character, text, ...
    parts[1::2] = [_UNESCAPED[char] for char in parts[1::2]]
    return "".join(parts)


def _fast_text(line: str, match: re.Match[str], name: str) -> str | None:
    """The decoded value of a VEVENT text property, exactly as icalendar would read it, or
    None when this line is for icalendar to read (a VALUE parameter, a backslash before the
    value, a carriage return, a URL with a newline, parameters icalendar refuses)."""
    value_at = match.start("value")
    if value_at != match.end("name") + 1:
        # Parameters (LANGUAGE, ALTREP): they do not change a text, but icalendar must accept
        # them. Without a backslash before the value (icalendar reads one as an escape there),
        # the value starts after the first ':' outside quotes, as in ``_CONTENT_LINE``.
        prefix = line[:value_at]
        if "\\" in prefix:
            return None
        try:
            params = Contentline(prefix).parts()[1]
        except Exception:
            return None
        if "VALUE" in params:
            return None  # another value type: icalendar's factory decides
    raw = match["value"]
    if "\r" in raw:
        return None
    text = _unescape(raw) if "\\" in raw else raw
    if name == "URL" and "\n" in text:
        return None  # icalendar refuses a URI with a newline: the error is its to report
    return text


class _Unusual(Exception):
    """The fast reading met what only the careful one reads right (a VEVENT that is not a
    child of the VCALENDAR)."""


def _scan(text: str, source: str, fast: bool = True) -> _Scan:
    """Check the BEGIN/END structure and each line's syntax, recording where things are.

    Read the careful way (``fast=False``), icalendar is given every line the import needs.
    Read the fast way, the VEVENT text properties (``_TEXT_PROPS``) are decoded here, and
    icalendar is given each VEVENT's other needed lines (times, rules, categories, people)
    only once: VEVENTs with the very same lines (every talk of one slot, with no VTIMEZONE
    between them) share the component icalendar reads for the first of them. That is the
    same result: what icalendar makes of a component depends only on its lines and on the
    VTIMEZONEs it has seen (counted into the key).
    """
    lines = _logical_lines(text)
    stack: list[_Component] = []
    calendar: _Component | None = None
    vevents: list[_Component] = []
    needed: list[str] = []
    skipped: Counter[str] = Counter()
    unread: dict[str, list[int]] = {}  # VEVENT properties with content, by name: their lines
    # Depth inside a component that is left out (a VALARM, a VTODO): 0 when not inside one.
    skipping = 0
    # The fast way: the VEVENTs given to icalendar, by (VTIMEZONEs so far, their lines).
    given: dict[tuple[int, tuple[str, ...]], int] = {}
    zones_seen = 0
    event: _Component | None = None  # the VEVENT being read the fast way
    slow_texts: set[str] = set()  # its text properties that icalendar reads

    def fail(message: str, line: int) -> NoReturn:
        raise ProgramError(message, source=source, line=line)

    first = last = 0  # the lines the first and the last content line start on
    for number, line in lines:
        first, last = first or number, number
        match = _CONTENT_LINE.match(line)
        if match is not None:
            name, value = match["name"], match["value"]
        else:
            # Not RFC 5545 to the letter: accept what icalendar accepts, and name the line
            # of anything it does not.
            try:
                name, _params, value = Contentline(line).parts()
            except Exception:
                # icalendar raises assorted types for malformed lines; all mean the same.
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
            inside = stack[-1].name if stack else ""
            if skipping:
                skipping += 1
            elif inside == "VCALENDAR" and component.name not in ("VEVENT", "VTIMEZONE"):
                skipping = 1
                skipped[component.name] += 1
            elif inside == "VEVENT":
                skipping = 1  # VALARMs: reminders of the calendar's owner
            if component.name == "VEVENT":
                vevents.append(component)
                if fast:
                    if inside != "VCALENDAR":
                        raise _Unusual
                    event = component
                    component.texts, component.slow = {}, [line]
                    slow_texts.clear()
            stack.append(component)
            if not skipping and event is None:
                needed.append(line)
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
            ending = stack.pop()
            if skipping:
                skipping -= 1
            elif ending is event:
                assert event.slow is not None
                event.slow.append(line)
                key = (zones_seen, tuple(event.slow))
                index = given.get(key)
                if index is None:
                    index = given[key] = len(given)
                    needed.extend(event.slow)
                event.index, event.slow, event = index, None, None
            else:
                needed.append(line)
                if fast:
                    zones_seen += 1  # a VTIMEZONE (or what is inside one) has been read
        elif stack:
            stack[-1].props.setdefault(name, number)
            if skipping:
                continue
            owner = stack[-1].name
            if event is not None:
                assert event.texts is not None and event.slow is not None
                if name in _TEXT_PROPS:
                    if name not in slow_texts:
                        decoded = _fast_text(line, match, name) if match is not None else None
                        if decoded is not None:
                            # A later value of the same property is never read.
                            event.texts.setdefault(name, decoded)
                            continue
                        if name not in event.texts:
                            slow_texts.add(name)  # this and any later one: icalendar's
                    event.slow.append(line)
                elif name in _USED:
                    event.slow.append(line)
                elif name not in _BOOKKEEPING and value.strip():
                    unread.setdefault(name, []).append(number)
            elif (
                (owner == "VCALENDAR" and name in _CALENDAR_PROPS)
                or (owner == "VEVENT" and name in _USED)
                or owner not in ("VCALENDAR", "VEVENT")
            ):
                needed.append(line)
            elif owner == "VEVENT" and name not in _BOOKKEEPING and value.strip():
                unread.setdefault(name, []).append(number)
        elif name != "X-COMMENT":
            # icalendar tolerates X-COMMENT after the calendar, and so do we.
            fail(f"{name} is outside BEGIN:VCALENDAR ... END:VCALENDAR", number)

    if calendar is None:
        fail("not an iCalendar file: there is no BEGIN:VCALENDAR", first or 1)
    if stack:
        innermost = stack[-1]
        if innermost.name == "VCALENDAR":
            fail("the file is cut off: there is no END:VCALENDAR", last)
        fail(
            f"the file is cut off: BEGIN:{innermost.name} at line {innermost.line} has no "
            f"END:{innermost.name}",
            innermost.line,
        )
    events_given = len(given) if fast else len(vevents)
    return _Scan(calendar, vevents, "\r\n".join(needed) + "\r\n", skipped, unread, events_given)


@dataclass
class _Event:
    """One VEVENT with the means to complain about it at the right line."""

    component: Any
    lines: _Component
    source: str
    report: ImportReport
    _texts: dict[str, str] = field(default_factory=dict)

    def fail(self, message: str, prop: str | None = None) -> NoReturn:
        line = self.lines.line_of(prop) if prop else self.lines.line
        raise ProgramError(message, source=self.source, line=line, field=prop)

    def line(self, prop: str | None = None) -> int:
        return self.lines.line_of(prop) if prop else self.lines.line

    def single(self, prop: str) -> Any:
        value = self.component.get(prop)
        if isinstance(value, list):
            self.fail(f"{prop} appears more than once in this VEVENT", prop)
        return value

    def has(self, prop: str) -> bool:
        texts = self.lines.texts
        return (texts is not None and prop in texts) or self.component.get(prop) is not None

    def text(self, prop: str) -> str:
        cached = self._texts.get(prop)
        if cached is not None:
            return cached
        texts = self.lines.texts
        value: Any = texts.get(prop) if texts is not None else None
        if value is None:
            value = self.component.get(prop)
        if isinstance(value, list):
            value = value[0] if value else None
        text = "" if value is None else str(value).strip()
        text = clean_value(text, self.report, self.line(prop))
        self._texts[prop] = text
        return text

    def moment(self, prop: str, floating_zone: str | None) -> datetime | date | None:
        """The property's date-time as an aware instant in its own zone (a date as is)."""
        prop_value = self.single(prop)
        if prop_value is None:
            return None
        return self.aware(getattr(prop_value, "dt", None), prop_value, prop, floating_zone)

    def aware(
        self, value: Any, prop_value: Any, prop: str, floating_zone: str | None
    ) -> datetime | date:
        if isinstance(value, datetime):
            if value.tzinfo is None:
                tzid = getattr(prop_value, "params", {}).get("TZID")
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
                # Program files keep whole seconds.
                value.astimezone(UTC)
                return value.replace(microsecond=0)
            except (OverflowError, ValueError):
                self.fail(f"{prop} is out of range", prop)
        if isinstance(value, date):
            return value
        self.fail(f"{prop} must be a date-time such as 20150918T093000Z", prop)


@dataclass
class _Occurrence:
    """One time an event takes place, before its id is assigned."""

    event: _Event
    start: datetime
    end: datetime
    occurrence: datetime  # its RECURRENCE-ID: the start the rule gave it
    all_day: bool
    recurring: bool


def parse(
    text: str,
    source: str,
    options: ImportOptions,
    report: ImportReport | None = None,
    *,
    fast: bool = True,
) -> Program:
    """Parse an iCalendar file into a validated Program.

    ``fast=False`` reads it the careful way (icalendar reads every needed line; see
    ``_scan``): the same program, report and errors, as the tests check, only slower."""
    report = report if report is not None else ImportReport(source)
    text = prepare_text(text, source, report)
    try:
        scan, calendar, components = _read(text, source, fast)
    except _Unusual:
        scan, calendar, components = _read(text, source, fast=False)
    del text
    for name, count in sorted(scan.skipped.items()):
        report.dropped(f"{name} components (only VEVENTs are read)", count=count)
    for name, lines in scan.unread.items():
        what = f"values of the VEVENT property {name} (a program entry has no place for it)"
        for line in lines[:EXAMPLES]:
            report.dropped(what, where=line, count=0)
        report.dropped(what, count=len(lines))

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

    events = [_Event(components[lines.index], lines, source, report) for lines in scan.vevents]
    for event in events:
        _check_readable(event)
    event_zone = _agreed_zone(events)
    floating_zone = options.tz or calendar_zone or event_zone
    zone = options.venue_tz or options.tz or calendar_zone or event_zone or "UTC"
    if event_zone and not (options.venue_tz or options.tz or calendar_zone):
        report.note(f"venue zone {event_zone}: the zone all the events' times are given in")

    occurrences = _occurrences(events, floating_zone, ZoneInfo(zone), report)
    kinds = KindMapper(report, parse_kind_map(options.kind_map, source))
    speakers_in_titles = _titles_name_speakers(occurrences)
    ids = assign_ids(
        "ics-",
        [
            IdKey(
                _uid_key(o.event),
                o.occurrence,
                f"{o.event.text('SUMMARY')}\n{o.event.text('LOCATION')}",
            )
            for o in occurrences
        ],
    )
    entries: list[Entry] = []
    for occurrence, entry_id in zip(occurrences, ids, strict=True):
        if entry_id is None:
            report.dropped(
                "copies of a VEVENT (same UID, start, title and place)",
                occurrence.event.text("SUMMARY"),
                occurrence.event.line("UID"),
            )
            continue
        entries.append(_entry(occurrence, entry_id, kinds, speakers_in_titles))
    kinds.finish()

    name = options.name or _text(calendar.get("X-WR-CALNAME")) or _text(calendar.get("NAME"))
    if not name:
        raise ProgramError(
            "the calendar has no name (no X-WR-CALNAME or NAME); give the workshop's name "
            "with --name",
            source=source,
            line=scan.calendar.line,
        )
    if not entries:
        raise ProgramError(
            "the calendar has no events to import; an empty program would cancel every entry",
            source=source,
            line=scan.calendar.line,
        )
    report.kept = len(entries)
    workshop_date = options.date
    if workshop_date is None:
        workshop_date = min(e.start for e in entries).astimezone(ZoneInfo(zone)).date()
    try:
        workshop = Workshop(
            name=name,
            acronym=options.acronym or slugify(name, 40),
            venue=options.venue or "",
            timezone=zone,
            date=workshop_date,
            end_date=last_day([e.start for e in entries], ZoneInfo(zone), workshop_date),
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


def _read(text: str, source: str, fast: bool) -> tuple[_Scan, Any, list[Any]]:
    """The scan, icalendar's calendar, and the VEVENTs it read, by each VEVENT's ``index``."""
    scan = _scan(text, source, fast)
    calendar = _load(scan.needed, source, scan)
    components = list(calendar.walk("VEVENT"))
    if len(components) != scan.events_given:
        if fast:
            raise _Unusual  # a VEVENT icalendar reads other than as a VEVENT
        # Cannot happen for a file that passed the scan; checked so lines are never wrong.
        raise ProgramError(
            f"found {len(scan.vevents)} BEGIN:VEVENT lines but icalendar read "
            f"{len(components)} events",
            source=source,
        )
    if not fast:
        for index, lines in enumerate(scan.vevents):
            lines.index = index
    return scan, calendar, components


def _load(needed: str, source: str, scan: _Scan) -> Any:
    try:
        with warnings.catch_warnings():
            # icalendar warns about sloppy input it repairs; what matters is checked here.
            warnings.simplefilter("ignore")
            return Calendar.from_ical(needed)
    except Exception as exc:
        # The scan has placed structural and line errors, and only needed properties are
        # parsed: what remains is a needed calendar-level property icalendar cannot read.
        for prop in _CALENDAR_PROPS:
            if prop in scan.calendar.props:
                line = scan.calendar.line_of(prop)
                raise ProgramError(
                    f"{prop} could not be read: {exc}", source=source, line=line, field=prop
                ) from None
        raise ProgramError(f"not a valid iCalendar file: {exc}", source=source) from None


def _text(value: Any) -> str:
    if isinstance(value, list):
        value = value[0] if value else None
    return "" if value is None else str(value).strip()


def _agreed_zone(events: list[_Event]) -> str | None:
    """The IANA zone every timed DTSTART with a zone is given in, when they all agree."""
    zones: set[str] = set()
    for event in events:
        prop = event.component.get("DTSTART")
        value = getattr(prop, "dt", None)
        if not isinstance(value, datetime) or value.tzinfo is None:
            continue
        key = getattr(value.tzinfo, "key", None)
        if key is None:
            tzid = prop.params.get("TZID") if hasattr(prop, "params") else None
            key = tzid if isinstance(tzid, str) and zone_is_known(tzid) else None
        if key is None:
            return None
        zones.add(key)
    if len(zones) != 1:
        return None
    zone = zones.pop()
    return zone if zone not in ("UTC", "Etc/UTC") and zone_is_known(zone) else None


def _uid_key(event: _Event) -> str:
    uid = event.text("UID")
    # Without a UID the title is the most stable thing the event has.
    return uid if uid else "summary " + event.text("SUMMARY")


def _check_readable(event: _Event) -> None:
    """Fail on a property icalendar could not parse, if it is one the import uses."""
    for prop, message in event.component.errors:
        if prop is None or prop in _USED:
            event.fail(f"{prop or 'a line'} could not be read: {message}", prop)


def _occurrences(
    events: list[_Event], floating_zone: str | None, venue_zone: ZoneInfo, report: ImportReport
) -> list[_Occurrence]:
    """Every time each event takes place: rules expanded, overrides applied, cancelled out."""
    overrides: dict[tuple[str, datetime], _Event] = {}
    for event in events:
        if event.component.get("RECURRENCE-ID") is not None:
            recurrence = event.moment("RECURRENCE-ID", floating_zone)
            instant = _instant(recurrence, venue_zone)
            overrides[(event.text("UID"), instant)] = event

    out: list[_Occurrence] = []
    for event in events:
        if event.component.get("RECURRENCE-ID") is not None:
            continue
        if event.text("STATUS").upper() == "CANCELLED":
            report.dropped(
                "cancelled events (STATUS:CANCELLED)", event.text("SUMMARY"), event.line("STATUS")
            )
            continue
        start, end, all_day = _times(event, floating_zone, venue_zone)
        recurring = any(event.component.get(p) is not None for p in ("RRULE", "RDATE"))
        starts = _expand(event, start, floating_zone, venue_zone, report) if recurring else [start]
        if recurring:
            report.note(
                "occurrences of recurring events, each kept as an entry",
                event.text("SUMMARY"),
                event.line("RRULE" if event.component.get("RRULE") is not None else "RDATE"),
                count=len(starts),
            )
        length = end - start
        uid = event.text("UID")
        for moment in starts:
            key = (uid, moment.astimezone(UTC))
            override = overrides.get(key) if uid else None
            if override is not None:
                continue  # the override is added below, in its place
            if all_day:
                report.note(
                    "all-day events, kept as entries from 00:00 to 24:00 venue time",
                    event.text("SUMMARY"),
                    event.line("DTSTART"),
                )
            out.append(_Occurrence(event, moment, moment + length, moment, all_day, recurring))
    for key, override in overrides.items():
        if override.text("STATUS").upper() == "CANCELLED":
            report.dropped(
                "cancelled occurrences of recurring events (STATUS:CANCELLED)",
                override.text("SUMMARY"),
                override.line("STATUS"),
            )
            continue
        start, end, all_day = _times(override, floating_zone, venue_zone)
        out.append(_Occurrence(override, start, end, key[1], all_day, True))
    return out


def _instant(value: datetime | date | None, venue_zone: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    assert value is not None
    return datetime.combine(value, time(0), tzinfo=venue_zone).astimezone(UTC)


def _times(
    event: _Event, floating_zone: str | None, venue_zone: ZoneInfo
) -> tuple[datetime, datetime, bool]:
    """Start and end of the event as it is written (its first occurrence), and if all-day."""
    start = event.moment("DTSTART", floating_zone)
    if start is None:
        event.fail("DTSTART is missing", "DTSTART")
    end_prop = "DTEND"
    end = event.moment("DTEND", floating_zone)
    if end is None:
        end_prop = "DURATION"
        duration = event.single("DURATION")
        length: Any
        if duration is None:
            # RFC 5545: a date lasts one day, a date-time no time at all.
            length = timedelta(days=1) if not isinstance(start, datetime) else timedelta(0)
        else:
            length = getattr(duration, "dt", None)
            if not isinstance(length, timedelta):
                event.fail("DURATION must be a duration such as PT1H30M", "DURATION")
        try:
            end = start + length
        except OverflowError:
            event.fail("DURATION runs past the year 9999", "DURATION")
    if not isinstance(start, datetime):
        if isinstance(end, datetime):
            event.fail("DTEND is a date-time, but DTSTART is a date", end_prop)
        first = datetime.combine(start, time(0), tzinfo=venue_zone)
        after = datetime.combine(max(end, start + timedelta(days=1)), time(0), tzinfo=venue_zone)
        return first, after, True
    if not isinstance(end, datetime):
        event.fail("DTEND is a date, but DTSTART is a date-time", end_prop)
    if end < start:
        event.fail(f"end {end.isoformat()} is before start {start.isoformat()}", end_prop)
    return start, end, False


def _expand(
    event: _Event,
    start: datetime,
    floating_zone: str | None,
    venue_zone: ZoneInfo,
    report: ImportReport,
) -> list[datetime]:
    """The starts of a recurring event (RRULE, RDATE, minus EXDATE), first one included."""
    rules = rruleset()
    rule = event.component.get("RRULE")
    bounded = True
    for one in rule if isinstance(rule, list) else ([rule] if rule is not None else []):
        rules.rrule(_rrule(event, one, start))
        bounded = bounded and ("COUNT" in one or "UNTIL" in one)
    rules.rdate(start)
    for prop in ("RDATE", "EXDATE"):
        values = event.component.get(prop)
        for item in values if isinstance(values, list) else ([values] if values else []):
            for dt in getattr(item, "dts", []):
                # An RDATE may be a PERIOD (start, end or duration): its start is the date.
                raw = dt.dt[0] if isinstance(dt.dt, tuple) else dt.dt
                value = event.aware(raw, item, prop, floating_zone)
                if not isinstance(value, datetime):
                    value = datetime.combine(value, start.timetz())
                (rules.rdate if prop == "RDATE" else rules.exdate)(value)
    limit = start + _OPEN_RULE_SPAN
    starts: list[datetime] = []
    for moment in rules:
        if len(starts) >= _MAX_OCCURRENCES or (not bounded and moment > limit):
            report.changed(
                "recurring events without an end: only their first year (at most 1,000 "
                "occurrences) kept",
                event.text("SUMMARY"),
                event.line("RRULE"),
            )
            break
        starts.append(moment)
    return starts


def _rrule(event: _Event, rule: Any, start: datetime) -> Any:
    """A dateutil rule for one RRULE; a date or floating UNTIL is read in the start's zone."""
    parts = {k: v for k, v in rule.items() if k != "UNTIL"}
    until = rule.get("UNTIL")
    text = rule.__class__(parts).to_ical().decode()
    if until:
        moment = until[0] if isinstance(until, list) else until
        if not isinstance(moment, datetime):
            moment = datetime.combine(moment, time(23, 59, 59))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=start.tzinfo)
        text += ";UNTIL=" + moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    try:
        return rrulestr(text, dtstart=start)
    except (ValueError, TypeError) as exc:
        event.fail(f"RRULE could not be read: {exc}", "RRULE")


def _entry(
    occurrence: _Occurrence, entry_id: str, kinds: KindMapper, speakers_in_titles: str | None
) -> Entry:
    event = occurrence.event
    report = event.report
    if not event.has("SUMMARY"):
        event.fail("SUMMARY (the title) is missing", "SUMMARY")
    # An empty SUMMARY is a slot the exporter left blank (pyconuk2015.ics has one); kept so
    # the organizer sees it in the program file.
    title = " ".join(event.text("SUMMARY").split()) or UNTITLED
    category = _first_category(event.component)
    title, tagged = _kind_tag(title)
    if tagged is not None and category is None:
        category = tagged
    default = "other" if occurrence.all_day else "talk"
    kind = kinds.kind(category, event.line("CATEGORIES"), title, default)
    if category is None and _KEYNOTE.match(title):
        kind = "keynote"
    description = event.text("DESCRIPTION")
    people = _people(event.component, report, event.line())
    if not people:
        people = _description_speakers(description)
    if not people:
        title, people = _title_speakers(title, speakers_in_titles, event)

    room = event.text("LOCATION") or None
    if room is not None and len(room) > 200:
        report.changed("places (LOCATION) cut to 200 characters", room, event.line("LOCATION"))
        room = room[:199].rstrip() + "…"
    if len(title) > 2000:
        report.changed("titles cut to 2,000 characters", title, event.line("SUMMARY"))
        title = title[:1999].rstrip() + "…"
    url = event.text("URL")
    candidates = [("Event page", url)] if url else []
    markdown = _MD_LINK.match(title)
    if markdown is not None:
        report.changed(
            "titles written as a Markdown link: text kept, link added", title, event.line("SUMMARY")
        )
        title = markdown[1].strip()
        candidates.append(("More information", markdown[2]))
    values = {
        "id": entry_id,
        "kind": kind,
        "title": title,
        "people": people,
        "abstract": description if len(description) <= 20000 else description[:19999] + "…",
        "start": occurrence.start,
        "end": occurrence.end,
        "room": room,
        "links": make_links(candidates),
    }
    if len(description) > 20000:
        report.changed("descriptions cut to 20,000 characters", title, event.line("DESCRIPTION"))
    try:
        return Entry.model_validate(values)
    except ValidationError as exc:
        model_field, message = first_validation_error(exc)
        prop = _ENTRY_FIELDS.get(model_field or "end", "DTEND")
        event.fail(message, prop)


def _first_category(component: Any) -> str | None:
    value = component.get("CATEGORIES")
    for prop in value if isinstance(value, list) else [value]:
        for category in getattr(prop, "cats", None) or []:
            if str(category).strip():
                return str(category)
    return None


_MD_LINK = re.compile(r"^\[([^\[\]]+)\]\((https?://[^()\s]+)\)$")
_KIND_TAG = re.compile(r"^\[([^\[\]]{1,40})\]\s*(.+)$")
_KEYNOTE = re.compile(r"^keynote\b", re.IGNORECASE)


def _kind_tag(title: str) -> tuple[str, str | None]:
    """ "[talk] Title" (PyCon US) into the title and its tag."""
    match = _KIND_TAG.match(title)
    if match is None:
        return title, None
    return match[2].strip(), match[1].strip()


def _people(component: Any, report: ImportReport, line: int) -> list[str]:
    """Names (CN) of the organizer and attendees, in file order, each once."""
    people: list[str] = []
    for prop in ("ORGANIZER", "ATTENDEE"):
        value = component.get(prop)
        for address in value if isinstance(value, list) else [value]:
            params = getattr(address, "params", None)
            raw = params.get("CN") if params is not None else None
            for name in _cn_names(raw):
                name = clean_value(name, report, line)
                if name and name not in people:
                    people.append(name)
    return people


def _cn_names(raw: Any) -> list[str]:
    """The names in a CN: icalendar splits an unquoted CN at its commas (RFC 5545 allows no
    comma there unquoted); "Valerio Lupi, Gabriele Zuddas" is two people, "Doe, Jane" one."""
    if raw is None:
        return []
    parts = [" ".join(str(p).split()) for p in (raw if isinstance(raw, list) else [raw])]
    parts = [p for p in parts if p]
    if len(parts) > 1 and not all(len(p.split()) >= 2 for p in parts):
        return [", ".join(parts)]
    if len(parts) == 1:
        pieces = [" ".join(p.split()) for p in parts[0].split(",")]
        if len(pieces) > 1 and all(len(p.split()) >= 2 for p in pieces):
            return pieces
    return parts


_SPEAKERS_BLOCK = re.compile(r"(?:^|\n)Speakers?:[ \t]*\n(.+)$", re.DOTALL)
_NAME_WORD = re.compile(r"^(?:[A-ZÀ-ÖØ-ÞĀ-ſ][\w'’.-]*|[a-z]{1,3}|[A-Z]\.)$")
_PARTICLES = frozenset({"van", "von", "de", "der", "den", "da", "di", "del", "la", "le", "du"})
#: Capitalised words that start titles rather than names.
_NOT_NAMES = frozenset(
    {
        "a", "an", "the", "and", "or", "of", "in", "on", "for", "to", "with", "from", "how",
        "why", "what", "when", "your", "my", "our", "intro", "introduction", "keynote",
        "talk", "workshop", "tutorial", "panel", "session", "python", "data", "day", "track",
        "welcome", "opening", "closing", "lunch", "break", "building", "beyond", "towards",
        "learning", "machine", "deep", "open", "new", "part",
    }
)  # fmt: skip


def _looks_like_name(text: str) -> bool:
    words = text.split()
    if not 2 <= len(words) <= 5 or len(text) > 60:
        return False
    if any(w.casefold().strip(".") in _NOT_NAMES for w in words):
        return False
    if words[0] in _PARTICLES or not words[-1][:1].isupper():
        return False
    return all(_NAME_WORD.match(w) and not w.endswith(("'s", "’s")) for w in words)


def _description_speakers(description: str) -> list[str]:
    """Names under a "Speakers:" line (PyCon US: each name on its own line, then its biography
    in HTML; a name follows the heading or the end of the previous biography)."""
    match = _SPEAKERS_BLOCK.search(description)
    if match is None:
        return []
    names: list[str] = []
    expect_name = True
    for line in match[1].split("\n"):
        line = line.strip()
        if not line:
            expect_name = True
            continue
        if expect_name and _SPEAKER_LINE.match(line) and len(line.split()) <= 8:
            if line not in names:
                names.append(line)
            expect_name = False
            continue
        expect_name = line.endswith("</p>")
    return names


_SPEAKER_LINE = re.compile(r"^[^\W\d_][^<>]{0,78}[^\s.!?:;,<>]$")


_BY_SPEAKER = re.compile(
    r"^(?P<title>.+?)\s*\((?:\w+\s+)?by\s+(?P<names>[^()]+)\)\s*$", re.IGNORECASE
)
_KEYNOTE_SPEAKER = re.compile(
    r"^(?P<label>keynote)\s*(?::|-|–|—|by)\s*(?P<name>[^,:()]+?)(?:\s*,\s*(?P<rest>.+))?$",
    re.IGNORECASE,
)


def _split_names(text: str) -> list[str]:
    return [n.strip() for n in re.split(r"\s*(?:,|&|\band\b)\s*", text) if n.strip()]


def _titles_name_speakers(occurrences: list[_Occurrence]) -> str | None:
    """How this calendar writes speakers into titles, if it does: "head" for "Jane Doe: Title",
    "tail" for "Title - Jane Doe, John Roe" (pretalx), when most titles with that separator
    look so."""
    votes = {"head": [0, 0], "tail": [0, 0]}
    for occurrence in occurrences:
        title = _kind_tag(occurrence.event.text("SUMMARY"))[0]
        head, sep, rest = title.partition(": ")
        if sep and rest and not _KEYNOTE.match(head):
            votes["head"][0] += 1
            votes["head"][1] += _looks_like_name(head)
        rest, sep, tail = title.rpartition(" - ")
        if sep and rest:
            votes["tail"][0] += 1
            votes["tail"][1] += all(_looks_like_name(n) for n in _split_names(tail))
    for style, (seen, named) in votes.items():
        if seen and named * 2 > seen:
            return style
    return None


def _title_speakers(title: str, style: str | None, event: _Event) -> tuple[str, list[str]]:
    """Speakers written in the title, taken out of it (and reported)."""
    report, line = event.report, event.line("SUMMARY")
    match = _BY_SPEAKER.match(title)
    if match is not None:
        names = _split_names(match["names"])
        if names and all(len(n) <= 80 for n in names):
            rest = match["title"].strip()
            for name in names:
                # "Keynote: Jane Doe All about X (talk by Jane Doe)": the name once is enough.
                rest = re.sub(rf"(?<=:)\s*{re.escape(name)}\s+", " ", rest, count=1).strip()
            report.changed("speakers taken out of the title ('Title (talk by …)')", title, line)
            return rest, names
    match = _KEYNOTE_SPEAKER.match(title)
    if match is not None and _looks_like_name(match["name"].strip()):
        # The speaker's name is the keynote's only title: keep it, and name the speaker.
        report.changed("keynote speakers read from the title ('Keynote: Jane Doe')", title, line)
        return title, [match["name"].strip()]
    head, sep, rest = title.partition(": ")
    if style == "head" and sep and rest.strip() and _looks_like_name(head):
        report.changed("speakers taken out of the title ('Jane Doe: Title')", title, line)
        return rest.strip(), [head.strip()]
    rest, sep, tail = title.rpartition(" - ")
    names = _split_names(tail)
    if style == "tail" and sep and rest.strip() and all(_looks_like_name(n) for n in names):
        report.changed("speakers taken out of the title ('Title - Jane Doe')", title, line)
        return rest.strip(), names
    return title, []
