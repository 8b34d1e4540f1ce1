"""Reloading a changed program while the bot runs: re-time reminders, tell subscribers once;
and following a program source (a URL) that changes on the day."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db import migrate
from bot.db.models import BotEvent, GuildConfig, ProgramEntry, ProgramInfo
from bot.delivery.engine import DeliveryEngine
from bot.errors import ProgramError
from bot.program.files import ProgramWarning
from bot.program.loader import LoadReport
from bot.program.loader import load_program as load_into_db
from bot.program.model import Program
from bot.program.source import (
    Fetcher,
    SourceState,
    is_url,
    read_file,
    read_program,
    reason_key,
    shown,
)
from bot.services.program import ProgramService
from bot.services.reminders import ReminderService
from bot.services.search import SearchService
from bot.settings import Settings

log = logging.getLogger(__name__)

#: A followed source whose new version would cancel more than this share of the program's
#: entries is not applied (a truncated export, the wrong conference): organizers are told.
MOST = 0.5
#: ...unless the program is this small (cancelling 2 of 3 talks is a real day's change).
GUARDED_FROM = 4

AfterApply = Callable[[LoadReport], Awaitable[None]]


class WouldCancelMost(ProgramError):
    """A new version that would cancel most of the program: the last good one is kept."""


def would_cancel_most(current: set[str], program: Program) -> None:
    """Raise WouldCancelMost if ``program`` would cancel most of the ``current`` entries."""
    if len(current) < GUARDED_FROM:
        return
    gone = len(current - {e.id for e in program.entries})
    if gone > len(current) * MOST:
        raise WouldCancelMost(
            f"this version would cancel {gone} of the {len(current)} entries; the program "
            "stays as it was (if that is meant: /program reload force:True)"
        )


async def current_entry_ids(sessions: async_sessionmaker[AsyncSession]) -> set[str]:
    """The ids of the entries the database holds, cancelled ones left out."""
    async with sessions() as s:
        return set(
            await s.scalars(select(ProgramEntry.id).where(ProgramEntry.cancelled.is_(False)))
        )


class ProgramReloader:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        program: ProgramService,
        reminders: ReminderService,
        search: SearchService,
        engine: DeliveryEngine,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._program = program
        self._reminders = reminders
        self._search = search
        self._engine = engine
        self._lock = asyncio.Lock()
        #: Called after every applied change (the Discord edge: scheduled events follow).
        self.after_apply: list[AfterApply] = []

    async def reload(self, path: Path) -> LoadReport:
        """Load the program file ``path`` (a ProgramError leaves everything as it was)."""
        warnings: list[ProgramWarning] = []
        # Reading and checking a big file takes seconds of CPU: in a thread, off the loop.
        program = await asyncio.to_thread(
            lambda: read_program(read_file(path), str(path), "auto", warnings)
        )
        for warning in warnings:
            log.warning("program file: %s", warning)
        return await self.apply(program)

    async def apply(
        self, program: Program, *, guard: bool = False, follow_up: bool = True
    ) -> LoadReport:
        """Make ``program`` the program and apply the changes.

        Subscribers of moved or cancelled entries are queued their notices by the load itself,
        in its transaction, as are the posts of the servers' schedule-changes channels; the
        engine sends them. With ``guard``, a program that would cancel most of the entries is
        refused (``WouldCancelMost``) and nothing changes.
        """
        async with self._lock:
            if guard and self._program.loaded:
                would_cancel_most({t.id for t in self._program.snapshot.talks}, program)
            now = self._clock.now()
            # Nothing is sent between the commit and the refresh (it would be worded from the
            # program the database no longer holds).
            async with self._program.changing():
                # One load at a time on this database, with other processes' start-ups too.
                async with migrate.startup_lock(self._sessions.kw["bind"]):
                    report = await load_into_db(self._sessions, program, now)
                await self._program.refresh()
            # The search index of a big program takes a second to build: not on the loop.
            await asyncio.to_thread(self._search.index)
            if gc.get_freeze_count():
                # The previous program's objects go; the new ones are frozen like at startup.
                gc.unfreeze()
                gc.collect()
                gc.freeze()
            await self._reminders.apply_kind_subscriptions()
            self._engine.poke()
        if report.told:
            log.info("queued %d notices about moved or cancelled entries", report.told)
        if follow_up:
            await self.follow_up(report)
        return report

    async def follow_up(self, report: LoadReport) -> None:
        """What follows a change outside the database (Discord events)."""
        if not report.changed:
            return
        for hook in list(self.after_apply):
            try:
                await hook(report)
            except Exception:
                log.exception("after a program change: %s failed", hook)


class ProgramFollower:
    """The program setting, read at start and (a URL) followed every few minutes.

    A fetch that fails, a version that does not validate, or one that would cancel most of the
    program keeps the last good program; organizers are told once per problem: in /status,
    and by one DM to whoever configured each server with /setup.
    """

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        fetcher: Fetcher | None = None,
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._clock = clock
        location = settings.program_file
        self.fetcher = fetcher or (Fetcher(location) if is_url(location) else None)
        self.state = SourceState(location, is_url(location), settings.program_refresh_seconds)
        self.reloader: ProgramReloader | None = None
        self.engine: DeliveryEngine | None = None
        self._task: asyncio.Task[None] | None = None
        #: What the last read program's check warned of (entries off the dates, a kind typo).
        self.warnings: list[str] = []

    @property
    def follows(self) -> bool:
        return self.fetcher is not None

    async def read(self, *, in_thread: bool = True) -> Program | None:
        """The program as the source has it now; None if a URL says nothing changed since the
        last fetch, or a file is not there. A ProgramError says what is wrong."""
        location = self._settings.program_file
        fmt = self._settings.program_format
        warnings: list[ProgramWarning] = []
        if self.fetcher is None:

            def read_it() -> Program | None:
                path = Path(location)
                if not path.exists():
                    return None
                return read_program(read_file(path), location, fmt, warnings)

            program = await asyncio.to_thread(read_it) if in_thread else read_it()
            if program is None:
                return None
        else:
            fetched = await self.fetcher.fetch()
            self.state.checked_at = self._clock.now()
            if fetched.text is None:
                return None
            text, where = fetched.text, self.state_location
            try:
                if in_thread:
                    program = await asyncio.to_thread(read_program, text, where, fmt, warnings)
                else:
                    program = read_program(text, where, fmt, warnings)
            except ProgramError:
                self.fetcher.forget()  # fetched whole again next time, and checked again
                raise
        for warning in warnings:
            log.warning("program source: %s", warning)
        self.warnings = [str(w) for w in warnings]
        return program

    @property
    def state_location(self) -> str:
        return shown(self.state.location)

    async def check(self, *, force: bool = False) -> LoadReport | None:
        """Fetch or read the source and apply a change; None if nothing changed. A problem is
        recorded and told once, then raised (a ProgramError) for the caller."""
        assert self.reloader is not None
        try:
            program = await self.read()
            if program is None:
                if self.fetcher is None:
                    raise ProgramError("no such file", source=self.state.location)
                self._fine()
                return None
            report = await self.reloader.apply(
                program, guard=self.follows and not force, follow_up=False
            )
        except ProgramError as exc:
            if self.fetcher is not None:
                self.fetcher.forget()
            # A file reloaded by hand: the organizer who asked reads the error in the reply.
            await self.problem(str(exc), tell=self.follows)
            raise
        self._fine()
        if report.changed:
            self.state.changed_at = self._clock.now()
            log.info("program source changed: %s", report.summary())
        await self.reloader.follow_up(report)
        return report

    def _fine(self) -> None:
        if self.state.problem is not None:
            log.info("the program source is fine again (%s)", self.state_location)
        self.state.problem = None
        self.state.problem_since = None

    async def problem(self, reason: str, *, tell: bool = True) -> None:
        """Keep the last good program; tell organizers once about this problem."""
        now = self._clock.now()
        if self.state.problem != reason:
            self.state.problem_since = now
        self.state.problem = reason
        if not tell:
            return
        message = (
            f"The program source could not be applied, so the bot keeps the program it has: "
            f"{reason}"
        )
        async with self._sessions() as s, s.begin():
            # Once per problem and last good program: a problem that comes back after the
            # program changed is told again.
            key = reason_key(reason, await s.scalar(select(ProgramInfo.source_sha256)))
            known = await s.scalar(select(BotEvent.id).where(BotEvent.key == f"source:{key}"))
            if known is not None:
                return
            s.add(BotEvent(key=f"source:{key}", message=message[:1900], created_at=now))
            configurers = set(
                await s.scalars(
                    select(GuildConfig.configured_by).where(GuildConfig.configured_by.is_not(None))
                )
            )
        log.warning("%s", message)
        if self.engine is None:
            return
        text = (
            f"⚠️ {message}\nI'll keep checking every "
            f"{self.state.refresh_seconds / 60:g} min; `/status` shows the state. "
            "Fix the source, or `/program reload` once it is fixed."
        )
        for user_id in sorted(u for u in configurers if u is not None):
            await self.engine.queue_notice(
                f"notice:source:{key}:{user_id}", due_at=now, text=text[:1990], user_id=user_id
            )

    # -- following --------------------------------------------------------------------------

    def start(self) -> None:
        if self.follows and self._task is None:
            self._task = asyncio.create_task(self._follow(), name="follow-program-source")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def _follow(self) -> None:
        # Real seconds, not the rehearsal clock's: the source changes in the real world.
        while True:
            await asyncio.sleep(self.state.refresh_seconds)
            try:
                await self.check()
            except ProgramError:
                pass  # recorded and told once
            except Exception:
                log.exception("checking the program source failed; trying again later")
