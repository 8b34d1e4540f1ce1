"""Shared fixtures: databases (SQLite in tmp_path, and PostgreSQL where a server answers)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.db import migrate
from bot.db.session import create_engine, create_sessionmaker

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
HAET_FILE = ROOT / "data" / "haet2022.yaml"

PG_ADMIN_DSN = os.environ.get("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
_pg_state: dict[str, str | None] = {}


async def _postgres_unavailable() -> str | None:
    """None when the test PostgreSQL server answers, else why not (checked once)."""
    if "why" not in _pg_state:
        import asyncpg

        try:
            conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
            await conn.close()
            _pg_state["why"] = None
        except Exception as exc:
            _pg_state["why"] = f"no PostgreSQL at {PG_ADMIN_DSN}: {exc.__class__.__name__}: {exc}"
    return _pg_state["why"]


async def _create_pg_database() -> str:
    import asyncpg

    name = f"wbtest_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


async def _drop_pg_database(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def _backends() -> list[str]:
    wanted = os.environ.get("TEST_DATABASES", "sqlite,postgresql")
    return [b.strip() for b in wanted.split(",") if b.strip()]


@pytest.fixture(params=_backends())
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database URL: SQLite in tmp_path, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
        return
    why = await _postgres_unavailable()
    if why:
        pytest.skip(why)
    name = await _create_pg_database()
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        await _drop_pg_database(name)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await migrate.upgrade(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)
