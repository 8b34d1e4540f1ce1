"""ScheduleService on the HAET 2022 program: now and next, the day by session, lookups."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.program.files import load_program
from bot.services.program import ProgramSnapshot, snapshot_from_program
from bot.services.schedule import Phase, ScheduleService, program_order

HAET = Path(__file__).resolve().parent.parent / "data" / "haet2022.yaml"
EDT = ZoneInfo("America/New_York")
YANZHI_WANG_PAPERS = {
    "poster-low-bit-dnn-training-with-hardware-efficient",
    "poster-get-the-random-number-on-the-fly-a-low-precision",
}


@cache
def haet() -> ProgramSnapshot:
    return snapshot_from_program(load_program(HAET))


def service(snapshot: ProgramSnapshot | None = None) -> ScheduleService:
    snap = snapshot or haet()
    return ScheduleService(lambda: snap)


def edt(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2022, 7, day, hour, minute, tzinfo=EDT)


def test_keynote_running_and_the_next_one_after_it() -> None:
    view = service().now(edt(23, 9, 5))
    assert view.phase is Phase.DURING
    assert [item.talk.id for item in view.running] == ["keynote-melika-payvand"]
    assert view.running[0].ends_in == timedelta(minutes=25)
    assert view.running[0].starts_in == timedelta(minutes=-5)
    first = view.upcoming[0]
    assert [item.talk.id for item in first.items] == ["keynote-alexander-keller"]
    assert first.starts_in == timedelta(minutes=25)
    assert first.start == edt(23, 9, 30)


def test_poster_session_runs_with_its_twelve_posters() -> None:
    view = service().now(edt(23, 10, 30))
    assert view.phase is Phase.DURING
    assert [item.talk.id for item in view.running] == ["poster-session-i"]
    posters = view.running[0].children
    assert len(posters) == 12
    assert all(p.kind == "poster" and p.session_id == "poster-session-i" for p in posters)
    assert list(posters) == sorted(posters, key=program_order)
    upcoming = [item.talk.id for group in view.upcoming for item in group.items]
    assert upcoming == ["keynote-damien-querlioz", "lunch", "keynote-fabien-cardinaux"]


def test_upcoming_poster_session_is_listed_without_its_posters() -> None:
    view = service().now(edt(23, 9, 45))
    upcoming = [item.talk for group in view.upcoming for item in group.items]
    assert [t.id for t in upcoming] == ["poster-session-i", "keynote-damien-querlioz", "lunch"]
    assert len(view.upcoming[0].items[0].children) == 12


def test_before_the_workshop() -> None:
    view = service().now(edt(22, 12))
    assert view.phase is Phase.BEFORE
    assert view.starts_at == edt(23, 8, 45)
    assert view.starts_in == timedelta(hours=20, minutes=45)
    assert view.running == ()
    assert view.upcoming[0].items[0].talk.id == "opening"


def test_after_the_workshop() -> None:
    view = service().now(edt(24, 0))
    assert view.phase is Phase.AFTER
    assert view.ends_at == edt(23, 17, 30)
    assert view.running == ()
    assert view.upcoming == ()


def test_last_entry_ends_exactly_at_the_end() -> None:
    assert service().now(edt(23, 17, 29)).phase is Phase.DURING
    assert service().now(edt(23, 17, 30)).phase is Phase.AFTER


def test_lunch_is_running() -> None:
    view = service().now(edt(23, 12, 30))
    assert [item.talk.id for item in view.running] == ["lunch"]
    assert view.running[0].ends_in == timedelta(minutes=45)


def test_a_gap_is_still_during_with_nothing_running() -> None:
    snap = haet()
    talks = tuple(t for t in snap.talks if t.id != "lunch")
    gap = dataclasses.replace(snap, talks=talks, by_id={t.id: t for t in talks})
    view = service(gap).now(edt(23, 12, 30))
    assert view.phase is Phase.DURING
    assert view.running == ()
    assert view.upcoming[0].items[0].talk.id == "keynote-fabien-cardinaux"


def test_upcoming_three_before_the_opening() -> None:
    got = service().upcoming(edt(23, 8), count=3)
    assert [t.id for t in got] == ["opening", "keynote-melika-payvand", "keynote-alexander-keller"]


def test_upcoming_skips_posters_of_listed_and_running_sessions() -> None:
    sv = service()
    got = [t.id for t in sv.upcoming(edt(23, 9, 45), count=3)]
    assert got == ["poster-session-i", "keynote-damien-querlioz", "lunch"]
    assert [t.kind for t in sv.upcoming(edt(23, 10, 30), count=10)].count("poster") == 0
    assert sv.upcoming(edt(23, 8), count=0) == []


def test_entries_starting_together_are_grouped_and_not_split() -> None:
    snap = haet()
    keller = snap.by_id["keynote-alexander-keller"]
    twin = dataclasses.replace(keller, id="twin", title="A parallel keynote")
    talks = (*snap.talks, twin)
    view = service(dataclasses.replace(snap, talks=talks)).now(edt(23, 9, 5), upcoming=1)
    assert len(view.upcoming) == 1
    assert [i.talk.id for i in view.upcoming[0].items] == ["twin", "keynote-alexander-keller"]


def test_day_groups_posters_under_their_sessions() -> None:
    day = service().day()
    assert len(day) == 13
    assert sum(1 + len(group.children) for group in day) == 37
    assert all(group.entry.session_id is None for group in day)
    for group in day:
        assert all(child.session_id == group.entry.id for child in group.children)
    sessions = {g.entry.id: len(g.children) for g in day if g.children}
    assert sessions == {"poster-session-i": 12, "poster-session-ii": 12}
    assert [g.entry for g in day] == sorted((g.entry for g in day), key=program_order)


def test_kinds_and_by_kind() -> None:
    sv = service()
    counts = {kind: (label, n) for kind, label, n in sv.kinds()}
    assert counts == {
        "opening": ("Opening", 1),
        "keynote": ("Keynote", 6),
        "poster_session": ("Poster session", 2),
        "poster": ("Poster", 24),
        "break": ("Break", 1),
        "presentation": ("Presentation", 1),
        "panel": ("Panel", 1),
        "closing": ("Closing", 1),
    }
    keynotes = sv.by_kind("keynote")
    assert len(keynotes) == 6
    assert keynotes == sorted(keynotes, key=program_order)
    assert sv.by_kind("workshop") == []
    assert [t.id for t in sv.poster_sessions()] == ["poster-session-i", "poster-session-ii"]


def test_talk_and_session_lookups() -> None:
    sv = service()
    poster = sv.talk("poster-trimbert-tailoring-bert-for-trade-offs")
    assert poster is not None
    session = sv.session_of(poster)
    assert session is not None and session.id == "poster-session-ii"
    assert len(sv.children("poster-session-ii")) == 12
    keynote = sv.talk("keynote-jian-tang")
    assert keynote is not None and sv.session_of(keynote) is None
    assert sv.talk("no-such-entry") is None


def test_other_work_shares_an_author() -> None:
    sv = service()
    low_bit = sv.talk("poster-low-bit-dnn-training-with-hardware-efficient")
    assert low_bit is not None
    others = {t.id for t in sv.other_work(low_bit)}
    assert "poster-get-the-random-number-on-the-fly-a-low-precision" in others
    assert low_bit.id not in others
    # Sung-En Chang, Geng Yuan and others co-author both too: still those two papers only.
    assert others | {low_bit.id} == YANZHI_WANG_PAPERS
    keynote = sv.talk("keynote-melika-payvand")
    assert keynote is not None and sv.other_work(keynote) == []


def test_other_work_ignores_case_and_accents() -> None:
    snap = haet()
    talk = snap.by_id["poster-investigating-the-not-so-obvious-effects-of"]
    echo = dataclasses.replace(talk, id="echo", title="Echo", people=("MATHIEU LEONARDON",))
    talks = (*snap.talks, echo)
    sv = service(dataclasses.replace(snap, talks=talks, by_id={t.id: t for t in talks}))
    assert [t.id for t in sv.other_work(echo)] == [talk.id]


def test_reloaded_snapshot_is_seen() -> None:
    snap = haet()
    current = [snap]
    sv = ScheduleService(lambda: current[0])
    assert sv.now(edt(23, 12, 30)).running[0].talk.id == "lunch"
    talks = tuple(t for t in snap.talks if t.id != "lunch")
    current[0] = dataclasses.replace(snap, talks=talks, by_id={t.id: t for t in talks})
    assert sv.now(edt(23, 12, 30)).running == ()


def test_empty_program() -> None:
    empty = dataclasses.replace(haet(), talks=(), by_id={})
    sv = service(empty)
    view = sv.now(edt(23, 10))
    assert view.phase is Phase.EMPTY
    assert view.running == () and view.upcoming == ()
    assert sv.day() == [] and sv.kinds() == [] and sv.upcoming(edt(23, 10)) == []


def _running_by_brute_force(snapshot: ProgramSnapshot, at: datetime) -> set[str]:
    return {t.id for t in snapshot.talks if t.start <= at < t.end}


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 600), st.sampled_from([0, 1, 5, 15, 30, 90, 240, 600])),
        min_size=1,
        max_size=120,
    ),
    st.lists(st.integers(-30, 1300), min_size=1, max_size=8),
)
def test_now_runs_exactly_what_started_and_has_not_ended(
    spans: list[tuple[int, int]], moments: list[int]
) -> None:
    # Minutes from 08:00 on the day, lengths from none to the whole day: what is running is
    # found through the duration classes, never by scanning; check it against scanning.
    base = edt(23, 8)
    template = haet().talks[0]
    talks = tuple(
        dataclasses.replace(
            template,
            id=f"entry-{i}",
            start=base + timedelta(minutes=start),
            end=base + timedelta(minutes=start + length),
            session_id=None,
        )
        for i, (start, length) in enumerate(spans)
    )
    snapshot = dataclasses.replace(haet(), talks=talks, by_id={t.id: t for t in talks})
    schedule = service(snapshot)
    for minute in moments:
        at = (base + timedelta(minutes=minute)).astimezone(ZoneInfo("Asia/Tokyo"))
        running = [item.talk for item in schedule.now(at, upcoming=0).running]
        assert {t.id for t in running} == _running_by_brute_force(snapshot, at)
        assert running == sorted(running, key=program_order)


# -- programs of several days ----------------------------------------------------------------------

MULTI_DAY = Path(__file__).resolve().parent / "fixtures" / "multi_day.yaml"


@cache
def multi_day() -> ProgramSnapshot:
    return snapshot_from_program(load_program(MULTI_DAY))


def test_a_program_of_several_days_is_listed_day_by_day() -> None:
    sv = service(multi_day())
    days = sv.days()
    assert [(d.date.isoformat(), d.number, d.entries) for d in days] == [
        ("2022-07-22", 1, 2),
        ("2022-07-23", 2, 2),
        ("2022-07-25", 3, 1),
    ]
    assert days[1].first_start == edt(23, 9) and days[1].last_end == edt(23, 11, 30)
    # The Friday-night social is Saturday in UTC, but the venue's Friday is its day.
    friday = sv.day(days[0].date)
    assert [g.entry.id for g in friday] == ["fri-keynote", "fri-social"]
    saturday = sv.day(days[1].date)
    assert [g.entry.id for g in saturday] == ["sat-keynote", "sat-posters"]
    assert [p.id for p in saturday[1].children] == ["sat-poster-b", "sat-poster-a"]  # by title
    assert sv.day(date(2022, 7, 24)) == []
    # Without a day: the whole program, as before.
    assert len(sv.day()) == 5


def test_the_default_day_is_today_or_the_next_day_with_entries_or_the_last() -> None:
    sv = service(multi_day())

    def default(moment: datetime) -> str:
        day = sv.default_day(moment)
        assert day is not None
        return day.date.isoformat()

    assert default(edt(20, 12)) == "2022-07-22"  # before the workshop: its first day
    assert default(edt(22, 23, 45)) == "2022-07-22"  # still Friday at the venue
    assert default(edt(23, 0, 15)) == "2022-07-23"
    assert default(edt(24, 12)) == "2022-07-25"  # Sunday has nothing: Monday's program
    assert default(edt(26, 9)) == "2022-07-25"  # over: its last day
    # In UTC it is already the 23rd; the venue's calendar decides.
    assert default(datetime(2022, 7, 23, 3, 30, tzinfo=UTC)) == "2022-07-22"
    assert service(dataclasses.replace(multi_day(), talks=())).default_day(edt(23, 9)) is None
