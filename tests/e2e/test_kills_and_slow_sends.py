"""Real processes, real SIGKILLs, a slow Discord: a post in flight, 600 untold subscribers and a
send slower than the claim lease are each delivered exactly once (issue 12, items 1, 2 and 7).

Each test runs the bot as ``python -m bot run`` against the local Discord, on SQLite and on
PostgreSQL, and fails on a lost or doubled message, a 429, or an ERROR or traceback in a log.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.clock import RehearsalClock
from bot.db.models import Delivery, Subscription
from bot.db.session import create_engine, create_sessionmaker
from bot.program.files import dump_program, load_program
from bot.simulator import DiscordSimulator, RateLimitConfig
from tests.conftest import HAET_FILE
from tests.e2e.test_crash import prepare

pytestmark = pytest.mark.slow

PAYVAND = "keynote-melika-payvand"
PAYVAND_TITLE = (
    "Brain-inspired hardware and algorithm co-design for low power online training on the edge"
)
CHANNEL_MESSAGES = "POST /channels/{channel_id}/messages"
# A Discord-compatible server faster than Discord, so 600 DMs take seconds, not 25.
LIMITS = replace(RateLimitConfig(), global_limit=400)


@pytest.fixture
async def sim(error_log: object) -> AsyncIterator[DiscordSimulator]:  # type: ignore[override]
    async with DiscordSimulator(rate_limit_config=LIMITS) as simulator:
        yield simulator
        simulator.assert_clean()


def spawn(
    sim: DiscordSimulator,
    database_url: str,
    start: datetime,
    log: Path,
    *,
    program: Path = HAET_FILE,
    **env: str,
) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "DISCORD_TOKEN": sim.token,
        "DISCORD_API_BASE": sim.api_base,
        "DISCORD_GATEWAY_URL": sim.gateway_url,
        "DEV_GUILD_ID": str(sim.guild_id),
        "DATABASE_URL": database_url,
        "PROGRAM_FILE": str(program),
        "CLAIM_LEASE_SECONDS": "3",
        "DELIVERY_RATE": "300",
        **env,
    }
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--simulate-start", start.isoformat()],
            env=environment,
            cwd=log.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


def stop(*procs: subprocess.Popen[bytes]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        proc.wait(20)


@contextlib.asynccontextmanager
async def tasks_dumped_on_failure(proc: subprocess.Popen[bytes], log: Path) -> AsyncIterator[None]:
    """A wait that fails shows what every task of the bot was waiting on (its SIGUSR1 dump)."""
    try:
        yield
    except (AssertionError, TimeoutError) as failure:
        if proc.poll() is None:
            proc.send_signal(signal.SIGUSR1)
            await asyncio.sleep(2)
        tail = log.read_text()[-20000:]
        raise AssertionError(f"{failure}\n--- the bot's log, last part:\n{tail}") from failure


def check_log(log: Path, token: str) -> None:
    text = log.read_text()
    assert "Traceback" not in text and " ERROR " not in text, text[-3000:]
    assert token not in text


async def notice_states(database_url: str) -> set[str]:
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as s:
            return set(await s.scalars(select(Delivery.state).where(Delivery.kind == "notice")))
    finally:
        await engine.dispose()


def payvand_posts(sim: DiscordSimulator) -> list[dict]:
    return [
        m
        for m in sim.messages("announcements")
        if m["embeds"] and m["embeds"][0]["title"] == PAYVAND_TITLE
    ]


async def test_a_session_post_in_flight_when_the_process_is_killed_goes_out_after_the_lease(
    sim: DiscordSimulator, database_url: str, tmp_path: Path
) -> None:
    """Item 1: SIGKILL while the 09:00 keynote's post is in flight, restarted at once (inside
    the lease, as a supervisor would): the keynote is posted, once, when the lease ends."""
    await prepare(database_url, [])
    # Just after 09:00: the opening has ended (skipped), the keynote is due at once.
    clock = RehearsalClock(datetime.fromisoformat("2022-07-23T09:00:01-04:00"), speed=1)
    log = tmp_path / "bot.log"
    # The post reaches Discord and hangs there; it is never served (the process dies first).
    hung = sim.faults.hang(30, route=CHANNEL_MESSAGES, serve=False)
    # A lease longer than a restart takes, so the restarted process finds the claim live.
    env = {"ANNOUNCE_CHANNEL_ID": str(sim.channel_id("announcements")), "CLAIM_LEASE_SECONDS": "8"}
    proc = spawn(sim, database_url, clock.now(), log, **env)
    try:
        await sim.wait_until(lambda: hung.hits == 1, 30, "the keynote's post in flight")
        kill(proc)
        proc = spawn(sim, database_url, clock.now(), log, **env)
        # A look when the lease ends, and the post goes out.
        await sim.wait_until(lambda: len(payvand_posts(sim)) >= 1, 25, "the keynote's post")
        await asyncio.sleep(3)  # a second copy would show by now
    finally:
        stop(proc)
    [post] = payvand_posts(sim)
    assert "Payvand" in str(post["embeds"][0])
    check_log(log, sim.token)


async def test_every_subscriber_of_a_moved_talk_is_told_once_across_a_kill(
    sim: DiscordSimulator, database_url: str, tmp_path: Path
) -> None:
    """Item 2: the program file moves Payvand's keynote; the process dies while it tells 600
    subscribers; the next start tells the rest, and nobody twice."""
    users = [sim.add_user(f"u{i}") for i in range(600)]
    await prepare(database_url, users)  # reminders due at 08:50
    program = load_program(HAET_FILE)
    moved_file = tmp_path / "moved.yaml"
    moved_file.write_text(
        dump_program(
            program.model_copy(
                update={
                    "entries": tuple(
                        e.model_copy(
                            update={
                                "start": e.start + timedelta(minutes=30),
                                "end": e.end + timedelta(minutes=30),
                            }
                        )
                        if e.id == PAYVAND
                        else e
                        for e in program.entries
                    )
                }
            )
        )
    )
    clock = RehearsalClock(datetime.fromisoformat("2022-07-23T07:00:00-04:00"), speed=1)
    log = tmp_path / "bot.log"

    def told() -> list[int]:
        return [sum("has moved" in m["content"] for m in u.dms) for u in users]

    proc = spawn(sim, database_url, clock.now(), log, program=moved_file)
    try:
        await sim.wait_until(lambda: sum(told()) >= 60, 30, "the first notices")
        kill(proc)
        assert sum(told()) < len(users), "every notice went out before the kill: no test"
        proc = spawn(sim, database_url, clock.now(), log, program=moved_file)
        async with tasks_dumped_on_failure(proc, log):
            await sim.wait_until(lambda: min(told()) >= 1, 60, "a notice for everyone")
        # Until every notice is recorded sent (one Discord answered late is retried, with its
        # nonce): a second copy of any would show by then.
        for _ in range(40):
            if await notice_states(database_url) == {"sent"}:
                break
            await asyncio.sleep(0.5)
    finally:
        stop(proc)
    counts = told()
    assert min(counts) == 1, "a subscriber was never told"
    # The send in flight at the kill is re-sent with the same nonce: Discord keeps one.
    assert max(counts) == 1, f"{sum(counts) - len(users)} told twice"
    sample = next(m["content"] for m in users[0].dms if "has moved" in m["content"])
    assert "Your reminder moves with it" in sample
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as s:
            due = set(
                await s.scalars(select(Subscription.due_at).where(Subscription.entry_id == PAYVAND))
            )
    finally:
        await engine.dispose()
    assert due == {datetime.fromisoformat("2022-07-23T09:20:00-04:00")}
    assert await notice_states(database_url) == {"sent"}
    assert sim.stats.rate_limited == 0
    check_log(log, sim.token)


async def test_two_processes_and_a_send_slower_than_the_lease_send_it_once(
    sim: DiscordSimulator, database_url: str, tmp_path: Path
) -> None:
    """Item 7: two live processes; one reminder's DM hangs at Discord for four leases. The
    process that sent it keeps its claim (renewed), gives up after SEND_TIMEOUT_SECONDS and
    tries again with the same nonce; the other never takes it over: one DM each."""
    users = [sim.add_user(f"u{i}") for i in range(40)]
    due = datetime.fromisoformat("2022-07-23T08:50:00-04:00")
    await prepare(database_url, users)
    clock = RehearsalClock(due - timedelta(seconds=4), speed=1)
    # Served after 12 s: Discord makes the message although the client gave up waiting.
    hung = sim.faults.hang(12, route=CHANNEL_MESSAGES, serve=True)
    env = {"SEND_TIMEOUT_SECONDS": "4", "DELIVERY_RATE": "150"}
    log_a, log_b = tmp_path / "a.log", tmp_path / "b.log"
    a = spawn(sim, database_url, clock.now(), log_a, **env)
    b = spawn(sim, database_url, clock.now(), log_b, GATEWAY="false", **env)

    def reminders() -> list[int]:
        return [sum(m["content"].startswith("⏰") for m in u.dms) for u in users]

    try:
        await sim.wait_until(lambda: hung.hits == 1, 30, "one send hanging")
        await sim.wait_until(lambda: min(reminders()) >= 1, 40, "every reminder")
        # Until the hung request has been served, and a lease more.
        await asyncio.sleep(12 + 3 + 1)
    finally:
        stop(a, b)
    got = reminders()
    assert min(got) == 1, "a reminder was lost"
    assert max(got) == 1, f"{sum(got) - len(users)} reminders sent twice"
    check_log(log_a, sim.token)
    check_log(log_b, sim.token)
