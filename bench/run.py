"""The benchmark, in one command: ``make bench`` (``.venv/bin/python -m bench.run [--quick]``).

Generates the programs (HAET from data/haet2022.yaml, then synthetic ones of 1,000 and 10,000
entries), loads each into its own SQLite database under a temporary directory, and measures
through the local Discord and the real discord.py:

1. command and autocomplete latency, p50 and p99 (bench/latency.py);
2. how each p99 scales from HAET to 10,000 entries;
3. a fan-out of one keynote's reminders against Discord's real rate limits (bench/fanout.py);
4. restoring the timers in a new process, 100,000 pending reminders or none, beside the naive
   one-job-per-reminder design (bench/restore.py);
5. the bot process's memory (bench/botproc.py, bench/memory.py);
6. a 10,000-entry program file written, parsed, digested, loaded at start-up and reloaded,
   with the longest event-loop stall during the reload (bench/reload.py);
7. conference-sized schedules as a user handles them, each command its own process:
   ``workshop-bot import frab|ics``, ``validate``, ``load`` and an unchanged ``load`` again,
   wall time and peak RSS (bench/files.py).

It prints one table (every figure, its target, whether it is met) and writes the same to
bench/results.json. ``--quick`` is for development: fewer calls, a 1,000-user fan-out.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import operator
import platform
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import psutil

from bot.program.files import load_program
from bot.program.model import Program
from bot.settings import PROJECT_ROOT

from . import fanout, latency, memory
from . import files as schedule_files
from . import reload as program_file
from .programs import (
    DAY_HOURS,
    DAY_START,
    HAET_FILE,
    add_reminders,
    copy_sqlite,
    load_into,
    sqlite_url,
    synthetic_program,
)

RESULTS_JSON = Path(__file__).resolve().parent / "results.json"
PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"

#: Targets (see bench/RESULTS.md).
P99_LIMIT_MS = 25.0
SCALING_LIMIT = 3.0
FANOUT_FRACTION = 0.90
RESTORE_EXTRA_S = 2.0
PEAK_RSS_MB = 150.0
RSS_RATIO = 2.0
PENDING = 100_000
PARSE_LIMIT_S = 3.0
DIGEST_LIMIT_S = 1.0
STALL_LIMIT_S = 0.1
PER_USER = 10

log = logging.getLogger("bench")


# -- the report -----------------------------------------------------------------------------------


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    target: str | None  # e.g. "< 25 ms"; None for a figure shown for context
    met: bool | None


class Report:
    def __init__(self) -> None:
        self.figures: list[Figure] = []
        self.notes: list[str] = []

    def add(
        self,
        name: str,
        value: float,
        unit: str,
        target: str | None = None,
        check: Callable[[float], bool] | None = None,
    ) -> None:
        met = None if check is None else bool(check(value))
        self.figures.append(Figure(name, float(value), unit, target, met))

    def note(self, text: str) -> None:
        self.notes.append(text)

    def table(self) -> str:
        def shown(value: float, unit: str) -> str:
            if unit in ("count", "users", "entries", "timers"):
                return f"{value:,.0f}"
            if unit in ("×", "fraction"):
                return f"{value:.3f}"
            return f"{value:,.2f}"

        rows = [("figure", "value", "unit", "target", "met")]
        for f in self.figures:
            met = "" if f.met is None else ("yes" if f.met else "NO")
            rows.append((f.name, shown(f.value, f.unit), f.unit, f.target or "", met))
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        lines = []
        for n, row in enumerate(rows):
            cells = [
                row[0].ljust(widths[0]),
                row[1].rjust(widths[1]),
                row[2].ljust(widths[2]),
                row[3].ljust(widths[3]),
                row[4].ljust(widths[4]),
            ]
            lines.append("| " + " | ".join(cells) + " |")
            if n == 0:
                lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        return "\n".join(lines)

    def json(self) -> str:
        return json.dumps([asdict(f) for f in self.figures], indent=2, ensure_ascii=False) + "\n"


def _progress(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


@contextmanager
def _phase(name: str) -> Iterator[None]:
    _progress(f"{name}…")
    began = time.monotonic()
    try:
        yield
    finally:
        gc.collect()
        _progress(f"{name}: {time.monotonic() - began:.0f} s")


# -- programs -------------------------------------------------------------------------------------


@dataclass
class Subject:
    """A program under test and the database that holds it."""

    label: str
    program: Program
    database: Path
    day: tuple[datetime, datetime]

    @property
    def slug(self) -> str:
        return self.label.replace(",", "").lower()


async def _subjects(work: Path) -> list[Subject]:
    haet = load_program(HAET_FILE)
    zone = haet.workshop.zone
    first = min(e.start for e in haet.entries).astimezone(zone)
    last = max(e.end for e in haet.entries).astimezone(zone)
    synthetic_day = (DAY_START, DAY_START + timedelta(hours=DAY_HOURS))
    subjects = [Subject("HAET", haet, work / "program-haet.db", (first, last))]
    for size in (1_000, 10_000):
        program = synthetic_program(size)
        subjects.append(Subject(f"{size:,}", program, work / f"program-{size}.db", synthetic_day))
    for subject in subjects:
        began = time.monotonic()
        await load_into(
            sqlite_url(subject.database), subject.program, subject.day[0] - timedelta(days=7)
        )
        _progress(
            f"  {subject.label}: {len(subject.program.entries):,} entries loaded in "
            f"{time.monotonic() - began:.1f} s"
        )
    return subjects


# -- 1, 2: latency and scaling --------------------------------------------------------------------


async def bench_latency(
    report: Report, subjects: list[Subject], work: Path, calls: int, details: dict[str, Any]
) -> None:
    runs: dict[str, latency.LatencyRun] = {}
    for subject in subjects:
        database = copy_sqlite(subject.database, work / f"latency-{subject.slug}.db")
        run = await latency.measure(
            subject.label,
            subject.program,
            database,
            work,
            calls=calls,
            day=subject.day,
            validate=False,
        )
        runs[subject.label] = run
        details[f"latency {subject.label}"] = {
            name: s.summary() for name, s in run.series.items()
        } | {"errors": run.errors, "wall_s": run.wall_seconds}
        _progress(f"  {subject.label}: {calls} calls of each probe in {run.wall_seconds:.0f} s")
    biggest = subjects[-1].label
    for probe in (*latency.PROBES, latency.FLOOR):
        for subject in subjects:
            s = runs[subject.label].series[probe.name]
            report.add(f"p50 {probe.name} @ {subject.label}", s.p(50) * 1000, "ms")
            if subject.label == biggest and probe is not latency.FLOOR:
                report.add(
                    f"p99 {probe.name} @ {subject.label}",
                    s.p(99) * 1000,
                    "ms",
                    f"< {P99_LIMIT_MS:g} ms",
                    lambda v: v < P99_LIMIT_MS,
                )
            else:
                report.add(f"p99 {probe.name} @ {subject.label}", s.p(99) * 1000, "ms")
    for probe in latency.PROBES:
        first = runs[biggest].series[probe.name].first
        if first is not None:
            report.add(f"first {probe.name} after the start @ {biggest}", first * 1000, "ms")
    for probe in latency.PROBES:
        small = runs[subjects[0].label].series[probe.name].p(99)
        large = runs[biggest].series[probe.name].p(99)
        report.add(
            f"p99 ratio {probe.name}, {biggest} / HAET",
            large / small,
            "×",
            f"≤ {SCALING_LIMIT:g}×",
            lambda v: v <= SCALING_LIMIT,
        )
    for run in runs.values():
        for error in run.errors[:5]:
            report.note(f"latency {run.program}: {error}")


async def bench_validated(
    report: Report, subjects: list[Subject], work: Path, calls: int, details: dict[str, Any]
) -> None:
    """The same calls with the simulator validating every request against Discord's OpenAPI
    description: what the simulator's own checks add (real Discord does not run them on the
    bot's CPU)."""
    for subject in (subjects[0], subjects[-1]):
        database = copy_sqlite(subject.database, work / f"validated-{subject.slug}.db")
        run = await latency.measure(
            subject.label,
            subject.program,
            database,
            work,
            calls=calls,
            day=subject.day,
            validate=True,
        )
        details[f"latency {subject.label}, simulator validating"] = {
            name: s.summary() for name, s in run.series.items()
        }
        for probe in (*latency.PROBES, latency.FLOOR):
            report.add(
                f"p99 {probe.name} @ {subject.label}, simulator validating",
                run.series[probe.name].p(99) * 1000,
                "ms",
            )


