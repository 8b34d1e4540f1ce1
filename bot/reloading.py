"""Reloading a changed program while the bot runs: re-time reminders, tell subscribers once."""

from __future__ import annotations

import asyncio
import gc
import logging
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db.models import Subscription
from bot.program.files import load_program
from bot.program.loader import LoadReport
from bot.program.loader import load_program as load_into_db
from bot.services.program import ProgramService
from bot.services.reminders import ReminderService
from bot.services.search import SearchService
from bot.timing import DeliveryEngine
from bot.ui.format import discord_ts, venue_time

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
        """Load ``path`` (a ProgramError leaves everything as it was) and apply the changes."""
        program = load_program(path)
        async with self._lock:
            now = self._clock.now()
            report = await load_into_db(self._sessions, program, now)
            snapshot = await self._program.refresh()
            # The search index of a big program takes a second to build: not on the loop.
            await asyncio.to_thread(self._search.index)
            if gc.get_freeze_count():
                # The previous program's objects go; the new ones are frozen like at startup.
                gc.unfreeze()
                gc.collect()
                gc.freeze()
            await self._reminders.apply_kind_subscriptions()
            if snapshot is not None:
                await self.tell_subscribers(report)
            self._engine.poke()
        return report

    async def tell_subscribers(self, report: LoadReport) -> None:
        """DM each subscriber of a moved or cancelled entry once (the notice key makes it once)."""
        snapshot = self._program.snapshot
        zone = snapshot.workshop.zone
        changed = {m.entry_id: m for m in report.moved}
        async with self._sessions() as s:
            subs = (
                await s.execute(
                    select(Subscription.id, Subscription.user_id, Subscription.entry_id).where(
                        Subscription.entry_id.in_([*changed, *report.cancelled]),
                        Subscription.state.in_(("active", "sent")),
                    )
                )
            ).all()
        for sub_id, user_id, entry_id in subs:
            talk = snapshot.by_id[entry_id]
            if entry_id in changed:
                when = f"{discord_ts(talk.start, 'F')} ({venue_time(talk.start, zone, with_date=True)})"
                text = (
                    f"📅 “{talk.title}” has moved: it now starts {when}. "
                    "Your reminder moves with it."
                )
                key = f"notice:moved:{sub_id}:{talk.start:%Y%m%dT%H%M%SZ}"
            else:
                text = f"❌ “{talk.title}” was cancelled, so your reminder for it is gone."
                key = f"notice:cancelled:{sub_id}"
            await self._engine.queue_notice(
                key, due_at=self._clock.now(), text=text, user_id=user_id
            )
        if report.cancelled:
            async with self._sessions() as s, s.begin():
                await s.execute(
                    update(Subscription)
                    .where(
                        Subscription.entry_id.in_(report.cancelled),
                        Subscription.state == "active",
                    )
                    .values(state="cancelled")
                )
        if subs:
            log.info("told %d subscribers about moved or cancelled entries", len(subs))
