"""Real frab, pretalx and schedule2 exports that were refused, mangled or cut short (issue 14)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.errors import ProgramError
from bot.program.importers import ImportOptions, get_importer
from bot.program.importers.frab import parse
from bot.program.importers.report import ImportReport

CORPORA = Path(__file__).resolve().parent / "fixtures" / "corpora"
EVERYTHING = "frab-36c3-everything.schedule.json"
WIKI = "frab-36c3-wiki.schedule.json"
HUB = "hub-38c3.schedule2.json"
CAMP = "frab-camp2019.schedule.json"
BERLIN = ImportOptions(venue_tz="Europe/Berlin")


def corpus(name: str) -> str:
    return (CORPORA / name).read_text(encoding="utf-8")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def events_of(text: str) -> list[dict[str, Any]]:
    days = json.loads(text)["schedule"]["conference"]["days"]
    return [e for day in days for room in day["rooms"].values() for e in room]


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def counts(report: ImportReport) -> dict[tuple[str, str], int]:
    return {(action, what): n for action, what, n, _ in report.items()}


# -- refused today -----------------------------------------------------------------------


def test_36c3_everything_imports_with_string_links_and_colliding_ids() -> None:
    program = parse(corpus(EVERYTHING), EVERYTHING, BERLIN)
    assert len(program.entries) == 1351
    by_id = program.by_id()
    # Numeric id 885 is two different events; each keeps its own guid-based id.
    podcast = by_id["frab-fa998bfb-5afc-58d8-8061-92d6ebbd6f94"]
    assert podcast.title == "Podcaster* innen - Ein Rückblick auf 2019"
    assert podcast.people == ("Jenny",)
    assert podcast.start == utc(2019, 12, 27, 15, 0)
    other = by_id["frab-1bb3f4a0-23de-55f7-b233-2048a99fdf77"]
    assert other.people == ("Mate Marth",)
    assert other.start == utc(2019, 12, 29, 19, 0)


def test_36c3_repeated_guid_keeps_both_occurrences() -> None:
    program = parse(corpus(EVERYTHING), EVERYTHING, BERLIN)
    guid = "frab-81f5f0c4-3d35-522c-8f1c-c8825b92f00a"
    repeated = sorted((e for e in program.entries if e.id.startswith(guid)), key=lambda e: e.start)
    assert [(e.id, e.start) for e in repeated] == [
        (f"{guid}-20191227t1510z", utc(2019, 12, 27, 15, 10)),
        (f"{guid}-20191227t1615z", utc(2019, 12, 27, 16, 15)),
    ]
    assert {e.title for e in repeated} == {"Beginners Workshop: How to Hack your Web Application"}


def test_36c3_wiki_string_links_are_links() -> None:
    program = parse(corpus(WIKI), WIKI, BERLIN)
    assert len(program.entries) == 631
    fomu = program.by_id()["frab-6275814e-f992-4639-8215-a2ab4f8947f3"]
    # title "Fomu", subtitle "Session 1": four sessions that could not be told apart.
    assert fomu.title == "Fomu: Session 1"
    assert fomu.people == ("Mithro",)
    assert fomu.start == utc(2019, 12, 27, 11, 30)
    assert ("http://fomu.im", "http://fomu.im") in [(link.title, link.url) for link in fomu.links]


def test_ids_do_not_depend_on_file_order_or_on_other_events() -> None:
    text = corpus(EVERYTHING)
    before = {e.id: (e.title, e.start) for e in parse(text, EVERYTHING, BERLIN).entries}
    # Remove the first event of the file and import again: every other id stays with its talk.
    data = json.loads(text)
    rooms = data["schedule"]["conference"]["days"][0]["rooms"]
    first_room = next(room for room in rooms.values() if room)
    removed = first_room.pop(0)
    after = {e.id: (e.title, e.start) for e in parse(json.dumps(data), EVERYTHING, BERLIN).entries}
    assert len(after) == len(before) - 1
    assert f"frab-{removed['guid']}" not in after
    assert all(before[entry_id] == value for entry_id, value in after.items())


def test_schedule2_is_imported() -> None:
    report = ImportReport(HUB)
    program = get_importer("schedule2")(corpus(HUB), HUB, ImportOptions(), report)
    ws = program.workshop
    assert (ws.name, ws.acronym, ws.timezone) == ("38C3", "38c3", "Europe/Berlin")
    opening, talk = program.entries
    assert opening.id == "frab-270fa44c-821a-577f-8ca3-33e8d4a8c2a7"
    assert opening.title == "38C3: Opening Ceremony"
    assert opening.people == ("Gabriela Bogk", "Aline Blankertz", "Senficon")
    assert (opening.start, opening.end) == (utc(2024, 12, 27, 9, 30), utc(2024, 12, 27, 10, 0))
    assert opening.room == "Saal 1"
    assert opening.abstract.startswith("Glad you could make it!")
    assert "This ceremony will prepare you" in opening.abstract
    assert ("Slides", "https://example.net/foo/bar/1235.pdf") in [
        (link.title, link.url) for link in opening.links
    ]
    assert talk.title == (
        "A Competitive Time-Trial AI for Need for Speed: Most Wanted Using Deep Reinforcement "
        "Learning"
    )
    assert talk.kind == "talk"
    assert talk.people == ("Sebastian Schwarz",)
    assert talk.start == utc(2024, 12, 27, 23, 15)
    assert (
        counts(report)[("dropped", "speaker biographies (a program file has no place for them)")]
        == 4
    )


def test_schedule2_through_the_frab_format_is_read_as_schedule2() -> None:
    report = ImportReport(HUB)
    program = parse(corpus(HUB), HUB, ImportOptions(), report)
    assert len(program.entries) == 2
    assert counts(report)[("kept", "file in the newer schedule2 format, read as schedule2")] == 1


def test_schedule2_cancelled_events_and_meta_events() -> None:
    data = json.loads(corpus(HUB))
    events = data["schedule"]["events"]
    events[1]["state"] = "CANCELED"
    events.append(
        {"type": "BREAK", "title": "Lunch", "start": "2024-12-27T12:00:00+01:00",
         "end": "2024-12-27T13:00:00+01:00"}
    )  # fmt: skip
    report = ImportReport(HUB)
    program = get_importer("schedule2")(json.dumps(data), HUB, ImportOptions(), report)
    assert [(e.title, e.kind) for e in program.entries] == [
        ("38C3: Opening Ceremony", "other"),
        ("Lunch", "break"),
    ]
    assert counts(report)[("dropped", "events in state CANCELED (they do not take place)")] == 1


# -- wrong values ------------------------------------------------------------------------


def test_slot_lengths_are_not_kinds_and_the_report_says_how_to_map_them() -> None:
    report = ImportReport(EVERYTHING)
    program = parse(corpus(EVERYTHING), EVERYTHING, BERLIN, report)
    entry = program.by_id()["frab-edf22d8e-d223-5f63-b796-e6fded2b112d"]  # "Doppelter Slot"
    assert entry.kind == "other"
    kinds = {e.kind for e in program.entries}
    assert not any("slot" in kind or "lange" in kind for kind in kinds)
    what = [w for _, w, _, _ in report.items() if "'Doppelter Slot'" in w]
    assert len(what) == 1 and "--kind-map 'Doppelter Slot=KIND'" in what[0]
    assert counts(report)[("changed", what[0])] == 30


def test_kind_map_maps_what_the_organizer_says() -> None:
    options = ImportOptions(
        venue_tz="Europe/Berlin",
        kind_map=(("Doppelter Slot", "talk"), ("normale länge", "talk"), ("Nope", "talk")),
    )
    report = ImportReport(EVERYTHING)
    program = parse(corpus(EVERYTHING), EVERYTHING, options, report)
    assert program.by_id()["frab-edf22d8e-d223-5f63-b796-e6fded2b112d"].kind == "talk"
    assert not any("'Doppelter Slot'" in w for _, w, _, _ in report.items())
    assert counts(report)[("kept", "--kind-map 'nope' matched no event's type")] == 1


def test_kind_map_refuses_a_kind_that_is_not_a_word() -> None:
    options = ImportOptions(kind_map=(("Doppelter Slot", "Long Talk"),))
    with pytest.raises(ProgramError, match="--kind-map"):
        parse(corpus(EVERYTHING), EVERYTHING, options)


# -- dropped without a word --------------------------------------------------------------


def test_description_follows_the_abstract() -> None:
    program = parse(corpus(EVERYTHING), EVERYTHING, BERLIN)
    entry = program.by_id()["frab-5fa63167-2620-46ec-a34a-d7c11ce6c71f"]
    event = next(e for e in events_of(corpus(EVERYTHING)) if e["guid"] in entry.id)
    expected = event["abstract"].strip() + "\n\n" + event["description"].strip()
    assert entry.abstract == expected.replace("\r\n", "\n")
    assert len(event["description"]) > 3000


def test_subtitle_follows_the_title_and_is_reported() -> None:
    report = ImportReport(WIKI)
    program = parse(corpus(WIKI), WIKI, BERLIN, report)
    titles = [e.title for e in program.entries]
    assert "Translation Team Meeting: Meeting Day 1 #1 2nd language" in titles
    assert "Translation Team Meeting: Meeting Day 1 #2 2nd language" in titles
    assert counts(report)[("changed", "titles with their subtitle appended")] == 158


def test_report_lists_non_web_links_with_their_lines() -> None:
    report = ImportReport(EVERYTHING)
    parse(corpus(EVERYTHING), EVERYTHING, BERLIN, report)
    ((_, _, count, examples),) = [i for i in report.items() if i[1].startswith("links that")]
    assert count == 10
    assert examples[0] == (450, "www.cadus.org")
    rendered = "\n".join(report.render())
    assert rendered.startswith("kept 1351 entries\n")
    assert "dropped: 10 × links that are not web addresses; line 450 'www.cadus.org'" in rendered


# -- bad bytes ---------------------------------------------------------------------------


def test_nul_and_control_characters_are_removed_and_counted() -> None:
    text = corpus(CAMP).replace('"Opening Ceremony"', '"Opening\\u0000 Cere\\u001bmony"', 1)
    text = text.replace('"room": "Curie"', '"room": "Cu\x00rie"', 1)
    report = ImportReport(CAMP)
    program = parse(text, CAMP, ImportOptions(), report)
    opening = program.by_id()["frab-a0a0fcfe-b7fb-46e3-84b6-97a5406016b4"]
    assert (opening.title, opening.room) == ("Opening Ceremony", "Curie")
    assert "\x00" not in json.dumps([e.model_dump(mode="json") for e in program.entries])
    assert counts(report)[("changed", "control characters (such as NUL) removed")] == 3
    ((_, _, _, examples),) = [i for i in report.items() if i[1].startswith("control")]
    assert examples[0] == (line_of(text, '"room": "Cu'), "NUL")


def test_byte_order_mark_is_accepted() -> None:
    program = parse("\ufeff" + corpus(CAMP), CAMP, ImportOptions())
    assert len(program.entries) == 79


@pytest.mark.parametrize("text", ["", "  \n\n"])
def test_empty_file_says_so(text: str) -> None:
    with pytest.raises(ProgramError) as info:
        parse(text, "x.json", ImportOptions())
    assert str(info.value) == "x.json:1: the file is empty"


@pytest.mark.parametrize(("name", "cut"), [(HUB, 1000), (HUB, 5001), (CAMP, 100_000)])
def test_cut_off_file_says_so(name: str, cut: int) -> None:
    text = corpus(name)[:cut]
    with pytest.raises(ProgramError, match="cut off") as info:
        parse(text, name, ImportOptions())
    assert info.value.line == text.rstrip().count("\n") + 1


def test_broken_json_in_the_middle_is_not_called_cut_off() -> None:
    text = corpus(HUB).replace('"version":', '"version" ', 1)
    with pytest.raises(ProgramError, match="not valid JSON"):
        parse(text, HUB, ImportOptions())


def test_too_long_values_are_cut_and_reported() -> None:
    data = json.loads(corpus(CAMP))
    event = data["schedule"]["conference"]["days"][0]["rooms"]["Curie"][0]
    event["title"], event["subtitle"] = "T" * 2500, None
    event["room"] = "R" * 300
    event["abstract"], event["description"] = "A" * 15000, "D" * 15000
    report = ImportReport(CAMP)
    entry = parse(json.dumps(data), CAMP, ImportOptions(), report).by_id()[f"frab-{event['guid']}"]
    assert (len(entry.title), len(entry.abstract), len(entry.room or "")) == (2000, 20000, 200)
    assert entry.abstract.startswith("A" * 15000 + "\n\nD")
    assert counts(report)[("changed", "titles cut to 2,000 characters")] == 1
    assert counts(report)[("changed", "abstracts (with description) cut to 20,000 characters")] == 1
    assert counts(report)[("changed", "room names cut to 200 characters")] == 1


def test_a_frab_file_given_as_schedule2_is_read_as_frab() -> None:
    report = ImportReport(CAMP)
    program = get_importer("schedule2")(corpus(CAMP), CAMP, ImportOptions(), report)
    assert len(program.entries) == 79
    assert counts(report)[("kept", "file in the frab schedule.json format, read as such")] == 1