# -- 3: fan-out -----------------------------------------------------------------------------------


async def bench_fanout(report: Report, work: Path, users: int, details: dict[str, Any]) -> None:
    run = await fanout.measure(work, users)
    limit = fanout.GLOBAL_LIMIT
    details["fan-out"] = {
        "users": users,
        "delivered": run.delivered,
        "rate_per_s": run.rate,
        "last_arrival_before_due_s": run.margin_seconds,
        "dm_channel_requests": run.dm_channel_requests,
        "message_requests": run.message_requests,
        "global_429": run.global_rate_limited,
        "engine": run.engine,
        "errors": run.errors[:10],
    }
    report.add(f"fan-out: reminders delivered of {users:,}", run.delivered, "count")
    report.add("fan-out: achieved rate", run.rate, "req/s")
    report.add(
        "fan-out: rate as a fraction of 50 req/s",
        run.rate / limit,
        "fraction",
        f"≥ {FANOUT_FRACTION:.2f}",
        lambda v: v >= FANOUT_FRACTION,
    )
    report.add("fan-out: 429 responses", run.rate_limited, "count", "= 0", lambda v: v == 0)
    report.add("fan-out: arrived after the due time", run.late, "count", "= 0", lambda v: v == 0)
    report.add("fan-out: arrived twice", run.duplicates, "count", "= 0", lambda v: v == 0)
    report.add("fan-out: last arrival before the due time", run.margin_seconds, "s")
    for error in run.errors[:5]:
        report.note(f"fan-out: {error}")


