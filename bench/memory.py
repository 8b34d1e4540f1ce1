"""Memory of the bot process: a real subprocess (bench/botproc.py) against a local Discord here."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.program.model import Program
from bot.settings import PROJECT_ROOT
from bot.simulator import DiscordSimulator

from .latency import PROBES, call
from .programs import Queries


async def _line(stream: asyncio.StreamReader, timeout: float) -> dict[str, Any]:
    raw = await asyncio.wait_for(stream.readline(), timeout)
    if not raw:
        raise RuntimeError("the bot process ended without answering (see its log)")
    return dict(json.loads(raw))


async def measure(
    label: str,
    program: Program,
    database_url: str,
    now: datetime,
    workdir: Path,
    *,
    calls_each: int = 10,
) -> dict[str, Any]:
    """Start the bot in its own process, serve ``calls_each`` of every probed command and
    autocomplete, then read its resident and peak memory (and its garbage collector's costs,
    before and after ``gc.freeze()``: see bench/botproc.py)."""
    log_path = workdir / f"botproc-{label}.log"
    async with DiscordSimulator(validate=False) as sim:
        with log_path.open("wb") as log:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.botproc",
                "--database",
                database_url,
                "--program-file",
                str(workdir / "not-there.yaml"),
                "--now",
                now.isoformat(),
                "--api-base",
                sim.api_base,
                "--gateway-url",
                sim.gateway_url,
                "--guild-id",
                str(sim.guild_id),
                "--token",
                sim.token,
                cwd=PROJECT_ROOT,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
            )
            assert proc.stdin is not None and proc.stdout is not None
            try:
                ready = await _line(proc.stdout, 180)
                user = sim.add_user("Bench Attendee")
                queries = Queries(program)
                for _ in range(calls_each):
                    for probe in PROBES:
                        await call(sim, user, probe, probe.query(queries))
                proc.stdin.write(b"report\n")
                await proc.stdin.drain()
                report = await _line(proc.stdout, 60)
                queries = Queries(program)
                for _ in range(calls_each):
                    for probe in PROBES:
                        await call(sim, user, probe, probe.query(queries))
                proc.stdin.write(b"gc\n")
                await proc.stdin.drain()
                report.update(await _line(proc.stdout, 60))
                await asyncio.wait_for(proc.wait(), 30)
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
    return {"label": label, "ready_rss_mb": ready["rss_mb"], **report}
