"""End-to-end fixtures: the real bot (real discord.py, real database) against the local Discord.

Every test here fails on an ERROR log record, on any request that violates Discord's API
description, or if the bot's task dies.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.local import LocalDiscord
from bot.settings import Settings
from bot.simulator import BOT_PERMISSIONS, DiscordSimulator, RateLimitConfig
from tests.conftest import HAET_FILE
from tests.error_records import ErrorRecords

# The workshop's first minutes, unless a test sets its own moment.
DEFAULT_MOMENT = datetime.fromisoformat("2022-07-23T09:05:00-04:00")


@pytest.fixture
def error_log() -> Iterator[ErrorRecords]:
    handler = ErrorRecords()
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
    errors = [handler.format(r) for r in handler.records]
    assert not errors, f"errors were logged: {errors}"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(DEFAULT_MOMENT)


#: Discord's limits with 20x shorter windows, for tests that post a whole day in a second.
FAST_LIMITS = RateLimitConfig().scaled(0.05)


@pytest.fixture
def rate_limits() -> RateLimitConfig:
    """Discord's real limits (override with ``@pytest.mark.parametrize("rate_limits", ...)``)."""
    return RateLimitConfig()


@pytest.fixture
def bot_permissions() -> int:
    """The bot role's permissions (override with ``@pytest.mark.parametrize``)."""
    return BOT_PERMISSIONS


@pytest.fixture
def sim_now() -> Callable[[], datetime] | None:
    """The local Discord's "now", for refusing events in the past (None: the real time).

    Tests that make Discord events override it with their workshop clock's ``now``."""
    return None


@pytest.fixture
async def sim(
    error_log: ErrorRecords,
    rate_limits: RateLimitConfig,
    bot_permissions: int,
    sim_now: Callable[[], datetime] | None,
) -> AsyncIterator[DiscordSimulator]:
    """The local Discord."""
    simulator = DiscordSimulator(
        rate_limit_config=rate_limits, bot_permissions=bot_permissions, now=sim_now
    )
    async with simulator:
        error_log.sim = simulator
        yield simulator
        simulator.assert_clean()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        program_file=HAET_FILE,
        discord_token="sim-token",
    )


@pytest.fixture
async def local(
    settings: Settings, clock: ManualClock, sim: DiscordSimulator
) -> AsyncIterator[LocalDiscord]:
    """The bot connected to the local Discord."""
    async with LocalDiscord(settings, clock, simulator=sim) as stack:
        yield stack
        assert stack.bot_alive(), "the bot's task died"


@pytest.fixture
def visible_to_all(monkeypatch: pytest.MonkeyPatch) -> None:
    """An admin's per-command override: Discord shows the organizer commands to everyone.

    The simulator hides commands by ``default_member_permissions`` and does not model
    overrides, so its visibility check is what is replaced; the bot's own check remains.
    """
    from bot.simulator import users as sim_users

    monkeypatch.setattr(sim_users, "command_available", lambda *_args: True)
