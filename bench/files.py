"""A conference-sized program file as a user handles it: import, validate, load, load again.

Each step is the ``workshop-bot`` command a user types, run as its own process, and timed by a
small measuring process of its own (``python -m bench.files --measure CMD...``): the wall time
from spawning the command to its exit, and its peak RSS from ``os.wait4``. A fresh measuring
parent per command matters: Linux carries a parent's ``ru_maxrss`` over into a forked child
across ``exec``, so a child of the big bench process would report the bench's own size.

The inputs are built from real exports in ``tests/fixtures/corpora`` and are the same bytes
on every run:

- frab: the 36C3 export (``frab-36c3-everything``, 1,351 events in 92 rooms over 4 days)
  repeated in copies of its rooms ("Borg", "Borg · 2", ...), each copy with new guids and ids,
  cut at 10,458 events: a conference of 8 times 36C3's rooms.
- iCalendar: PyCon US 2025 (``pyconus2025-all_events.ics``, 224 events) repeated 45 times,
  each copy in its own wing ("Wing 2 · Room 301") with new UIDs: 10,080 events.

Each command is run ``repeats`` times and the median is reported (the load of a file into a
fresh database each time, the unchanged re-load into the database that load filled).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Not bot.settings: the measuring process imports this module and must stay small.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
CORPORA = PROJECT_ROOT / "tests" / "fixtures" / "corpora"
FRAB_SOURCE = CORPORA / "frab-36c3-everything.schedule.json"
ICS_SOURCE = CORPORA / "pyconus2025-all_events.ics"
FRAB_EVENTS = 10_458
ICS_COPIES = 45

#: Targets (issue 14): every step of a 10,000-entry program under 3 s and 250 MB; a re-load
#: that changes nothing under 2 s.
STEP_LIMIT_S = 3.0
STEP_LIMIT_MB = 250.0
RELOAD_LIMIT_S = 2.0

_NAMESPACE = uuid.UUID("6f1c3d0e-2b7a-4c55-9a0e-5c1d2e3f4a5b")


# -- the inputs -----------------------------------------------------------------------------------


def _copy_name(name: str, copy: int) -> str:
    return name if copy == 0 else f"{name} · {copy + 1}"


def build_frab(path: Path, events: int = FRAB_EVENTS) -> int:
    """Write a frab export of ``events`` events made of copies of 36C3's rooms; their count."""
    data = json.loads(FRAB_SOURCE.read_text(encoding="utf-8"))
    conference = data["schedule"]["conference"]
    originals = [
        [(room, list(evs)) for room, evs in day["rooms"].items()] for day in conference["days"]
    ]
    for day in conference["days"]:
        day["rooms"] = {}
    written = 0
    copy = 0
    while written < events:
        for day, rooms in zip(conference["days"], originals, strict=True):
            for room, evs in rooms:
                name = _copy_name(room, copy)
                kept = []
                for event in evs:
                    if written >= events:
                        break
                    kept.append(_frab_copy(event, name, copy))
                    written += 1
                if kept:
                    day["rooms"][name] = kept
        copy += 1
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return written


def _frab_copy(event: dict[str, Any], room: str, copy: int) -> dict[str, Any]:
    out = dict(event)
    out["room"] = room
    if copy:
        if isinstance(event.get("guid"), str):
            out["guid"] = str(uuid.uuid5(_NAMESPACE, f"{event['guid']}/{copy}"))
        if isinstance(event.get("id"), int):
            out["id"] = event["id"] + 1_000_000 * copy
        elif isinstance(event.get("id"), str):
            out["id"] = f"{event['id']}-{copy}"
    return out


def build_ics(path: Path, copies: int = ICS_COPIES) -> int:
    """Write an iCalendar of ``copies`` copies of PyCon US 2025, each in its own wing; its
    event count."""
    text = ICS_SOURCE.read_text(encoding="utf-8").replace("\r\n", "\n")
    head, _, rest = text.partition("BEGIN:VEVENT\n")
    body, _, tail = ("BEGIN:VEVENT\n" + rest).rpartition("END:VEVENT\n")
    blocks = [b + "END:VEVENT\n" for b in (body + "END:VEVENT\n").split("END:VEVENT\n") if b]
    out = [head]
    for copy in range(copies):
        for block in blocks:
            out.append(_ics_copy(block, copy) if copy else block)
    out.append(tail)
    path.write_text("".join(out).replace("\n", "\r\n"), encoding="utf-8")
    return copies * len(blocks)


def _ics_copy(block: str, copy: int) -> str:
    lines = []
    for line in block.split("\n"):
        if line.startswith("UID:"):
            line = f"UID:{uuid.uuid5(_NAMESPACE, f'{line[4:]}/{copy}')}"
        elif line.startswith("LOCATION:"):
            line = f"LOCATION:Wing {copy + 1} · {line[9:]}"
        lines.append(line)
    return "\n".join(lines)


# -- measuring one command ------------------------------------------------------------------------


