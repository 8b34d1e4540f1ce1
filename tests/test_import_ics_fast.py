"""The iCalendar importer's fast reading gives what its careful one gives (issue 14).

The fast reading decodes the VEVENT text properties itself and gives icalendar each distinct
set of a VEVENT's other lines once; the careful one (``fast=False``) gives icalendar every
needed line. Both must give the same program file, report and errors: on every corpus file,
on content lines that are easy to get wrong, and on generated ones. (The other ics tests
check it too: they parse through ``tests.ics_both``.)
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from bot.errors import ProgramError
from bot.program.importers import ImportOptions, ics
from bot.program.importers.report import ImportReport
from tests.ics_both import outcome

CORPORA = Path(__file__).resolve().parent / "fixtures" / "corpora"
ICS_FILES = sorted(p.name for p in CORPORA.glob("*.ics"))
OPTIONS = [
    ImportOptions(),
    ImportOptions(name="Demo Con"),
    ImportOptions(tz="Europe/Berlin", name="Demo Con"),
    ImportOptions(venue_tz="America/New_York", name="Demo Con"),
]


def same_both_ways(text: str, options: ImportOptions | None = None) -> tuple[object, ...]:
    options = options or ImportOptions()
    careful = outcome(text, "t.ics", options, ImportReport("t.ics"), fast=False)
    fast = outcome(text, "t.ics", options, ImportReport("t.ics"), fast=True)
    assert fast == careful
    return fast


def calendar(*events: str, header: str = "X-WR-CALNAME:Example Con", end: str = "\r\n") -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Example Org//Test//EN"]
    lines += [line for line in header.splitlines() if line]
    for body in events:
        lines += ["BEGIN:VEVENT", *[line for line in body.split("\n") if line], "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return end.join(lines) + end


def event(*lines: str, uid: str = "a@example.org", start: str = "20250101T100000Z") -> str:
    return "\n".join([f"UID:{uid}", f"DTSTART:{start}", "DTEND:20250101T110000Z", *lines])


@pytest.mark.parametrize("name", ICS_FILES)
@pytest.mark.parametrize("options", OPTIONS)
def test_corpus_files_read_the_same(name: str, options: ImportOptions) -> None:
    text = (CORPORA / name).read_text(encoding="utf-8")
    same_both_ways(text, options)
    same_both_ways(text.replace("\r\n", "\n"), options)


def test_repeated_calendar_gives_icalendar_each_slot_once() -> None:
    """PyCon US 2025 three times (new UIDs): every copy shares its times' component."""
    text = (CORPORA / "pyconus2025-all_events.ics").read_text(encoding="utf-8")
    head, _, rest = text.partition("BEGIN:VEVENT")
    body, _, tail = rest.rpartition("END:VEVENT")
    body = "BEGIN:VEVENT" + body + "END:VEVENT"
    copies = [body.replace("UID:", f"UID:copy{n}-") for n in range(3)]
    big = head + "\r\n".join(copies) + tail
    scan = ics._scan(big, "t.ics")
    assert len(scan.vevents) == 3 * 224
    assert scan.events_given <= 224
    assert "DESCRIPTION" not in scan.needed
    result = same_both_ways(big)
    assert result[0] == "program" and len(result[1].entries) == 3 * 224


