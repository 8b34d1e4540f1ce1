"""Loads a program into the database, keyed by stable ids: re-loading updates in place.

Entries missing from a newer file are marked cancelled, never deleted, so the subscriptions
and delivery records that point at them survive (and their users can be told).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import ProgramEntry, ProgramInfo, Subscription
from bot.program.files import dump_program
from bot.program.model import Entry, Program

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Move:
    entry_id: str
    old_start: datetime
    new_start: datetime


@dataclass
class LoadReport:
    """What a load changed, for the CLI's summary and for telling subscribers."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    moved: list[Move] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    unchanged: int = 0

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.updated)} updated "
            f"({len(self.moved)} moved), {len(self.cancelled)} cancelled, "
            f"{self.unchanged} unchanged"
        )


def _entry_values(entry: Entry, position: int) -> dict[str, object]:
    return {
        "kind": entry.kind,
        "title": entry.title,
        "people": list(entry.people),
        "abstract": entry.abstract,
        "start_at": entry.start,
        "end_at": entry.end,
        "session_id": entry.session,
        "room": entry.room,
        "links": [link.model_dump() for link in entry.links],
        "position": position,
        "cancelled": False,
    }


async def load_program(
    sessions: async_sessionmaker[AsyncSession], program: Program, now: datetime
) -> LoadReport:
    """Upsert ``program`` in one transaction and re-time the reminders of moved entries."""
    report = LoadReport()
    digest = hashlib.sha256(dump_program(program).encode()).hexdigest()
    ws = program.workshop
    async with sessions() as s, s.begin():
        info = await s.get(ProgramInfo, 1)
        info_values = {
            "name": ws.name,
            "acronym": ws.acronym,
            "venue": ws.venue,
            "timezone": ws.timezone,
            "day": ws.date.isoformat(),
            "description": ws.description,
            "links": [link.model_dump() for link in ws.links],
            "organizers": [p.model_dump() for p in ws.organizers],
            "source_sha256": digest,
            "loaded_at": now,
        }
        if info is None:
            s.add(ProgramInfo(id=1, **info_values))
        else:
            for key, value in info_values.items():
                setattr(info, key, value)

        existing = {row.id: row for row in (await s.scalars(select(ProgramEntry))).all()}
        for position, entry in enumerate(program.entries):
            values = _entry_values(entry, position)
            row = existing.pop(entry.id, None)
            if row is None:
                s.add(ProgramEntry(id=entry.id, updated_at=now, **values))
                report.added.append(entry.id)
                continue
            changed = {k: v for k, v in values.items() if getattr(row, k) != v}
            # A neighbour's insertion or removal shifts positions; that is not an edit.
            row.position = position
            changed.pop("position", None)
            if not changed:
                report.unchanged += 1
                continue
            if "start_at" in changed:
                report.moved.append(Move(entry.id, row.start_at, entry.start))
            for key, value in changed.items():
                setattr(row, key, value)
            row.updated_at = now
            report.updated.append(entry.id)

        for row in existing.values():
            if not row.cancelled:
                row.cancelled = True
                row.updated_at = now
                report.cancelled.append(row.id)

        for move in report.moved:
            delta: timedelta = move.new_start - move.old_start
            subs = await s.scalars(
                select(Subscription).where(
                    Subscription.entry_id == move.entry_id, Subscription.state == "active"
                )
            )
            for sub in subs:
                sub.due_at = sub.due_at + delta
    log.info("program %s loaded: %s", ws.acronym, report.summary())
    return report