@dataclass
class Run:
    seconds: float
    peak_mb: float
    cpu_s: float
    returncode: int
    stdout: str
    stderr: str


def _measure_here(command: list[str]) -> dict[str, Any]:
    """In the measuring process: run ``command``, wait for it with ``os.wait4``."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        began = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        spent = time.perf_counter() - began
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {
            "seconds": spent,
            "peak_mb": usage.ru_maxrss / 1024,  # kB on Linux
            # CPU time, user and system: what a busy shared machine inflates least.
            "cpu_s": usage.ru_utime + usage.ru_stime,
            "returncode": proc.returncode,
            "stdout": out.read().decode(errors="replace")[-2000:],
            "stderr": err.read().decode(errors="replace")[-2000:],
        }


def measure(args: list[str], env: dict[str, str]) -> Run:
    """``workshop-bot ARGS`` in a fresh measuring process; its wall time and peak RSS."""
    command = [sys.executable, "-m", "bot", *args]  # the `workshop-bot` script
    spawned = subprocess.run(
        [sys.executable, "-m", "bench.files", "--measure", "--", *command],
        env=env,
        cwd=str(PROJECT_ROOT),
        capture_output=True,
        check=True,
        text=True,
    )
    result = json.loads(spawned.stdout.strip().splitlines()[-1])
    if result["returncode"] != 0:
        raise RuntimeError(
            f"workshop-bot {' '.join(args)} exited {result['returncode']}:\n{result['stderr']}"
        )
    return Run(**result)


def _env(database: Path | None = None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k.upper() not in {"DATABASE_URL", "PROGRAM_FILE", "DISCORD_TOKEN"}
    }
    env["PYTHONPATH"] = os.pathsep.join(
        [str(PROJECT_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    env["LOG_LEVEL"] = "WARNING"
    if database is not None:
        env["DATABASE_URL"] = f"sqlite+aiosqlite:///{database}"
    return env


def _median(runs: list[Run]) -> dict[str, Any]:
    return {
        "seconds": statistics.median(r.seconds for r in runs),
        "peak_mb": statistics.median(r.peak_mb for r in runs),
        "cpu_s": statistics.median(r.cpu_s for r in runs),
        "all_s": [round(r.seconds, 3) for r in runs],
        "all_mb": [round(r.peak_mb, 1) for r in runs],
        "stdout": runs[-1].stdout.strip().splitlines()[:3],
    }


# -- the steps ------------------------------------------------------------------------------------


def run_steps(work: Path, repeats: int = 3, progress: Any = None) -> dict[str, Any]:
    """Every step's median wall time and peak RSS; see the module docstring."""
    say = progress or (lambda text: None)
    work.mkdir(parents=True, exist_ok=True)
    frab_in, ics_in = work / "36c3x8.schedule.json", work / "pycon2025x45.ics"
    out: dict[str, Any] = {
        "frab_events": build_frab(frab_in),
        "ics_events": build_ics(ics_in),
        "frab_mb": frab_in.stat().st_size / 1e6,
        "ics_mb": ics_in.stat().st_size / 1e6,
    }
    env = _env()
    programs = {"frab": work / "frab.yaml", "ics": work / "ics.yaml"}
    sources = {"frab": frab_in, "ics": ics_in}
    for fmt in ("frab", "ics"):
        runs = [
            measure(["import", fmt, str(sources[fmt]), "-o", str(programs[fmt])], env)
            for _ in range(repeats)
        ]
        out[f"import {fmt}"] = _median(runs)
        say(_line(f"import {fmt}", out[f"import {fmt}"]))
    for fmt in ("frab", "ics"):
        program = programs[fmt]
        out[f"entries {fmt}"] = _entries(program)
        runs = [measure(["validate", str(program)], env) for _ in range(repeats)]
        out[f"validate {fmt}"] = _median(runs)
        loads, reloads = [], []
        for n in range(repeats):
            database = work / f"load-{fmt}-{n}.db"
            database.unlink(missing_ok=True)
            loads.append(measure(["load", str(program)], _env(database)))
            reloads.append(measure(["load", str(program)], _env(database)))
        out[f"load {fmt}"] = _median(loads)
        out[f"reload {fmt}"] = _median(reloads)
        for step in ("validate", "load", "reload"):
            say(_line(f"{step} {fmt}", out[f"{step} {fmt}"]))
    return out


def _line(step: str, run: dict[str, Any]) -> str:
    return (
        f"  {step}: {run['seconds']:.2f} s wall, {run['cpu_s']:.2f} s CPU, "
        f"{run['peak_mb']:.0f} MB peak (runs: {run['all_s']})"
    )


def _entries(program: Path) -> int:
    return sum(1 for line in program.open(encoding="utf-8") if line.startswith("- id: "))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:2] == ["--measure", "--"]:
        print(json.dumps(_measure_here(args[2:])))
        return 0
    work = Path(args[0]) if args else Path("/tmp/workshop-bench-files")
    try:
        print(json.dumps(run_steps(work, progress=print), indent=1, ensure_ascii=False))
    finally:
        if not args:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
