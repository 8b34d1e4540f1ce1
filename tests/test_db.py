"""The database: migrations to head, and idempotent program loads that keep users' data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.db import migrate
from bot.db.models import Delivery, ProgramEntry, ProgramInfo, Subscription
from bot.db.session import create_engine
from bot.program.files import load_program
from bot.program.loader import load_program as load_into_db
from tests.conftest import HAET_FILE

NOW = datetime(2022, 7, 1, tzinfo=UTC)


async def test_upgrade_creates_every_table_and_is_idempotent(empty_database_url: str) -> None:
    engine = create_engine(empty_database_url)
    try:
        assert await migrate.current_revision(engine) is None  # nothing there yet
        await migrate.upgrade(engine)
        await migrate.upgrade(engine)  # a second upgrade is a no-op
        assert await migrate.current_revision(engine) == "0009"
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()
    assert {
        "program_info",
        "entries",
        "subscriptions",
        "kind_subscriptions",
        "deliveries",
        "scheduled_announcements",
        "guild_config",
        "dm_channels",
        "guild_events",
        "bot_events",
        "questions",
        "question_votes",
        "person_links",
        "claim_codes",
        "speaker_roles",
        "discussion_threads",
        "thread_setups",
        "alembic_version",
    } <= tables


async def test_load_twice_then_edit_keeps_subscriptions_and_deliveries(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    program = load_program(HAET_FILE)
    first = await load_into_db(sessions, program, NOW)
    assert len(first.added) == 37

    second = await load_into_db(sessions, program, NOW)
    assert second.added == [] and second.updated == [] and second.cancelled == []
    assert second.unchanged == 37

    payvand = next(e for e in program.entries if "Melika Payvand" in e.people)
    async with sessions() as s, s.begin():
        s.add(
            Subscription(
                user_id=42,
                entry_id=payvand.id,
                minutes_before=10,
                due_at=payvand.start - timedelta(minutes=10),
                created_at=NOW,
            )
        )
        s.add(Delivery(key=f"announce:1:{payvand.id}", kind="announcement", due_at=payvand.start))

    # The organizer moves the keynote by 30 minutes and fixes its title.
    moved = payvand.model_copy(
        update={
            "start": payvand.start + timedelta(minutes=30),
            "end": payvand.end + timedelta(minutes=30),
            "title": payvand.title + " (updated)",
        }
    )
    edited = program.model_copy(
        update={"entries": tuple(moved if e.id == payvand.id else e for e in program.entries)}
    )
    third = await load_into_db(sessions, edited, NOW)
    assert third.updated == [payvand.id]
    assert [(m.entry_id, m.new_start - m.old_start) for m in third.moved] == [
        (payvand.id, timedelta(minutes=30))
    ]

    async with sessions() as s:
        row = await s.get(ProgramEntry, payvand.id)
        assert row is not None and row.title.endswith("(updated)")
        assert row.start_at == payvand.start + timedelta(minutes=30)
        sub = (await s.scalars(select(Subscription))).one()
        assert sub.entry_id == payvand.id
        assert sub.due_at == payvand.start + timedelta(minutes=20)
        # The announcement's record is kept; the subscriber's notice was queued with the move.
        rows = sorted(
            (await s.execute(select(Delivery.key, Delivery.state, Delivery.user_id))).all()
        )
        assert [row[1:] for row in rows] == [("pending", None), ("pending", 42)]
        assert rows[0][0] == f"announce:1:{payvand.id}"
        notice = f"notice:moved:{sub.id}:{moved.start.astimezone(UTC):%Y%m%dT%H%M%SZ}:"
        assert rows[1][0].startswith(notice)
        assert third.told == 1
        assert await s.scalar(select(func.count()).select_from(ProgramEntry)) == 37


async def test_entry_dropped_from_the_file_is_cancelled_not_deleted(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    program = load_program(HAET_FILE)
    await load_into_db(sessions, program, NOW)
    panel = next(e for e in program.entries if e.kind == "panel")
    async with sessions() as s, s.begin():
        s.add(
            Subscription(
                user_id=7, entry_id=panel.id, due_at=panel.start, minutes_before=0, created_at=NOW
            )
        )
    without_panel = program.model_copy(
        update={"entries": tuple(e for e in program.entries if e.id != panel.id)}
    )
    report = await load_into_db(sessions, without_panel, NOW)
    assert report.cancelled == [panel.id]
    async with sessions() as s:
        row = await s.get(ProgramEntry, panel.id)
        assert row is not None and row.cancelled
        assert (await s.scalars(select(Subscription))).one().entry_id == panel.id
        info = await s.get(ProgramInfo, 1)
        assert info is not None and info.timezone == "America/New_York"
    # Putting it back revives it.
    back = await load_into_db(sessions, program, NOW)
    assert back.updated == [panel.id]
    async with sessions() as s:
        row = await s.get(ProgramEntry, panel.id)
        assert row is not None and not row.cancelled


def test_head_constant_matches_the_migration_scripts() -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate.alembic_config())
    assert script.get_current_head() == migrate.HEAD


async def test_sqlite_commits_are_durable_wal_with_synchronous_full(engine: AsyncEngine) -> None:
    # Under WAL, synchronous=NORMAL may lose the last commits on a power loss: a lost "sent"
    # is a duplicate, a lost subscription a lost reminder.
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's setting (PostgreSQL fsyncs each commit by default)")
    async with engine.connect() as conn:
        assert await conn.scalar(text("PRAGMA journal_mode")) == "wal"
        assert await conn.scalar(text("PRAGMA synchronous")) == 2  # FULL
        assert await conn.scalar(text("PRAGMA foreign_keys")) == 1
