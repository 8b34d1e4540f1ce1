"""Fixtures: a simulated Discord per test and the tiny test bot connected to it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import pytest
from discord.ext import commands

from bot.simulator import DiscordSimulator
from tests.error_records import ErrorRecords

from .harness import FAST_LIMITS, redirect, start_bot, stop_bot
from .sim_bot import build_bot


@pytest.fixture(autouse=True)
def discord_errors() -> Iterator[ErrorRecords]:
    """Every simulator test fails on an ERROR record of discord.py (clear expected ones)."""
    handler = ErrorRecords()
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    logger = logging.getLogger("discord")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
    errors = [handler.format(r) for r in handler.records]
    assert not errors, f"discord.py logged errors: {errors}"


@pytest.fixture
async def sim() -> AsyncIterator[DiscordSimulator]:
    async with DiscordSimulator(rate_limit_config=FAST_LIMITS) as simulator:
        yield simulator


@pytest.fixture
async def bot(
    sim: DiscordSimulator, monkeypatch: pytest.MonkeyPatch, discord_errors: ErrorRecords
) -> AsyncIterator[commands.Bot]:
    redirect(monkeypatch, sim)
    discord_errors.sim = sim
    client = build_bot(sim)
    task = await start_bot(sim, client)
    try:
        yield client
    finally:
        await stop_bot(client, task)
