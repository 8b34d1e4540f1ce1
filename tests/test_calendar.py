"""iCalendar export: RFC 5545 shape, stable UIDs, instants that parse back; agenda overlaps."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from bot.program.files import load_program
from bot.services.calendar import agenda_ics, event_uid, overlaps, program_ics
from bot.services.program import ProgramSnapshot, Talk, snapshot_from_program
from tests.conftest import HAET_FILE

STAMP = datetime(2022, 7, 20, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def snapshot() -> ProgramSnapshot:
    return snapshot_from_program(load_program(HAET_FILE))


def events(blob: bytes) -> list[Calendar]:
    return list(Calendar.from_ical(blob).walk("VEVENT"))


def test_program_ics_is_rfc5545_shaped(snapshot: ProgramSnapshot) -> None:
    blob = program_ics(snapshot, now=STAMP)
    text = blob.decode("utf-8")
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    # CRLF everywhere, and no line longer than 75 octets (long ones are folded).
    assert "\n" not in text.replace("\r\n", "")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    assert any(line.startswith(" ") for line in text.split("\r\n")), "nothing was folded?"
    assert "\r\nVERSION:2.0\r\n" in text
    assert "\r\nPRODID:-//workshop-bot//" in text
    assert "\r\nDTSTART:20220723T130000Z\r\n" in text  # 09:00 EDT, in UTC
    assert "TZID" not in text


def test_program_ics_has_every_top_level_entry_with_its_instants(
    snapshot: ProgramSnapshot,
) -> None:
    top = [t for t in snapshot.talks if t.session_id is None]
    parsed = events(program_ics(snapshot, now=STAMP))
    assert len(parsed) == len(top)
    by_uid = {str(e["UID"]): e for e in parsed}
    for talk in top:
        event = by_uid[event_uid(talk.id, snapshot.workshop)]
        assert event["DTSTART"].dt == talk.start
        assert event["DTEND"].dt == talk.end
        assert event["DTSTAMP"].dt == STAMP
        assert talk.title in str(event["SUMMARY"])
        assert str(event["LOCATION"]) == "ICML 2022, Baltimore, Maryland, USA"
        assert str(event["URL"]).startswith("https://")
    keynote = by_uid["keynote-melika-payvand@haet-2022.workshop-bot"]
    assert str(keynote["SUMMARY"]).startswith("Keynote: Brain-inspired")
    assert "Melika Payvand" in str(keynote["DESCRIPTION"])
    session = by_uid["poster-session-i@haet-2022.workshop-bot"]
    assert "Posters:" in str(session["DESCRIPTION"])


def test_uids_are_stable_and_a_cancelled_entry_is_marked_not_dropped(
    snapshot: ProgramSnapshot,
) -> None:
    first = {str(e["UID"]) for e in events(program_ics(snapshot, now=STAMP))}
    later = STAMP + timedelta(days=1)
    payvand = snapshot.by_id["keynote-melika-payvand"]
    cancelled = dataclasses.replace(payvand, cancelled=True)
    changed = ProgramSnapshot(
        workshop=snapshot.workshop,
        talks=tuple(t for t in snapshot.talks if t.id != payvand.id),
        by_id={**snapshot.by_id, payvand.id: cancelled},
    )
    again = events(program_ics(changed, now=later))
    assert {str(e["UID"]) for e in again} == first
    status = {str(e["UID"]): str(e["STATUS"]) for e in again}
    assert status["keynote-melika-payvand@haet-2022.workshop-bot"] == "CANCELLED"
    assert status["opening@haet-2022.workshop-bot"] == "CONFIRMED"


def test_agenda_ics_parses_back_to_the_same_instants(snapshot: ProgramSnapshot) -> None:
    talks = [snapshot.by_id[i] for i in ("opening", "keynote-alexander-keller", "panel")]
    blob = agenda_ics(talks, snapshot.workshop, now=STAMP)
    assert sorted(e["DTSTART"].dt for e in events(blob)) == [t.start for t in talks]
    assert str(Calendar.from_ical(blob)["X-WR-CALNAME"]) == "HAET 2022: my agenda"


def _talk(talk_id: str, start: str, end: str, session: str | None = None) -> Talk:
    return Talk(
        id=talk_id,
        kind="talk",
        title=talk_id.upper(),
        people=(),
        abstract="",
        start=datetime.fromisoformat(f"2022-07-23T{start}:00+00:00"),
        end=datetime.fromisoformat(f"2022-07-23T{end}:00+00:00"),
        session_id=session,
        room=None,
        links=(),
        cancelled=False,
    )


def test_overlaps_are_found_both_ways_and_touching_ends_are_not_overlaps() -> None:
    a = _talk("a", "09:00", "10:00")
    b = _talk("b", "09:30", "10:30")
    c = _talk("c", "10:30", "11:00")  # starts as b ends
    d = _talk("d", "08:00", "12:00")
    found = overlaps([c, b, a, d])
    assert [t.id for t in found["a"]] == ["d", "b"]
    assert {t.id for t in found["b"]} == {"a", "d"}
    assert [t.id for t in found["c"]] == ["d"]
    assert {t.id for t in found["d"]} == {"a", "b", "c"}


def test_a_poster_does_not_clash_with_its_own_session() -> None:
    session = _talk("s", "10:00", "11:30")
    poster = _talk("p", "10:00", "11:30", session="s")
    assert overlaps([session, poster]) == {}
