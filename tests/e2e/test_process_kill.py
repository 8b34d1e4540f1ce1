"""The bot as a real process, killed with SIGKILL mid-morning and restarted: nothing doubled."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.simulator import DiscordSimulator
from tests.conftest import HAET_FILE

pytestmark = pytest.mark.slow

PAYVAND_TITLE = (
    "Brain-inspired hardware and algorithm co-design for low power online training on the edge"
)


@pytest.fixture
async def sim(error_log: object) -> AsyncIterator[DiscordSimulator]:  # type: ignore[override]
    async with DiscordSimulator() as simulator:
        yield simulator
        simulator.assert_clean()


def start_bot(
    sim: DiscordSimulator, database_url: str, start: str, log: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DISCORD_TOKEN": sim.token,
        "DISCORD_API_BASE": sim.api_base,
        "DISCORD_GATEWAY_URL": sim.gateway_url,
        "DEV_GUILD_ID": str(sim.guild_id),
        "DATABASE_URL": database_url,
        "PROGRAM_FILE": str(HAET_FILE),
        "ANNOUNCE_CHANNEL_ID": str(sim.channel_id("announcements")),
        "CLAIM_LEASE_SECONDS": "1",
    }
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--simulate-start", start, "--speed", "60"],
            env=env,
            cwd=log.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def payvand_posts(sim: DiscordSimulator) -> list[dict]:
    return [
        m
        for m in sim.messages("announcements")
        if m["embeds"] and m["embeds"][0]["title"] == PAYVAND_TITLE
    ]


async def test_sigkill_at_0855_and_restart_at_0910(
    sim: DiscordSimulator, database_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "bot.log"
    alice = sim.add_user("alice")
    # 08:40 at 60x: the reminder is due 10 s from now, the kill comes at 08:55 (15 s).
    proc = start_bot(sim, database_url, "2022-07-23T08:40:00-04:00", log)
    try:
        await sim.wait_for_bot(timeout=20)
        await sim.wait_until(
            lambda: any(c["name"] == "remind" for c in sim.commands()), 10, "commands"
        )
        answer = await alice.slash("remind talk", title="keynote-melika-payvand")
        assert "I'll remind you" in answer.text()
        await sim.wait_for_message(
            dm_of=alice, predicate=lambda m: m["content"].startswith("⏰"), timeout=20
        )
        await asyncio.sleep(4.5)  # until about 08:55 on the bot's clock
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert payvand_posts(sim) == []

    proc = start_bot(sim, database_url, "2022-07-23T09:10:00-04:00", log)
    try:
        await sim.wait_until(lambda: len(payvand_posts(sim)) >= 1, 20, "the late Payvand post")
        await asyncio.sleep(2)  # anything doubled would show by now
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    [post] = payvand_posts(sim)
    assert post["content"].startswith("**Started <t:") and "Posted late" in post["content"]
    assert sum(m["content"].startswith("⏰") for m in alice.dms) == 1
    output = log.read_text()
    assert "Traceback" not in output and " ERROR " not in output, output
    assert sim.token not in output


async def test_a_delivery_only_process_sends_without_a_gateway(
    sim: DiscordSimulator, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime

    from bot.db import migrate
    from bot.db.models import Subscription
    from bot.db.session import create_engine, create_sessionmaker
    from bot.program.files import load_program
    from bot.program.loader import load_program as load_into_db

    alice = sim.add_user("alice")
    engine = create_engine(database_url)
    try:
        await migrate.upgrade(engine)
        sessions = create_sessionmaker(engine)
        await load_into_db(sessions, load_program(HAET_FILE), datetime(2022, 7, 22, tzinfo=UTC))
        async with sessions() as s, s.begin():
            s.add(
                Subscription(
                    user_id=alice.id,
                    entry_id="keynote-melika-payvand",
                    minutes_before=10,
                    due_at=datetime.fromisoformat("2022-07-23T08:50:00-04:00"),
                    created_at=datetime(2022, 7, 22, tzinfo=UTC),
                )
            )
    finally:
        await engine.dispose()
    log = tmp_path / "worker.log"
    monkeypatch.setenv("GATEWAY", "false")
    proc = start_bot(sim, database_url, "2022-07-23T08:49:50-04:00", log)
    try:
        await sim.wait_for_message(
            dm_of=alice, predicate=lambda m: m["content"].startswith("⏰"), timeout=20
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    assert sim.stats.identifies == 0
    assert "delivery-only process" in log.read_text()
    assert "Traceback" not in log.read_text()
