"""The iCalendar importer, on PyCon UK 2015's calendar and on broken calendars."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.errors import ProgramError
from bot.program.files import dump_program, parse_program
from bot.program.importers import ImportOptions, get_importer, ics
from bot.program.importers.report import ImportReport
from bot.program.model import Program
from tests.ics_both import parse  # ics.parse, checked against its careful reading

PYCON = Path(__file__).resolve().parent / "fixtures" / "corpora" / "pyconuk2015.ics"
PYCON_TEXT = PYCON.read_bytes().decode("utf-8")  # keeps the CRLF line ends
PREFIX = "ics-20160417t070217z-"
SUFFIX = "-testing-worker-linux-docker-3ee836b9-3394-linux-5"


def pycon(options: ImportOptions | None = None) -> Program:
    return parse(PYCON_TEXT, "pyconuk2015.ics", options or ImportOptions())


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def by_title(program: Program, title: str) -> list:
    return [e for e in program.entries if e.title == title]


def calendar(*events: str, header: str = "") -> str:
    """A calendar of VEVENT bodies (property lines joined with CRLF)."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Example Org//Test//EN",
        "X-WR-CALNAME:Example Con",
    ]
    lines += [line for line in header.splitlines() if line]
    for body in events:
        lines += ["BEGIN:VEVENT", *[line for line in body.splitlines() if line], "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def vevent(
    uid: str = "a@example.org",
    summary: str | None = "A talk",
    start: str | None = "DTSTART:20200101T100000Z",
    extra: str = "",
) -> str:
    lines = [f"UID:{uid}"]
    if summary is not None:
        lines.append(f"SUMMARY:{summary}")
    if start is not None:
        lines.append(start)
    return "\n".join([*lines, *extra.splitlines()])


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    at = -1
    for _ in range(occurrence):
        at = text.index(needle, at + 1)
    return text[:at].count("\n") + 1


def test_get_importer_gives_this_parser() -> None:
    assert get_importer("ics") is ics.parse


# -- PyCon UK 2015 -----------------------------------------------------------------------


def test_pycon_workshop() -> None:
    ws = pycon().workshop
    assert ws.name == "PyCon UK 2015 Schedule"
    assert ws.acronym == "pycon-uk-2015-schedule"
    assert ws.timezone == "UTC"
    assert ws.date == date(2015, 9, 18)


def test_pycon_has_every_vevent() -> None:
    program = pycon()
    assert PYCON_TEXT.count("BEGIN:VEVENT") == 162
    assert len(program.entries) == 162
    assert len({e.id for e in program.entries}) == 162
    # "Keynote: Van Lindberg, PSF Chair" and "Keynote: Daniele Procida ..." are keynotes.
    assert {e.kind for e in program.entries} == {"talk", "keynote"}


def test_pycon_spot_check() -> None:
    # DTSTART:20150918T093000Z, DTEND:20150918T103000Z
    (keynote,) = by_title(pycon(), "Keynote: Van Lindberg, PSF Chair")
    assert keynote.start == utc(2015, 9, 18, 9, 30)
    assert keynote.end == utc(2015, 9, 18, 10, 30)
    assert keynote.room == "PythonAnywhere Room (CC1.3)"
    # UID folded over two lines: "...-1650@testing-worker-linux-docker-3ee836b9-3394-linux-" / "5"
    assert keynote.id == f"{PREFIX}1650{SUFFIX}"


def test_pycon_escapes_and_folding() -> None:
    titles = {e.title for e in pycon().entries}
    # The speaker written in the title becomes the entry's person.
    people = {e.title: e.people for e in pycon().entries}
    assert people["Tit for Tat, Evolution, Game Theory and the Python Axelrod Library"] == (
        "Vince Knight",
    )
    assert people["Title To Be Determined; A tale of graphs and Markov chains"] == ("Gary Martin",)
    assert people["Real-Time Data + Django = Fun,Growth + Profit"] == ("Rachel Willmer",)
    assert not any("\\" in t for t in titles)


def test_pycon_description_and_url() -> None:
    morning, afternoon = by_title(pycon(), "DjangoGirls")
    entry = morning
    assert afternoon.start == utc(2015, 9, 18, 11, 30)
    assert entry.abstract == "http://www.pyconuk.org/djangogirls/"
    assert [(link.title, link.url) for link in entry.links] == [
        ("Event page", "http://www.pyconuk.org/djangogirls/")
    ]
    assert entry.end == utc(2015, 9, 18, 11, 0)