# -- 4: restore -----------------------------------------------------------------------------------


async def _restore_once(mode: str, database_url: str, now: datetime, work: Path) -> dict[str, Any]:
    spawned = time.time()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.restore",
        "--mode",
        mode,
        "--database",
        database_url,
        "--program-file",
        str(work / "not-there.yaml"),
        "--now",
        now.isoformat(),
        "--spawned",
        repr(spawned),
        cwd=PROJECT_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"bench.restore {mode} failed:\n{err.decode()[-2000:]}")
    return dict(json.loads(out.decode().strip().splitlines()[-1]))


async def _restore_series(
    mode: str, database_url: str, now: datetime, work: Path, repeats: int
) -> dict[str, Any]:
    """The median run (by time to armed) of ``repeats``, with every run's time."""
    runs = [await _restore_once(mode, database_url, now, work) for _ in range(repeats)]
    runs.sort(key=lambda r: r["seconds_to_armed"])
    median = dict(runs[len(runs) // 2])
    median["all_runs_s"] = [round(r["seconds_to_armed"], 3) for r in runs]
    return median


async def _restore_backend(
    report: Report,
    backend: str,
    none_url: str,
    pending_url: str,
    now: datetime,
    work: Path,
    repeats: int,
    details: dict[str, Any],
) -> None:
    none = await _restore_series("engine", none_url, now, work, repeats)
    pending = await _restore_series("engine", pending_url, now, work, repeats)
    naive = await _restore_series("naive", pending_url, now, work, max(1, repeats - 1))
    details[f"restore {backend}"] = {"none": none, "100k pending": pending, "naive 100k": naive}
    extra = pending["seconds_to_armed"] - none["seconds_to_armed"]
    naive_extra = naive["seconds_to_armed"] - none["seconds_to_armed"]
    report.add(f"restore ({backend}): 10,000 entries, none pending", none["seconds_to_armed"], "s")
    report.add(
        f"restore ({backend}): 10,000 entries, 100,000 pending", pending["seconds_to_armed"], "s"
    )
    report.add(
        f"restore ({backend}): extra for 100,000 pending",
        extra,
        "s",
        f"< {RESTORE_EXTRA_S:g} s",
        lambda v: v < RESTORE_EXTRA_S,
    )
    report.add(
        f"restore ({backend}): engine's first pass alone, 100,000 pending", pending["arm"], "s"
    )
    report.add(
        f"restore ({backend}): naive, one job per reminder, 100,000 pending",
        naive["seconds_to_armed"],
        "s",
    )
    report.add(f"restore ({backend}): naive, extra for 100,000 pending", naive_extra, "s")
    report.add(
        f"restore ({backend}): RSS added by arming, engine, 100,000 pending",
        pending["rss_armed_mb"] - pending["rss_services_mb"],
        "MB",
    )
    report.add(
        f"restore ({backend}): RSS added by arming, naive, 100,000 pending",
        naive["rss_armed_mb"] - naive["rss_services_mb"],
        "MB",
    )


async def _pg_available() -> bool:
    try:
        import asyncpg

        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
        await conn.close()
    except Exception:
        return False
    return True


@asynccontextmanager
async def _pg_database() -> Any:
    import asyncpg

    name = f"bench_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + (
            f"/{name}"
        )
    finally:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


async def bench_restore(
    report: Report,
    subject: Subject,
    work: Path,
    repeats: int,
    postgres: bool,
    details: dict[str, Any],
) -> Path:
    """Returns the SQLite database with 100,000 pending reminders (for the memory figures)."""
    now = subject.day[0] - timedelta(hours=2)  # before the first reminder is due
    none_db = copy_sqlite(subject.database, work / "restore-none.db")
    pending_db = copy_sqlite(subject.database, work / "restore-100k.db")
    added = await add_reminders(
        sqlite_url(pending_db),
        subject.program,
        count=PENDING,
        per_user=PER_USER,
        after=now - timedelta(days=1),
    )
    assert added.count == PENDING and added.first_due > now
    await _restore_backend(
        report,
        "SQLite",
        sqlite_url(none_db),
        sqlite_url(pending_db),
        now,
        work,
        repeats,
        details,
    )
    if postgres:
        _progress("  PostgreSQL…")
        async with _pg_database() as none_url, _pg_database() as pending_url:
            for url in (none_url, pending_url):
                await load_into(url, subject.program, now - timedelta(days=7))
            await add_reminders(
                pending_url,
                subject.program,
                count=PENDING,
                per_user=PER_USER,
                after=now - timedelta(days=1),
            )
            await _restore_backend(
                report, "PostgreSQL", none_url, pending_url, now, work, repeats, details
            )
    return pending_db


# -- 5: memory ------------------------------------------------------------------------------------


async def bench_memory(
    report: Report,
    subjects: list[Subject],
    pending_db: Path,
    work: Path,
    calls_each: int,
    details: dict[str, Any],
) -> None:
    haet, big = subjects[0], subjects[-1]
    runs = {}
    for slug, label, subject, source in (
        ("haet", "HAET, none pending", haet, haet.database),
        ("none", f"{big.label} entries, none pending", big, big.database),
        ("100k", f"{big.label} entries, 100,000 pending", big, pending_db),
    ):
        database = copy_sqlite(source, work / f"memory-{slug}.db")
        now = subject.day[0] - timedelta(hours=2)
        runs[label] = await memory.measure(
            slug,
            subject.program,
            sqlite_url(database),
            now,
            work,
            calls_each=calls_each,
        )
        details[f"memory {label}"] = runs[label]
        _progress(f"  {label}: peak {runs[label]['peak_rss_mb']:.0f} MB")
    small = runs["HAET, none pending"]
    none = runs[f"{big.label} entries, none pending"]
    pending = runs[f"{big.label} entries, 100,000 pending"]
    report.add("peak RSS: HAET, none pending", small["peak_rss_mb"], "MB")
    report.add(f"peak RSS: {big.label} entries, none pending", none["peak_rss_mb"], "MB")
    report.add(
        f"peak RSS: {big.label} entries, 100,000 pending",
        pending["peak_rss_mb"],
        "MB",
        f"< {PEAK_RSS_MB:g} MB",
        lambda v: v < PEAK_RSS_MB,
    )
    report.add(
        f"peak RSS ratio: {big.label} + 100,000 pending / HAET",
        pending["peak_rss_mb"] / small["peak_rss_mb"],
        "×",
        f"< {RSS_RATIO:g}×",
        lambda v: v < RSS_RATIO,
    )
    report.add(f"RSS at the end: {big.label} entries, 100,000 pending", pending["rss_mb"], "MB")
    for label, run in (("HAET", small), (f"{big.label} entries, 100,000 pending", pending)):
        report.add(f"objects the garbage collector tracks: {label}", run["gc_objects"], "count")
        report.add(f"one full garbage collection: {label}", run["gc_full_ms"], "ms")
        report.add(f"the next full garbage collection: {label}", run["gc_full_again_ms"], "ms")
        report.add(
            f"a full garbage collection, gc.freeze() after start-up: {label}",
            run["gc_full_frozen_ms"],
            "ms",
        )


# -- 6: the program file --------------------------------------------------------------------------


async def bench_program_file(
    report: Report, subject: Subject, work: Path, repeats: int, details: dict[str, Any]
) -> None:
    """The real path of a program file (no digest patched out): see bench/reload.py."""
    size = f"{len(subject.program.entries):,}"
    run = await program_file.measure(
        subject.program, work, subject.day[0] - timedelta(days=7), runs=repeats
    )
    details["program file"] = run
    report.add(f"program file: write {size} entries ({run['file_mb']:.1f} MB)", run["write_s"], "s")
    report.add(
        f"program file: parse {size} entries (load_program)",
        run["parse_s"],
        "s",
        f"< {PARSE_LIMIT_S:g} s",
        lambda v: v < PARSE_LIMIT_S,
    )
    report.add(
        f"program file: digest of {size} entries (program_digest)",
        run["digest_s"],
        "s",
        f"< {DIGEST_LIMIT_S:g} s",
        lambda v: v < DIGEST_LIMIT_S,
    )
    report.add(f"start-up with a {size}-entry program file (build_services)", run["startup_s"], "s")
    report.add(f"/program reload, {size} entries unchanged", run["reload_same_s"], "s")
    report.add(f"/program reload, {size} entries, 1 % moved", run["reload_moved_s"], "s")
    for label, key in (("unchanged", "reload_same_stall_s"), ("1 % moved", "reload_moved_stall_s")):
        report.add(
            f"longest event-loop stall during /program reload, {size} entries {label}",
            run[key] * 1000,
            "ms",
            f"< {STALL_LIMIT_S * 1000:g} ms",
            lambda v: v < STALL_LIMIT_S * 1000,
        )


# -- 7: schedule files through the CLI -------------------------------------------------------------


async def bench_files(report: Report, work: Path, repeats: int, details: dict[str, Any]) -> None:
    """``workshop-bot`` import, validate, load and load again, each its own process."""
    run = await asyncio.to_thread(schedule_files.run_steps, work / "files", repeats, _progress)
    details["schedule files"] = run
    time_limit, rss_limit = schedule_files.STEP_LIMIT_S, schedule_files.STEP_LIMIT_MB
    reload_limit = schedule_files.RELOAD_LIMIT_S
    sizes = {"frab": f"{run['entries frab']:,}", "ics": f"{run['entries ics']:,}"}
    steps = [
        ("import frab", f"import frab, {run['frab_events']:,} events ({run['frab_mb']:.0f} MB)"),
        ("import ics", f"import ics, {run['ics_events']:,} events ({run['ics_mb']:.0f} MB)"),
    ]
    for fmt in ("frab", "ics"):
        steps += [
            (f"validate {fmt}", f"validate, {sizes[fmt]} entries ({fmt})"),
            (f"load {fmt}", f"load into a new database, {sizes[fmt]} entries ({fmt})"),
            (f"reload {fmt}", f"load again, unchanged, {sizes[fmt]} entries ({fmt})"),
        ]
    for key, label in steps:
        limit = reload_limit if key.startswith("reload") else time_limit
        report.add(
            f"workshop-bot {label}: wall time",
            run[key]["seconds"],
            "s",
            f"< {limit:g} s",
            partial(operator.gt, limit),
        )
        report.add(f"workshop-bot {label}: CPU time (user + system)", run[key]["cpu_s"], "s")
        report.add(
            f"workshop-bot {label}: peak RSS",
            run[key]["peak_mb"],
            "MB",
            f"< {rss_limit:g} MB",
            lambda v: v < rss_limit,
        )


# -- main -----------------------------------------------------------------------------------------


async def bench(args: argparse.Namespace) -> tuple[Report, dict[str, Any]]:
    report = Report()
    details: dict[str, Any] = {}
    work = Path(args.workdir or tempfile.mkdtemp(prefix="workshop-bench-"))
    work.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (once, before anything runs)
    calls = args.calls or (60 if args.quick else 500)
    users = args.users or (1_000 if args.quick else 10_000)
    repeats = 1 if args.quick else 3
    postgres = args.postgres and await _pg_available()
    began = time.monotonic()
    try:
        wanted = set(args.only.split(",")) if args.only else None
        subjects: list[Subject] = []
        if wanted is None or wanted - {"files"}:
            with _phase("programs"):
                subjects = await _subjects(work)

        def run(name: str) -> bool:
            return wanted is None or name in wanted

        if run("latency"):
            with _phase(f"latency ({calls} calls of each probe per program)"):
                await bench_latency(report, subjects, work, calls, details)
            with _phase("latency with the simulator validating requests"):
                await bench_validated(report, subjects, work, max(calls // 2, 30), details)
        if run("fanout"):
            with _phase(f"fan-out to {users:,} users (real time)"):
                await bench_fanout(report, work, users, details)
        pending_db = None
        if run("restore") or run("memory"):
            with _phase("restore" + (" (SQLite and PostgreSQL)" if postgres else " (SQLite)")):
                pending_db = await bench_restore(
                    report, subjects[-1], work, repeats, postgres, details
                )
        if run("memory") and pending_db is not None:
            with _phase("memory"):
                await bench_memory(
                    report, subjects, pending_db, work, 3 if args.quick else 10, details
                )
        if run("program"):
            with _phase("program file: write, parse, digest, start-up and reload"):
                await bench_program_file(report, subjects[-1], work, repeats, details)
        if run("files"):
            with _phase("schedule files: import, validate, load, load again (CLI processes)"):
                await bench_files(report, work, repeats, details)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    details["run"] = {
        "wall_s": time.monotonic() - began,
        "quick": args.quick,
        "python": platform.python_version(),
        "cpus": psutil.cpu_count(),
        "machine": platform.platform(),
        "postgres": postgres,
    }
    return report, details


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="fewer calls, 1,000-user fan-out")
    parser.add_argument("--calls", type=int, help="calls of each probe per program (500)")
    parser.add_argument("--users", type=int, help="fan-out subscribers (10,000)")
    parser.add_argument(
        "--only",
        help="comma-separated phases: latency, fanout, restore, memory, program, files (all)",
    )
    parser.add_argument(
        "--no-postgres",
        dest="postgres",
        action="store_false",
        help="skip restore on PostgreSQL (run when 127.0.0.1:5432 answers)",
    )
    parser.add_argument("--workdir", help="keep databases and logs here (default: a temp dir)")
    parser.add_argument(
        "--json", default=str(RESULTS_JSON), help="where to write the figures (bench/results.json)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Expected on every start here: the bench serves what it loaded into the database.
    logging.getLogger("bot.app").setLevel(logging.ERROR)
    report, details = asyncio.run(bench(args))
    print(report.table())
    missed = [f.name for f in report.figures if f.met is False]
    met = [f.name for f in report.figures if f.met]
    print(f"\ntargets met: {len(met)} of {len(met) + len(missed)}")
    for name in missed:
        print(f"  missed: {name}")
    for note in report.notes:
        print(f"note: {note}")
    print("\ndetails:")
    print(json.dumps(details, indent=1, ensure_ascii=False, default=str))
    Path(args.json).write_text(report.json(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
