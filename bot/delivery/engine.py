"""Turns due rows into sends: one APScheduler job, re-armed from the database, never lost.

The database is the source of truth: subscriptions carry their due time, announcements are
planned from the program and the servers' configuration, and every send is recorded in
``deliveries`` under a unique key, claimed before sending and marked after. At start the
engine simply looks at the database: whatever came due while the bot was down is sent late
(if its talk is still on) or skipped, and nothing is sent twice. There is one scheduler job,
not one per reminder, so restoring 100,000 reminders costs one query.

A claim is a lease on the database's clock, renewed while its send is in flight and looked at
again when it ends; a send's outcome is written only by the claim that made it; every send
carries a nonce made from its key. docs/reliability.md says what each of these protects.
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import delete, func, insert, select, text, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db.models import BotEvent, Delivery, DMChannel, EngineRun, GuildConfig, Subscription
from bot.delivery.pacer import ENGINE_TRAFFIC
from bot.services.announcements import AnnouncementTargets, PlannedAnnouncement, plan
from bot.services.program import ProgramService, Talk
from bot.services.schedule import NowView, ScheduleService

log = logging.getLogger(__name__)

T = TypeVar("T")

JOB_ID = "deliveries"


class Outcome(enum.Enum):
    SENT = "sent"
    UNDELIVERABLE = "undeliverable"  # the user closed their DMs (50007): never retried
    FORBIDDEN = "forbidden"  # no permission to post in the channel (50013, 50001)
    GONE = "gone"  # the channel no longer exists (10003): organizers are told
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
    revision: int = 0
    via_kind: str | None = None  # from an "every <kind>" subscription

    @property
    def key(self) -> str:
        # Revision 0 keeps the key older versions used, so an upgrade re-sends nothing.
        base = f"reminder:{self.subscription_id}:{self.due_at:%Y%m%dT%H%M%SZ}"
        return base if not self.revision else f"{base}:r{self.revision}"


class Outbox(Protocol):
    """What the engine needs from Discord (bot/delivery/outbox.py implements it with discord.py)."""

    async def send_reminders(
        self, reminders: Sequence[DueReminder], *, offline: bool
    ) -> SendResult:
        """One DM for one member's reminders due in the same minute."""
        ...

    async def send_announcement(
        self, item: PlannedAnnouncement, *, offline: bool
    ) -> SendResult: ...

    async def send_notice(self, notice: QueuedNotice, *, offline: bool) -> SendResult: ...

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


