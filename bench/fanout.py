"""Fan-out: many users subscribed to one keynote, against Discord's real rate limits.

The bot runs on a rehearsal clock at real speed that starts a few minutes before the reminders
are due; the users subscribed "earlier": their DM channels are cached and their subscriptions
are in the database (inserted in bulk) before the bot starts. Arrival times are read on the
workshop clock, from the simulator's own event stream, as each DM is created.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.clock import RehearsalClock
from bot.local import LocalDiscord
from bot.program.files import load_program
from bot.settings import Settings
from bot.simulator import DiscordSimulator, RateLimitConfig

from .programs import HAET_FILE, insert_rows, load_into, sqlite_url

log = logging.getLogger(__name__)

KEYNOTE = "keynote-melika-payvand"
LEAD_MINUTES = 10
GLOBAL_LIMIT = 50.0  # requests per second per bot (RateLimitConfig().global_limit)
#: Real seconds between the bot's start and the moment its burst must begin.
START_MARGIN = 15.0


@dataclass
class FanoutRun:
    users: int
    due: datetime
    arrivals: dict[int, list[datetime]]
    first_real: float
    last_real: float
    rate_limited: int
    global_rate_limited: int
    dm_channel_requests: int
    message_requests: int
    engine: dict[str, Any]
    errors: list[str] = field(default_factory=list)

    @property
    def delivered(self) -> int:
        return len(self.arrivals)

    @property
    def duplicates(self) -> int:
        return sum(len(times) - 1 for times in self.arrivals.values() if len(times) > 1)

    @property
    def late(self) -> int:
        return sum(1 for times in self.arrivals.values() for t in times if t > self.due)

    @property
    def rate(self) -> float:
        """Reminders per real second, first arrival to last."""
        span = self.last_real - self.first_real
        total = sum(len(v) for v in self.arrivals.values())
        return (total - 1) / span if span > 0 else float("nan")

    @property
    def margin_seconds(self) -> float:
        """How long before the due time the last reminder arrived (negative: after)."""
        last = max(t for times in self.arrivals.values() for t in times)
        return (self.due - last).total_seconds()


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(f"{record.name}: {record.getMessage()}")


async def measure(workdir: Path, users: int) -> FanoutRun:
    program = load_program(HAET_FILE)
    keynote = program.by_id()[KEYNOTE]
    due = (keynote.start - timedelta(minutes=LEAD_MINUTES)).astimezone(UTC)
    database = workdir / "fanout.db"
    url = sqlite_url(database)
    await load_into(url, program, due - timedelta(days=7))
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=url,
        program_file=workdir / "not-there.yaml",
        discord_token="sim-token",  # type: ignore[arg-type]
    )
    clock_box: list[RehearsalClock] = []
    sim = DiscordSimulator(
        rate_limit_config=RateLimitConfig(),  # Discord's real limits: 50/s global, per route
        now=lambda: clock_box[0].now() if clock_box else datetime.now(UTC),
    )
    errors = _Errors()
    logging.getLogger().addHandler(errors)
    try:
        async with sim:
            fans = [sim.add_user(f"fan{i}") for i in range(users)]
            # They subscribed earlier in the week, when the bot's confirmation DM opened their
            # DM channels: each reminder is one request.
            channels = [{"user_id": f.id, "channel_id": f.dm_channel.id} for f in fans]
            subscribed_at = due - timedelta(days=2)
            subscriptions = [
                {
                    "user_id": f.id,
                    "guild_id": sim.guild_id,
                    "entry_id": KEYNOTE,
                    "minutes_before": LEAD_MINUTES,
                    "due_at": due,
                    "state": "active",
                    "created_at": subscribed_at,
                }
                for f in fans
            ]
            await insert_rows(url, subscriptions, channels)
            dm_channels = {c["channel_id"] for c in channels}

            # The burst takes users / rate seconds (+2 s of the engine's own margin) and ends at
            # the due time: start the clock that long before it, plus time for the bot to start.
            lead = users / settings.delivery_rate + 2 + START_MARGIN
            clock = RehearsalClock(due - timedelta(seconds=lead), speed=1.0)
            clock_box.append(clock)
            arrivals: dict[int, list[datetime]] = {}
            real: list[float] = []

            def on_event(event: str, data: dict[str, Any]) -> None:
                if event != "MESSAGE_CREATE" or not str(data.get("content", "")).startswith("⏰"):
                    return
                channel_id = int(data["channel_id"])
                if channel_id in dm_channels:
                    arrivals.setdefault(channel_id, []).append(clock.now())
                    real.append(time.monotonic())

            # Before the simulator's own listener, which wakes waiters.
            sim.state.listeners.insert(0, on_event)
            # Everything the bot sends from its start on counts, command sync included.
            before = Counter(sim.stats.requests)
            limited = sim.stats.rate_limited
            limited_global = sim.stats.global_rate_limited
            async with LocalDiscord(settings, clock, simulator=sim) as local:
                assert local.services is not None and local.services.engine is not None
                log.info(
                    "fan-out: %d users, bot ready %.1f s before the burst",
                    users,
                    (clock.real_delay(due) - users / settings.delivery_rate),
                )
                await sim.wait_until(
                    lambda: len(real) >= users,
                    clock.real_delay(due) + 120,
                    f"{users} reminders",
                )
                stats = local.services.engine.stats
                # The engine records each send after Discord's answer; and anything sent twice
                # would follow within moments: give both a little time.
                for _ in range(300):
                    if stats.sent + stats.failed >= users:
                        break
                    await asyncio.sleep(0.1)
                await asyncio.sleep(3)
                after = Counter(sim.stats.requests)
                engine = {
                    "sent": stats.sent,
                    "late": stats.late,
                    "retried": stats.retried,
                    "failed": stats.failed,
                    "skipped": stats.skipped,
                }
            errors.records.extend(f"simulator: {p}" for p in sim.problems)
            errors.records.extend(f"violation: {v}" for v in sim.violations)
    finally:
        logging.getLogger().removeHandler(errors)
    return FanoutRun(
        users=users,
        due=due,
        arrivals=arrivals,
        first_real=min(real),
        last_real=max(real),
        rate_limited=sim.stats.rate_limited - limited,
        global_rate_limited=sim.stats.global_rate_limited - limited_global,
        dm_channel_requests=after["POST /users/@me/channels"] - before["POST /users/@me/channels"],
        message_requests=after["POST /channels/{channel_id}/messages"]
        - before["POST /channels/{channel_id}/messages"],
        engine=engine,
        errors=errors.records,
    )
