"""Command and autocomplete latency of the real bot (real discord.py) against the local Discord.

Latency is the simulator's own figure (``InteractionResult.latency``): from the moment it sends
INTERACTION_CREATE on the gateway to the moment it receives the bot's interaction callback.
Calls go one at a time, so it is the time to serve one user, not a queue's.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.clock import ManualClock
from bot.local import LocalDiscord
from bot.program.model import Program
from bot.settings import Settings
from bot.simulator import DiscordSimulator, SimUser
from bot.simulator.users import build_command_data
from bot.tree import APOLOGY

from .programs import Queries, sqlite_url

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Probe:
    """One kind of call: a command, or typing into one of its autocomplete options."""

    name: str
    command: str
    option: str | None  # the option the query goes to
    autocomplete: bool
    query: Callable[[Queries], str]


PROBES: tuple[Probe, ...] = (
    Probe("/schedule now", "schedule now", None, False, lambda q: ""),
    Probe("/schedule talk", "schedule talk", "title", False, Queries.talk_option),
    Probe("/author", "author", "name", False, Queries.author_option),
    Probe("/search", "search", "query", False, Queries.search_query),
    Probe(
        "autocomplete /schedule talk title", "schedule talk", "title", True, Queries.title_prefix
    ),
    Probe("autocomplete /author name", "author", "name", True, Queries.name_prefix),
    Probe("autocomplete /remind talk title", "remind talk", "title", True, Queries.title_prefix),
)
#: The harness's floor: a command that does nothing but build one small embed.
FLOOR = Probe("/about (harness floor)", "about", None, False, lambda q: "")


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (0-100), linearly interpolated between closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class Series:
    """Latencies of one probe, in seconds."""

    latencies: list[float] = field(default_factory=list)
    first: float | None = None  # the first call after the bot started (in the warm-up)
    completions: list[float] = field(default_factory=list)
    apologies: int = 0
    empty: int = 0  # autocomplete with no choice, or a command answered "nothing matches"

    def p(self, q: float) -> float:
        return percentile(self.latencies, q)

    def summary(self) -> dict[str, float | int]:
        return {
            "calls": len(self.latencies),
            "p50_ms": self.p(50) * 1000,
            "p99_ms": self.p(99) * 1000,
            "max_ms": max(self.latencies) * 1000,
            "first_call_ms": (self.first or 0.0) * 1000,
            "mean_ms": statistics.fmean(self.latencies) * 1000,
            "completion_p99_ms": percentile(self.completions, 99) * 1000,
            "empty": self.empty,
            "apologies": self.apologies,
        }


@dataclass
class LatencyRun:
    program: str
    entries: int
    series: dict[str, Series]
    errors: list[str]
    wall_seconds: float


async def call(sim: DiscordSimulator, user: SimUser, probe: Probe, text: str) -> tuple[Any, bool]:
    """One interaction through the simulator; (result, answered with something useful)."""
    channel = sim.channel("general")
    values = {} if probe.option is None else {probe.option: text}
    data = build_command_data(
        sim.state,
        user,
        probe.command,
        values,
        channel=channel,
        focused=probe.option if probe.autocomplete else None,
    )
    result = await sim.interact(user, 4 if probe.autocomplete else 2, channel, data)
    if probe.autocomplete:
        return result, bool(result.choices)
    return result, bool(result.embeds)


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(f"{record.name}: {record.getMessage()}")


async def measure(
    label: str,
    program: Program,
    database: Path,
    workdir: Path,
    *,
    calls: int,
    day: tuple[datetime, datetime],
    validate: bool = False,
    warmup: int = 20,
    probes: tuple[Probe, ...] = (*PROBES, FLOOR),
) -> LatencyRun:
    """``calls`` calls of every probe, interleaved, against the program in ``database``.

    ``validate`` turns on the simulator's OpenAPI validation of every request: it runs in this
    process before the simulator records the callback, so it adds its own 2-5 ms to each figure
    (real Discord does not spend the bot's CPU on it). Off for the benchmark's main figures.
    """
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=sqlite_url(database),
        program_file=workdir / "not-there.yaml",
        discord_token="sim-token",  # type: ignore[arg-type]
    )
    start, end = day
    queries = Queries(program)
    clock = ManualClock(queries.moment(start, end))
    errors = _Errors()
    logging.getLogger().addHandler(errors)
    series = {p.name: Series() for p in probes}
    began = time.monotonic()
    try:
        sim = DiscordSimulator(validate=validate, now=clock.now)
        async with sim, LocalDiscord(settings, clock, simulator=sim) as local:
            assert local.services is not None and local.services.engine is not None
            engine = local.services.engine
            user = sim.add_user("Bench Attendee")
            await sim.gateway.drain()
            for _ in range(warmup):
                for probe in probes:
                    result, _ = await call(sim, user, probe, probe.query(queries))
                    if series[probe.name].first is None:
                        series[probe.name].first = result.latency
            gc.collect()
            for _ in range(calls):
                for probe in probes:
                    text = probe.query(queries)
                    if probe.command == "schedule now":
                        # "Now" moves through the day; the engine's pass that the jump starts
                        # is let finish first, so it does not run inside the measured call.
                        clock.set(queries.moment(start, end))
                        await engine.wait_idle(30)
                    result, useful = await call(sim, user, probe, text)
                    s = series[probe.name]
                    s.latencies.append(result.latency)
                    s.completions.append(result.completion_latency or result.latency)
                    if not useful:
                        s.empty += 1
                    if APOLOGY in (result.content or ""):
                        s.apologies += 1
            await asyncio.sleep(0)
            errors.records.extend(f"simulator: {p}" for p in sim.problems)
            errors.records.extend(f"violation: {v}" for v in sim.violations)
    finally:
        logging.getLogger().removeHandler(errors)
    return LatencyRun(label, len(program.entries), series, errors.records, time.monotonic() - began)