def test_pycon_event_without_dtend_ends_when_it_starts() -> None:
    (entry,) = by_title(pycon(), "The Mellow Night")
    assert entry.start == entry.end == utc(2015, 9, 20, 18, 30)


def test_pycon_empty_summary_is_untitled() -> None:
    # Lines 786, 811, 914 and 1063 are "SUMMARY:" with nothing after it.
    untitled = by_title(pycon(), "Untitled")
    assert len(untitled) == 4
    entry = untitled[0]
    assert entry.start == utc(2015, 9, 19, 11, 30)
    assert entry.room == "PythonAnywhere Room (CC1.3)"


def test_pycon_reused_uid_gets_a_suffix() -> None:
    # Two different events share the UID ...-58703@...: each id adds the event's UTC start.
    by_id = pycon().by_id()
    assert by_id[f"{PREFIX}58703{SUFFIX}-20150919t1530z"].title == "Open Space"
    second = by_id[f"{PREFIX}58703{SUFFIX}-20150920t1030z"]
    assert second.title == "Power: Python in Astronomy"
    assert second.people == ("Tomas James",)
    assert second.start == utc(2015, 9, 20, 10, 30)


def test_pycon_in_venue_zone() -> None:
    program = pycon(
        ImportOptions(venue_tz="Europe/London", name="PyCon UK 2015", acronym="pyconuk")
    )
    ws = program.workshop
    assert (ws.name, ws.acronym, ws.timezone) == ("PyCon UK 2015", "pyconuk", "Europe/London")
    assert "start: '2015-09-18T08:00:00+01:00'" in dump_program(program)


@pytest.mark.parametrize("options", [ImportOptions(), ImportOptions(venue_tz="Europe/London")])
def test_pycon_round_trip(options: ImportOptions) -> None:
    program = pycon(options)
    assert parse_program(dump_program(program), "pycon.yaml") == program
    assert dump_program(pycon(options)) == dump_program(program)


def test_lf_line_endings_and_bom_are_accepted() -> None:
    text = "\ufeff" + PYCON_TEXT.replace("\r\n", "\n")
    assert parse(text, "lf.ics", ImportOptions()) == pycon()


# -- synthetic calendars -----------------------------------------------------------------


def test_tzid_times_are_in_that_zone() -> None:
    text = calendar(
        vevent(
            start="DTSTART;TZID=Europe/Berlin:20200701T100000",
            extra="DTEND;TZID=America/New_York:20200701T050000",
        )
    )
    entry = parse(text, "x.ics", ImportOptions()).entries[0]
    assert entry.start == utc(2020, 7, 1, 8, 0)
    assert entry.end == utc(2020, 7, 1, 9, 0)


def test_vtimezone_defined_zone() -> None:
    vtimezone = "\n".join(
        [
            "BEGIN:VTIMEZONE",
            "TZID:Custom Zone",
            "BEGIN:STANDARD",
            "DTSTART:19700101T000000",
            "TZOFFSETFROM:+0300",
            "TZOFFSETTO:+0300",
            "END:STANDARD",
            "END:VTIMEZONE",
        ]
    )
    text = calendar(vevent(start="DTSTART;TZID=Custom Zone:20200701T100000"), header=vtimezone)
    assert parse(text, "x.ics", ImportOptions()).entries[0].start == utc(2020, 7, 1, 7, 0)


def test_floating_times_use_tz_option() -> None:
    text = calendar(vevent(start="DTSTART:20200701T100000", extra="DURATION:PT1H30M"))
    program = parse(text, "x.ics", ImportOptions(tz="Europe/Berlin"))
    assert program.entries[0].start == utc(2020, 7, 1, 8, 0)
    assert program.entries[0].end == utc(2020, 7, 1, 9, 30)
    assert program.workshop.timezone == "Europe/Berlin"


def test_floating_times_use_x_wr_timezone() -> None:
    text = calendar(vevent(start="DTSTART:20200701T100000"), header="X-WR-TIMEZONE:Asia/Tokyo")
    program = parse(text, "x.ics", ImportOptions())
    assert program.entries[0].start == utc(2020, 7, 1, 1, 0)
    assert program.workshop.timezone == "Asia/Tokyo"


