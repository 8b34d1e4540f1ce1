"""Schema migrations (Alembic), run from the CLI, the bot's startup and the tests.

Alembic (with Mako) costs the bot's process about 12 MB, so it is imported only when the
database is not already at ``HEAD``.

Several processes may start at once on one database (N bots on PostgreSQL, or a bot beside
`workshop-bot load`): migrating and loading the program are done under ``startup_lock``, one
process at a time, so none of them meets another's half-created tables or rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: The newest revision in migrations/versions (a test keeps it equal to Alembic's head).
HEAD = "0009"


def alembic_config(url: str | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        # ConfigParser treats % as interpolation.
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


#: The PostgreSQL advisory lock key every workshop-bot process takes to start ("workshop").
STARTUP_LOCK_KEY = 0x776F726B73686F70
# Set while this task holds the start-up lock, so that nested calls do not take it again (a
# second connection or file descriptor would wait for the first forever).
_holding: contextvars.ContextVar[bool] = contextvars.ContextVar("startup_lock", default=False)


@contextlib.asynccontextmanager
async def startup_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    """Hold the database's start-up lock: one process at a time migrates and loads.

    PostgreSQL: a session advisory lock on a dedicated connection (released when the block
    ends, or by the server when the process dies). SQLite: an exclusive ``flock`` on a file
    beside the database (released by the kernel when the process dies); SQLite's own locks
    cannot serve, since the migration's connection would wait for the lock's connection.
    """
    if _holding.get():
        yield
        return
    token = _holding.set(True)
    try:
        if engine.dialect.name == "postgresql":
            async with _advisory_lock(engine):
                yield
        elif engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
            async with _file_lock(Path(f"{engine.url.database}-startup-lock")):
                yield
        else:
            yield
    finally:
        _holding.reset(token)


@contextlib.asynccontextmanager
async def _advisory_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        key = {"key": STARTUP_LOCK_KEY}
        if not await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), key):
            log.info("another process is migrating or loading the program: waiting for it")
            await conn.execute(text("SELECT pg_advisory_lock(:key)"), key)
        try:
            yield
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:key)"), key)


@contextlib.asynccontextmanager
async def _file_lock(path: Path) -> AsyncIterator[None]:
    try:
        import fcntl
    except ImportError:  # not a POSIX system: one process at a time is the operator's to ensure
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("another process is migrating or loading the program: waiting for it")
            await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database behind ``engine`` to ``revision`` (idempotent)."""
    if revision == "head" and await current_revision(engine) == HEAD:
        return
    async with startup_lock(engine):
        # Another process may have migrated while this one waited for the lock.
        if revision == "head" and await current_revision(engine) == HEAD:
            return
        await _alembic_upgrade(engine, revision)


async def _alembic_upgrade(engine: AsyncEngine, revision: str) -> None:
    from alembic import command

    cfg = alembic_config()

    def _upgrade(connection: object) -> None:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at (None for an empty one), read with plain SQL."""
    async with engine.connect() as conn:
        try:
            return await conn.scalar(text("SELECT version_num FROM alembic_version"))
        except DBAPIError:
            return None
