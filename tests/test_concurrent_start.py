"""Several processes started at once on one fresh database: every one comes up, none fails."""

from __future__ import annotations

import asyncio
import os
import sys
import time

import pytest
from sqlalchemy import func, select

from bot.db import migrate
from bot.db.models import ProgramEntry
from bot.db.session import create_engine, create_sessionmaker
from tests.conftest import HAET_FILE, ROOT

# The bot's start-up path (connect, migrate, load the program, read it), from the moment GO:
# imports take a second or more, and the processes must meet at the database together.
START_UP = """
import asyncio, os, time
from bot.app import build_services
from bot.settings import Settings

async def main():
    time.sleep(max(0.0, float(os.environ["GO"]) - time.time()))
    services = await build_services(Settings(_env_file=None))
    await services.close()

asyncio.run(main())
"""
# `workshop-bot db upgrade`, from the same moment.
DB_UPGRADE = """
import os, sys, time
from bot.cli import main
time.sleep(max(0.0, float(os.environ["GO"]) - time.time()))
sys.exit(main(["db", "upgrade"]))
"""


@pytest.mark.slow
async def test_processes_started_at_once_on_a_fresh_database_all_come_up(
    empty_database_url: str,
) -> None:
    database_url = empty_database_url
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PROGRAM_FILE": str(HAET_FILE),
        "GO": str(time.time() + 2.5),
    }
    scripts = [START_UP] * 4 + [DB_UPGRADE] * 2
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            script,
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for script in scripts
    ]
    outputs = await asyncio.wait_for(
        asyncio.gather(*(p.communicate() for p in processes)), timeout=60
    )
    failed = [
        f"exit {p.returncode}: {err.decode(errors='replace')[-600:]}"
        for p, (_out, err) in zip(processes, outputs, strict=True)
        if p.returncode != 0
    ]
    assert not failed, failed
    stderr = b"".join(err for _out, err in outputs).decode(errors="replace")
    assert "Traceback" not in stderr and "ERROR" not in stderr, stderr

    engine = create_engine(database_url)
    try:
        assert await migrate.current_revision(engine) == migrate.HEAD
        async with create_sessionmaker(engine)() as s:
            assert await s.scalar(select(func.count()).select_from(ProgramEntry)) == 37
    finally:
        await engine.dispose()
