"""Profile one probe of the latency benchmark: where a command's time goes, bot and simulator.

``.venv/bin/python -m bench.profile "autocomplete /remind talk title" [--size 10000]`` runs that
probe's calls against a synthetic program under cProfile (the standard library's profiler:
it slows pure-Python code down about 2x, evenly enough to compare shares) and prints the
functions that took the most time, by their own time and with what they called.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import logging
import pstats
import tempfile
from datetime import timedelta
from pathlib import Path

from . import latency
from .programs import DAY_HOURS, DAY_START, load_into, sqlite_url, synthetic_program


async def profile(probe_name: str, size: int, calls: int, top: int) -> str:
    probes = {p.name: p for p in (*latency.PROBES, latency.FLOOR)}
    probe = probes[probe_name]
    program = synthetic_program(size)
    day = (DAY_START, DAY_START + timedelta(hours=DAY_HOURS))
    with tempfile.TemporaryDirectory(prefix="workshop-profile-") as tmp:
        work = Path(tmp)
        database = work / "program.db"
        await load_into(sqlite_url(database), program, day[0] - timedelta(days=7))
        profiler = cProfile.Profile()
        profiler.enable()
        run = await latency.measure(
            probe.name, program, database, work, calls=calls, day=day, probes=(probe,)
        )
        profiler.disable()
    summary = run.series[probe.name].summary()
    out = io.StringIO()
    print(
        f"{probe.name} @ {size:,} entries, {calls} calls under cProfile: "
        f"p50 {summary['p50_ms']:.2f} ms, p99 {summary['p99_ms']:.2f} ms",
        file=out,
    )
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("probe", help="e.g. '/search' or 'autocomplete /remind talk title'")
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    print(asyncio.run(profile(args.probe, args.size, args.calls, args.top)))


if __name__ == "__main__":
    main()
