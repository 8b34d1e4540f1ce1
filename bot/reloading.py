"""Reloading a changed program while the bot runs: re-time reminders, tell subscribers once."""

from __future__ import annotations

import asyncio
import gc
import logging
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db import migrate
from bot.delivery.engine import DeliveryEngine
from bot.program.files import ProgramWarning, load_program
from bot.program.loader import LoadReport
from bot.program.loader import load_program as load_into_db
from bot.services.program import ProgramService
from bot.services.reminders import ReminderService
from bot.services.search import SearchService

log = logging.getLogger(__name__)


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

    async def reload(self, path: Path) -> LoadReport:
        """Load ``path`` (a ProgramError leaves everything as it was) and apply the changes.

        Subscribers of moved or cancelled entries are queued their notices by the load itself,
        in its transaction; the engine sends them.
        """
        # Parsing and checking a big file takes seconds of CPU: in a thread, off the loop.
        warnings: list[ProgramWarning] = []
        program = await asyncio.to_thread(load_program, path, warnings)
        for warning in warnings:
            log.warning("program file: %s", warning)
        async with self._lock:
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
        return report