# Each case is a calendar; comments say what it is about.
TRICKY = [
    # Folded lines: inside multi-byte characters' text, after a backslash (an escape split by
    # the fold), with a tab, and a fold after a blank line.
    calendar(
        event("SUMMARY:Caf\r\n é ☕ — naïve\r\n\t 日本語", "DESCRIPTION:a\\\r\n nb\\\r\n , c")
    ),
    calendar(event("SUMMARY:Grüße 🎉 aus\r\n  Köln"), end="\n"),
    calendar(event("SUMMARY:one\r\n\r\n two")),
    # Quoted parameter values holding ':' ';' ','; parameters on text properties.
    calendar(event('LOCATION;ALTREP="http://x.org/a;b,c:d":Room 1\\, left', "SUMMARY:T")),
    calendar(event('SUMMARY;LANGUAGE=en;X-A="a:b;c,d":Hello: world')),
    calendar(event("summary;language=de:Grüße", 'description;altrep="cid:x@y":d')),
    calendar(event('SUMMARY;X-A="a":b;c', 'DESCRIPTION;X-A=",":x')),
    # Escapes in text: \\, \; \, \n \N \: and unknown ones; a trailing backslash.
    calendar(event("SUMMARY:Lunch\\, coffee\\; more \\\\ and\\Nnew\\nline \\:x \\q \\")),
    calendar(event("DESCRIPTION:a\\\\nb\\\\\\nc", "SUMMARY:\\\\")),
    # A value without parameters that holds ';' and ':' and '='.
    calendar(event("SUMMARY:Talk; part 2: x=y;z", "DESCRIPTION:k;v=w:u")),
    calendar(event("SUMMARY:a;b", "LOCATION:r;s")),
    # Values icalendar reads itself: VALUE parameters, a backslash before the value, a URL
    # with a newline (refused), a carriage return.
    calendar(event("SUMMARY;VALUE=TEXT:typed", "DESCRIPTION;VALUE=BINARY:eA==")),
    calendar(event("SUMMARY;X-A=a\\:b:c", "URL;VALUE=URI:http://example.org/x")),
    calendar(event("SUMMARY:T", "URL:http://example.org/a\\nb")),
    calendar(event("SUMMARY:T", "URL:http://example.org/a", "URL:http://example.org/\\nb")),
    calendar(event("SUMMARY:T", "URL:http://example.org/\\nb", "URL:http://example.org/a")),
    calendar(event("SUMMARY:a\rb", "LOCATION:\rroom")),
    # Repeated, empty and blank properties; lower-case names and values.
    calendar(event("SUMMARY:first", "SUMMARY:second", "LOCATION:", "DESCRIPTION:   ")),
    calendar(event("SUMMARY:", "STATUS:cancelled")),
    calendar(event("SUMMARY:x", "status:CANCELLED"), event("SUMMARY:y", uid="b")),
    calendar(event("LOCATION:no title")),
    # Parameters the careful reading refuses or reads differently.
    calendar(event('SUMMARY;X-A="a:b:c', "LOCATION:r")),
    calendar(event("SUMMARY;X-A=:y")),
    calendar(event("SUMMARY;X_A=1:z")),
    calendar(event("SUMMARY ;X-A=1:z")),
    calendar(event("SUMMARY;=x:y")),
    calendar(event("SUMMARY;X-A=b;:y")),
    # People: quoted and unquoted CNs with commas.
    calendar(
        event(
            "SUMMARY:Panel",
            'ORGANIZER;CN="Doe, Jane":mailto:jane@example.org',
            "ATTENDEE;CN=Valerio Lupi, Gabriele Zuddas:mailto:x@example.org",
        )
    ),
    # Identical times in many events (shared by the fast reading), with and without zones,
    # all-day, durations and recurrences.
    calendar(
        *[event(f"SUMMARY:Talk {n}", f"LOCATION:Room {n % 3}", uid=f"u{n}") for n in range(7)]
    ),
    calendar(
        "UID:r\nSUMMARY:Weekly\nDTSTART;TZID=Europe/Berlin:20250301T100000\n"
        "DURATION:PT1H\nRRULE:FREQ=WEEKLY;COUNT=6\nEXDATE;TZID=Europe/Berlin:20250315T100000",
        "UID:r\nSUMMARY:Moved\nRECURRENCE-ID;TZID=Europe/Berlin:20250308T100000\n"
        "DTSTART;TZID=Europe/Berlin:20250308T120000\nDURATION:PT1H",
        "UID:s\nSUMMARY:Weekly too\nDTSTART;TZID=Europe/Berlin:20250301T100000\n"
        "DURATION:PT1H\nRRULE:FREQ=WEEKLY;COUNT=6\nEXDATE;TZID=Europe/Berlin:20250315T100000",
        "UID:d\nSUMMARY:Day\nDTSTART;VALUE=DATE:20250302\nDTEND;VALUE=DATE:20250304",
        "UID:e\nSUMMARY:Day too\nDTSTART;VALUE=DATE:20250302\nDTEND;VALUE=DATE:20250304",
    ),
    # A VTIMEZONE after the events that use it (a forward reference), and one before.
    calendar(
        event("SUMMARY:Early", start="20250101T100000", uid="x").replace(
            "DTSTART:", "DTSTART;TZID=My Zone:"
        ),
        header="X-WR-CALNAME:Zones",
    ).replace(
        "END:VCALENDAR",
        "BEGIN:VTIMEZONE\r\nTZID:My Zone\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n"
        "TZOFFSETFROM:+0300\r\nTZOFFSETTO:+0300\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
        "BEGIN:VEVENT\r\nUID:y\r\nSUMMARY:Late\r\nDTSTART;TZID=My Zone:20250101T100000\r\n"
        "DTEND:20250101T110000Z\r\nEND:VEVENT\r\nEND:VCALENDAR",
    ),
    # Components inside components: a VALARM (skipped), a VEVENT inside a VTODO or a
    # VTIMEZONE (read the careful way), a BEGIN with a space.
    calendar(event("SUMMARY:T", "BEGIN:VALARM", "DESCRIPTION:ring", "END:VALARM")),
    calendar(event("SUMMARY:T")).replace(
        "END:VCALENDAR", "BEGIN:VTODO\r\nBEGIN:VEVENT\r\nEND:VEVENT\r\nEND:VTODO\r\nEND:VCALENDAR"
    ),
    calendar(event("SUMMARY:T")).replace(
        "END:VCALENDAR",
        "BEGIN:VTIMEZONE\r\nTZID:Z\r\nBEGIN:VEVENT\r\nUID:q\r\nSUMMARY:in a zone\r\n"
        "DTSTART:20250101T100000Z\r\nEND:VEVENT\r\nEND:VTIMEZONE\r\nEND:VCALENDAR",
    ),
    calendar(event("SUMMARY:T")).replace("BEGIN:VEVENT", "BEGIN: VEVENT"),
    # Errors: a bad line, a bad date, a missing title, a cut-off file.
    calendar(event("SUMMARY:T", "no colon here")),
    calendar(event("SUMMARY:T", start="2025-01-01")),
    calendar(event("DESCRIPTION:untitled")),
    calendar(event("SUMMARY:T")).replace("END:VCALENDAR\r\n", ""),
]


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_calendars_read_the_same(text: str) -> None:
    same_both_ways(text)
    same_both_ways(text, ImportOptions(tz="Europe/Berlin", name="Named"))


