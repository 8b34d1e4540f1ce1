"""The delivery engine against a slow, lossy Discord and a second process (issue 12, items 1, 7,
8 and 9, and the smaller promises): every send once, none stalled behind another.

The real bot, in process, against the local Discord; ``tests/e2e/test_kills_and_slow_sends.py``
has the same promises with real processes and real kills.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

import bot.delivery.engine
from bot.clock import Clock, ManualClock
from bot.db.models import Delivery, DMChannel, Subscription
from bot.delivery.engine import (
    BoardPost,
    DeliveryEngine,
    DueReminder,
    Outcome,
    QueuedNotice,
    SendResult,
)
from bot.local import LocalDiscord
from bot.services.announcements import PlannedAnnouncement
from bot.settings import Settings
from bot.simulator import SimUser
from tests.conftest import HAET_FILE
from tests.e2e.conftest import ErrorRecords
from tests.e2e.helpers import at, edt, settle

PAYVAND = "keynote-melika-payvand"
CHANNEL_MESSAGES = "POST /channels/{channel_id}/messages"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(edt("08:30"))


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        program_file=HAET_FILE,
        discord_token="sim-token",
        claim_lease_seconds=1.0,
        send_timeout_seconds=1.5,
    )


def reminders(user: SimUser) -> int:
    return sum(m["content"].startswith("⏰") for m in user.dms)


async def subscribed(local: LocalDiscord, count: int) -> list[SimUser]:
    """``count`` attendees subscribed to Payvand's keynote earlier in the week (DM channels
    known: each reminder is one request), due at 08:50."""
    assert local.services is not None
    users = [local.sim.add_user(f"fan{i}") for i in range(count)]
    async with local.services.sessions() as s, s.begin():
        await s.execute(
            insert(DMChannel), [{"user_id": u.id, "channel_id": u.dm_channel.id} for u in users]
        )
        await s.execute(
            insert(Subscription),
            [
                {
                    "user_id": u.id,
                    "entry_id": PAYVAND,
                    "minutes_before": 10,
                    "due_at": edt("08:50"),
                    "state": "active",
                    "created_at": edt("08:00", day=16),
                }
                for u in users
            ],
        )
    return users


async def claimed_a_moment_ago(
    local: LocalDiscord, key: str, kind: str, due_at: datetime, **values: Any
) -> None:
    """A ``deliveries`` row another process claimed just now (and, say, died holding)."""
    assert local.services is not None
    async with local.services.sessions() as s, s.begin():
        await s.execute(
            insert(Delivery).values(
                key=key,
                kind=kind,
                due_at=due_at,
                state="claimed",
                claimed_by="other:1",
                claimed_at=datetime.now(UTC),
                attempts=1,
                late=False,
                **values,
            )
        )


# -- item 1: a claim within its lease is looked at again when the lease ends ----------------------


@pytest.mark.slow  # waits out real leases or seconds (run by CI)
async def test_a_notice_claimed_by_a_process_that_died_is_sent_when_its_lease_ends(
    local: LocalDiscord, clock: Clock
) -> None:
    """The process that claimed an organizer's post died a moment ago; this one started inside
    the lease. Nothing else is due all morning: the post still goes out, once, when the lease
    ends (the engine looks again then, whatever the kind)."""
    assert local.services is not None and local.services.engine is not None
    await claimed_a_moment_ago(
        local,
        "announce:custom:1",
        "notice",
        edt("08:29"),
        channel_id=local.sim.channel_id("announcements"),
        payload={"text": "Coffee is in the foyer."},
    )
    local.services.engine.poke()
    await local.sim.wait_for_message("announcements", timeout=5)
    await asyncio.sleep(1.5)  # another lease: a second copy would be posted by now
    posts = [m["content"] for m in local.sim.messages("announcements")]
    assert posts == ["Coffee is in the foyer."]


@pytest.mark.slow  # waits out real leases or seconds (run by CI)
async def test_a_reminder_claimed_by_a_process_that_died_is_sent_once_without_polling(
    local: LocalDiscord, clock: Clock
) -> None:
    assert local.services is not None and local.services.engine is not None
    [alice] = await subscribed(local, 1)
    async with local.services.sessions() as s:
        sub_id = await s.scalar(select(Subscription.id).where(Subscription.user_id == alice.id))
    key = f"reminder:{sub_id}:{edt('08:50').astimezone(UTC):%Y%m%dT%H%M%SZ}"
    await claimed_a_moment_ago(local, key, "reminder", edt("08:50"))
    passes = local.services.engine.stats.passes
    await at(local, clock, edt("08:50"))
    await local.sim.wait_until(lambda: reminders(alice) == 1, 5, "the reminder")
    await asyncio.sleep(1.2)
    assert reminders(alice) == 1
    # Woken when the lease ended, not every second: a handful of passes, not one per tick.
    assert local.services.engine.stats.passes - passes <= 4


# -- item 8: Discord made the message but answered 5xx ---------------------------------------------


@pytest.mark.slow  # a fault test: 4-12 s of real waiting (run by CI)
@pytest.mark.parametrize("status", [503, 500])
async def test_a_message_discord_made_but_answered_5xx_for_arrives_once(
    local: LocalDiscord, clock: Clock, status: int
) -> None:
    """503: discord.py gives up at once and the engine tries again; 500: discord.py tries five
    times itself, then the engine. Every try carries the delivery's nonce, so Discord answers
    each with the message it made the first time."""
    [alice] = await subscribed(local, 1)
    # 503: the first try and the engine's first retry; 500: discord.py's five tries and one
    # of the engine's.
    count = 2 if status == 503 else 6
    fault = local.sim.faults.fail_after_serving(status, route=CHANNEL_MESSAGES, count=count)
    await at(local, clock, edt("08:50"))
    await local.sim.wait_until(lambda: fault.hits >= 1, 10, "the first try")
    # The engine tries again 5 s (clock time) after each failure, until Discord answers.
    for _ in range(30):
        if not fault.active:
            break
        await asyncio.sleep(1.0)  # real time: Discord allows 5 messages per 5 s in a channel
        await at(local, clock, clock.now() + timedelta(seconds=6))
    assert not fault.active, f"{fault.hits} faulty answers"
    await at(local, clock, clock.now() + timedelta(seconds=6))
    assert reminders(alice) == 1, [m["content"][:40] for m in alice.dms]
    assert local.services is not None and local.services.engine is not None
    assert local.services.engine.stats.sent == 1


# -- item 9: one hung request ----------------------------------------------------------------------


async def test_one_hung_request_holds_up_no_other_reminder(
    local: LocalDiscord, clock: Clock
) -> None:
    users = await subscribed(local, 20)
    # The first DM hangs at Discord for 30 s and is never served.
    hung = local.sim.faults.hang(30, route=CHANNEL_MESSAGES, serve=False)
    clock_started = time.monotonic()
    assert isinstance(clock, ManualClock)
    clock.set(edt("08:50"))
    await local.sim.wait_until(
        lambda: sum(reminders(u) for u in users) >= 19, 5, "the 19 that did not hang"
    )
    assert time.monotonic() - clock_started < 5
    assert hung.hits == 1
    # The hung one is given up after SEND_TIMEOUT_SECONDS and tried again 5 s later.
    for _ in range(10):
        await asyncio.sleep(0.5)
        await at(local, clock, clock.now() + timedelta(seconds=6))
        if all(reminders(u) for u in users):
            break
    assert [reminders(u) for u in users] == [1] * 20


# -- item 7: claim ages on the database's clock ----------------------------------------------------


class RecordingOutbox:
    """An outbox for a second, test-made engine: records what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send_reminders(
        self, reminders: Sequence[DueReminder], *, offline: bool
    ) -> SendResult:
        self.sent.extend(r.key for r in reminders)
        return SendResult(Outcome.SENT)

    async def send_announcement(self, item: PlannedAnnouncement, *, offline: bool) -> SendResult:
        self.sent.append(item.key)
        return SendResult(Outcome.SENT)

    async def send_notice(self, notice: QueuedNotice, *, offline: bool) -> SendResult:
        self.sent.append(notice.key)
        return SendResult(Outcome.SENT)

    async def update_board(self, *args: Any, **kwargs: Any) -> BoardPost:
        return BoardPost(None)


