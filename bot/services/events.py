"""Discord scheduled events for chosen program entries, kept in step with the program.

A sync is idempotent: GuildEvent rows map (server, entry) to the event made for it and a hash
of what was sent, so running it again changes only what changed in the program (and puts
back an event someone deleted in Discord). The Discord side is behind ``EventsApi``, which
the cog implements with discord.py; this module never imports discord.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db.models import GuildEvent
from bot.errors import UserFacingError
from bot.services.program import ProgramService, Talk, Workshop

log = logging.getLogger(__name__)

#: Discord's caps: scheduled events per server, and the fields' lengths.
MAX_EVENTS = 100
NAME_MAX = 100
DESCRIPTION_MAX = 1000
LOCATION_MAX = 100


@dataclass(frozen=True, slots=True)
class EventSpec:
    """An EXTERNAL scheduled event (entity_type 3, guild-only privacy) as Discord gets it."""

    name: str
    description: str
    location: str
    start: datetime
    end: datetime

    def digest(self) -> str:
        fields = [
            self.name,
            self.description,
            self.location,
            self.start.astimezone(UTC).isoformat(),
            self.end.astimezone(UTC).isoformat(),
        ]
        return hashlib.sha256(json.dumps(fields).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ListedEvent:
    id: int
    name: str
    start: datetime


class EventGone(Exception):
    """The event no longer exists in Discord (404 Unknown Guild Scheduled Event)."""


class EventsApi(Protocol):
    """A server's scheduled events in Discord."""

    async def list(self) -> list[ListedEvent]: ...

    async def create(self, spec: EventSpec) -> int: ...

    async def edit(self, event_id: int, spec: EventSpec) -> None:
        """Raises EventGone when the event was deleted."""
        ...

    async def delete(self, event_id: int) -> None:
        """Also fine when the event is already gone."""
        ...


@dataclass
class SyncReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    recreated: int = 0
    deleted: int = 0
    skipped_past: int = 0

    def summary(self) -> str:
        parts = [
            f"{self.created} created",
            f"{self.updated} updated",
            f"{self.unchanged} unchanged",
            f"{self.deleted} deleted",
        ]
        if self.recreated:
            parts.append(f"{self.recreated} recreated (deleted in Discord)")
        if self.skipped_past:
            parts.append(f"{self.skipped_past} skipped (already started)")
        return ", ".join(parts)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def event_spec(talk: Talk, workshop: Workshop) -> EventSpec:
    name = f"{talk.kind_label}: {talk.title}" if talk.kind_label not in talk.title else talk.title
    lines = []
    if talk.people:
        lines.append(", ".join(talk.people))
    if talk.abstract:
        lines.append(talk.abstract)
    if not lines:
        lines.append(f"{talk.kind_label} at {workshop.name}")
    return EventSpec(
        name=_cut(name, NAME_MAX),
        description=_cut("\n\n".join(lines), DESCRIPTION_MAX),
        location=_cut(talk.room or workshop.venue or workshop.name, LOCATION_MAX),
        start=talk.start,
        end=talk.end,
    )