def test_tricky_cases_take_the_fast_way() -> None:
    """The cases above are not all read the careful way after all."""
    fast = 0
    for text in TRICKY:
        try:
            scan = ics._scan(text, "t.ics")
        except (ics._Unusual, ProgramError):
            continue
        fast += any(v.texts for v in scan.vevents)
    assert fast >= 25


def test_vevent_inside_another_component_is_read_the_careful_way() -> None:
    text = calendar(event("SUMMARY:T")).replace(
        "END:VCALENDAR", "BEGIN:VTODO\r\nBEGIN:VEVENT\r\nEND:VEVENT\r\nEND:VTODO\r\nEND:VCALENDAR"
    )
    with pytest.raises(ics._Unusual):
        ics._scan(text, "t.ics")
    result = same_both_ways(text)
    assert result[0] == "error" and "icalendar read 1 events" in result[1]


# -- one text property, as icalendar reads it ---------------------------------------------

TEXT_NAMES = st.sampled_from(["SUMMARY", "summary", "DESCRIPTION", "LOCATION", "UID", "URL"])
PIECES = st.sampled_from(
    [
        *[
            "\\",
            "\\n",
            "\\N",
            "\\,",
            "\\;",
            "\\:",
            "\\\\",
            ",",
            ";",
            ":",
            '"',
            "=",
            " ",
            "\t",
            "\r",
        ],
        *["a", "Z", "é", "☕", "日", "http://x.org/?a=1&b", "VALUE", "TEXT", "LANGUAGE", "X-A"],
    ]
)
PARAMS = st.lists(
    st.tuples(
        st.sampled_from(["LANGUAGE", "ALTREP", "X-A", "VALUE", "x-b", "CN"]),
        st.lists(PIECES, max_size=4).map("".join),
        st.booleans(),
    ),
    max_size=2,
)


def icalendar_text(line: str, name: str) -> str | None:
    """The property as icalendar reads it in a VEVENT, or None when it does not."""
    text = f"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n{line}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            component = Calendar.from_ical(text).walk("VEVENT")[0]
    except Exception:
        return None
    if component.errors:
        return None
    value = component.get(name)
    return None if value is None or isinstance(value, list) else str(value)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT_NAMES, PARAMS, st.lists(PIECES, max_size=12).map("".join))
def test_fast_text_decodes_as_icalendar_does(
    name: str, params: list[tuple[str, str, bool]], value: str
) -> None:
    prefix = name + "".join(f';{k}="{v}"' if quoted else f";{k}={v}" for k, v, quoted in params)
    line = f"{prefix}:{value}"
    match = ics._CONTENT_LINE.match(line)
    decoded = ics._fast_text(line, match, name.upper()) if match is not None else None
    if decoded is not None:
        assert decoded == icalendar_text(line, name.upper())
