"""Loads a program into the database, keyed by stable ids: re-loading updates in place.

Entries missing from a newer file are marked cancelled, never deleted, so the subscriptions
and delivery records that point at them survive (and their users can be told).

The change and the duty to tell its subscribers are one transaction: the notices of a moved or
cancelled entry are queued in ``deliveries`` together with the change, so a process that dies
right after the commit (or halfway through telling 3,000 people) leaves every notice queued,
and the delivery engine of whichever process runs next sends each one once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Delivery, GuildConfig, ProgramEntry, ProgramInfo, Subscription
from bot.program.files import program_digest
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
    told: int = 0  # subscribers queued a notice about a moved or cancelled entry

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.cancelled)

    def summary(self) -> str:
        text = (
            f"{len(self.added)} added, {len(self.updated)} updated "
            f"({len(self.moved)} moved), {len(self.cancelled)} cancelled, "
            f"{self.unchanged} unchanged"
        )
        if self.told:
            text += f"; {self.told} subscriber notice(s) queued"
        return text


_COLUMNS = (
    "kind",
    "title",
    "people",
    "abstract",
    "start_at",
    "end_at",
    "session_id",
    "room",
    "links",
    "position",
    "cancelled",
)


def _diff(
    program: Program, rows: Sequence[Any], now: datetime, report: LoadReport
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows to insert and the changes to write (each with its ``id``), and the report."""
    existing = {row[0]: dict(zip(_COLUMNS, row[1:], strict=True)) for row in rows}
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for position, entry in enumerate(program.entries):
        values = _entry_values(entry, position)
        old = existing.pop(entry.id, None)
        if old is None:
            inserts.append({"id": entry.id, "updated_at": now, **values})
            report.added.append(entry.id)
            continue
        changed = {k: v for k, v in values.items() if old[k] != v}
        # A neighbour's insertion or removal shifts positions; that is not an edit.
        moved_only = changed.pop("position", None) is not None
        if not changed:
            report.unchanged += 1
            if moved_only:
                updates.append({"id": entry.id, "position": position})
            continue
        if "start_at" in changed:
            report.moved.append(Move(entry.id, old["start_at"], entry.start))
        updates.append({"id": entry.id, **changed, "position": position, "updated_at": now})
        report.updated.append(entry.id)
    for entry_id, old in existing.items():
        if not old["cancelled"]:
            updates.append({"id": entry_id, "cancelled": True, "updated_at": now})
            report.cancelled.append(entry_id)
    return inserts, updates


