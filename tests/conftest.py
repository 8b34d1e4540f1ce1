"""Shared fixtures: databases (SQLite in tmp_path, and PostgreSQL where a server answers)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import threading
import uuid
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Iterator
from concurrent import futures
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.db import migrate
from bot.db.session import create_engine, create_sessionmaker
from bot.simulator import SpecValidator

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


class PostgresDatabases:
    """Fresh PostgreSQL databases, made a test ahead and dropped behind, off the tests' time.

    Creating a database (a copy of template1) and dropping one cost every PostgreSQL test about
    0.3 s of waiting on the server in its setup and teardown. A thread with its own event loop
    and admin connection does both while the tests run. Each test still gets a new, empty
    database that no other test touches, and every database made is dropped by ``close``.
    """

    def __init__(self, dsn: str, *, ahead: int = 1) -> None:
        self._dsn = dsn
        self._ahead = ahead
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="test-postgres-databases", daemon=True
        )
        self._thread.start()
        self._admin_lock = asyncio.Lock()  # one statement at a time on the admin connection
        self._admin: Any = None
        self._made: set[str] = set()
        self._ready: deque[Future[str]] = deque()
        self._drops: list[Future[None]] = []
        # A database migrated to HEAD once, copied for each test (CREATE DATABASE … TEMPLATE):
        # running the nine migrations per test cost every test 0.1-0.2 s.
        self._template: str | None = None
        self._template_lock = asyncio.Lock()

    async def take(self, *, empty: bool = False) -> str:
        """The name of a new database for one test, migrated to HEAD (``empty``: not even
        migrated), to hand back with ``drop``."""
        if empty:
            made = asyncio.run_coroutine_threadsafe(self._create(migrated=False), self._loop)
            return await asyncio.wait_for(asyncio.wrap_future(made), 60)
        while len(self._ready) <= self._ahead:
            self._ready.append(asyncio.run_coroutine_threadsafe(self._create(), self._loop))
        return await asyncio.wait_for(asyncio.wrap_future(self._ready.popleft()), 60)

    def drop(self, name: str) -> None:
        """Drop ``name`` in the background (its errors surface in ``close``)."""
        self._drops.append(asyncio.run_coroutine_threadsafe(self._drop(name), self._loop))

    def close(self) -> None:
        """Drop every database made (the unused ones too), then stop the thread."""
        try:
            pending: list[Future[Any]] = [*self._ready, *self._drops]
            futures.wait(pending, timeout=120)
            asyncio.run_coroutine_threadsafe(self._drop_all(), self._loop).result(timeout=120)
            for dropped in self._drops:
                dropped.result(timeout=0)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()

    async def _execute(self, sql: str) -> None:
        import asyncpg

        async with self._admin_lock:
            if self._admin is None:
                self._admin = await asyncpg.connect(self._dsn, timeout=10)
            await self._admin.execute(sql)

    async def _create(self, *, migrated: bool = True) -> str:
        name = f"wbtest_{uuid.uuid4().hex[:12]}"
        template = await self._migrated_template() if migrated else None
        self._made.add(name)
        if template is None:
            await self._execute(f'CREATE DATABASE "{name}"')
        else:
            await self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return name

    async def _migrated_template(self) -> str:
        async with self._template_lock:
            if self._template is None:
                name = f"wbtest_{uuid.uuid4().hex[:12]}_tpl"
                self._made.add(name)
                await self._execute(f'CREATE DATABASE "{name}"')
                base = self._dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
                engine = create_engine(f"{base}/{name}")
                try:
                    await migrate.upgrade(engine)
                finally:
                    await engine.dispose()  # a template may have no connection open
                self._template = name
            return self._template

    async def _drop(self, name: str) -> None:
        await self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._made.discard(name)

    async def _drop_all(self) -> None:
        try:
            # The template last: every copy of it is gone by then.
            for name in sorted(self._made, key=lambda n: (n == self._template, n)):
                await self._drop(name)
        finally:
            if self._admin is not None:
                await self._admin.close()
                self._admin = None


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    """This test process's maker of PostgreSQL databases (one per xdist worker)."""
    made = PostgresDatabases(PG_ADMIN_DSN)
    try:
        yield made
    finally:
        made.close()


def _backends() -> list[str]:
    wanted = os.environ.get("TEST_DATABASES", "sqlite,postgresql")
    return [b.strip() for b in wanted.split(",") if b.strip()]


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to HEAD once per test process; each test gets a copy of it."""
    path = tmp_path_factory.mktemp("migrated") / "bot.db"

    async def migrated() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        try:
            await migrate.upgrade(engine)
        finally:
            await engine.dispose()  # the last connection closes: the WAL is folded in

    asyncio.run(migrated())
    return path


async def _database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    postgres_databases: PostgresDatabases,
    template: Path | None,
) -> AsyncIterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "bot.db"
        if template is not None:
            shutil.copyfile(template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    why = await _postgres_unavailable()
    if why:
        pytest.skip(why)
    name = await postgres_databases.take(empty=template is None)
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        postgres_databases.drop(name)


@pytest.fixture(params=_backends())
async def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    postgres_databases: PostgresDatabases,
    migrated_sqlite: Path,
) -> AsyncIterator[str]:
    """A fresh database URL, migrated to HEAD and holding nothing else: SQLite in tmp_path,
    or a new PostgreSQL database (each a copy of one migrated once per test process)."""
    async for url in _database_url(request, tmp_path, postgres_databases, migrated_sqlite):
        yield url


@pytest.fixture(params=_backends())
async def empty_database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_databases: PostgresDatabases
) -> AsyncIterator[str]:
    """A fresh database URL with no tables at all (for tests of migrating from nothing)."""
    async for url in _database_url(request, tmp_path, postgres_databases, None):
        yield url


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


# -- the local Discord's spec checks, once per distinct body ------------------------------------

_JSON_SCALARS = (str, int, float, bool, type(None))


def _plain_json(node: Any) -> bool:
    """True for what ``json.loads`` could have made (no tuples, enums or other look-alikes)."""
    kind = type(node)
    if kind is dict:
        return all(type(k) is str and _plain_json(v) for k, v in node.items())
    if kind is list:
        return all(_plain_json(v) for v in node)
    return kind in _JSON_SCALARS


@pytest.fixture(scope="session", autouse=True)
def spec_verdicts_reused() -> Iterator[None]:
    """Check an identical body against the same schema once per test process.

    Every bot start syncs the same commands, and checking that list (request and response)
    against Discord's OpenAPI description took about a third of the end-to-end tests' CPU.
    A verdict depends only on the schema and the body, so it is kept (for the last 256 bodies)
    and given again: every request and response is still checked, and a violation still fails.
    """
    verdicts: OrderedDict[str, tuple[Draft202012Validator, list[ValidationError]]] = OrderedDict()
    check = SpecValidator._errors

    def errors(
        self: SpecValidator, validator: Draft202012Validator, body: Any
    ) -> Iterator[ValidationError]:
        if not _plain_json(body):
            return check(self, validator, body)
        key = f"{id(validator)}:{json.dumps(body, sort_keys=True)}"
        seen = verdicts.get(key)
        if seen is None or seen[0] is not validator:
            seen = (validator, list(check(self, validator, body)))
            verdicts[key] = seen
            if len(verdicts) > 256:
                verdicts.popitem(last=False)
        else:
            verdicts.move_to_end(key)
        return iter(seen[1])

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SpecValidator, "_errors", errors)
        yield
