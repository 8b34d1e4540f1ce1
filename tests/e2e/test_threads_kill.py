"""/setup posters against a real process, SIGKILLed halfway and restarted: exactly one tagged
thread per poster, each recorded once (issue 15, "done when").

The bot runs as ``python -m bot run`` against the local Discord, on SQLite and PostgreSQL; an
organizer's slash command reaches the process over the gateway as on Discord.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db.models import DiscussionThread, ThreadSetup
from bot.db.session import create_engine, create_sessionmaker
from bot.simulator import DiscordSimulator
from bot.simulator.models import Perm
from tests.e2e.test_crash import prepare
from tests.e2e.test_kills_and_slow_sends import (
    LIMITS,
    check_log,
    kill,
    spawn,
    stop,
    tasks_dumped_on_failure,
)
from tests.e2e.test_organizers import organizer

pytestmark = pytest.mark.slow

POSTERS = 24
SESSIONS = ("Poster session I", "Poster session II")
# The evening before: nothing scheduled gets in the way.
EVENING = datetime.fromisoformat("2022-07-22T18:00:00-04:00")
FORUM_POSTS = "POST /channels/{channel_id}/threads"


@pytest.fixture
async def sim(error_log: object) -> AsyncIterator[DiscordSimulator]:  # type: ignore[override]
    async with DiscordSimulator(rate_limit_config=LIMITS) as simulator:
        yield simulator
        simulator.assert_clean()


async def recorded(database_url: str) -> tuple[list[DiscussionThread], list[ThreadSetup]]:
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as s:
            threads = list((await s.scalars(select(DiscussionThread))).all())
            setups = list((await s.scalars(select(ThreadSetup))).all())
            return threads, setups
    finally:
        await engine.dispose()


async def test_setup_posters_killed_halfway_ends_with_one_tagged_thread_per_poster(
    sim: DiscordSimulator, database_url: str, tmp_path: Path
) -> None:
    await prepare(database_url, [])
    sim.add_forum("posters")
    sim.set_bot_overwrite("posters", allow=Perm.MANAGE_CHANNELS | Perm.MANAGE_THREADS)
    olga = organizer(sim)
    # Every forum post is held a moment at Discord, so the kill lands halfway.
    slow = sim.faults.hang(0.3, route=FORUM_POSTS, count=None, serve=True)
    log = tmp_path / "bot.log"
    proc = spawn(sim, database_url, EVENING, log)
    try:
        async with tasks_dumped_on_failure(proc, log):
            await sim.wait_for_bot(timeout=30)
            await sim.wait_until(
                lambda: any(c["name"] == "setup" for c in sim.commands()), 20, "commands"
            )
            answer = await olga.slash("setup posters", options={"channel": "posters"})
            assert answer.ephemeral
            await sim.wait_until(lambda: len(sim.threads("posters")) >= 6, 30, "six posts of 24")
            # The next post is in flight when the process dies; Discord makes it after.
            slow.cancel()
            in_flight = sim.faults.hang(1.5, route=FORUM_POSTS, count=1, serve=True)
            await sim.wait_until(lambda: in_flight.hits == 1, 15, "a post in flight")
        kill(proc)
        made = len(sim.threads("posters"))
        await sim.wait_until(
            lambda: len(sim.threads("posters")) == made + 1, 5, "the post made after the kill"
        )
        assert made + 1 < POSTERS, "every post was made before the kill: no test"
        threads, [setup] = await recorded(database_url)
        assert setup.state == "running"
        assert len(threads) == made, "the post in flight is not recorded"
        proc = spawn(sim, database_url, EVENING, log)
        async with tasks_dumped_on_failure(proc, log):
            await sim.wait_until(lambda: len(sim.threads("posters")) >= POSTERS, 60, "all 24 posts")
            for _ in range(60):
                threads, [setup] = await recorded(database_url)
                if setup.state == "done":
                    break
                await asyncio.sleep(0.5)
            assert setup.state == "done", setup.note
            # The organizer is told once, and /setup show says so.
            await sim.wait_for_message(
                dm_of=olga,
                predicate=lambda m: "finished after a restart" in m["content"],
                timeout=20,
            )
            shown = await olga.slash("setup show")
            assert "24 threads · finished" in str(shown.text()), shown.text()
        await asyncio.sleep(2)  # a doubled post (or DM) would show by now
    finally:
        stop(proc)

    posts = sim.threads("posters")
    assert len(posts) == POSTERS, Counter(p.name for p in posts).most_common(3)
    assert len({p.name for p in posts}) == POSTERS, "a poster has two posts"
    markers = Counter(sim.messages(p)[0]["embeds"][0]["footer"]["text"] for p in posts)
    assert len(markers) == POSTERS and set(markers.values()) == {1}
    threads, _ = await recorded(database_url)
    assert len(threads) == POSTERS
    assert len({t.entry_id for t in threads}) == POSTERS
    assert {t.thread_id for t in threads} == {p.id for p in posts}
    assert [t["name"] for t in sim.tags("posters")] == list(SESSIONS)
    first, second = (sim.tag_id("posters", name) for name in SESSIONS)
    tagged = Counter(tuple(p.thread.applied_tags) for p in posts if p.thread is not None)
    assert tagged == {(first,): 12, (second,): 12}
    assert sum("finished after a restart" in m["content"] for m in olga.dms) == 1
    # The post made after the kill was found by its marker, not made again.
    assert "1 found from an interrupted run" in log.read_text()
    check_log(log, sim.token)


async def seed_setup(database_url: str, guild_id: int, channel_id: int, by: int) -> None:
    """The set-up row as /setup posters writes it before making any thread."""
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as s, s.begin():
            s.add(
                ThreadSetup(
                    guild_id=guild_id,
                    channel_id=channel_id,
                    kinds=["poster"],
                    state="running",
                    requested_by=by,
                    run=1,
                    updated_at=EVENING,
                )
            )
    finally:
        await engine.dispose()


async def test_two_processes_starting_at_once_make_each_post_once(
    sim: DiscordSimulator, database_url: str, tmp_path: Path
) -> None:
    """Item 2: two processes on one database start while a set-up is unfinished; each would
    finish it, but the set-up's claim lets one make the posts while the other waits."""
    await prepare(database_url, [])
    forum = sim.add_forum("posters")
    sim.set_bot_overwrite("posters", allow=Perm.MANAGE_CHANNELS | Perm.MANAGE_THREADS)
    olga = organizer(sim)
    await seed_setup(database_url, sim.guild_id, forum.id, olga.id)
    sim.faults.hang(0.2, route=FORUM_POSTS, count=None, serve=True)
    log_a, log_b = tmp_path / "a.log", tmp_path / "b.log"
    a = spawn(sim, database_url, EVENING, log_a)
    b = spawn(sim, database_url, EVENING, log_b)
    try:
        async with tasks_dumped_on_failure(a, log_a):
            await sim.wait_until(lambda: len(sim.threads("posters")) >= POSTERS, 90, "all 24 posts")
            for _ in range(60):
                _threads, [setup] = await recorded(database_url)
                if setup.state == "done":
                    break
                await asyncio.sleep(0.5)
            assert setup.state == "done", setup.note
        await asyncio.sleep(4)  # past a lease: the waiting process looks again, and stops
    finally:
        stop(a, b)
    posts = sim.threads("posters")
    assert len(posts) == POSTERS, f"{len(posts) - POSTERS} posts made twice"
    threads, [setup] = await recorded(database_url)
    assert len(threads) == POSTERS and setup.claimed_by is None
    logs = log_a.read_text() + log_b.read_text()
    assert "another process has them" in logs
    check_log(log_a, sim.token)
    check_log(log_b, sim.token)