def _same_keys(updates: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Bulk UPDATE by primary key runs one statement per set of columns: group them."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for values in updates:
        groups.setdefault(tuple(sorted(values)), []).append(values)
    return list(groups.values())


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
    # A tenth of a second of CPU for 10,000 entries: in a thread all the same, so the bot
    # keeps answering meanwhile.
    digest = await asyncio.to_thread(program_digest, program)
    ws = program.workshop
    async with sessions() as s, s.begin():
        info = await s.get(ProgramInfo, 1)
        # The digest of the program last loaded, stored in the same transaction as its rows:
        # equal, the rows already say what this program says (a re-load of the same file).
        same = info is not None and info.source_sha256 == digest
        info_values = {
            "name": ws.name,
            "acronym": ws.acronym,
            "venue": ws.venue,
            "timezone": ws.timezone,
            "day": ws.date.isoformat(),
            "description": ws.description,
            "links": [link.model_dump() for link in ws.links],
            "organizers": [p.model_dump(exclude={"bio"}) for p in ws.organizers],
            "source_sha256": digest,
            "loaded_at": now,
        }
        if info is None:
            s.add(ProgramInfo(id=1, **info_values))
        else:
            for key, value in info_values.items():
                setattr(info, key, value)

        # Plain rows, compared in a thread and written in bulk: a 10,000-entry reload keeps
        # the event loop free for commands (ORM objects cost seconds of CPU on the loop).
        if same:
            report.unchanged = len(program.entries)
            log.info("program %s loaded: %s", ws.acronym, report.summary())
            return report
        e = ProgramEntry
        rows = (await s.execute(select(e.id, *(getattr(e, c) for c in _COLUMNS)))).all()
        inserts, updates = await asyncio.to_thread(_diff, program, rows, now, report)
        if inserts:
            await s.execute(insert(ProgramEntry), inserts)
        for batch in _same_keys(updates):
            await s.execute(update(ProgramEntry), batch)

        # Each load's notices are its own: a move undone and made again, or a second
        # cancellation after subscribing again, is told again (a key reused from an earlier
        # load would not be).
        load = uuid.uuid4().hex[:10]
        notices = await _retime_and_tell(s, report, now, load)
        notices += await _change_posts(s, report, now, load)
        if notices:
            await s.execute(_insert_new_deliveries(s), notices)
        report.told = len(notices)
    log.info("program %s loaded: %s", ws.acronym, report.summary())
    return report


async def _retime_and_tell(
    s: AsyncSession, report: LoadReport, now: datetime, load: str
) -> list[dict[str, Any]]:
    """Re-time the reminders of moved entries, stop those of cancelled ones, and return one
    notice per subscriber to queue (in the caller's transaction).

    A reminder already sent for a moved entry that has not started is armed again for the new
    time (a new revision, so a new send): "your reminder moves with it" stays true.
    """
    notices: list[dict[str, Any]] = []
    for move in report.moved:
        subs = await s.scalars(
            select(Subscription).where(
                Subscription.entry_id == move.entry_id,
                Subscription.state.in_(("active", "sent")),
            )
        )
        for sub in subs:
            new_due = move.new_start - timedelta(minutes=sub.minutes_before)
            upcoming = move.new_start > now
            if sub.state == "active":
                reminder = "moves"
                # Due already (moved earlier): sent now, not as "late".
                sub.due_at = max(new_due, now) if upcoming else new_due
            elif upcoming:
                reminder = "again" if new_due > now else "again_now"
                sub.state = "active"
                sub.revision = (sub.revision or 0) + 1
                sub.due_at = max(new_due, now)
            else:
                reminder = "none"
            notices.append(
                _notice(
                    f"notice:moved:{sub.id}:{move.new_start.astimezone(UTC):%Y%m%dT%H%M%SZ}:{load}",
                    sub,
                    now,
                    {"about": "moved", "reminder": reminder},
                )
            )
    if report.cancelled:
        subs = await s.scalars(
            select(Subscription).where(
                Subscription.entry_id.in_(report.cancelled),
                Subscription.state.in_(("active", "sent")),
            )
        )
        for sub in subs:
            notices.append(
                _notice(f"notice:cancelled:{sub.id}:{load}", sub, now, {"about": "cancelled"})
            )
            if sub.state == "active":
                sub.state = "cancelled"
    return notices


#: Up to this many changes in one load get a post each in a changes channel; more are grouped,
#: this many to a post (a program replaced wholesale is not a thousand posts).
POST_EACH_UPTO = 10
PER_GROUPED_POST = 20


async def _change_posts(
    s: AsyncSession, report: LoadReport, now: datetime, load: str
) -> list[dict[str, Any]]:
    """The posts of each server's schedule-changes channel about this load, to queue in its
    transaction: "moved", "cancelled" and "new", worded when sent."""
    found = await s.scalars(
        select(GuildConfig.changes_channel_id).where(GuildConfig.changes_channel_id.is_not(None))
    )
    channels = sorted({c for c in found if c is not None})
    if not channels:
        return []
    items: list[dict[str, str]] = [
        {"change": "moved", "entry_id": m.entry_id, "was": m.old_start.astimezone(UTC).isoformat()}
        for m in report.moved
    ]
    items += [{"change": "cancelled", "entry_id": e} for e in report.cancelled]
    items += [{"change": "new", "entry_id": e} for e in report.added]
    if not items:
        return []
    size = 1 if len(items) <= POST_EACH_UPTO else PER_GROUPED_POST
    groups = [items[i : i + size] for i in range(0, len(items), size)]
    return [
        {
            "key": f"notice:changes:{channel_id}:{load}:{n}",
            "kind": "notice",
            "due_at": now,
            "state": "pending",
            "attempts": 0,
            "late": False,
            "channel_id": channel_id,
            "payload": {"about": "changes", "items": group},
        }
        for channel_id in channels
        for n, group in enumerate(groups)
    ]


def _notice(key: str, sub: Subscription, now: datetime, about: dict[str, str]) -> dict[str, Any]:
    # Worded when sent (bot/delivery/outbox.py), from the program as it is then.
    return {
        "key": key,
        "kind": "notice",
        "due_at": now,
        "state": "pending",
        "attempts": 0,
        "late": False,
        "user_id": sub.user_id,
        "payload": {
            **about,
            "entry_id": sub.entry_id,
            "minutes_before": sub.minutes_before,
        },
    }


def _insert_new_deliveries(s: AsyncSession) -> Any:
    """INSERT into deliveries that skips keys already there (a notice queued before)."""
    dialect = postgresql if s.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(Delivery).on_conflict_do_nothing(index_elements=["key"])