class EventSync:
    """Creates, updates and deletes a server's events to match the program (idempotently)."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: Clock, program: ProgramService
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._program = program
        self._locks: dict[int, asyncio.Lock] = {}

    def chosen(self, kinds: Sequence[str]) -> list[Talk]:
        """The entries of ``kinds`` (not cancelled, not inside a session), in program order."""
        wanted = set(kinds)
        return [
            t for t in self._program.snapshot.talks if t.kind in wanted and t.session_id is None
        ]

    async def sync(self, guild_id: int, kinds: Sequence[str], api: EventsApi) -> SyncReport:
        # One sync per server at a time: two at once would both create the same events.
        lock = self._locks.setdefault(guild_id, asyncio.Lock())
        async with lock:
            return await self._sync(guild_id, kinds, api)

    async def _sync(self, guild_id: int, kinds: Sequence[str], api: EventsApi) -> SyncReport:
        snapshot = self._program.snapshot
        now = self._clock.now()
        chosen = self.chosen(kinds)
        upcoming = [t for t in chosen if t.start > now]
        if len(upcoming) > MAX_EVENTS:
            raise UserFacingError(
                f"That would be {len(upcoming)} events; Discord allows at most {MAX_EVENTS} "
                "per server. Choose fewer kinds with `/setup events kinds`."
            )
        report = SyncReport(skipped_past=len(chosen) - len(upcoming))
        async with self._sessions() as s:
            rows = {
                r.entry_id: r
                for r in (
                    await s.scalars(select(GuildEvent).where(GuildEvent.guild_id == guild_id))
                ).all()
            }
        listed = await api.list()
        alive = {e.id for e in listed}
        mapped = {r.event_id for r in rows.values()}
        # Events made by a sync that died before recording them: adopted, not duplicated.
        orphans = {(e.name, e.start.astimezone(UTC)): e.id for e in listed if e.id not in mapped}

        chosen_ids = {t.id for t in chosen}
        for entry_id, row in rows.items():
            if entry_id not in chosen_ids:
                # Cancelled, gone from the program or of a kind no longer chosen.
                await api.delete(row.event_id)
                await self._forget(guild_id, entry_id)
                report.deleted += 1

        for talk in upcoming:
            spec = event_spec(talk, snapshot.workshop)
            digest = spec.digest()
            existing = rows.get(talk.id)
            if existing is None:
                adopted = orphans.pop((spec.name, spec.start.astimezone(UTC)), None)
                if adopted is not None:
                    await self._edit_or_create(guild_id, talk.id, adopted, spec, api, report)
                else:
                    event_id = await api.create(spec)
                    report.created += 1
                    await self._remember(guild_id, talk.id, event_id, digest)
                continue
            if existing.event_id not in alive:
                event_id = await api.create(spec)
                report.recreated += 1
                await self._remember(guild_id, talk.id, event_id, digest)
            elif existing.synced_hash == digest:
                report.unchanged += 1
            else:
                await self._edit_or_create(guild_id, talk.id, existing.event_id, spec, api, report)
        log.info("events synced for guild %s: %s", guild_id, report.summary())
        return report

    async def _edit_or_create(
        self,
        guild_id: int,
        entry_id: str,
        event_id: int,
        spec: EventSpec,
        api: EventsApi,
        report: SyncReport,
    ) -> None:
        try:
            await api.edit(event_id, spec)
            report.updated += 1
        except EventGone:
            # Deleted in Discord between the listing and now.
            event_id = await api.create(spec)
            report.recreated += 1
        await self._remember(guild_id, entry_id, event_id, spec.digest())

    async def _remember(self, guild_id: int, entry_id: str, event_id: int, digest: str) -> None:
        async with self._sessions() as s, s.begin():
            row = await s.scalar(
                select(GuildEvent).where(
                    GuildEvent.guild_id == guild_id, GuildEvent.entry_id == entry_id
                )
            )
            if row is None:
                s.add(
                    GuildEvent(
                        guild_id=guild_id, entry_id=entry_id, event_id=event_id, synced_hash=digest
                    )
                )
            else:
                row.event_id = event_id
                row.synced_hash = digest

    async def _forget(self, guild_id: int, entry_id: str) -> None:
        async with self._sessions() as s, s.begin():
            await s.execute(
                delete(GuildEvent).where(
                    GuildEvent.guild_id == guild_id, GuildEvent.entry_id == entry_id
                )
            )

    async def count(self, guild_id: int) -> int:
        """How many events the bot keeps for the server (for /setup show)."""
        async with self._sessions() as s:
            found = await s.scalar(
                select(func.count()).select_from(GuildEvent).where(GuildEvent.guild_id == guild_id)
            )
        return int(found or 0)
