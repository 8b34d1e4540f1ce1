"""500 subscribers of one keynote, against Discord's real rate limits: all on time, no 429."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import RehearsalClock
from bot.db.models import DMChannel
from bot.local import LocalDiscord
from bot.settings import Settings
from bot.simulator import DiscordSimulator
from tests.conftest import HAET_FILE
from tests.error_records import ErrorRecords

PAYVAND = "keynote-melika-payvand"
DUE = datetime.fromisoformat("2022-07-23T08:50:00-04:00")
SUBSCRIBERS = 500

pytestmark = pytest.mark.slow


@pytest.fixture
def clock() -> RehearsalClock:  # type: ignore[override]
    # Real speed: pacing is in real seconds. 25 s before the reminders are due.
    return RehearsalClock(datetime.fromisoformat("2022-07-23T08:49:35-04:00"), speed=1.0)


@pytest.fixture
def settings(database_url: str, sim: DiscordSimulator) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        program_file=HAET_FILE,
        discord_token="sim-token",
    )


async def test_500_reminders_arrive_before_due_with_no_429(
    local: LocalDiscord, clock: RehearsalClock, tmp_path: Path
) -> None:
    services = local.services
    assert services is not None and services.engine is not None
    sim = local.sim
    users = [sim.add_user(f"fan{i}") for i in range(SUBSCRIBERS)]
    # They subscribed earlier in the week, when the bot's confirmation DM opened their
    # DM channels: so each reminder is a single request.
    async with services.sessions() as s, s.begin():
        for user in users:
            s.add(DMChannel(user_id=user.id, channel_id=user.dm_channel.id))
    for user in users:
        await services.reminders.subscribe(user.id, PAYVAND, 10)
    assert clock.now() < DUE - timedelta(seconds=14), "setup ran into the burst"

    arrivals: dict[int, list[datetime]] = {}

    def on_event(event: str, data: dict) -> None:
        if event == "MESSAGE_CREATE" and data["content"].startswith("⏰"):
            arrivals.setdefault(int(data["channel_id"]), []).append(clock.now())

    # Before the simulator's own listener, which wakes waiters.
    sim.state.listeners.insert(0, on_event)
    sim.stats.rate_limited = 0
    services.engine.poke()
    await sim.wait_until(
        lambda: sum(len(v) for v in arrivals.values()) >= SUBSCRIBERS, 40, "500 reminders"
    )
    times = [t for v in arrivals.values() for t in v]
    assert len(arrivals) == SUBSCRIBERS
    assert all(len(v) == 1 for v in arrivals.values()), "a reminder arrived twice"
    assert max(times) <= DUE, f"last reminder at {max(times)}, due {DUE}"
    assert sim.stats.rate_limited == 0
    # It went at close to the allowed pace, not in a trickle.
    span = (max(times) - min(times)).total_seconds()
    assert SUBSCRIBERS / span > 40, f"{SUBSCRIBERS / span:.1f} reminders/s"


async def test_newcomers_subscribing_during_the_fan_out_are_answered_and_nothing_meets_a_429(
    local: LocalDiscord, clock: RehearsalClock, error_log: ErrorRecords
) -> None:
    """40 newcomers run /remind talk while 500 reminders go out at the full rate: each gets
    its answer and its confirmation DM (members' requests go first; the engine yields), no
    request meets a 429, no ERROR, and the 500 reminders still arrive once, by the due time."""
    services = local.services
    assert services is not None and services.engine is not None
    sim = local.sim
    users = [sim.add_user(f"fan{i}") for i in range(SUBSCRIBERS)]
    async with services.sessions() as s, s.begin():
        for user in users:
            s.add(DMChannel(user_id=user.id, channel_id=user.dm_channel.id))
    for user in users:
        await services.reminders.subscribe(user.id, PAYVAND, 10)
    newcomers = [sim.add_user(f"new{i}") for i in range(40)]
    last_reminder: list[datetime] = []

    def on_event(event: str, data: dict) -> None:
        if event == "MESSAGE_CREATE" and data["content"].startswith("⏰"):
            last_reminder[:] = [clock.now()]

    sim.state.listeners.insert(0, on_event)
    sim.stats.rate_limited = 0
    services.engine.poke()
    # Until the burst is under way (it starts about 13 s before 08:50).
    await sim.wait_until(lambda: sum(len(u.dms) for u in users) >= 50, 30, "the burst")
    answers = await asyncio.gather(
        *(n.slash("remind talk", title="keynote-alexander-keller") for n in newcomers)
    )
    await sim.wait_until(lambda: all(len(u.dms) >= 1 for u in users), 40, "500 reminders")
    texts = [a.text() for a in answers]
    assert all("I'll remind you" in t for t in texts), texts
    assert not any("Sorry" in t or "confirmation" in t for t in texts), texts
    assert all(len(n.dms) == 1 for n in newcomers), "a confirmation DM is missing"
    assert sim.stats.rate_limited == 0
    assert all(len(u.dms) == 1 for u in users), "a reminder arrived twice"
    # The engine planned its burst for its own 500 requests; the newcomers' 80 (answer DMs:
    # open a DM channel, send) went first and may push its end by their share, 80 / 46 s.
    assert last_reminder[0] <= DUE + timedelta(seconds=2), last_reminder
