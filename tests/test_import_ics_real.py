"""iCalendar as real calendars write it (RFC 5545): what was refused, mangled or dropped (issue 14)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.errors import ProgramError
from bot.program.importers import ImportOptions
from bot.program.importers.report import ImportReport
from tests.ics_both import parse  # ics.parse, checked against its careful reading

CORPORA = Path(__file__).resolve().parent / "fixtures" / "corpora"
DEMOCON = "pretalx-democon.ics"
PYCONUS = "pyconus2025-all_events.ics"


def corpus(name: str) -> str:
    return (CORPORA / name).read_text(encoding="utf-8")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def calendar(*events: str, header: str = "X-WR-CALNAME:Example Con") -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Example Org//Test//EN"]
    lines += [line for line in header.splitlines() if line]
    for body in events:
        lines += ["BEGIN:VEVENT", *[line for line in body.splitlines() if line], "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def vevent(uid: str, summary: str, start: str, extra: str = "") -> str:
    return "\n".join([f"UID:{uid}", f"SUMMARY:{summary}", start, *extra.splitlines()])


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def counts(report: ImportReport) -> dict[tuple[str, str], int]:
    return {(action, what): n for action, what, n, _ in report.items()}


# -- refused today -----------------------------------------------------------------------


def test_a_property_nobody_needs_never_rejects_the_file() -> None:
    text = calendar(
        vevent("a", "A talk", "DTSTART:20200101T100000Z", "X-BROKEN;VALUE=DURATION:P60M"),
        header="X-WR-CALNAME:Example Con\nREFRESH-INTERVAL;VALUE=DURATION:P60M\n"
        "X-PUBLISHED-TTL:P60M",
    )
    (entry,) = parse(text, "x.ics", ImportOptions()).entries
    assert (entry.title, entry.start) == ("A talk", utc(2020, 1, 1, 10))


def test_a_broken_property_that_is_needed_names_its_line() -> None:
    text = calendar(
        vevent("a", "A talk", "DTSTART:20200101T100000Z"),
        vevent("b", "B talk", "DTSTART:2020-01-02 10:00"),
    )
    with pytest.raises(ProgramError) as info:
        parse(text, "x.ics", ImportOptions())
    assert (info.value.line, info.value.field) == (line_of(text, "DTSTART:2020-01-02"), "DTSTART")


def test_pretalx_calendar_imports_in_its_events_zone_with_speakers_from_titles() -> None:
    report = ImportReport(DEMOCON)
    program = parse(corpus(DEMOCON), DEMOCON, ImportOptions(name="DemoCon"), report)
    # Every event is TZID=Europe/Berlin and there is no X-WR-TIMEZONE.
    assert program.workshop.timezone == "Europe/Berlin"
    assert program.workshop.date == date(2022, 9, 6)
    assert len(program.entries) == 36
    entry = program.by_id()["ics-pretalx-democon-lnngam-localhost"]
    assert entry.title == "Up-sized optimal hardware"
    assert entry.people == ("Brandy Mcclain", "Christine Green")
    assert entry.start == utc(2022, 9, 6, 10, 30)
    assert entry.start.utcoffset() is not None
    assert counts(report)[("changed", "speakers taken out of the title ('Title - Jane Doe')")] == 36


# -- wrong values ------------------------------------------------------------------------


def test_cn_with_a_comma_is_two_people_not_a_python_list() -> None:
    extra = "\n".join(
        [
            "ORGANIZER;CN=Valerio Lupi, Gabriele Zuddas:MAILTO:team@example.org",
            'ATTENDEE;CN="Doe, John":mailto:john@example.org',
        ]
    )
    text = calendar(vevent("a", "A talk", "DTSTART:20200101T100000Z", extra))
    (entry,) = parse(text, "x.ics", ImportOptions()).entries
    assert entry.people == ("Valerio Lupi", "Gabriele Zuddas", "Doe, John")


def test_workshop_name_is_never_the_software_in_prodid() -> None:
    text = corpus(DEMOCON)  # PRODID:-//pretalx//localhost//, no X-WR-CALNAME
    with pytest.raises(ProgramError, match="--name"):
        parse(text, DEMOCON, ImportOptions())
    program = parse(corpus(PYCONUS), PYCONUS, ImportOptions())  # PRODID:ics.py - http://git.io/…
    assert program.workshop.name == "PyCon 2025 All Events"


def test_zone_and_date_come_from_the_events_tzid() -> None:
    # 00:30 in Berlin on 2 January is still 1 January in UTC.
    text = calendar(
        vevent("a", "Late talk", "DTSTART;TZID=Europe/Berlin:20200102T003000"),
        vevent("b", "Next", "DTSTART;TZID=Europe/Berlin:20200102T100000"),
    )
    program = parse(text, "x.ics", ImportOptions())
    assert program.workshop.timezone == "Europe/Berlin"
    assert program.workshop.date == date(2020, 1, 2)
    assert program.entries[0].start == utc(2020, 1, 1, 23, 30)


def test_ids_of_a_reused_uid_do_not_depend_on_file_order() -> None:
    # A generator that gives every talk of a day the same UID (a real calendar: 67 of 87).
    talks = [
        vevent("day1@example.org", f"Talk {n}", f"DTSTART:20200101T1{n}0000Z", "DURATION:PT30M")
        for n in range(6)
    ]
    before = {e.id: e.title for e in parse(calendar(*talks), "x.ics", ImportOptions()).entries}
    assert before["ics-day1-example-org-20200101t1200z"] == "Talk 2"
    shuffled = [talks[5], talks[0], talks[4], talks[3], talks[1]]  # Talk 2 removed, reordered
    after = {e.id: e.title for e in parse(calendar(*shuffled), "x.ics", ImportOptions()).entries}
    assert len(after) == 5
    assert all(before[entry_id] == title for entry_id, title in after.items())


def test_speakers_written_in_the_title() -> None:
    text = calendar(
        vevent("a", "Jane Doe: Making Python fast", "DTSTART:20200101T100000Z"),
        vevent("b", "Jean-Luc Picard: Boldly going", "DTSTART:20200101T110000Z"),
        vevent("c", "Lunch: soup and bread", "DTSTART:20200101T120000Z"),
        vevent("d", "Keynote: Ada Lovelace\\, Analytical Engines", "DTSTART:20200101T130000Z"),
    )
    entries = parse(text, "x.ics", ImportOptions()).entries
    assert [(e.title, e.people, e.kind) for e in entries] == [
        ("Making Python fast", ("Jane Doe",), "talk"),
        ("Boldly going", ("Jean-Luc Picard",), "talk"),
        ("Lunch: soup and bread", (), "talk"),
        ("Keynote: Ada Lovelace, Analytical Engines", ("Ada Lovelace",), "keynote"),
    ]


def test_titles_with_a_colon_are_not_all_speakers() -> None:
    text = calendar(
        vevent("a", "Design Pressure: The Invisible Hand", "DTSTART:20200101T100000Z"),
        vevent("b", "Marimo: A Notebook", "DTSTART:20200101T110000Z"),
        vevent("c", "Type Hints in Real-World Projects: Steps", "DTSTART:20200101T120000Z"),
    )
    entries = parse(text, "x.ics", ImportOptions()).entries
    assert all(e.people == () and ":" in e.title for e in entries)


def test_pycon_us_speakers_kinds_and_titles() -> None:
    program = parse(corpus(PYCONUS), PYCONUS, ImportOptions())
    entry = program.by_id()["ics-bffa3522-4629-5e7c-ac08-0433874a4508"]
    # SUMMARY:[talk] Looking At Audio; "Speakers:\nŁukasz Langa\n<p>…" in the DESCRIPTION.
    assert (entry.title, entry.kind, entry.people) == (
        "Looking At Audio",
        "talk",
        ("Łukasz Langa",),
    )
    assert (entry.start, entry.end) == (utc(2025, 5, 17, 17, 30), utc(2025, 5, 17, 18, 15))
    keynote = next(e for e in program.entries if e.title == "Keynote - Cory Doctorow")
    assert keynote.people == ("Cory Doctorow",)
    two = next(e for e in program.entries if e.people[:1] == ("Sam Gross",))
    assert two.people == ("Sam Gross", "Neil Mitchell")
    # A list in a biography ("* Algorithms and optimizations") is not a speaker.
    alone = next(e for e in program.entries if e.people[:1] == ("Daniel Anderson",))
    assert alone.people == ("Daniel Anderson",)
    assert all(name[0].isalpha() for e in program.entries for name in e.people)
    assert not any(e.title.startswith("[") for e in program.entries)
    # SUMMARY:[plenary] [Job Fair and Community Showcase](https://us.pycon.org/2025/events/…)
    fair = next(e for e in program.entries if e.title == "Job Fair and Community Showcase")
    assert fair.kind == "plenary"
    assert "https://us.pycon.org/2025/events/job-fair/" in [link.url for link in fair.links]


# -- dropped without a word --------------------------------------------------------------


def test_a_weekly_meeting_gives_every_meeting_in_its_own_zone() -> None:
    text = calendar(
        vevent(
            "weekly@example.org",
            "Reading group",
            "DTSTART;TZID=Europe/Berlin:20240301T100000",
            "DTEND;TZID=Europe/Berlin:20240301T110000\nRRULE:FREQ=WEEKLY;COUNT=16\n"
            "EXDATE;TZID=Europe/Berlin:20240315T100000",
        ),
        vevent(
            "weekly@example.org",
            "Reading group (moved)",
            "DTSTART;TZID=Europe/Berlin:20240322T140000",
            "DTEND;TZID=Europe/Berlin:20240322T150000\n"
            "RECURRENCE-ID;TZID=Europe/Berlin:20240322T100000",
        ),
    )
    report = ImportReport("x.ics")
    entries = parse(text, "x.ics", ImportOptions(), report).entries
    assert len(entries) == 15  # sixteen, one excepted
    berlin = [e.start.astimezone(entries[0].start.tzinfo) for e in entries]
    assert entries[0].start == utc(2024, 3, 1, 9)
    # After the switch to summer time the meeting is still at 10:00 in Berlin: 08:00 UTC.
    assert entries[-1].start == utc(2024, 6, 14, 8)
    assert entries[-1].end == utc(2024, 6, 14, 9)
    moved = [e for e in entries if e.title == "Reading group (moved)"]
    assert [(e.id, e.start) for e in moved] == [
        ("ics-weekly-example-org-20240322t0900z", utc(2024, 3, 22, 13))
    ]
    assert "ics-weekly-example-org-20240315t0900z" not in {e.id for e in entries}
    assert len(berlin) == len({e.id for e in entries})
    assert counts(report)[("kept", "occurrences of recurring events, each kept as an entry")] == 15


def test_a_rule_with_a_date_until() -> None:
    text = calendar(
        vevent(
            "d", "Daily", "DTSTART;TZID=America/New_York:20240101T090000",
            "RRULE:FREQ=DAILY;UNTIL=20240103",
        )
    )  # fmt: skip
    starts = [e.start for e in parse(text, "x.ics", ImportOptions()).entries]
    assert starts == [utc(2024, 1, 1, 14), utc(2024, 1, 2, 14), utc(2024, 1, 3, 14)]


def test_a_rule_without_an_end_keeps_a_year_and_says_so() -> None:
    text = calendar(vevent("w", "Weekly", "DTSTART:20240101T090000Z", "RRULE:FREQ=WEEKLY"))
    report = ImportReport("x.ics")
    entries = parse(text, "x.ics", ImportOptions(), report).entries
    assert len(entries) == 53
    assert any(
        what.startswith("recurring events without an end") for _, what, _, _ in report.items()
    )


def test_a_calendar_of_only_all_day_events_keeps_them() -> None:
    text = calendar(
        vevent("d1", "Sprints", "DTSTART;VALUE=DATE:20240518", "DTEND;VALUE=DATE:20240520"),
        header="X-WR-CALNAME:Sprints\nX-WR-TIMEZONE:America/Chicago",
    )
    report = ImportReport("x.ics")
    (entry,) = parse(text, "x.ics", ImportOptions(), report).entries
    # Two days (DTEND is exclusive), midnight to midnight in the calendar's zone.
    assert (entry.start, entry.end) == (utc(2024, 5, 18, 5), utc(2024, 5, 20, 5))
    assert entry.kind == "other"
    assert (
        counts(report)[("kept", "all-day events, kept as entries from 00:00 to 24:00 venue time")]
        == 1
    )


# -- bad bytes ---------------------------------------------------------------------------


def test_control_characters_are_removed_and_counted() -> None:
    text = calendar(vevent("a", "A\x00 talk\x07", "DTSTART:20200101T100000Z", "LOCATION:Ro\x00om"))
    report = ImportReport("x.ics")
    (entry,) = parse("\ufeff" + text, "x.ics", ImportOptions(), report).entries
    assert (entry.title, entry.room) == ("A talk", "Room")
    assert counts(report)[("changed", "control characters (such as NUL) removed")] == 3


def test_empty_calendar_file() -> None:
    with pytest.raises(ProgramError) as info:
        parse("\r\n", "x.ics", ImportOptions())
    assert str(info.value) == "x.ics:1: the file is empty"


def test_rdate_periods_and_long_titles() -> None:
    text = calendar(
        vevent(
            "p", "Office hours", "DTSTART:20240101T100000Z",
            "DURATION:PT1H\nRDATE;VALUE=PERIOD:20240105T120000Z/PT1H",
        ),
        vevent("t", "T" * 2500, "DTSTART:20240102T100000Z", f"LOCATION:{'R' * 250}"),
    )  # fmt: skip
    report = ImportReport("x.ics")
    office, long_one, second = parse(text, "x.ics", ImportOptions(), report).entries
    assert [(e.title, e.start) for e in (office, second)] == [
        ("Office hours", utc(2024, 1, 1, 10)),
        ("Office hours", utc(2024, 1, 5, 12)),
    ]
    assert second.end == utc(2024, 1, 5, 13)
    assert (len(long_one.title), long_one.title[-1]) == (2000, "…")
    assert long_one.room is not None and len(long_one.room) == 200
    assert counts(report)[("changed", "titles cut to 2,000 characters")] == 1
    assert counts(report)[("changed", "places (LOCATION) cut to 200 characters")] == 1


def test_vevent_content_with_no_place_in_the_program_is_reported() -> None:
    text = calendar(
        vevent(
            "c", "A talk", "DTSTART:20240101T100000Z",
            "COMMENT:Bring a laptop\nDTSTAMP:20231201T000000Z\nBEGIN:VALARM\nACTION:DISPLAY\n"
            "TRIGGER:-PT10M\nEND:VALARM",
        ),
        header="X-WR-CALNAME:Example Con\nBEGIN:VTODO\nUID:t\nSUMMARY:Print badges\nEND:VTODO",
    )  # fmt: skip
    report = ImportReport("x.ics")
    assert len(parse(text, "x.ics", ImportOptions(), report).entries) == 1
    items = {(action, what): (n, examples) for action, what, n, examples in report.items()}
    comment = (
        "dropped",
        "values of the VEVENT property COMMENT (a program entry has no place for it)",
    )
    assert items[comment] == (1, [(line_of(text, "COMMENT"), "")])
    assert items[("dropped", "VTODO components (only VEVENTs are read)")][0] == 1
    assert not any("DTSTAMP" in what or "VALARM" in what for _, what in items)


def test_kind_map_applies_to_categories_and_title_tags() -> None:
    options = ImportOptions(kind_map=(("informational", "announcement"), ("charla", "talk_es")))
    report = ImportReport(PYCONUS)
    program = parse(corpus(PYCONUS), PYCONUS, options, report)
    swag = next(e for e in program.entries if e.title == "Swag Pickup Closes")
    assert swag.kind == "announcement"
    kinds = {e.kind for e in program.entries}
    assert {"announcement", "talk_es"} <= kinds
    assert not any("'informational'" in what for _, what, _, _ in report.items())
