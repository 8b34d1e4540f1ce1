"""`workshop-bot playground` driven through a pipe, as a person at a terminal would use it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from tests.conftest import HAET_FILE


def _clock_readings(output: str) -> list[datetime]:
    found = re.findall(r"Sat 23 Jul (\d\d:\d\d) EDT \(rehearsal, 60× speed\)", output)
    return [datetime.strptime(f"2022-07-23 {hm}", "%Y-%m-%d %H:%M") for hm in found]


def test_playground_answers_about_with_a_moving_rehearsal_clock_and_exits(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'pg.db'}",
        "PROGRAM_FILE": str(HAET_FILE),
    }
    env.pop("DISCORD_TOKEN", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot",
            "playground",
            "--simulate-start",
            "2022-07-23T08:40-04:00",
            "--speed",
            "60",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert proc.stdin is not None and proc.stdout is not None
    banner = proc.stdout.readline()
    assert "playground" in banner
    proc.stdin.write("/about\n")
    proc.stdin.flush()
    time.sleep(3.0)  # three real seconds are three workshop minutes at 60x
    proc.stdin.write("/about\nexit\n")
    proc.stdin.flush()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Hardware-Aware Efficient Training (HAET 2022)" in out
    assert "(only you can see this)" in out
    first, second = _clock_readings(out)
    assert first.strftime("%H:%M") in ("08:40", "08:41")
    assert 2 <= (second - first).total_seconds() / 60 <= 5
    assert out.rstrip().endswith("bye")
    assert "Traceback" not in err and "ERROR" not in err


def test_run_without_a_token_starts_the_playground(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'pg.db'}",
        "PROGRAM_FILE": str(HAET_FILE),
    }
    env.pop("DISCORD_TOKEN", None)
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        input="/about\nexit\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "No DISCORD_TOKEN is set" in proc.stdout
    assert "DISCORD_TOKEN in .env" in proc.stdout
    assert "workshop-bot 0.1.0" in proc.stdout
