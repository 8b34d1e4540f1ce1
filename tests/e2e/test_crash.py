"""Crash tests: a burst of 2,000 reminders survives SIGKILLs of real bot processes.

None is lost, and none is doubled: the sends in flight at a kill are taken over after the
lease and sent again with their nonce, and Discord keeps one copy. The same holds with two
processes sharing a PostgreSQL database when one of them is killed.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from bot.clock import RehearsalClock
from bot.db import migrate
from bot.db.models import DMChannel, Subscription
from bot.db.session import create_engine, create_sessionmaker
from bot.program.files import load_program
from bot.program.loader import load_program as load_into_db
from bot.simulator import DiscordSimulator, RateLimitConfig, SimUser
from tests.conftest import HAET_FILE

pytestmark = pytest.mark.slow

BURST = 2000
KILLS = 5
PAYVAND = "keynote-melika-payvand"
DUE = datetime.fromisoformat("2022-07-23T08:50:00-04:00")
# A faster Discord-compatible server than Discord, so the burst takes seconds, not 45 s.
LIMITS = replace(RateLimitConfig(), global_limit=400)
RATE = 300


@pytest.fixture
async def sim(error_log: object) -> AsyncIterator[DiscordSimulator]:  # type: ignore[override]
    async with DiscordSimulator(rate_limit_config=LIMITS) as simulator:
        yield simulator


async def prepare(
    database_url: str,
    users: list[SimUser],
    subscriptions: tuple[tuple[str, int], ...] = ((PAYVAND, 10),),
) -> None:
    """The database as it is the evening before: program loaded, and each of ``users``
    subscribed to each (entry, minutes before) of ``subscriptions``, all due at 08:50."""
    engine = create_engine(database_url)
    evening = datetime(2022, 7, 22, tzinfo=UTC)
    try:
        await migrate.upgrade(engine)
        sessions = create_sessionmaker(engine)
        await load_into_db(sessions, load_program(HAET_FILE), evening)
        if not users:
            return
        async with sessions() as s, s.begin():
            await s.execute(
                insert(DMChannel),
                [{"user_id": u.id, "channel_id": u.dm_channel.id} for u in users],
            )
            await s.execute(
                insert(Subscription),
                [
                    {
                        "user_id": u.id,
                        "entry_id": entry_id,
                        "minutes_before": lead,
                        "due_at": DUE,
                        "state": "active",
                        "created_at": evening,
                    }
                    for u in users
                    for entry_id, lead in subscriptions
                ],
            )
    finally:
        await engine.dispose()


def spawn(
    sim: DiscordSimulator, database_url: str, start: datetime, log: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DISCORD_TOKEN": sim.token,
        "DISCORD_API_BASE": sim.api_base,
        "DISCORD_GATEWAY_URL": sim.gateway_url,
        "DEV_GUILD_ID": str(sim.guild_id),
        "DATABASE_URL": database_url,
        "PROGRAM_FILE": str(HAET_FILE),
        "CLAIM_LEASE_SECONDS": "1",
        "DELIVERY_RATE": str(RATE),
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bot",
                "run",
                "--simulate-start",
                start.isoformat(),
                "--speed",
                "1",
            ],
            env=env,
            cwd=log.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def counts(users: list[SimUser]) -> list[int]:
    return [sum(m["content"].startswith("⏰") for m in u.dms) for u in users]


def check_log(log: Path, token: str) -> None:
    text = log.read_text()
    assert "Traceback" not in text and " ERROR " not in text, text[-3000:]
    assert token not in text


async def test_burst_survives_five_sigkills(
    sim: DiscordSimulator, database_url: str, tmp_path: Path
) -> None:
    users = [sim.add_user(f"u{i}") for i in range(BURST)]
    await prepare(database_url, users)
    clock = RehearsalClock(DUE - timedelta(seconds=3), speed=1)
    log = tmp_path / "bot.log"
    rng = random.Random(7)
    proc = spawn(sim, database_url, clock.now(), log)
    try:
        await sim.wait_until(lambda: sum(counts(users)) > 0, 30, "the burst to start")
        for _ in range(KILLS):
            await asyncio.sleep(rng.uniform(0.2, 1.0))
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            proc = spawn(sim, database_url, clock.now(), log)
        await sim.wait_until(lambda: all(c >= 1 for c in counts(users)), 90, "every reminder")
        await asyncio.sleep(1.5)  # past the lease: a stale claim would be re-sent by now
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    got = counts(users)
    assert min(got) == 1, "a reminder was lost"
    # The sends in flight at each kill are taken over with their nonce: Discord keeps one.
    assert sum(got) == BURST, f"{sum(got) - BURST} duplicates for {KILLS} kills"
    assert sim.stats.rate_limited == 0
    check_log(log, sim.token)


async def test_two_processes_on_postgresql_one_killed(
    sim: DiscordSimulator, database_url: str, tmp_path: Path
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several processes on one database: the PostgreSQL deployment")
    users = [sim.add_user(f"u{i}") for i in range(BURST)]
    await prepare(database_url, users)
    clock = RehearsalClock(DUE - timedelta(seconds=3), speed=1)
    log_a, log_b = tmp_path / "a.log", tmp_path / "b.log"
    a = spawn(sim, database_url, clock.now(), log_a)
    b = spawn(sim, database_url, clock.now(), log_b)
    try:
        await sim.wait_until(lambda: sum(counts(users)) > BURST // 4, 30, "a quarter of the burst")
        a.send_signal(signal.SIGKILL)
        a.wait(10)
        await sim.wait_until(lambda: all(c >= 1 for c in counts(users)), 90, "every reminder")
        await asyncio.sleep(1.5)
    finally:
        for proc in (a, b):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(20)
    got = counts(users)
    assert min(got) == 1, "a reminder was lost"
    assert sum(got) == BURST, f"{sum(got) - BURST} duplicates for one kill"
    check_log(log_b, sim.token)


async def test_combined_reminder_dms_survive_sigkills(
    sim: DiscordSimulator, database_url: str, tmp_path: Path
) -> None:
    """Each of 1,000 members has two reminders due at 08:50 (Payvand 10 min before 09:00,
    Keller 40 min before 09:30): one DM each, naming both talks. Three SIGKILLs mid-burst lose
    none and double none: a DM's nonce is made of its reminders' keys, so the DM re-sent after
    a takeover is the one Discord already has."""
    users = [sim.add_user(f"u{i}") for i in range(1000)]
    await prepare(database_url, users, ((PAYVAND, 10), ("keynote-alexander-keller", 40)))
    clock = RehearsalClock(DUE - timedelta(seconds=3), speed=1)
    log = tmp_path / "bot.log"
    rng = random.Random(11)
    proc = spawn(sim, database_url, clock.now(), log)
    try:
        await sim.wait_until(lambda: sum(counts(users)) > 0, 30, "the burst to start")
        for _ in range(3):
            await asyncio.sleep(rng.uniform(0.2, 0.8))
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            proc = spawn(sim, database_url, clock.now(), log)
        await sim.wait_until(lambda: all(c >= 1 for c in counts(users)), 90, "every reminder")
        await asyncio.sleep(1.5)  # past the lease: a stale claim would be re-sent by now
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    assert counts(users) == [1] * len(users), "a DM was lost or doubled"
    for user in users:
        [dm] = [m for m in user.dms if m["content"].startswith("⏰")]
        assert "Brain-inspired" in dm["content"] and "Computer Graphics" in dm["content"]
    check_log(log, sim.token)
