"""Turns due rows into sends: one APScheduler job, re-armed from the database, never lost.

The database is the source of truth: subscriptions carry their due time, announcements are
planned from the program and the servers' configuration, and every send is recorded in
``deliveries`` under a unique key, claimed before sending and marked after. At start the
engine simply looks at the database: whatever came due while the bot was down is sent late
(if its talk is still on) or skipped, and nothing is sent twice. There is one scheduler job,
not one per reminder, so restoring 100,000 reminders costs one query.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db.models import BotEvent, Delivery, DMChannel, GuildConfig, Subscription
from bot.services.announcements import AnnouncementTargets, PlannedAnnouncement, plan
from bot.services.program import ProgramService, Talk
from bot.services.schedule import NowView, ScheduleService

log = logging.getLogger(__name__)

JOB_ID = "deliveries"


class Outcome(enum.Enum):
    SENT = "sent"
    UNDELIVERABLE = "undeliverable"  # the user closed their DMs (50007): never retried
    FORBIDDEN = "forbidden"  # no permission to post in the channel (50013)
    RETRY = "retry"  # Discord failed us (5xx after retries, network): try again later
    FAILED = "failed"  # any other refusal: recorded, not retried


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: Outcome
    message_id: int | None = None
    channel_id: int | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class DueReminder:
    subscription_id: int
    user_id: int
    talk: Talk
    minutes_before: int
    due_at: datetime

    @property
    def key(self) -> str:
        return f"reminder:{self.subscription_id}:{self.due_at:%Y%m%dT%H%M%SZ}"


class Outbox(Protocol):
    """What the engine needs from Discord (bot/delivery.py implements it with discord.py)."""

    async def send_reminder(self, reminder: DueReminder, *, late: bool) -> SendResult: ...

    async def send_announcement(self, item: PlannedAnnouncement, *, late: bool) -> SendResult: ...

    async def send_notice(self, notice: QueuedNotice, *, late: bool) -> SendResult: ...

    async def update_board(
        self, channel_id: int, message_id: int | None, view: NowView, *, pin: bool
    ) -> BoardPost: ...


@dataclass(frozen=True, slots=True)
class BoardPost:
    """The board message after an update, and why it could not be pinned (if ``pin`` failed)."""

    message_id: int | None
    pin_error: str | None = None
    pin_forbidden: bool = False  # the error was a missing permission (Pin Messages)


@dataclass(frozen=True, slots=True)
class QueuedNotice:
    """A one-off message queued in ``deliveries`` (program changes, organizers' posts)."""

    key: str
    due_at: datetime
    user_id: int | None  # a DM to this user, or
    channel_id: int | None  # a post in this channel
    payload: dict[str, Any]


class Pacer:
    """Spaces requests at ``rate`` per real second, so bursts stay under Discord's global limit.

    The outbox waits on it before every request it makes, whoever asked for the send.
    """

    def __init__(self, rate: float, burst: int = 3) -> None:
        self.interval = 1.0 / rate
        # Catching up on a late wake-up is allowed for a few requests (at 46/s, burst 3 keeps
        # any one-second window at 49): restarting the schedule from every late wake-up
        # instead capped the rate near 44/s and made a 10,000-reminder burst finish late.
        self.burst = burst
        self._next = 0.0

    async def wait(self) -> None:
        now = time.monotonic()
        self._next = max(self._next, now - self.burst * self.interval)
        if self._next > now:
            await asyncio.sleep(self._next - now)
        self._next += self.interval


@dataclass
class EngineStats:
    sent: int = 0
    late: int = 0
    skipped: int = 0
    failed: int = 0
    retried: int = 0
    next_due: datetime | None = None
    last_error: str | None = None


class DeliveryEngine:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        program: ProgramService,
        targets: AnnouncementTargets,
        outbox: Outbox,
        schedule: ScheduleService | None = None,
        *,
        rate: float = 40.0,
        lease_seconds: float = 60.0,
        late_grace: timedelta = timedelta(minutes=1),
        worker_id: str | None = None,
        batch: int = 500,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._program = program
        self._targets = targets
        self._outbox = outbox
        self._schedule = schedule
        self._board_states: dict[int, tuple[object, ...]] = {}
        self._pinned_boards: set[int] = set()  # board channels pinned since this process started
        self.rate = rate
        self.lease = timedelta(seconds=lease_seconds)
        self.late_grace = late_grace
        self.worker_id = worker_id or uuid.uuid4().hex[:12]
        self.batch = batch
        self.stats = EngineStats()
        self._scheduler: AsyncIOScheduler | None = None
        self._running = False
        self._dirty = False
        self._busy = False
        self._announced: set[str] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._current: asyncio.Task[object] | None = None
        # Outcomes of sends that happened but could not be written (the database refused):
        # written first thing in the next pass, before anything is claimed, so never re-sent.
        self._unrecorded: dict[str, tuple[SendResult, bool, int | None]] = {}
        self._failing = False  # the last pass failed: say so once at ERROR, then in brief

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Arm the timer from the database; the first tick sends whatever is already due."""
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._scheduler.start()
        self._running = True
        self._clock.on_jump(self.poke)
        self.poke()

    async def stop(self) -> None:
        """Stop arming; let a pass in progress finish its current send, then end it."""
        self._running = False
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is None:
            return
        scheduler.remove_all_jobs()
        # A run APScheduler has already handed to the event loop starts, sees _running is
        # False and returns; shutting down first would cancel it, which APScheduler logs as
        # an error.
        for _ in range(3):
            await asyncio.sleep(0)
        task = self._current
        if task is not None and not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(task), 10)
            except TimeoutError:
                task.cancel()
            except asyncio.CancelledError:
                pass
        scheduler.shutdown(wait=False)

    def poke(self) -> None:
        """Something changed (a subscription, a reload, the clock): look again now."""
        if not self._running:
            return
        self._idle.clear()
        if self._busy:
            self._dirty = True
            return
        self._arm(0.0)

    async def wait_idle(self, timeout: float = 10.0) -> None:
        """Until every pass asked for so far has run (for tests and the benchmark)."""
        await asyncio.wait_for(self._idle.wait(), timeout)

    def _arm(self, delay: float) -> None:
        if self._scheduler is None:
            return
        if delay == float("inf"):
            # A test clock that only moves when set: wait for the next poke.
            self._scheduler.remove_all_jobs()
            return
        # Far-off work is re-checked hourly: cheap, and robust to wall-clock jumps.
        # Never "now": re-armed from inside the running job (something fell due during a long
        # pass), a job due at once is skipped by APScheduler as a second instance of the one
        # still finishing (max_instances=1), and nothing would wake the engine again.
        delay = min(max(delay, 0.01), 3600.0)
        run_at = datetime.now(UTC) + timedelta(seconds=delay)
        self._scheduler.add_job(
            self._tick,
            "date",
            run_date=run_at,
            id=JOB_ID,
            replace_existing=True,
            # APScheduler's default grace of 1 s silently drops a late job: never drop ours.
            misfire_grace_time=None,
            coalesce=True,
            max_instances=1,
        )

    async def _tick(self) -> None:
        if not self._running:
            return
        self._busy = True
        self._current = asyncio.current_task()
        next_wake: datetime | None = None
        try:
            while self._running:
                self._dirty = False
                next_wake = await self.process_due()
                if not self._dirty:
                    break
        except asyncio.CancelledError:
            # Shutting down: whatever was claimed and not sent is re-sent after the lease.
            self._busy = False
            return
        except Exception as exc:
            lines = str(exc).strip().splitlines()
            error = f"{type(exc).__name__}: {lines[0] if lines else ''}"
            if not self._failing:
                log.exception("delivery pass failed; trying again in 5 s")
            else:
                log.warning("delivery pass failed again (%s); trying again in 5 s", error)
            self._failing = True
            self.stats.last_error = error
            self._busy = False
            self._arm(5.0)
            self._idle.set()
            return
        if self._failing:
            log.warning("delivery pass succeeded again after failing")
            self._failing = False
        self._busy = False
        self.stats.next_due = next_wake
        delay = float("inf") if next_wake is None else self._clock.real_delay(next_wake)
        self._arm(delay)
        if delay > 0:
            self._idle.set()

    # -- one pass -----------------------------------------------------------------------------

    async def process_due(self) -> datetime | None:
        """Send (or skip) everything due now; return when to look next (None: nothing left)."""
        if not self._program.loaded:
            return None
        await self._record_held()
        retry_soon = False
        announcements = await self._pending_announcements()
        now = self._clock.now()
        due_announcements = [a for a in announcements if a.due_at <= now]
        for item in due_announcements:
            if not self._running:
                return None
            retry_soon |= await self._deliver_announcement(item)
        next_times = [a.due_at for a in announcements if a.due_at > now]

        next_board = await self._update_boards(now)
        if next_board is not None:
            next_times.append(next_board)

        retry, next_notice = await self._deliver_queued()
        retry_soon |= retry
        if next_notice is not None:
            next_times.append(next_notice)

        reminder_start, horizon = await self._reminder_window()
        now = self._clock.now()
        if reminder_start is not None and reminder_start <= now and horizon is not None:
            retry_soon |= await self._deliver_reminders(horizon)
            reminder_start, horizon = await self._reminder_window()
        now = self._clock.now()
        if reminder_start is not None:
            if reminder_start <= now:
                # Still due but claimed by another process (or one that died): look again
                # shortly, after which a dead claimant's lease may have run out.
                next_times.append(now + timedelta(seconds=1 * self._clock.speed))
            else:
                next_times.append(reminder_start)
        if retry_soon:
            next_times.append(now + timedelta(seconds=5 * self._clock.speed))
        return min(next_times) if next_times else None

    async def _pending_announcements(self) -> list[PlannedAnnouncement]:
        targets = await self._targets.load()
        if not targets:
            return []
        if self._announced is None:
            async with self._sessions() as s:
                keys = await s.scalars(
                    select(Delivery.key).where(
                        Delivery.kind == "announcement",
                        Delivery.state.in_(("sent", "skipped", "failed")),
                    )
                )
                self._announced = set(keys)
        return [a for a in plan(self._program.snapshot, targets) if a.key not in self._announced]

    async def _reminder_window(self) -> tuple[datetime | None, datetime | None]:
        """When the next reminder burst must start to finish by its due time, and up to which
        due time the current burst reaches (a backwards pass over bursts at ``rate``)."""
        async with self._sessions() as s:
            # A reminder to a user whose DM channel is not cached yet costs two requests.
            requests = func.count() + func.count(Subscription.id).filter(
                DMChannel.user_id.is_(None)
            )
            groups = (
                await s.execute(
                    select(Subscription.due_at, requests)
                    .outerjoin(DMChannel, DMChannel.user_id == Subscription.user_id)
                    .where(Subscription.state == "active")
                    .group_by(Subscription.due_at)
                    .order_by(Subscription.due_at)
                )
            ).all()
        if not groups:
            return None, None
        # Sending n takes n/rate seconds of real time: in clock time, times the speed.
        per_send = timedelta(seconds=self._clock.speed / self.rate)
        margin = timedelta(seconds=2 * self._clock.speed)
        starts: list[datetime] = []
        latest_end: datetime | None = None
        for due_at, count in reversed(groups):
            end = due_at if latest_end is None else min(due_at, latest_end)
            # 3 % slack on top: event-loop hiccups add up over a burst of thousands.
            start = end - per_send * count * 1.03 - (margin if count > 1 else timedelta())
            starts.append(start)
            latest_end = start
        starts.reverse()
        now = self._clock.now()
        horizon = None
        for (due_at, _count), start in zip(groups, starts, strict=True):
            if start <= now:
                horizon = due_at
        return starts[0], horizon

    # -- reminders ----------------------------------------------------------------------------

    async def _deliver_reminders(self, horizon: datetime) -> bool:
        retry_soon = False
        snapshot = self._program.snapshot
        last_id = 0
        while True:
            async with self._sessions() as s:
                rows = list(
                    (
                        await s.execute(
                            select(
                                Subscription.id,
                                Subscription.user_id,
                                Subscription.entry_id,
                                Subscription.minutes_before,
                                Subscription.due_at,
                            )
                            .where(
                                Subscription.state == "active",
                                Subscription.due_at <= horizon,
                                Subscription.id > last_id,
                            )
                            .order_by(Subscription.id)
                            .limit(self.batch)
                        )
                    ).all()
                )
            if not rows:
                return retry_soon
            rows.sort(key=lambda r: (r.due_at, r.id))
            for row in rows:
                if not self._running:
                    return retry_soon
                last_id = max(last_id, row.id)
                talk = snapshot.by_id.get(row.entry_id)
                if talk is None:
                    continue
                reminder = DueReminder(row.id, row.user_id, talk, row.minutes_before, row.due_at)
                retry_soon |= await self._deliver_reminder(reminder)

    async def _deliver_reminder(self, reminder: DueReminder) -> bool:
        now = self._clock.now()
        talk = reminder.talk
        if talk.cancelled or now >= talk.end:
            why = "cancelled" if talk.cancelled else "the talk ended before it could be sent"
            await self._skip(
                reminder.key, "reminder", reminder.due_at, reminder.subscription_id, why
            )
            return False
        if not await self._claim(reminder.key, "reminder", reminder.due_at):
            return False
        late = now - reminder.due_at > self.late_grace
        result = await self._outbox.send_reminder(reminder, late=late)
        return await self._record(reminder.key, result, late, reminder.subscription_id)

    # -- announcements ------------------------------------------------------------------------

    async def _deliver_announcement(self, item: PlannedAnnouncement) -> bool:
        now = self._clock.now()
        if now >= item.deadline:
            await self._skip(
                item.key, "announcement", item.due_at, None, "it ended before it could be posted"
            )
            assert self._announced is not None
            self._announced.add(item.key)
            return False
        if not await self._claim(item.key, "announcement", item.due_at):
            return False
        late = now - item.due_at > self.late_grace
        result = await self._outbox.send_announcement(item, late=late)
        retry = await self._record(item.key, result, late, None)
        if not retry:
            assert self._announced is not None
            self._announced.add(item.key)
        return retry

    # -- live boards --------------------------------------------------------------------------

    async def _update_boards(self, now: datetime) -> datetime | None:
        """Edit each server's pinned Now / Next message when what is on changes."""
        if self._schedule is None:
            return None
        async with self._sessions() as s:
            boards = (
                await s.execute(
                    select(
                        GuildConfig.guild_id,
                        GuildConfig.board_channel_id,
                        GuildConfig.board_message_id,
                    ).where(GuildConfig.board_channel_id.is_not(None))
                )
            ).all()
        if not boards:
            return None
        view = self._schedule.now(now)
        state = (
            view.phase,
            tuple(item.talk.id for item in view.running),
            tuple(item.talk.id for group in view.upcoming for item in group.items),
        )
        for guild_id, channel_id, message_id in boards:
            if channel_id is None:
                continue
            if self._board_states.get(guild_id) == (channel_id, *state):
                continue
            # Pinned again once per process (pinning is idempotent), and until it works: a
            # missing Pin Messages permission shows in /status until someone grants it.
            pin = channel_id not in self._pinned_boards
            try:
                post = await self._outbox.update_board(channel_id, message_id, view, pin=pin)
            except Exception as exc:
                log.warning("could not update the board in channel %s: %s", channel_id, exc)
                self.stats.last_error = f"board: {exc}"
                continue
            self._board_states[guild_id] = (channel_id, *state)
            moved = post.message_id is not None and post.message_id != message_id
            if not moved and not pin:
                continue
            async with self._sessions() as s, s.begin():
                if moved:
                    await s.execute(
                        update(GuildConfig)
                        .where(GuildConfig.guild_id == guild_id)
                        .values(board_message_id=post.message_id)
                    )
                if pin and post.pin_error is None:
                    self._pinned_boards.add(channel_id)
                    await s.execute(
                        delete(BotEvent).where(BotEvent.key == f"unpinned:{channel_id}")
                    )
                elif pin:
                    fix = (
                        "Give my role **Pin Messages** in that channel; I pin it at its next "
                        "update."
                        if post.pin_forbidden
                        else "I try again at its next update."
                    )
                    await self._note_once(
                        s,
                        f"unpinned:{channel_id}",
                        f"I could not pin the Now / Next board in <#{channel_id}> "
                        f"({post.pin_error}): it is posted and kept up to date, but not "
                        f"pinned. {fix}",
                    )
        # The board changes whenever an entry starts or ends.
        edges = [
            moment
            for talk in self._program.snapshot.talks
            for moment in (talk.start, talk.end)
            if moment > now
        ]
        return min(edges) if edges else None

    # -- queued notices -----------------------------------------------------------------------

    async def _deliver_queued(self) -> tuple[bool, datetime | None]:
        retry_soon = False
        now = self._clock.now()
        wall = datetime.now(UTC)
        takeable = (Delivery.state.in_(("pending", "retry"))) | (
            (Delivery.state == "claimed") & (Delivery.claimed_at < wall - self.lease)
        )
        async with self._sessions() as s:
            rows = (
                await s.execute(
                    select(
                        Delivery.key,
                        Delivery.due_at,
                        Delivery.user_id,
                        Delivery.channel_id,
                        Delivery.payload,
                    )
                    .where(Delivery.kind == "notice", Delivery.due_at <= now, takeable)
                    .order_by(Delivery.due_at, Delivery.id)
                    .limit(self.batch)
                )
            ).all()
        for row in rows:
            if not self._running:
                break
            notice = QueuedNotice(
                row.key, row.due_at, row.user_id, row.channel_id, row.payload or {}
            )
            async with self._sessions() as s, s.begin():
                taken = await s.execute(
                    update(Delivery)
                    .where(Delivery.key == notice.key, takeable)
                    .values(
                        state="claimed",
                        claimed_by=self.worker_id,
                        claimed_at=wall,
                        attempts=Delivery.attempts + 1,
                    )
                )
            if not taken.rowcount:  # type: ignore[attr-defined]
                continue
            late = self._clock.now() - notice.due_at > self.late_grace
            result = await self._outbox.send_notice(notice, late=late)
            retry_soon |= await self._record(notice.key, result, late, None)
        async with self._sessions() as s:
            next_due = await s.scalar(
                select(func.min(Delivery.due_at)).where(
                    Delivery.kind == "notice", Delivery.state == "pending", Delivery.due_at > now
                )
            )
        return retry_soon, next_due

    async def queue_notice(
        self,
        key: str,
        *,
        due_at: datetime,
        text: str,
        user_id: int | None = None,
        channel_id: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> bool:
        """Queue a one-off message under ``key``; False if that key was queued before."""
        queued = await self._insert_once(
            key=key,
            kind="notice",
            due_at=due_at,
            state="pending",
            attempts=0,
            user_id=user_id,
            channel_id=channel_id,
            payload={"text": text, **(extra or {})},
        )
        if queued:
            self.poke()
        return queued

    # -- the exactly-once bookkeeping ---------------------------------------------------------

    async def _insert_once(self, **values: Any) -> bool:
        """Insert a ``deliveries`` row; False if its key exists (the unique key is the lock)."""
        async with self._sessions() as s:
            try:
                async with s.begin():
                    await s.execute(insert(Delivery).values(late=False, **values))
            except IntegrityError:
                return False
        return True

    async def _claim(self, key: str, kind: str, due_at: datetime) -> bool:
        """Take ``key`` for this process: a new row, a retry, or a stale claim of a dead one."""
        wall = datetime.now(UTC)
        if await self._insert_once(
            key=key,
            kind=kind,
            due_at=due_at,
            state="claimed",
            claimed_by=self.worker_id,
            claimed_at=wall,
            attempts=1,
        ):
            return True
        async with self._sessions() as s, s.begin():
            result = await s.execute(
                update(Delivery)
                .where(
                    Delivery.key == key,
                    (Delivery.state == "retry")
                    | ((Delivery.state == "claimed") & (Delivery.claimed_at < wall - self.lease)),
                )
                .values(
                    state="claimed",
                    claimed_by=self.worker_id,
                    claimed_at=wall,
                    attempts=Delivery.attempts + 1,
                )
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def _record(
        self, key: str, result: SendResult, late: bool, subscription_id: int | None
    ) -> bool:
        """Write the outcome; True when the item should be tried again soon."""
        try:
            await self._write_outcome(key, result, late, subscription_id)
        except BaseException:
            # Sent (or refused) but not written: held until the database takes it.
            self._unrecorded[key] = (result, late, subscription_id)
            raise
        self._unrecorded.pop(key, None)
        if result.outcome is Outcome.FORBIDDEN and result.channel_id is not None:
            await self._tell_configurer(result.channel_id)
        if result.outcome is Outcome.SENT:
            self.stats.sent += 1
            self.stats.late += int(late)
        elif result.outcome is Outcome.RETRY:
            self.stats.retried += 1
            self.stats.last_error = result.error
            return True
        else:
            self.stats.failed += 1
            self.stats.last_error = result.error
        return False

    async def _record_held(self) -> None:
        """Write the outcomes a failed write held back (raises while the database refuses)."""
        if not self._unrecorded:
            return
        for key, (result, late, subscription_id) in list(self._unrecorded.items()):
            await self._record(key, result, late, subscription_id)
        self._announced = None  # re-read: a held announcement is final now

    async def _write_outcome(
        self, key: str, result: SendResult, late: bool, subscription_id: int | None
    ) -> None:
        wall = datetime.now(UTC)
        state = {
            Outcome.SENT: "sent",
            Outcome.UNDELIVERABLE: "failed",
            Outcome.FORBIDDEN: "failed",
            Outcome.FAILED: "failed",
            Outcome.RETRY: "retry",
        }[result.outcome]
        async with self._sessions() as s, s.begin():
            await s.execute(
                update(Delivery)
                .where(Delivery.key == key)
                .values(
                    state=state,
                    sent_at=wall if result.outcome is Outcome.SENT else None,
                    late=late,
                    error=result.error,
                    channel_id=result.channel_id,
                    message_id=result.message_id,
                )
            )
            if subscription_id is not None and result.outcome is not Outcome.RETRY:
                sub_state = "sent" if result.outcome is Outcome.SENT else "undeliverable"
                await s.execute(
                    update(Subscription)
                    .where(Subscription.id == subscription_id, Subscription.state == "active")
                    .values(state=sub_state)
                )
            if result.outcome is Outcome.FORBIDDEN and result.channel_id is not None:
                await self._note_once(
                    s,
                    f"forbidden:{result.channel_id}",
                    f"I may not post in <#{result.channel_id}> (missing permissions): "
                    "announcements there are not going out.",
                )

    async def _skip(
        self, key: str, kind: str, due_at: datetime, subscription_id: int | None, why: str
    ) -> None:
        log.warning("skipping %s: %s", key, why)
        # False when someone recorded it already: fine either way.
        await self._insert_once(
            key=key, kind=kind, due_at=due_at, state="skipped", error=why, attempts=0
        )
        async with self._sessions() as s:
            if subscription_id is not None:
                async with s.begin():
                    await s.execute(
                        update(Subscription)
                        .where(Subscription.id == subscription_id, Subscription.state == "active")
                        .values(state="missed")
                    )
        self.stats.skipped += 1

    async def _tell_configurer(self, channel_id: int) -> None:
        """DM the organizer who set up this channel, once (the key makes it once)."""
        async with self._sessions() as s:
            configs = (await s.scalars(select(GuildConfig))).all()
        for config in configs:
            channels = {config.default_channel_id, *(config.kind_channels or {}).values()}
            if channel_id in channels and config.configured_by is not None:
                await self.queue_notice(
                    f"notice:forbidden:{channel_id}",
                    due_at=self._clock.now(),
                    text=(
                        f"I can't post announcements in <#{channel_id}>: Discord says I am "
                        "missing permissions there. Please let me View Channel, Send Messages "
                        "and Embed Links in it (or pick another with /setup channel). "
                        "/status shows what is affected."
                    ),
                    user_id=config.configured_by,
                )
                return

    async def _note_once(self, s: AsyncSession, key: str, message: str) -> None:
        exists = await s.scalar(select(BotEvent.id).where(BotEvent.key == key))
        if exists is None:
            s.add(BotEvent(key=key, message=message, created_at=self._clock.now()))
            log.warning("%s", message)
