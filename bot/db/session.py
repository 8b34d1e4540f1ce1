"""Engine and session factory; nothing connects until ``create_engine`` is called."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; SQLite gets WAL with durable commits, a busy timeout and foreign keys."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30})
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            # FULL, not NORMAL: under WAL, NORMAL may lose the last commits on a power loss or
            # an OS crash, and a lost "sent" is a duplicate, a lost subscription a lost
            # reminder. An fsync per commit costs little here: 550-990 commits/s against
            # 2,000-2,800 with NORMAL, where a fan-out at Discord's 50/s needs about 100 (the
            # 1,000-user fan-out: 46.0/s, none late, either way).
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.close()

    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