def second_engine(local: LocalDiscord, clock: Clock, **kwargs: Any) -> DeliveryEngine:
    services = local.services
    assert services is not None
    return DeliveryEngine(
        services.sessions,
        clock,
        services.program,
        services.targets,
        RecordingOutbox(),
        services.schedule,
        worker_id="second",
        **kwargs,
    )


async def test_a_process_whose_clock_runs_ahead_does_not_take_over_a_live_claim(
    local: LocalDiscord, clock: Clock, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two machines on one PostgreSQL database; the second's clock is two minutes fast. A claim
    the first made a second ago is young on the database's clock, so the second leaves it."""
    if not database_url.startswith("postgresql"):
        pytest.skip("one database, several machines: the PostgreSQL deployment")
    assert local.services is not None
    await claimed_a_moment_ago(
        local, "notice:hello", "notice", edt("08:29"), channel_id=1, payload={"text": "hello"}
    )

    class FastClock(datetime):
        """This machine's wall clock, two minutes fast."""

        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return datetime.now(tz) + timedelta(minutes=2)

    monkeypatch.setattr(bot.delivery.engine, "datetime", FastClock)
    other = second_engine(local, clock, lease_seconds=60)
    other._running = True
    await other.process_due()
    assert isinstance(other._outbox, RecordingOutbox)
    assert other._outbox.sent == []


# -- the process that lost a race says nothing false -----------------------------------------------


async def test_the_process_that_lost_the_race_to_post_does_not_report_a_skip(
    local: LocalDiscord, clock: Clock, error_log: ErrorRecords, caplog: pytest.LogCaptureFixture
) -> None:
    """Two processes; the bot's posts the 09:00 keynote. The second, whose cache of what was
    posted predates that, looks after the keynote has ended: it must not log "skipping … it
    ended before it could be posted" nor count a skip in /status."""
    assert local.services is not None
    local.services.settings.announce_channel_id = local.sim.channel_id("announcements")
    other = second_engine(local, clock)
    other._running = True
    await other.process_due()  # 08:30: fills its cache of what was posted (nothing yet)
    await at(local, clock, edt("09:00:30"))
    await local.sim.wait_for_message("announcements", timeout=5)
    assert isinstance(clock, ManualClock)
    clock.set(edt("12:00"))
    with caplog.at_level(logging.WARNING, logger="bot.delivery.engine"):
        await other.process_due()
    assert not [r for r in caplog.records if "keynote-melika-payvand" in r.getMessage()]
    assert isinstance(other._outbox, RecordingOutbox)
    assert not [k for k in other._outbox.sent if PAYVAND in k]


# -- a wall-clock jump -----------------------------------------------------------------------------


async def test_a_wall_clock_jump_makes_the_engine_look_again(
    local: LocalDiscord, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    engine = second_engine(local, clock)
    offset = 0.0
    engine._wall = lambda: time.time() + offset
    engine.wall_check_every = 0.05
    await engine.start()
    try:
        await engine.wait_idle()
        passes = engine.stats.passes
        with caplog.at_level(logging.WARNING, logger="bot.delivery.engine"):
            offset = 3600.0  # resumed from an hour's suspend, or an NTP step
            await asyncio.sleep(0.3)
            await engine.wait_idle()
        assert engine.stats.passes > passes
        assert any("wall clock jumped" in r.getMessage() for r in caplog.records)
    finally:
        await engine.stop()
    await settle(local)
