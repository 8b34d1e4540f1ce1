"""/setup events: Discord scheduled events for keynotes, poster sessions and the panel."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.db.models import GuildEvent
from bot.errors import UserFacingError
from bot.local import LocalDiscord
from bot.services.events import EventSync
from bot.services.program import Talk
from bot.settings import Settings
from bot.simulator import DiscordSimulator
from tests.conftest import HAET_FILE
from tests.e2e.helpers import edt
from tests.e2e.test_organizers import organizer

PAYVAND = "keynote-melika-payvand"
CHOSEN_KINDS = ("keynote", "poster_session", "panel")


@pytest.fixture
def clock() -> ManualClock:
    # Days before the workshop: Discord refuses events that start in the past.
    return ManualClock(edt("12:00", day=20))


@pytest.fixture
def sim_now(clock: ManualClock) -> Callable[[], datetime]:
    """Discord refuses events in the past, judged by the workshop clock."""
    return clock.now


@pytest.fixture
def program_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "program.yaml"
    copy.write_text(HAET_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    return copy


@pytest.fixture
def settings(database_url: str, program_copy: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        program_file=program_copy,
        discord_token="sim-token",
    )


def chosen(local: LocalDiscord, kinds: tuple[str, ...] = CHOSEN_KINDS) -> list[Talk]:
    assert local.services is not None
    return [t for t in local.services.program.snapshot.talks if t.kind in kinds]


def edit_program(path: Path, change: Callable[[str], str]) -> None:
    """The organizer edits their copy of the program file."""
    before = path.read_text(encoding="utf-8")
    after = change(before)
    assert after != before
    path.write_text(after, encoding="utf-8")


def start_of(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["scheduled_start_time"])


def patches(sim: DiscordSimulator) -> int:
    return sum(n for key, n in sim.stats.requests.items() if key.startswith("PATCH /guilds/"))


async def sync(user: Any) -> str:
    answer = await user.slash("setup events sync")
    assert answer.ephemeral
    return answer.text()


async def test_sync_twice_leaves_one_event_per_chosen_entry(local: LocalDiscord) -> None:
    sim = local.sim
    olga = organizer(sim)
    entries = chosen(local)
    assert len(entries) == 9  # 6 keynotes, 2 poster sessions, the panel

    first = await sync(olga)
    assert "9 created, 0 updated, 0 unchanged, 0 deleted" in first
    second = await sync(olga)
    assert "0 created, 0 updated, 9 unchanged, 0 deleted" in second
    assert patches(sim) == 0

    events = sim.scheduled_events
    assert len(events) == len(entries)
    by_start = sorted(events, key=start_of)
    for event, talk in zip(by_start, sorted(entries, key=lambda t: (t.start, t.id)), strict=True):
        assert event["entity_type"] == 3 and event["privacy_level"] == 2
        assert event["channel_id"] is None
        assert event["entity_metadata"]["location"] == "ICML 2022, Baltimore, Maryland, USA"
        assert start_of(event) == talk.start
        assert datetime.fromisoformat(event["scheduled_end_time"]) == talk.end
        assert talk.title[:80] in event["name"]
        assert len(event["description"]) <= 1000
    [payvand] = [e for e in events if "Brain-inspired" in e["name"]]
    assert payvand["name"] == (
        "Keynote: Brain-inspired hardware and algorithm co-design for low power online "
        "training on the edge"
    )
    [bellman] = [e for e in events if "Bellman-Ford" in e["name"]]
    assert len(bellman["name"]) == 100 and bellman["name"].endswith("…")  # Discord's limit
    assert payvand["description"].startswith("Melika Payvand")
    assert local.services is not None
    async with local.services.sessions() as s:
        rows = (await s.scalars(select(GuildEvent))).all()
    assert {r.entry_id for r in rows} == {t.id for t in entries}
    assert {r.event_id for r in rows} == {int(e["id"]) for e in events}


async def test_a_moved_keynote_moves_its_event_and_a_deleted_event_comes_back(
    local: LocalDiscord, program_copy: Path
) -> None:
    sim = local.sim
    olga = organizer(sim)
    await sync(olga)
    assert local.services is not None
    old_start = local.services.program.snapshot.by_id[PAYVAND].start

    edit_program(
        program_copy,
        lambda text: text.replace(
            "  start: '2022-07-23T09:00:00-04:00'\n  end: '2022-07-23T09:30:00-04:00'\n"
            "  people:\n  - Melika Payvand",
            "  start: '2022-07-23T16:00:00-04:00'\n  end: '2022-07-23T16:30:00-04:00'\n"
            "  people:\n  - Melika Payvand",
        ),
    )
    reloaded = await olga.slash("program reload")
    assert "1 moved" in reloaded.text()
    assert "Discord events are being brought up to date" in reloaded.text()

    # The events followed the reload: no /setup events sync needed.
    assert patches(sim) == 1
    again = await sync(olga)
    assert "0 created, 0 updated, 9 unchanged, 0 deleted" in again
    assert len(sim.scheduled_events) == 9
    [payvand] = [e for e in sim.scheduled_events if "Brain-inspired" in e["name"]]
    assert start_of(payvand) == edt("16:00") != old_start
    assert datetime.fromisoformat(payvand["scheduled_end_time"]) == edt("16:30")

    # Someone deletes it in Discord: the next sync puts it back (once).
    del sim.state.scheduled_events[int(payvand["id"])]
    back = await sync(olga)
    assert "1 recreated (deleted in Discord)" in back
    assert len(sim.scheduled_events) == 9
    [payvand] = [e for e in sim.scheduled_events if "Brain-inspired" in e["name"]]
    assert start_of(payvand) == edt("16:00")
    assert "0 created, 0 updated, 9 unchanged" in await sync(olga)


async def test_kinds_no_longer_chosen_and_cancelled_entries_lose_their_events(
    local: LocalDiscord, program_copy: Path
) -> None:
    sim = local.sim
    olga = organizer(sim)
    await sync(olga)
    answer = await olga.slash("setup events kinds", kinds="keynote, panel")
    assert "Keynote, Panel" in answer.text()
    text = await sync(olga)
    assert "0 created, 0 updated, 7 unchanged, 2 deleted" in text
    assert not any(e["name"].startswith("Poster session") for e in sim.scheduled_events)

    # The panel leaves the program: its event goes too.
    edit_program(
        program_copy,
        lambda text: (
            text[: text.index("- id: panel\n")] + text[text.index("- id: closing-remarks\n") :]
        ),
    )
    await olga.slash("program reload")
    # Its event went with the reload, with no /setup events sync.
    assert len(sim.scheduled_events) == 6
    assert "0 deleted" in await sync(olga)
    assert all(e["name"].startswith("Keynote") for e in sim.scheduled_events)

    unknown = await olga.slash("setup events kinds", kinds="keynote, banquet")
    assert "no entries of kind banquet" in (unknown.content or "")


async def test_entries_already_started_are_skipped(local: LocalDiscord, clock: ManualClock) -> None:
    clock.set(edt("11:00"))
    olga = organizer(local.sim)
    text = await sync(olga)
    # Before 11:00: two keynotes and Poster session I have started.
    assert "6 created" in text and "3 skipped (already started)" in text
    assert all(start_of(e) > clock.now() for e in local.sim.scheduled_events)


async def test_more_than_100_events_are_refused(sessions: Any) -> None:
    base = datetime(2030, 1, 1, tzinfo=UTC)
    talks = tuple(
        Talk(
            id=f"k{i}",
            kind="keynote",
            title=f"Keynote {i}",
            people=(),
            abstract="",
            start=base + timedelta(hours=i),
            end=base + timedelta(hours=i, minutes=30),
            session_id=None,
            room=None,
            links=(),
            cancelled=False,
        )
        for i in range(101)
    )
    snapshot = SimpleNamespace(talks=talks, by_id={t.id: t for t in talks}, workshop=None)
    program = SimpleNamespace(snapshot=snapshot, loaded=True)
    clock = ManualClock(base - timedelta(days=1))
    service = EventSync(sessions, clock, program)  # type: ignore[arg-type]
    with pytest.raises(
        UserFacingError, match="That would be 101 events; Discord allows at most 100"
    ):
        await service.sync(1, ["keynote"], api=None)  # type: ignore[arg-type]