def test_floating_times_without_zone_ask_for_tz() -> None:
    text = calendar(vevent(), vevent(uid="b", start="DTSTART:20200701T100000"))
    with pytest.raises(ProgramError) as info:
        parse(text, "x.ics", ImportOptions())
    assert info.value.line == line_of(text, "DTSTART:20200701T100000")
    assert info.value.field == "DTSTART"
    assert "--tz" in info.value.message


def test_all_day_events_are_kept_and_cancelled_ones_reported() -> None:
    text = calendar(
        vevent(uid="day", summary="Conference day 1", start="DTSTART;VALUE=DATE:20200101"),
        vevent(uid="gone", extra="STATUS:CANCELLED"),
        vevent(uid="kept", start="DTSTART:20200102T090000Z"),
    )
    report = ImportReport("x.ics")
    program = parse(text, "x.ics", ImportOptions(venue_tz="Europe/Berlin"), report)
    day, kept = program.entries
    assert (day.id, day.kind, day.title) == ("ics-day", "other", "Conference day 1")
    # The whole day in the venue's zone: 00:00 to 24:00 Berlin time.
    assert (day.start, day.end) == (utc(2019, 12, 31, 23), utc(2020, 1, 1, 23))
    assert kept.id == "ics-kept"
    assert program.workshop.date == date(2020, 1, 1)
    counts = {(action, what): n for action, what, n, _ in report.items()}
    assert counts[("dropped", "cancelled events (STATUS:CANCELLED)")] == 1
    assert counts[("kept", "all-day events, kept as entries from 00:00 to 24:00 venue time")] == 1


def test_categories_people_and_name_options() -> None:
    extra = "\n".join(
        [
            "CATEGORIES:Keynote,Plenary",
            "ORGANIZER;CN=Jane Doe:mailto:jane@example.org",
            'ATTENDEE;CN="Doe, John":mailto:john@example.org',
            "ATTENDEE;CN=Jane Doe:mailto:jane@example.org",
            "ATTENDEE:mailto:anon@example.org",
        ]
    )
    text = calendar(vevent(extra=extra))
    program = parse(
        text, "x.ics", ImportOptions(name="Named", acronym="nm", date=date(2019, 12, 31))
    )
    entry = program.entries[0]
    assert entry.kind == "keynote"
    assert entry.people == ("Jane Doe", "Doe, John")
    assert (program.workshop.name, program.workshop.acronym) == ("Named", "nm")
    assert program.workshop.date == date(2019, 12, 31)


def test_name_is_never_taken_from_prodid() -> None:
    text = calendar(vevent()).replace("X-WR-CALNAME:Example Con\r\n", "")
    with pytest.raises(ProgramError, match="--name") as info:
        parse(text, "x.ics", ImportOptions())
    assert info.value.line == 1
    assert parse(text, "x.ics", ImportOptions(name="Named")).workshop.name == "Named"
    named = text.replace("PRODID:-//Example Org//Test//EN", "PRODID:x\r\nNAME:RFC 7986 Con")
    assert parse(named, "x.ics", ImportOptions()).workshop.name == "RFC 7986 Con"
    assert parse(calendar(vevent()), "x.ics", ImportOptions()).workshop.name == "Example Con"


def test_recurrence_overrides_get_their_own_ids() -> None:
    text = calendar(
        vevent(extra="RRULE:FREQ=DAILY;COUNT=3"),
        vevent(start="DTSTART:20200102T110000Z", extra="RECURRENCE-ID:20200102T100000Z"),
    )
    entries = parse(text, "x.ics", ImportOptions()).entries
    # The rule's three days, the second moved to 11:00 by its override.
    assert [(e.id, e.start) for e in entries] == [
        ("ics-a-example-org-20200101t1000z", utc(2020, 1, 1, 10)),
        ("ics-a-example-org-20200102t1000z", utc(2020, 1, 2, 11)),
        ("ics-a-example-org-20200103t1000z", utc(2020, 1, 3, 10)),
    ]


def test_long_uids_are_cut() -> None:
    entry = parse(
        calendar(vevent(uid="x" * 50 + "-" + "y" * 80)), "x.ics", ImportOptions()
    ).entries[0]
    # Cut to 100 characters, ending in a hash of the whole UID so long UIDs stay apart.
    assert entry.id.startswith("ics-" + "x" * 50 + "-" + "y" * 30)
    assert len(entry.id) == 100


