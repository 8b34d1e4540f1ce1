"""The frab/pretalx schedule.json importer, on real exports and on broken ones."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.errors import ProgramError
from bot.program.files import dump_program, parse_program
from bot.program.importers import ImportOptions, get_importer
from bot.program.importers.frab import kind_from_type, parse
from bot.program.importers.report import ImportReport
from bot.program.model import Program
from tests.mutations import mutate, paths

CORPORA = Path(__file__).resolve().parent / "fixtures" / "corpora"
CAMP = "frab-camp2019.schedule.json"
RC3 = "pretalx-rc3.schedule.json"
DEMOCON = "pretalx-democon.schedule.json"
# rC3 names no time zone; the organizer says where it was.
OPTIONS = {CAMP: ImportOptions(), RC3: ImportOptions(tz="Europe/Berlin"), DEMOCON: ImportOptions()}


def corpus(name: str) -> str:
    return (CORPORA / name).read_text(encoding="utf-8")


def load(name: str, options: ImportOptions | None = None) -> Program:
    return parse(corpus(name), name, options or OPTIONS[name])


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def test_corpora_are_kept_byte_for_byte() -> None:
    shared = Path("/work/shared/corpora")
    if not shared.is_dir():
        pytest.skip("the shared corpora are not on this machine")
    copied = [p for p in CORPORA.rglob("*") if p.is_file() and p.name != "SOURCES.md"]
    assert len(copied) >= 15
    for copy in copied:
        assert copy.read_bytes() == (shared / copy.relative_to(CORPORA)).read_bytes(), copy


def test_get_importer_gives_this_parser_for_frab_and_pretalx() -> None:
    assert get_importer("frab") is parse
    assert get_importer("pretalx") is parse


# -- camp2019 (frab) ---------------------------------------------------------------------


def test_camp2019_workshop() -> None:
    ws = load(CAMP).workshop
    assert ws.name == "Chaos Communication Camp 2019"
    assert ws.acronym == "Camp2019"
    assert ws.timezone == "Europe/Berlin"
    assert ws.date == date(2019, 8, 21)
    assert ws.venue == ""
    assert ws.organizers == ()


def test_camp2019_entries() -> None:
    program = load(CAMP)
    assert len(program.entries) == 79
    kinds = {e.kind for e in program.entries}
    assert kinds == {"talk", "performance"}
    assert list(program.entries) == sorted(program.entries, key=lambda e: (e.start, e.end, e.title))


def test_camp2019_spot_check() -> None:
    # "date": "2019-08-21T16:00:00+02:00", "duration": "00:45" -> 14:00-14:45 UTC.
    entry = load(CAMP).by_id()["frab-0a99f1db-dfad-4534-888c-bd98acc576b3"]
    # The subtitle follows the title.
    assert entry.title == (
        "Reporting from Brussels: The state of Digital Rights: How is our fight impacted by "
        "the new EU political landscape?"
    )
    assert entry.start == utc(2019, 8, 21, 14, 0)
    assert entry.end == utc(2019, 8, 21, 14, 45)
    assert entry.kind == "talk"  # type "lecture"
    assert entry.room == "Curie"
    assert entry.people == ("Chloé Berthélémy (EDRi)", "Andreea Belu (EDRi)")
    assert [(link.title, link.url) for link in entry.links] == [
        ("Event page", "https://fahrplan.events.ccc.de/camp/2019/Fahrplan/events/10309.html"),
        ("EDRi Website", "https://edri.org"),
    ]


def test_camp2019_abstract_falls_back_to_nothing_but_strips() -> None:
    opening = load(CAMP).by_id()["frab-a0a0fcfe-b7fb-46e3-84b6-97a5406016b4"]
    assert opening.abstract == "A hearty welcome me lasses and lads!"
    assert opening.people == ("jinxx", "smtw")
    badge = load(CAMP).by_id()["frab-c9edea6f-1da1-4772-a0a9-6dd4e33f11bb"]
    # abstract present: it wins over the (longer) description
    assert badge.abstract.startswith("Introducing you to card10")


def test_camp2019_performance_type_is_kept_as_its_own_kind() -> None:
    entry = load(CAMP).by_id()["frab-3ecdc823-95bb-4654-ad74-6eedb93dc1ed"]
    assert entry.kind == "performance"
    assert entry.start == utc(2019, 8, 23, 16, 0)  # 18:00+02:00


# -- rC3 (pretalx, no time_zone_name) ----------------------------------------------------


def test_rc3_without_a_zone_takes_the_offset_and_says_so() -> None:
    report = ImportReport(RC3)
    program = parse(corpus(RC3), RC3, ImportOptions(), report)
    # Every time is +01:00; the real zone cannot be known, the fixed offset can.
    assert program.workshop.timezone == "Etc/GMT-1"
    assert any("Etc/GMT-1" in what and "--venue-tz" in what for _, what, _, _ in report.items())


def test_mixed_offsets_without_a_zone_need_tz() -> None:
    text = schedule(
        event(date="2020-12-14T09:00:00+01:00"),
        event(id=2, date="2020-06-14T09:00:00+02:00"),
        time_zone_name=None,
    )
    with pytest.raises(ProgramError) as info:
        parse(text, "x.json", ImportOptions())
    assert info.value.field == "schedule.conference.time_zone_name"
    assert "--tz" in info.value.message


def test_rc3_workshop_and_entries() -> None:
    program = load(RC3)
    ws = program.workshop
    assert (ws.name, ws.acronym, ws.timezone) == (
        "rC3 Channels",
        "rc3-channels-2020",
        "Europe/Berlin",
    )
    assert ws.date == date(2020, 12, 27)
    assert len(program.entries) == 48


def test_rc3_venue_tz_option_wins() -> None:
    program = load(RC3, ImportOptions(tz="Europe/Berlin", venue_tz="Europe/London"))
    assert program.workshop.timezone == "Europe/London"


def test_rc3_spot_check() -> None:
    # "date": "2020-12-27T18:55:00+01:00", "duration": "00:40" -> 17:55-18:35 UTC.
    entry = load(RC3).by_id()["frab-7a3b00ff-104a-52c4-ae4a-87eed5bd74a5"]
    assert entry.title == "An Introduction to Tox"
    assert entry.start == utc(2020, 12, 27, 17, 55)
    assert entry.end == utc(2020, 12, 27, 18, 35)
    assert entry.kind == "lightning_talk"  # "LightningTalk 15min 10min Q&A"


def test_rc3_pretalx_persons_and_kinds() -> None:
    program = load(RC3)
    first = program.by_id()["frab-c3642671-4c1f-5109-81ba-0535c1cc8428"]
    assert first.people == ("Chris Fiege", "Kasa")
    assert first.room == "r3s - Monheim/Rhein"
    assert first.links[0].url == "https://pretalx.rc3.studio/rc3-channels-2020/talk/MJA8QY/"
    assert first.abstract.startswith("Eine wichtige Komponente von Freifunk")
    assert {e.kind for e in program.entries} == {"talk", "workshop", "lightning_talk", "other"}


# -- democon (pretalx demo) --------------------------------------------------------------


def test_democon_spot_check() -> None:
    program = load(DEMOCON)
    # The export says time_zone_name UTC while every date carries +01:00: the offset wins.
    assert program.workshop.timezone == "UTC"
    assert program.workshop.date == date(2020, 12, 14)
    assert len(program.entries) == 36
    # "date": "2020-12-16T11:30:00+01:00", "duration": "01:30" -> 10:30-12:00 UTC.
    entry = program.by_id()["frab-ab6f1e60-90ef-5009-ab9f-6aa2f9dbf21b"]
    assert entry.start == utc(2020, 12, 16, 10, 30)
    assert entry.end == utc(2020, 12, 16, 12, 0)
    assert entry.room == "Tan Room"
    assert entry.kind == "workshop"


@pytest.mark.parametrize("name", [CAMP, RC3, DEMOCON])
def test_round_trip_through_program_file(name: str) -> None:
    program = load(name)
    assert parse_program(dump_program(program), name) == program


@pytest.mark.parametrize("name", [CAMP, RC3, DEMOCON])
def test_reimport_gives_identical_file(name: str) -> None:
    assert dump_program(load(name)) == dump_program(load(name))


def test_options_override_source() -> None:
    opts = ImportOptions(
        name="Camp", acronym="cc19", venue="Ziegeleipark Mildenberg", date=date(2019, 8, 20)
    )
    ws = load(CAMP, opts).workshop
    assert (ws.name, ws.acronym, ws.venue, ws.date) == (
        "Camp",
        "cc19",
        "Ziegeleipark Mildenberg",
        date(2019, 8, 20),
    )


# -- synthetic schedules -----------------------------------------------------------------


def event(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": 1,
        "guid": ...,
        "date": "2020-12-14T09:00:00+01:00",
        "start": "09:00",
        "duration": "00:30",
        "room": "Gray Room",
        "title": "A talk",
        "type": "Talk",
        "abstract": "",
        "description": "",
        "persons": [],
        "links": [],
        "url": "https://example.org/talk/1/",
    }
    base.update(fields)
    if base["guid"] is ... and "guid" not in fields:
        # Each synthetic event is its own event, as its id says.
        base["guid"] = f"8079583e-8321-506c-95af-{base['id'] or 0:012d}"
    return {k: v for k, v in base.items() if v is not ...}


def schedule(*events: dict[str, Any], **conference: Any) -> str:
    conf: dict[str, Any] = {
        "acronym": "democon",
        "title": "DemoCon",
        "time_zone_name": "Europe/Berlin",
        "days": [{"index": 1, "date": "2020-12-14", "rooms": {"Gray Room": list(events)}}],
    }
    conf.update(conference)
    return json.dumps({"schedule": {"version": "1", "conference": conf}}, indent=2)


def test_pretalx_talk_after_midnight_keeps_its_real_date() -> None:
    # pretalx lists a 01:00 talk under the previous day (days run 04:00-03:59).
    late = event(id=2, date="2020-12-15T01:00:00+01:00", start="01:00", title="Late")
    program = parse(schedule(event(), late), "late.json", ImportOptions())
    entry = program.by_id()["frab-8079583e-8321-506c-95af-000000000002"]
    assert entry.start == utc(2020, 12, 15, 0, 0)
    assert program.workshop.date == date(2020, 12, 14)


def test_date_without_offset_is_read_in_the_conference_zone() -> None:
    program = parse(schedule(event(date="2020-12-14T09:00:00")), "x.json", ImportOptions())
    assert program.entries[0].start == utc(2020, 12, 14, 8, 0)


def test_date_without_offset_and_no_zone_asks_for_tz() -> None:
    text = schedule(event(date="2020-12-14T09:00:00"), time_zone_name=None)
    with pytest.raises(ProgramError) as info:
        parse(text, "x.json", ImportOptions())
    assert info.value.field == 'schedule.conference.days[0].rooms["Gray Room"][0].date'
    assert "--tz" in info.value.message


def test_all_utc_without_zone_falls_back_to_utc() -> None:
    text = schedule(event(date="2020-12-14T09:00:00+00:00"), time_zone_name=None)
    assert parse(text, "x.json", ImportOptions()).workshop.timezone == "UTC"


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("lecture", "talk"),
        ("Talk", "talk"),
        ("Talk 30 min + 10min Q&A", "talk"),
        ("Keynote", "keynote"),
        ("Workshop 110min", "workshop"),
        ("Podium", "panel"),
        ("Pause", "break"),
        ("Opening", "opening"),
        ("closing", "closing"),
        ("Poster", "poster"),
        ("Poster session", "poster_session"),
        ("Lightning Talk", "lightning_talk"),
        ("LightningTalk 15min 10min Q&A", "lightning_talk"),
        ("hands-on", "workshop"),
        ("Doppelter Slot", "other"),
        ("Normale Länge", "other"),
        ("Solder Workshop 2h", "workshop"),
        ("Vortrag 60min  (inkl. Q&A)", "talk"),
        ("Other", "other"),
        ("", "talk"),
        (None, "talk"),
        ("30 min", "other"),
        ("Ünïcödé Sessiön", "other"),
        ("Pérformance", "performance"),
    ],
)
def test_kind_from_type(value: str | None, kind: str) -> None:
    assert kind_from_type(value) == kind


def test_persons_fall_back_to_name_and_skip_nameless() -> None:
    persons = [{"code": "A", "name": "Ada"}, {"id": 2, "public_name": " "}, {"public_name": "Bo"}]
    program = parse(schedule(event(persons=persons)), "x.json", ImportOptions())
    assert program.entries[0].people == ("Ada", "Bo")


def test_abstract_falls_back_to_description() -> None:
    text = schedule(event(abstract="", description="  The description.\r\n"))
    assert parse(text, "x.json", ImportOptions()).entries[0].abstract == "The description."


def test_non_web_links_are_dropped() -> None:
    links = [
        {"url": "mailto:a@example.org", "title": "Mail"},
        {"url": "https://example.org/slides", "title": ""},
    ]
    entry = parse(schedule(event(links=links)), "x.json", ImportOptions()).entries[0]
    assert [(link.title, link.url) for link in entry.links] == [
        ("Event page", "https://example.org/talk/1/"),
        ("https://example.org/slides", "https://example.org/slides"),
    ]


def test_id_is_the_guid_then_the_id() -> None:
    program = parse(schedule(event(id=None)), "x.json", ImportOptions())
    assert program.entries[0].id == "frab-8079583e-8321-506c-95af-000000000000"
    program = parse(schedule(event(id=7, guid=None)), "x.json", ImportOptions())
    assert program.entries[0].id == "frab-7"


def test_durations_with_seconds_and_one_digit_hours() -> None:
    text = schedule(event(duration="1:30"), event(id=2, duration="00:45:30"))
    by_id = parse(text, "x.json", ImportOptions()).by_id()
    assert by_id["frab-8079583e-8321-506c-95af-000000000001"].end == utc(2020, 12, 14, 9, 30)
    assert by_id["frab-8079583e-8321-506c-95af-000000000002"].end == utc(2020, 12, 14, 8, 45, 30)


def test_acronym_falls_back_to_slug_of_title() -> None:
    text = schedule(event(), acronym=None, title="Demo Con 2020")
    assert parse(text, "x.json", ImportOptions()).workshop.acronym == "demo-con-2020"


# -- broken input ------------------------------------------------------------------------


def test_cut_off_json_names_the_line() -> None:
    text = corpus(CAMP)
    with pytest.raises(ProgramError) as info:
        parse(text[:100_000], CAMP, ImportOptions())
    assert info.value.line == text[:100_000].count("\n") + 1
    assert info.value.source == CAMP
    assert "cut off" in info.value.message


def test_wrong_date_format_names_field_and_line() -> None:
    text = corpus(CAMP).replace(
        '"date": "2019-08-21T16:00:00+02:00"', '"date": "21.08.2019 16:00"', 1
    )
    with pytest.raises(ProgramError) as info:
        parse(text, CAMP, ImportOptions())
    err = info.value
    assert err.field == "schedule.conference.days[0].rooms.Curie[3].date"
    assert err.line == line_of(text, '"date": "21.08.2019 16:00"') == 104
    assert "21.08.2019 16:00" in err.message
    assert str(err).startswith(f"{CAMP}:104, schedule.conference.days[0].rooms.Curie[3].date:")


def test_impossible_date_names_field() -> None:
    text = schedule(event(date="2020-02-30T09:00:00+01:00"))
    with pytest.raises(ProgramError) as info:
        parse(text, "x.json", ImportOptions())
    assert info.value.field == 'schedule.conference.days[0].rooms["Gray Room"][0].date'
    assert info.value.line == line_of(text, "2020-02-30")


def test_unknown_timezone_name() -> None:
    text = corpus(CAMP).replace(
        '"time_zone_name": "Europe/Berlin"', '"time_zone_name": "Mars/Base"'
    )
    with pytest.raises(ProgramError) as info:
        parse(text, CAMP, ImportOptions())
    assert info.value.field == "schedule.conference.time_zone_name"
    assert info.value.line == 12
    assert "Mars/Base" in info.value.message


def test_unknown_timezone_option() -> None:
    with pytest.raises(ProgramError, match="--tz"):
        parse(corpus(RC3), RC3, ImportOptions(tz="Europe/Nowhere"))


def test_missing_title() -> None:
    text = corpus(CAMP).replace('"title": "card10 Badge"', '"title": ""', 1)
    with pytest.raises(ProgramError) as info:
        parse(text, CAMP, ImportOptions())
    assert info.value.field == "schedule.conference.days[0].rooms.Curie[1].title"
    assert info.value.line == line_of(text, '"title": ""')


def test_missing_title_key_points_at_the_event() -> None:
    text = schedule(event(title=...))
    with pytest.raises(ProgramError) as info:
        parse(text, "x.json", ImportOptions())
    assert info.value.field == 'schedule.conference.days[0].rooms["Gray Room"][0].title'
    assert info.value.line == line_of(text, '"id": 1') - 1  # the event's opening brace


def test_one_guid_at_two_times_gives_two_ids_with_their_starts() -> None:
    text = corpus(CAMP)
    card10 = text[text.index('"id": 10365,') :]
    guid = card10[card10.index('"guid": "') + 9 :].split('"')[0]
    text = text.replace(guid, "a0a0fcfe-b7fb-46e3-84b6-97a5406016b4", 1)
    program = parse(text, CAMP, ImportOptions())
    # Same guid, different times: two occurrences of one event, each with its start.
    ids = [e.id for e in program.entries if e.id.startswith("frab-a0a0fcfe")]
    assert sorted(ids) == [
        "frab-a0a0fcfe-b7fb-46e3-84b6-97a5406016b4-20190821t0900z",
        "frab-a0a0fcfe-b7fb-46e3-84b6-97a5406016b4-20190821t1000z",
    ]


def test_missing_schedule_key() -> None:
    with pytest.raises(ProgramError) as info:
        parse('{\n  "conference": {}\n}\n', "x.json", ImportOptions())
    assert info.value.field == "schedule"
    assert info.value.line == 1


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("[]", None),
        ('{"schedule": []}', "schedule"),
        ('{"schedule": {}}', "schedule.conference"),
        ('{"schedule": {"conference": {"title": "T"}}}', "schedule.conference.days"),
        (
            '{"schedule": {"conference": {"title": "T", "days": [1]}}}',
            "schedule.conference.days[0]",
        ),
        (
            '{"schedule": {"conference": {"title": 5, "days": []}}}',
            "schedule.conference.title",
        ),
    ],
)
def test_wrong_structure_names_the_path(text: str, field: str | None) -> None:
    with pytest.raises(ProgramError) as info:
        parse(text, "x.json", ImportOptions())
    assert info.value.field == field


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"duration": "half an hour"}, "duration"),
        ({"duration": 30}, "duration"),
        ({"date": ...}, "date"),
        ({"id": True, "guid": ...}, "id"),
        ({"id": None, "guid": ...}, ""),
        ({"persons": "Ada"}, "persons"),
        ({"persons": [5]}, "persons[0]"),
        ({"links": [{"url": 5}]}, "links[0].url"),
        ({"date": "9999-12-31T23:00:00+00:00", "duration": "02:00"}, "duration"),
    ],
)
def test_bad_event_fields_name_the_field(fields: dict[str, Any], where: str) -> None:
    text = schedule(event(**fields))
    with pytest.raises(ProgramError) as info:
        parse(text, "x.json", ImportOptions())
    prefix = 'schedule.conference.days[0].rooms["Gray Room"][0]'
    assert info.value.field == (
        f"{prefix}.{where}" if where and where[0] != "[" else prefix + where
    )
    assert info.value.line is not None


# -- never anything but ProgramError -----------------------------------------------------


def _parse_or_program_error(text: str, options: ImportOptions) -> None:
    try:
        program = parse(text, "fuzz.json", options)
    except ProgramError as exc:
        assert exc.message
        return
    assert isinstance(program, Program)


@settings(max_examples=150, deadline=None)
@given(st.text())
def test_random_text_raises_only_program_error(text: str) -> None:
    _parse_or_program_error(text, ImportOptions())


@st.composite
def mutated_corpus_text(draw: st.DrawFn) -> str:
    text = corpus(draw(st.sampled_from([CAMP, RC3, DEMOCON])))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["truncate", "delete", "insert"]))
        if action == "truncate":
            text = text[:at]
        elif action == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 200)) :]
        else:
            text = text[:at] + draw(st.text(max_size=20)) + text[at:]
    return text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_corpus_text())
def test_mutated_corpus_text_raises_only_program_error(text: str) -> None:
    _parse_or_program_error(text, ImportOptions(tz="Europe/Berlin"))


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from(["2020-12-14T09:00:00", "25:99", "UTC", "Europe/Berlin", "", "00:00"]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)


_DEMOCON_DATA = json.loads(corpus(DEMOCON))
_DEMOCON_PATHS = paths(_DEMOCON_DATA)[1:]


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_mutated_corpus_structure_raises_only_program_error(data: st.DataObject) -> None:
    doc = json.loads(json.dumps(_DEMOCON_DATA))
    mutate(data, doc, _DEMOCON_PATHS, JSON_VALUES)
    _parse_or_program_error(json.dumps(doc, indent=1), ImportOptions())
