"""The services behind each command, timed in process: what the bot itself spends per call.

``.venv/bin/python -m bench.core [--calls N]`` builds the search index and schedule of HAET and
of the 10,000-entry program, then times the service calls each latency probe makes, with the
benchmark's own varied queries, and prints p50, p99 and the maximum per call. No Discord, no
event loop: the figures are the part of a command's latency that the program's size can
change, without the harness's noise (see RESULTS.md, "Where the time goes now").
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.program.files import load_program
from bot.program.model import Program
from bot.services.program import snapshot_from_program
from bot.services.schedule import ScheduleService
from bot.services.search import SearchIndex
from bot.ui.cards import now_embed
from cogs.search import HITS_PER_PAGE, SEARCH_RESULTS

from .latency import percentile
from .programs import DAY_HOURS, DAY_START, Queries, synthetic_program

HAET_FILE = Path(__file__).resolve().parent.parent / "data" / "haet2022.yaml"


def _day(program: Program) -> tuple[datetime, datetime]:
    return min(e.start for e in program.entries), max(e.end for e in program.entries)


def time_program(
    program: Program, day: tuple[datetime, datetime], calls: int
) -> dict[str, list[float]]:
    """Milliseconds per call of each service call, over ``calls`` varied queries."""
    snapshot = snapshot_from_program(program)
    index = SearchIndex(snapshot)
    schedule = ScheduleService(lambda: snapshot)
    q = Queries(program)
    workshop = snapshot.workshop

    def title_and_moment() -> tuple[str, datetime]:
        return q.title_prefix(), q.moment(*day)

    # name: (make one query, answer it), the latter as the command's handler calls it.
    probes: dict[str, tuple[Callable[[], Any], Callable[[Any], object]]] = {
        # /search asks for 50 hits and shows the first page of them.
        "search (/search, first page of 50)": (
            q.search_query,
            lambda s: index.search(s, SEARCH_RESULTS)[:HITS_PER_PAGE],
        ),
        "complete_title (/schedule talk)": (q.title_prefix, index.complete_title),
        "complete_title, still to come (/remind talk)": (
            title_and_moment,
            lambda st: index.complete_title(st[0], starts_after=st[1]),
        ),
        "person (/author)": (q.author_option, index.person),
        "complete_person (/author)": (q.name_prefix, index.complete_person),
        "search, 1 hit (/schedule talk)": (q.talk_option, lambda s: index.search(s, 1)),
        "now + its embed (/schedule now)": (
            lambda: q.moment(*day),
            lambda t: now_embed(schedule.now(t), workshop),
        ),
    }
    queries = {name: [make() for _ in range(calls)] for name, (make, _) in probes.items()}
    schedule.now(day[0])  # the plan is built at start-up in the bot
    gc.collect()
    gc.freeze()  # as the bot does after start-up
    timings: dict[str, list[float]] = {}
    for name, (_, answer) in probes.items():
        spent = []
        for query in queries[name]:
            began = time.perf_counter()
            answer(query)
            spent.append((time.perf_counter() - began) * 1000)
        timings[name] = spent
    gc.unfreeze()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    haet = load_program(HAET_FILE)
    big = synthetic_program(10_000)
    runs = {
        "HAET": time_program(haet, _day(haet), args.calls),
        "10,000": time_program(
            big, (DAY_START, DAY_START + timedelta(hours=DAY_HOURS)), args.calls
        ),
    }
    print(f"{args.calls} calls each, ms per call")
    print("| call | HAET p50 | HAET p99 | 10,000 p50 | 10,000 p99 | 10,000 max |")
    print("|---|---|---|---|---|---|")
    for name in runs["HAET"]:
        small, large = runs["HAET"][name], runs["10,000"][name]
        print(
            f"| {name} | {percentile(small, 50):.3f} | {percentile(small, 99):.3f} "
            f"| {percentile(large, 50):.3f} | {percentile(large, 99):.3f} | {max(large):.2f} |"
        )


if __name__ == "__main__":
    main()