@dataclass
class EngineStats:
    sent: int = 0
    late: int = 0
    skipped: int = 0
    failed: int = 0
    retried: int = 0
    dms_closed: int = 0  # a member's privacy setting (50007): not a failure of the bot
    passes: int = 0
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
        concurrency: int = 4,
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
        # Sends in flight at once (all under the pacer): one hung request holds up only itself.
        self.concurrency = concurrency
        self._claim_numbers = itertools.count(1)
        # key -> claim token of every send this process holds right now; renewed while held.
        self._held: dict[str, str] = {}
        # The database's clock minus this machine's: claim ages are compared on the database's
        # clock, so a process on a machine whose clock is off neither steals nor strands claims.
        self._skew = timedelta()
        self._dialect: str | None = None
        # Real seconds until the lease of the first live claim ends (another process's send
        # in flight, or a dead one's): the engine looks again then, whatever kind it is.
        self._lease_wake: float | None = None
        self._helpers: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self._program_checked = 0.0  # when the database's program was last compared to ours
        # When this engine started, and the last sign of life of the runs before it (clock).
        self._started_at: datetime | None = None
        self._down_from: datetime | None = None
        self._known_downtime = False
        # This machine's clocks (replaceable in tests: a machine whose clock is off, a jump).
        self._wall: Callable[[], float] = time.time
        self.wall_check_every = 5.0  # seconds
        self._utcnow: Callable[[], datetime] = lambda: datetime.now(UTC)
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
        self._unrecorded: dict[
            str, tuple[list[tuple[str, str, DueReminder | None]], SendResult, bool]
        ] = {}
        self._failing = False  # the last pass failed: say so once at ERROR, then in brief

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Arm the timer from the database; the first tick sends whatever is already due."""
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._scheduler.start()
        self._running = True
        self._stopping = asyncio.Event()
        await self._record_start()
        self._clock.on_jump(self.poke)
        self._helpers = [
            asyncio.create_task(self._renew_claims(), name="renew-claims"),
            asyncio.create_task(self._watch_wall_clock(), name="watch-wall-clock"),
        ]
        self.poke()

    async def stop(self) -> None:
        """Stop arming; let a pass in progress finish its current send, then end it."""
        self._running = False
        # The helpers finish what they are doing (cancelling one inside a database call would
        # leave SQLAlchemy a connection to reset mid-rollback), then see _stopping and end.
        self._stopping.set()
        helpers, self._helpers = self._helpers, []
        if helpers:
            _done, pending = await asyncio.wait(helpers, timeout=10)
            for helper in pending:
                helper.cancel()
        await self._heartbeat()  # the last sign of life of a process stopped on purpose
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
        if self._lease_wake is not None:
            # Real time: a lease runs on the database's clock, not the rehearsal's.
            delay = min(delay, self._lease_wake)
        self._arm(delay)
        if delay > 0:
            self._idle.set()

    # -- one pass -----------------------------------------------------------------------------

    async def process_due(self) -> datetime | None:
        """Send (or skip) everything due now; return when to look next (None: nothing left)."""
        # A reload by another process on the same database: follow it before planning.
        await self._program.refresh_if_changed()
        self._program_checked = time.monotonic()
        if not self._program.loaded:
            return None
        traffic = ENGINE_TRAFFIC.set(True)
        try:
            return await self._process_due()
        finally:
            ENGINE_TRAFFIC.reset(traffic)

    async def _process_due(self) -> datetime | None:
        self.stats.passes += 1
        await self._sync_db_clock()
        await self._record_held()
        retry_soon = False
        announcements = await self._pending_announcements()
        now = self._clock.now()
        due_announcements = [a for a in announcements if a.due_at <= now]
        retry_soon |= await self._each(due_announcements, self._deliver_announcement)
        if not self._running:
            return None
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
        self._lease_wake = await self._next_lease_end()
        if reminder_start is not None:
            if reminder_start <= now:
                # Still due: claimed by another process (looked at again when its lease ends,
                # above) or not sendable yet; look again after a lease at the latest.
                next_times.append(now + self.lease * self._clock.speed)
            else:
                next_times.append(reminder_start)
        if retry_soon:
            next_times.append(now + timedelta(seconds=5 * self._clock.speed))
        return min(next_times) if next_times else None

    async def _current_program(self) -> None:
        """Before a send: wait out a reload in progress here, and follow one made by another
        process (checked at most once a second)."""
        await self._program.settled()
        if time.monotonic() - self._program_checked > 1.0:
            self._program_checked = time.monotonic()
            await self._program.refresh_if_changed()

    async def _each(self, items: Iterable[T], deliver: Callable[[T], Awaitable[bool]]) -> bool:
        """Deliver ``items``, ``concurrency`` at a time; True if any should be retried soon.

        A slow or hung send holds up only its own slot. After a failure (the database, say)
        no further item starts; the sends in flight finish and are recorded, then the first
        failure is raised and the pass is tried again.
        """
        gate = asyncio.Semaphore(self.concurrency)
        retry = False
        errors: list[BaseException] = []

        async def one(item: T) -> None:
            nonlocal retry
            async with gate:
                if not self._running or errors:
                    return
                try:
                    retry |= await deliver(item)
                except Exception as exc:
                    errors.append(exc)

        await asyncio.gather(*(one(item) for item in items))
        if errors:
            raise errors[0]
        return retry

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
        """Everything due up to ``horizon``, one DM per member and minute."""
        retry_soon = False
        snapshot = self._program.snapshot
        sub = Subscription
        after: tuple[datetime, int, int] | None = None
        while True:
            query = (
                select(
                    sub.id,
                    sub.user_id,
                    sub.entry_id,
                    sub.minutes_before,
                    sub.due_at,
                    sub.revision,
                    sub.via_kind,
                )
                .where(sub.state == "active", sub.due_at <= horizon)
                # Keyset pages in due order, a member's reminders of one moment side by side.
                .order_by(sub.due_at, sub.user_id, sub.id)
                .limit(self.batch)
            )
            if after is not None:
                query = query.where(tuple_(sub.due_at, sub.user_id, sub.id) > tuple_(*after))
            async with self._sessions() as s:
                rows = list((await s.execute(query)).all())
            if not rows:
                return retry_soon
            if len(rows) == self.batch:
                # The page may have cut the last member's reminders of that moment in two: they
                # start the next page instead (a member has at most a hundred reminders).
                last = (rows[-1].due_at, rows[-1].user_id)
                whole = [r for r in rows if (r.due_at, r.user_id) != last]
                rows = whole or rows
            after = (rows[-1].due_at, rows[-1].user_id, rows[-1].id)
            groups: dict[tuple[int, datetime], list[DueReminder]] = {}
            for row in rows:
                talk = snapshot.by_id.get(row.entry_id)
                if talk is None:
                    continue
                minute = row.due_at.replace(second=0, microsecond=0)
                groups.setdefault((row.user_id, minute), []).append(
                    DueReminder(
                        row.id,
                        row.user_id,
                        talk,
                        row.minutes_before,
                        row.due_at,
                        row.revision,
                        row.via_kind,
                    )
                )
            retry_soon |= await self._each(groups.values(), self._deliver_reminder_group)
            if not self._running:
                return retry_soon

    async def _deliver_reminder_group(self, group: list[DueReminder]) -> bool:
        """One member's reminders due in the same minute, as one DM. Each keeps its own claim
        and record (so exactly once holds per reminder); the DM's nonce is made of all their
        keys, so a takeover after a kill re-sends the same DM and Discord keeps one."""
        await self._current_program()
        snapshot = self._program.snapshot
        now = self._clock.now()
        claimed: list[tuple[DueReminder, str]] = []
        # One claim time for the whole DM: its claims' leases end together, so a process that
        # takes them over after a kill takes them all, and re-sends the same DM (same nonce).
        claimed_at = self._db_now()
        for reminder in group:
            # Worded from the program as it is now (a reload may have moved the talk).
            talk = snapshot.by_id.get(reminder.talk.id, reminder.talk)
            reminder = replace(reminder, talk=talk)
            if talk.cancelled or now >= talk.end:
                why = "cancelled" if talk.cancelled else "the talk ended before it could be sent"
                await self._skip(reminder.key, "reminder", reminder.due_at, reminder, why)
                continue
            token = await self._claim(reminder.key, "reminder", reminder.due_at, at=claimed_at)
            if token is None:
                await self._settle_subscription(reminder)
                continue
            claimed.append((reminder, token))
        if not claimed:
            return False
        reminders = [reminder for reminder, _ in claimed]
        due = min(r.due_at for r in reminders)
        late = now - due > self.late_grace
        result = await self._send(
            [(r.key, token) for r, token in claimed],
            self._outbox.send_reminders(reminders, offline=late and self._was_offline(due)),
        )
        return await self._record([(r.key, token, r) for r, token in claimed], result, late)

    async def _settle_subscription(self, reminder: DueReminder) -> None:
        """A due reminder whose key is taken: if that send is over, the subscription is too.

        (Without this, an active subscription whose delivery was already final kept the
        engine looking every second and showed as pending forever.)
        """
        async with self._sessions() as s, s.begin():
            row = (
                await s.execute(
                    select(Delivery.state, Delivery.error).where(Delivery.key == reminder.key)
                )
            ).first()
            if row is None or row.state not in ("sent", "failed", "skipped", "cancelled"):
                return  # in flight elsewhere, or to be retried: its lease brings us back
            await s.execute(
                update(Subscription)
                .where(*_still_due(reminder))
                .values(state=_subscription_state(row.state, row.error))
            )

    # -- announcements ------------------------------------------------------------------------

    async def _deliver_announcement(self, item: PlannedAnnouncement) -> bool:
        await self._current_program()
        current = self._program.snapshot.by_id.get(item.talk.id)
        if current is None or current.cancelled or current.start != item.talk.start:
            return False  # moved or cancelled by a reload since this pass planned it
        now = self._clock.now()
        assert self._announced is not None
        if now >= item.deadline:
            await self._skip(
                item.key, "announcement", item.due_at, None, "it ended before it could be posted"
            )
            self._announced.add(item.key)
            return False
        token = await self._claim(item.key, "announcement", item.due_at)
        if token is None:
            # Another process has it: in flight (its lease brings us back) or already done.
            if await self._state_of(item.key) in ("sent", "skipped", "failed"):
                self._announced.add(item.key)
            return False
        late = now - item.due_at > self.late_grace
        offline = late and self._was_offline(item.due_at)
        result = await self._send(
            [(item.key, token)], self._outbox.send_announcement(item, offline=offline)
        )
        retry = await self._record([(item.key, token, None)], result, late)
        if not retry:
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
        now = self._clock.now()
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
                    .where(Delivery.kind == "notice", Delivery.due_at <= now, self._takeable())
                    .order_by(Delivery.due_at, Delivery.id)
                    .limit(self.batch)
                )
            ).all()
        notices = [
            QueuedNotice(row.key, row.due_at, row.user_id, row.channel_id, row.payload or {})
            for row in rows
        ]
        retry_soon = await self._each(notices, self._deliver_notice)
        async with self._sessions() as s:
            next_due = await s.scalar(
                select(func.min(Delivery.due_at)).where(
                    Delivery.kind == "notice", Delivery.state == "pending", Delivery.due_at > now
                )
            )
        if len(rows) == self.batch:
            # More than a batch was due: the next pass takes the rest at once.
            next_due = now
        return retry_soon, next_due

    async def _deliver_notice(self, notice: QueuedNotice) -> bool:
        await self._current_program()
        token = self._new_token()
        async with self._sessions() as s, s.begin():
            taken = await s.execute(
                update(Delivery)
                .where(Delivery.key == notice.key, self._takeable())
                .values(
                    state="claimed",
                    claimed_by=token,
                    claimed_at=self._db_now(),
                    attempts=Delivery.attempts + 1,
                )
            )
        if not taken.rowcount:  # type: ignore[attr-defined]
            return False
        late = self._clock.now() - notice.due_at > self.late_grace
        offline = late and self._was_offline(notice.due_at)
        result = await self._send(
            [(notice.key, token)], self._outbox.send_notice(notice, offline=offline)
        )
        return await self._record([(notice.key, token, None)], result, late)

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
    #
    # A send is claimed under its key with a token naming this process and this claim, renewed
    # while the send is in flight, and its outcome is written only where that token still
    # holds the claim. Claim ages are read on the database's clock.

    # -- "I was offline": only for what fell due while no engine ran ----------------------------

    async def _record_start(self) -> None:
        """Note this engine's start, and the last sign of life of every earlier one."""
        now = self._clock.now()
        self._started_at = now
        try:
            async with self._sessions() as s, s.begin():
                self._down_from = await s.scalar(select(func.max(EngineRun.alive_at)))
                await s.execute(
                    delete(EngineRun).where(EngineRun.alive_at < now - timedelta(days=30))
                )
                s.add(EngineRun(worker_id=self.worker_id, started_at=now, alive_at=now))
            self._known_downtime = True
        except Exception as exc:
            log.warning("could not record this engine's start: %s", exc)

    async def _heartbeat(self) -> None:
        if not self._known_downtime:
            return
        try:
            async with self._sessions() as s, s.begin():
                await s.execute(
                    update(EngineRun)
                    .where(EngineRun.worker_id == self.worker_id)
                    .values(alive_at=self._clock.now())
                )
        except Exception as exc:
            log.debug("could not record that this engine is alive: %s", exc)

    def _was_offline(self, due_at: datetime) -> bool:
        """Whether ``due_at`` fell while no engine of this bot ran: after the last sign of life
        of the runs before this one, and before this one started. Anything else sent late
        (a reminder asked for inside its lead time, a channel set during a talk, a burst) was
        not missed for being down, and says nothing of the kind."""
        if self._started_at is None or due_at >= self._started_at:
            return False
        if not self._known_downtime:
            return True  # no record of earlier runs: as before, late means the bot was down
        return self._down_from is None or due_at > self._down_from

    def _new_token(self) -> str:
        return f"{self.worker_id}:{next(self._claim_numbers)}"

    def _db_now(self) -> datetime:
        return self._utcnow() + self._skew

    def _takeable(self) -> Any:
        """Rows this process may claim: never tried, to be retried, or a claim whose lease ran
        out (its process died, or hung for longer than the lease without renewing it)."""
        return Delivery.state.in_(("pending", "retry")) | (
            (Delivery.state == "claimed") & (Delivery.claimed_at < self._db_now() - self.lease)
        )

    async def _sync_db_clock(self) -> None:
        """Measure how far the database's clock is from this machine's (PostgreSQL; an
        embedded SQLite file has no other clock than this machine's)."""
        if self._dialect is None:
            async with self._sessions() as s:
                self._dialect = s.get_bind().dialect.name
        if self._dialect != "postgresql":
            return
        async with self._sessions() as s:
            before = self._utcnow()
            db_now = await s.scalar(text("SELECT clock_timestamp()"))
            after = self._utcnow()
        if db_now is not None:
            self._skew = db_now.astimezone(UTC) - (before + (after - before) / 2)

    async def _insert_once(self, **values: Any) -> bool:
        """Insert a ``deliveries`` row; False if its key exists (the unique key is the lock)."""
        async with self._sessions() as s:
            try:
                async with s.begin():
                    await s.execute(insert(Delivery).values(late=False, **values))
            except IntegrityError:
                return False
        return True

    async def _claim(
        self, key: str, kind: str, due_at: datetime, *, at: datetime | None = None
    ) -> str | None:
        """Take ``key`` for this process (a new row, a retry, or a claim whose lease ran out),
        as claimed ``at`` (now on the database's clock by default); the claim's token, or
        None if someone else has it or it is done."""
        token = self._new_token()
        claimed_at = at or self._db_now()
        if await self._insert_once(
            key=key,
            kind=kind,
            due_at=due_at,
            state="claimed",
            claimed_by=token,
            claimed_at=claimed_at,
            attempts=1,
        ):
            return token
        async with self._sessions() as s, s.begin():
            result = await s.execute(
                update(Delivery)
                .where(Delivery.key == key, self._takeable(), Delivery.state != "pending")
                .values(
                    state="claimed",
                    claimed_by=token,
                    claimed_at=claimed_at,
                    attempts=Delivery.attempts + 1,
                )
            )
        return token if result.rowcount else None  # type: ignore[attr-defined]

    async def _state_of(self, key: str) -> str | None:
        async with self._sessions() as s:
            return await s.scalar(select(Delivery.state).where(Delivery.key == key))

    async def _send(self, claims: list[tuple[str, str]], send: Awaitable[SendResult]) -> SendResult:
        """Run one send while holding its claims, (key, token) pairs, renewed every quarter
        lease meanwhile."""
        self._held.update(claims)
        try:
            return await send
        finally:
            for key, _token in claims:
                self._held.pop(key, None)

    async def _renew_claims(self) -> None:
        """Keep this process's claims young while their sends are in flight, so a slow send
        (Discord sleeping out a 429, a slow answer) is never taken over and sent twice."""
        while not await self._stopped_within(self.lease.total_seconds() / 4):
            await self._heartbeat()
            held = list(self._held.values())
            if not held:
                continue
            try:
                async with self._sessions() as s, s.begin():
                    await s.execute(
                        update(Delivery)
                        .where(Delivery.claimed_by.in_(held), Delivery.state == "claimed")
                        .values(claimed_at=self._db_now())
                    )
            except Exception as exc:
                log.warning("could not renew %d claim(s): %s", len(held), exc)

    async def _stopped_within(self, seconds: float) -> bool:
        """Wait ``seconds``; True at once if the engine is stopping."""
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def _next_lease_end(self) -> float | None:
        """Real seconds until the first live claim's lease ends, if any claim is live.

        Whatever kind it is (a session post, a notice, a reminder), a claim left by a process
        that dies is looked at again when its lease ends, by whichever process is running;
        a claim already past its lease was offered to this pass and is not waited for again.
        """
        now = self._db_now()
        async with self._sessions() as s:
            oldest = await s.scalar(
                select(func.min(Delivery.claimed_at)).where(
                    Delivery.state == "claimed", Delivery.claimed_at >= now - self.lease
                )
            )
        if oldest is None:
            return None
        return max(0.0, (oldest + self.lease - now).total_seconds()) + 0.05

    async def _watch_wall_clock(self, tolerance: float = 2.0) -> None:
        """Look again at once after the wall clock jumps (suspend and resume, an NTP step):
        a timer armed before the jump would otherwise sleep out its old delay."""
        offset = self._wall() - time.monotonic()
        while not await self._stopped_within(self.wall_check_every):
            now_offset = self._wall() - time.monotonic()
            if abs(now_offset - offset) > tolerance:
                log.warning(
                    "the wall clock jumped by %.0f s: looking at what is due again",
                    now_offset - offset,
                )
                self.poke()
            offset = now_offset

    async def _record(
        self,
        claims: Sequence[tuple[str, str, DueReminder | None]],
        result: SendResult,
        late: bool,
    ) -> bool:
        """Write the outcome of one send for each of its claims, (key, token, reminder), in
        one transaction; True when it should be tried again soon.

        One transaction: a DM about several reminders is recorded for all of them or none, so
        a process killed in between never leaves a part of it to be sent again on its own.
        """
        try:
            await self._write_outcome(claims, result, late)
        except BaseException:
            # Sent (or refused) but not written: held until the database takes it.
            self._unrecorded[claims[0][0]] = (list(claims), result, late)
            raise
        self._unrecorded.pop(claims[0][0], None)
        if result.outcome in (Outcome.FORBIDDEN, Outcome.GONE) and result.channel_id is not None:
            await self._tell_configurer(result.channel_id, gone=result.outcome is Outcome.GONE)
        count = len(claims)
        if result.outcome is Outcome.SENT:
            self.stats.sent += count
            self.stats.late += count if late else 0
        elif result.outcome is Outcome.RETRY:
            self.stats.retried += count
            self.stats.last_error = result.error
            return True
        elif result.outcome is Outcome.UNDELIVERABLE:
            # A member's privacy setting, not an error: counted apart, never "last error".
            self.stats.dms_closed += count
        else:
            self.stats.failed += count
            self.stats.last_error = result.error
        return False

    async def _record_held(self) -> None:
        """Write the outcomes a failed write held back (raises while the database refuses)."""
        if not self._unrecorded:
            return
        for claims, result, late in list(self._unrecorded.values()):
            await self._record(claims, result, late)
        self._announced = None  # re-read: a held announcement is final now

    async def _write_outcome(
        self,
        claims: Sequence[tuple[str, str, DueReminder | None]],
        result: SendResult,
        late: bool,
    ) -> None:
        state = {
            Outcome.SENT: "sent",
            Outcome.UNDELIVERABLE: "failed",
            Outcome.FORBIDDEN: "failed",
            Outcome.GONE: "failed",
            Outcome.FAILED: "failed",
            Outcome.RETRY: "retry",
        }[result.outcome]
        async with self._sessions() as s, s.begin():
            for key, token, reminder in claims:
                written = await s.execute(
                    update(Delivery)
                    .where(
                        Delivery.key == key,
                        Delivery.claimed_by == token,
                        Delivery.state == "claimed",
                    )
                    .values(
                        state=state,
                        sent_at=self._db_now() if result.outcome is Outcome.SENT else None,
                        late=late,
                        error=result.error,
                        channel_id=result.channel_id,
                        message_id=result.message_id,
                    )
                )
                if not written.rowcount:  # type: ignore[attr-defined]
                    # Our claim was taken over (we were cut off from the database for longer
                    # than the lease): the process holding it now writes the outcome, not us.
                    log.warning(
                        "the claim on %s passed to another process before its outcome (%s) "
                        "could be written; leaving that process's record",
                        key,
                        result.outcome.value,
                    )
                    continue
                if reminder is not None and result.outcome is not Outcome.RETRY:
                    # Only the reminder this was (a reload may have re-timed it meanwhile:
                    # then the re-timed one is still to be sent).
                    sub_state = _subscription_state(state, result.error, result.outcome)
                    await s.execute(
                        update(Subscription).where(*_still_due(reminder)).values(state=sub_state)
                    )
            if result.outcome is Outcome.FORBIDDEN and result.channel_id is not None:
                await self._note_once(
                    s,
                    f"forbidden:{result.channel_id}",
                    f"I may not post in <#{result.channel_id}> (missing permissions): "
                    "announcements there are not going out.",
                )
            if result.outcome is Outcome.GONE and result.channel_id is not None:
                await self._note_once(
                    s,
                    f"gone:{result.channel_id}",
                    f"The channel <#{result.channel_id}> no longer exists (deleted?): "
                    "announcements meant for it are not going out. Pick another with "
                    "/setup channel.",
                )

    async def _skip(
        self, key: str, kind: str, due_at: datetime, reminder: DueReminder | None, why: str
    ) -> None:
        # Skipped only if no one recorded it first (a process that posted it, or a send still
        # claimed by a process that died, which is never taken over now that it is too late).
        skipped = await self._insert_once(
            key=key, kind=kind, due_at=due_at, state="skipped", error=why, attempts=0
        )
        if not skipped:
            async with self._sessions() as s, s.begin():
                result = await s.execute(
                    update(Delivery)
                    .where(Delivery.key == key, self._takeable())
                    .values(state="skipped", error=why)
                )
            skipped = bool(result.rowcount)  # type: ignore[attr-defined]
        async with self._sessions() as s:
            if reminder is not None:
                state = "missed"
                if not skipped:
                    row = (
                        await s.execute(
                            select(Delivery.state, Delivery.error).where(Delivery.key == key)
                        )
                    ).first()
                    if row is not None:
                        state = _subscription_state(row.state, row.error)
                async with s.begin():
                    await s.execute(
                        update(Subscription).where(*_still_due(reminder)).values(state=state)
                    )
        if skipped:
            log.warning("skipping %s: %s", key, why)
            self.stats.skipped += 1

    async def _tell_configurer(self, channel_id: int, *, gone: bool = False) -> None:
        """DM the organizer who set up this channel, once (the key makes it once)."""
        async with self._sessions() as s:
            configs = (await s.scalars(select(GuildConfig))).all()
        for config in configs:
            channels = {config.default_channel_id, *(config.kind_channels or {}).values()}
            if channel_id in channels and config.configured_by is not None:
                if gone:
                    key = f"notice:gone:{channel_id}"
                    text_ = (
                        f"I can't post announcements in <#{channel_id}>: Discord says that "
                        "channel no longer exists. Please pick another with /setup channel; "
                        "/status shows what is affected."
                    )
                else:
                    key = f"notice:forbidden:{channel_id}"
                    text_ = (
                        f"I can't post announcements in <#{channel_id}>: Discord says I am "
                        "missing permissions there. Please let me View Channel, Send Messages "
                        "and Embed Links in it (or pick another with /setup channel). "
                        "/status shows what is affected."
                    )
                await self.queue_notice(
                    key, due_at=self._clock.now(), text=text_, user_id=config.configured_by
                )
                return

    async def _note_once(self, s: AsyncSession, key: str, message: str) -> None:
        exists = await s.scalar(select(BotEvent.id).where(BotEvent.key == key))
        if exists is None:
            s.add(BotEvent(key=key, message=message, created_at=self._clock.now()))
            log.warning("%s", message)


def _subscription_state(
    delivery_state: str, error: str | None, outcome: Outcome | None = None
) -> str:
    """A finished delivery's state as its subscription's (what /remind list shows)."""
    if delivery_state == "sent":
        return "sent"
    if delivery_state == "skipped":
        return "missed"
    if delivery_state == "cancelled":
        return "cancelled"
    if outcome is Outcome.UNDELIVERABLE or (outcome is None and error and "(50007)" in error):
        return "undeliverable"
    return "failed"


def _still_due(reminder: DueReminder) -> tuple[Any, ...]:
    """The subscription row as it was when ``reminder`` was taken from it: still active, with
    the same due time and revision (a reload or a re-subscription changes them)."""
    return (
        Subscription.id == reminder.subscription_id,
        Subscription.state == "active",
        Subscription.due_at == reminder.due_at,
        Subscription.revision == reminder.revision,
    )