# -- broken input ------------------------------------------------------------------------


def test_missing_summary_names_the_vevent_line() -> None:
    text = calendar(vevent(), vevent(uid="b", summary=None))
    with pytest.raises(ProgramError) as info:
        parse(text, "x.ics", ImportOptions())
    assert info.value.line == line_of(text, "BEGIN:VEVENT", 2)
    assert info.value.field == "SUMMARY"
    assert str(info.value).startswith(f"x.ics:{info.value.line}, SUMMARY:")


def test_missing_dtstart_names_the_vevent_line() -> None:
    text = calendar(vevent(start=None))
    with pytest.raises(ProgramError) as info:
        parse(text, "x.ics", ImportOptions())
    assert (info.value.line, info.value.field) == (line_of(text, "BEGIN:VEVENT"), "DTSTART")


def test_lines_count_folded_lines() -> None:
    # The folded DESCRIPTION makes the broken VEVENT start two lines later than unfolded.
    folded = "DESCRIPTION:a long\r\n  description\r\n  over three lines"
    text = calendar(vevent(extra=folded), vevent(uid="b", summary=None))
    with pytest.raises(ProgramError) as info:
        parse(text, "x.ics", ImportOptions())
    assert info.value.line == 13 == line_of(text, "BEGIN:VEVENT", 2)


def test_pycon_missing_summary_line() -> None:
    # Remove the first "SUMMARY:DjangoGirls" (the 4th VEVENT starts on line 28 of the file).
    text = PYCON_TEXT.replace("SUMMARY:DjangoGirls\r\n", "", 1)
    with pytest.raises(ProgramError) as info:
        parse(text, "pyconuk2015.ics", ImportOptions())
    assert (info.value.line, info.value.field) == (28, "SUMMARY")


def test_bad_dtstart_value() -> None:
    text = calendar(vevent(start="DTSTART:2020-01-01 10:00"))
    with pytest.raises(ProgramError) as info:
        parse(text, "x.ics", ImportOptions())
    assert (info.value.line, info.value.field) == (line_of(text, "DTSTART:"), "DTSTART")


def test_unknown_tzid() -> None:
    text = calendar(vevent(start="DTSTART;TZID=Mars/Olympus:20200101T100000"))
    with pytest.raises(ProgramError, match="Mars/Olympus") as info:
        parse(text, "x.ics", ImportOptions())
    assert info.value.line == line_of(text, "DTSTART;")


def test_unknown_x_wr_timezone() -> None:
    text = calendar(vevent(), header="X-WR-TIMEZONE:Mars/Olympus")
    with pytest.raises(ProgramError) as info:
        parse(text, "x.ics", ImportOptions())
    assert (info.value.line, info.value.field) == (line_of(text, "X-WR-TIMEZONE"), "X-WR-TIMEZONE")


def test_unknown_tz_option() -> None:
    with pytest.raises(ProgramError, match="--tz"):
        parse(calendar(vevent()), "x.ics", ImportOptions(tz="Nowhere/Land"))


def test_end_before_start() -> None:
    text = calendar(vevent(extra="DTEND:20200101T090000Z"))
    with pytest.raises(ProgramError, match="before start") as info:
        parse(text, "x.ics", ImportOptions())
    assert (info.value.line, info.value.field) == (line_of(text, "DTEND"), "DTEND")


def test_exact_copy_of_a_vevent_is_dropped_and_reported() -> None:
    text = calendar(vevent(), vevent())
    report = ImportReport("x.ics")
    assert len(parse(text, "x.ics", ImportOptions(), report).entries) == 1
    ((action, what, count, examples),) = report.items()
    assert (action, count) == ("dropped", 1)
    assert "copies" in what
    assert examples[0][0] == line_of(text, "UID:", 2)


def test_cut_off_calendar() -> None:
    text = PYCON_TEXT.removesuffix("END:VCALENDAR\r\n")
    with pytest.raises(ProgramError, match="END:VCALENDAR") as info:
        parse(text, "pyconuk2015.ics", ImportOptions())
    assert info.value.line == text.count("\n")


