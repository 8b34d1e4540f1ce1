"""A 10,000-entry program file read as the bot reads it: at start-up and on `/program reload`.

Nothing is patched out: the file is written with the importers' own ``write_program``, parsed
with ``load_program`` and loaded with the bot's own start-up (``build_services``) and reload
(``ProgramReloader.reload``) into a fresh SQLite database. Besides the wall times, a ticker
task measures how long the event loop is held during the reload: the gateway's heartbeats and
every interaction wait that long, and Discord gives an interaction 3 s.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.app import build_services
from bot.clock import ManualClock
from bot.delivery.engine import DeliveryEngine
from bot.program.files import load_program, program_digest, write_program
from bot.program.model import Program
from bot.reloading import ProgramReloader
from bot.settings import Settings

from .programs import sqlite_url
from .restore import NoOutbox

#: How often the ticker looks at the loop; a stall is the time beyond this between two ticks.
TICK_S = 0.005


@dataclass
class Stalls:
    """The event loop's longest wait, measured by a task that wakes every ``TICK_S``."""

    longest: float = 0.0
    over_100ms: int = 0
    gaps: list[float] = field(default_factory=list)

    async def watch(self, stop: asyncio.Event) -> None:
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(TICK_S)
            now = time.perf_counter()
            gap = max(0.0, now - last - TICK_S)
            self.gaps.append(gap)
            self.longest = max(self.longest, gap)
            self.over_100ms += gap > 0.1
            last = now


async def while_watched(work: Callable[[], Awaitable[Any]]) -> tuple[float, Stalls]:
    """Run ``work`` with the ticker on; its wall time and the loop's stalls meanwhile."""
    stalls = Stalls()
    stop = asyncio.Event()
    ticker = asyncio.create_task(stalls.watch(stop))
    await asyncio.sleep(TICK_S * 2)  # the ticker is running before the work starts
    began = time.perf_counter()
    try:
        await work()
    finally:
        spent = time.perf_counter() - began
        stop.set()
        await ticker
    return spent, stalls


def moved(program: Program, every: int = 100) -> Program:
    """The same program with every ``every``-th entry 30 minutes later (a real edit)."""
    entries = tuple(
        e.model_copy(
            update={"start": e.start + timedelta(minutes=30), "end": e.end + timedelta(minutes=30)}
        )
        if i % every == 0 and e.session is None
        else e
        for i, e in enumerate(program.entries)
    )
    return program.model_copy(update={"entries": entries})


def _median(runs: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    spent = []
    result = None
    for _ in range(runs):
        began = time.perf_counter()
        result = fn()
        spent.append(time.perf_counter() - began)
    return statistics.median(spent), result


async def measure(program: Program, work: Path, now: datetime, runs: int = 3) -> dict[str, Any]:
    """Seconds for each step of reading ``program`` from a file; see the module docstring."""
    path = work / f"program-{len(program.entries)}.yaml"
    out: dict[str, Any] = {"entries": len(program.entries)}
    out["write_s"], _ = _median(1, lambda: write_program(program, path))
    out["file_mb"] = path.stat().st_size / 1e6
    out["parse_s"], parsed = _median(runs, lambda: load_program(path))
    # The file keeps whole seconds; the synthetic program's poster sessions start mid-second.
    assert [e.id for e in parsed.entries] == [e.id for e in program.entries]
    out["digest_s"], _ = _median(runs, lambda: program_digest(parsed))

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=sqlite_url(work / f"reload-{len(program.entries)}.db"),
        program_file=path,
        discord_token="unused",  # type: ignore[arg-type]
        log_level="WARNING",
    )
    clock = ManualClock(now)
    began = time.perf_counter()
    services = await build_services(settings, clock)
    out["startup_s"] = time.perf_counter() - began
    try:
        engine = DeliveryEngine(
            services.sessions,
            services.clock,
            services.program,
            services.targets,
            NoOutbox(),
            services.schedule,
            rate=settings.delivery_rate,
            lease_seconds=settings.claim_lease_seconds,
        )
        reloader = ProgramReloader(
            services.sessions,
            clock,
            services.program,
            services.reminders,
            services.search,
            engine,
        )
        # Unchanged, then with 1 % of the entries moved.
        out["reload_same_s"], same = await while_watched(lambda: reloader.reload(path))
        out["reload_same_stall_s"] = same.longest
        write_program(moved(program), path)
        out["reload_moved_s"], edit = await while_watched(lambda: reloader.reload(path))
        out["reload_moved_stall_s"] = edit.longest
        out["reload_moved_stalls_over_100ms"] = edit.over_100ms
    finally:
        await services.close()
    return out
