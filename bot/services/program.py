"""The loaded program, read from the database into an immutable in-memory snapshot.

Lookups during the workshop (what is on now, a talk's card, search) read the snapshot, so a
command costs no query; the snapshot is rebuilt whenever the program is (re)loaded, by this
process or (seen by the delivery engine) by another one on the same database.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import ProgramEntry, ProgramInfo
from bot.program.model import Program, kind_label


@dataclass(frozen=True, slots=True)
class Organizer:
    name: str
    affiliation: str | None


@dataclass(frozen=True, slots=True)
class Workshop:
    name: str
    acronym: str
    venue: str
    zone: ZoneInfo
    day: date
    description: str
    links: tuple[tuple[str, str], ...]
    organizers: tuple[Organizer, ...]


@dataclass(frozen=True, slots=True)
class Talk:
    """One program entry as the bot shows it."""

    id: str
    kind: str
    title: str
    people: tuple[str, ...]
    abstract: str
    start: datetime
    end: datetime
    session_id: str | None
    room: str | None
    links: tuple[tuple[str, str], ...]
    cancelled: bool

    @property
    def kind_label(self) -> str:
        return kind_label(self.kind)


@dataclass(frozen=True)
class ProgramSnapshot:
    workshop: Workshop
    talks: tuple[Talk, ...]  # program order, cancelled ones excluded
    by_id: dict[str, Talk]  # every entry, cancelled ones included
    version: str = ""  # the loaded program's digest: another process's reload changes it

    def children(self, session_id: str) -> list[Talk]:
        return [t for t in self.talks if t.session_id == session_id]


class NoProgramLoaded(Exception):
    """The database holds no program yet (run `workshop-bot load`)."""


class ProgramService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._snapshot: ProgramSnapshot | None = None
        # Cleared while this process writes a new program and re-reads it: what is sent
        # meanwhile would be worded from the program the database no longer holds.
        self._settled = asyncio.Event()
        self._settled.set()

    @contextlib.asynccontextmanager
    async def changing(self) -> AsyncIterator[None]:
        """Around writing a new program and refreshing the snapshot from it."""
        self._settled.clear()
        try:
            yield
        finally:
            self._settled.set()

    async def settled(self) -> None:
        """Until no change of the program is half done in this process."""
        await self._settled.wait()

    async def refresh_if_changed(self) -> bool:
        """Re-read the program if the database holds another one than memory (a reload by
        another process on the same database); True if it did."""
        await self.settled()
        async with self._sessions() as s:
            version = await s.scalar(select(ProgramInfo.source_sha256))
        if version is None or (self._snapshot is not None and self._snapshot.version == version):
            return False
        await self.refresh()
        return True

    @property
    def snapshot(self) -> ProgramSnapshot:
        if self._snapshot is None:
            raise NoProgramLoaded("no program is loaded yet; run `workshop-bot load FILE`")
        return self._snapshot

    @property
    def loaded(self) -> bool:
        return self._snapshot is not None

    async def refresh(self) -> ProgramSnapshot | None:
        async with self._sessions() as s:
            info = await s.get(ProgramInfo, 1)
            if info is None:
                self._snapshot = None
                return None
            # Plain rows, not ORM objects: a 10,000-entry program is read once per (re)load.
            e = ProgramEntry
            rows = (
                await s.execute(
                    select(
                        e.id,
                        e.kind,
                        e.title,
                        e.people,
                        e.abstract,
                        e.start_at,
                        e.end_at,
                        e.session_id,
                        e.room,
                        e.links,
                        e.cancelled,
                    ).order_by(e.position, e.id)
                )
            ).all()
        workshop = Workshop(
            name=info.name,
            acronym=info.acronym,
            venue=info.venue,
            zone=ZoneInfo(info.timezone),
            day=date.fromisoformat(info.day),
            description=info.description,
            links=tuple((link["title"], link["url"]) for link in info.links),
            organizers=tuple(
                Organizer(str(o["name"]), o.get("affiliation")) for o in info.organizers
            ),
        )
        all_talks = [
            Talk(
                id=row.id,
                kind=row.kind,
                title=row.title,
                people=tuple(row.people),
                abstract=row.abstract,
                start=row.start_at,
                end=row.end_at,
                session_id=row.session_id,
                room=row.room,
                links=tuple((link["title"], link["url"]) for link in row.links),
                cancelled=row.cancelled,
            )
            for row in rows
        ]
        self._snapshot = ProgramSnapshot(
            workshop=workshop,
            talks=tuple(t for t in all_talks if not t.cancelled),
            by_id={t.id: t for t in all_talks},
            version=info.source_sha256,
        )
        return self._snapshot


def snapshot_from_program(program: Program) -> ProgramSnapshot:
    """The snapshot a freshly loaded ``program`` gives (for tests and tools without a database)."""
    ws = program.workshop
    talks = tuple(
        Talk(
            id=e.id,
            kind=e.kind,
            title=e.title,
            people=e.people,
            abstract=e.abstract,
            start=e.start.astimezone(UTC),
            end=e.end.astimezone(UTC),
            session_id=e.session,
            room=e.room,
            links=tuple((link.title, link.url) for link in e.links),
            cancelled=False,
        )
        for e in program.entries
    )
    return ProgramSnapshot(
        workshop=Workshop(
            name=ws.name,
            acronym=ws.acronym,
            venue=ws.venue,
            zone=ws.zone,
            day=ws.date,
            description=ws.description,
            links=tuple((link.title, link.url) for link in ws.links),
            organizers=tuple(Organizer(p.name, p.affiliation) for p in ws.organizers),
        ),
        talks=talks,
        by_id={t.id: t for t in talks},
    )