def test_vevent_without_end() -> None:
    cut = PYCON_TEXT.index("SUMMARY:DjangoGirls")
    text = PYCON_TEXT[:cut]
    with pytest.raises(ProgramError, match="BEGIN:VEVENT at line 28 has no END:VEVENT") as info:
        parse(text, "pyconuk2015.ics", ImportOptions())
    assert info.value.line == 28


def test_mismatched_end() -> None:
    text = calendar(vevent()).replace("END:VEVENT", "END:VTODO")
    with pytest.raises(ProgramError, match="BEGIN:VEVENT at line 5") as info:
        parse(text, "x.ics", ImportOptions())
    assert info.value.line == line_of(text, "END:VTODO")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("", 1),
        ("hello world\r\n", 1),
        ("BEGIN:VEVENT\r\nEND:VEVENT\r\n", 1),
        ("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\nBEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", 3),
        ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nno colon here\r\nEND:VCALENDAR\r\n", 3),
        ("SUMMARY:x\r\nBEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", 1),
        ("BEGIN:VCALENDAR\r\nEND:VEVENT\r\n", 2),
    ],
)
def test_not_a_calendar(text: str, line: int) -> None:
    with pytest.raises(ProgramError) as info:
        parse(text, "x.ics", ImportOptions())
    assert info.value.line == line


def test_calendar_without_events_is_refused() -> None:
    text = calendar(vevent(extra="STATUS:CANCELLED"))
    with pytest.raises(ProgramError, match="cancel every entry") as info:
        parse(text, "x.ics", ImportOptions())
    assert info.value.line == 1


# -- never anything but ProgramError -----------------------------------------------------


def _parse_or_program_error(text: str) -> None:
    try:
        program = parse(text, "fuzz.ics", ImportOptions())
    except ProgramError as exc:
        assert exc.message
        return
    assert isinstance(program, Program)


@settings(max_examples=150, deadline=None)
@given(st.text())
def test_random_text_raises_only_program_error(text: str) -> None:
    _parse_or_program_error(text)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "BEGIN:",
                "END:",
                "VCALENDAR",
                "VEVENT",
                "VALARM",
                "DTSTART",
                ":",
                ";",
                "TZID=",
                "VALUE=DATE",
                "\r\n",
                " ",
                "20200101",
                "T100000",
                "Z",
                "SUMMARY",
                "x",
            ]
        ),
        max_size=40,
    )
)
def test_random_calendar_words_raise_only_program_error(words: list[str]) -> None:
    _parse_or_program_error("".join(words))


PYCON_LINES = PYCON_TEXT.split("\r\n")
VALUES = st.text(max_size=30) | st.sampled_from(
    [
        "",
        "20150918T093000",
        "20150918",
        "P1D",
        "-PT1H",
        "99991231T230000Z",
        "00010101T000000",
        "mailto:x",
        "BEGIN:VEVENT",
        "END:VEVENT",
    ]
)


@st.composite
def mutated_pycon(draw: st.DrawFn) -> str:
    lines = list(PYCON_LINES)
    for _ in range(draw(st.integers(1, 3))):
        lines = lines or [""]
        index = draw(st.integers(0, max(len(lines) - 1, 0)))
        action = draw(st.sampled_from(["truncate", "drop", "value", "insert", "chars"]))
        if action == "truncate":
            lines = lines[:index]
        elif action == "drop":
            del lines[index]
        elif action == "value":
            name = draw(
                st.sampled_from(
                    [
                        "DTSTART",
                        "DTEND",
                        "DURATION",
                        "SUMMARY",
                        "UID",
                        "URL",
                        "LOCATION",
                        "CATEGORIES",
                        "RECURRENCE-ID",
                        "DTSTART;TZID=Europe/London",
                        "DTSTART;VALUE=DATE",
                        "ATTENDEE;CN=",
                        "X-WR-TIMEZONE",
                        "STATUS",
                    ]
                )
            )
            lines[index] = f"{name}:{draw(VALUES)}"
        elif action == "insert":
            lines.insert(index, draw(VALUES))
        else:
            line = lines[index]
            at = draw(st.integers(0, len(line)))
            lines[index] = line[:at] + draw(st.text(max_size=5)) + line[at + 1 :]
    return "\r\n".join(lines)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_pycon())
def test_mutated_pycon_raises_only_program_error(text: str) -> None:
    _parse_or_program_error(text)
