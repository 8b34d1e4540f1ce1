"""SQLite locked by another writer for longer than Discord waits: commands answer in time.

SQLite waits up to its busy timeout (30 s) for a write lock; Discord waits 3 s for an
interaction's first answer. Every command and button that writes acknowledges first, then
says what it did once the write went through.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.local import LocalDiscord
from bot.settings import Settings
from bot.simulator import InteractionResult
from tests.e2e.helpers import edt, settle
from tests.e2e.test_announce import schedule, write
from tests.e2e.test_organizers import KELLER, PAYVAND, organizer

#: Longer than Discord's 3 s deadline.
HELD = 4.0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(edt("08:30"))


class WriteLock:
    """Another connection holding SQLite's write lock (BEGIN IMMEDIATE) on the bot's file."""

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(
            path, timeout=10, isolation_level=None, check_same_thread=False
        )

    async def hold(self) -> None:
        # In a thread: the bot may be writing at this moment, and the bot runs on this loop.
        await asyncio.to_thread(self._conn.execute, "BEGIN IMMEDIATE")

    async def release(self) -> None:
        await asyncio.to_thread(self._conn.execute, "COMMIT")

    def close(self) -> None:
        self._conn.close()


@pytest.fixture
async def write_lock(settings: Settings) -> AsyncIterator[WriteLock]:
    url = settings.database_url
    if not url.startswith("sqlite"):
        pytest.skip("SQLite's write lock (PostgreSQL locks rows, not the database)")
    lock = WriteLock(Path(url.split("///", 1)[1]))
    try:
        yield lock
    finally:
        lock.close()


@pytest.mark.slow  # a fault test: 4-12 s of real waiting (run by CI)
async def test_commands_that_write_answer_in_time_while_another_writer_holds_sqlite(
    local: LocalDiscord, write_lock: WriteLock
) -> None:
    sim = local.sim
    olga = organizer(sim)
    alice, bob, carol, dave, erin = (
        sim.add_user(n) for n in ("alice", "bob", "carol", "dave", "erin")
    )
    # What each of them will act on while the lock is held.
    await alice.slash("remind talk", title=PAYVAND)
    await carol.slash("remind talk", title=KELLER)
    await bob.slash("remind talk", title=KELLER)  # bob's first DM is behind him
    card = await dave.slash("schedule talk", title=KELLER)
    await erin.slash("remind talk", title=PAYVAND, minutes_before=30)  # due now: sent at once
    await erin.slash("remind talk", title=KELLER)  # still to come: what her button stops
    await settle(local)
    reminder = next(m for m in erin.dms if m["content"].startswith("⏰"))
    # The DM's "Stop all…" asks first (a read); the answer is the write.
    asked = await erin.click(reminder, "Stop all…")
    assert asked.content == "Stop 1 reminder?"
    await schedule(local, olga, "11:00", "Posters up!", channel="announcements")
    form = await olga.slash("announce now", options={"channel": "announcements"})
    opened = await olga.slash("announce at", when="12:00", options={"channel": "announcements"})
    confirm = await write(opened, "Lunch!")

    await write_lock.hold()
    actions: dict[str, Awaitable[InteractionResult]] = {
        "/remind talk": bob.slash("remind talk", title=PAYVAND, timeout=10),
        "/remind cancel": alice.slash("remind cancel", talk=PAYVAND, timeout=10),
        "/remind off": carol.slash("remind off", timeout=10),
        "Remind me": card.click("Remind me", timeout=10),
        "Stop these reminders (Confirm)": asked.click("Confirm", timeout=10),
        "/setup lead": olga.slash("setup lead", minutes=5, timeout=10),
        "/announce cancel": olga.slash("announce cancel", announcement=1, timeout=10),
        "/announce now (the text)": write(form, "Coffee is here.", timeout=10),
        "/announce at (Schedule it)": confirm.click("Schedule it", timeout=10),
    }
    running = {what: asyncio.ensure_future(action) for what, action in actions.items()}
    await asyncio.sleep(HELD)
    assert not any(task.done() for task in running.values()), "nothing waited for the lock"
    await write_lock.release()
    results = {what: await task for what, task in running.items()}

    for what, result in results.items():
        # Acknowledged within Discord's 3 s (a "did not respond" otherwise), answered later.
        assert result.latency is not None and result.latency < 3.0, (what, result.latency)
        assert result.completion_latency is not None and result.completion_latency > HELD, what
    assert "I'll remind you of “Brain-inspired hardware" in results["/remind talk"].text()
    assert results["/remind talk"].ephemeral
    assert "OK, no reminder for “Brain-inspired hardware" in results["/remind cancel"].text()
    assert results["/remind off"].text().count("Stopped 1 reminder.") == 1
    assert "I'll remind you of “How Computer Graphics" in results["Remind me"].text()
    assert "Stopped 1 reminder." in results["Stop these reminders (Confirm)"].text()
    assert "sessions are announced 5 min before they start" in results["/setup lead"].text()
    assert "Cancelled announcement #1" in results["/announce cancel"].text()
    assert "Posting announcement #" in results["/announce now (the text)"].text()
    assert "Scheduled: announcement #" in results["/announce at (Schedule it)"].text()
    for what in ("/remind cancel", "/remind off", "/setup lead", "/announce cancel"):
        assert results[what].ephemeral, what
