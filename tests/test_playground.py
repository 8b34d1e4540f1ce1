"""`workshop-bot playground` driven through a pipe, as a person at a terminal would use it."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO, cast
from zoneinfo import ZoneInfo

from bot.clock import ManualClock
from bot.playground import playground_main
from bot.settings import Settings
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
    # A newcomer's first run, years after HAET: told so once, with the command to rehearse it.
    assert proc.stdout.count("on this clock it ended") == 1
    assert "workshop-bot playground --simulate-start 2022-07-23T08:40-04:00 --speed 60" in (
        proc.stdout
    )
    assert f"Logs go to {tmp_path / 'pg.log'}" in proc.stdout
    assert "INFO" not in proc.stderr and "discord.client" in (tmp_path / "pg.log").read_text()
    assert "DISCORD_TOKEN in .env" in proc.stdout
    assert "workshop-bot 0.1.0" in proc.stdout


# -- the command loop in process, on a workshop clock: what a person at the prompt reads ---------

EDT = ZoneInfo("America/New_York")
REHEARSAL_MOMENT = datetime(2022, 7, 23, 8, 40, tzinfo=EDT)  # five minutes before the opening


class Typing:
    """What a person types at the prompt, line by line; a callable step runs before the next line
    (in the playground's input thread), e.g. to wait for a post to arrive."""

    def __init__(self, steps: list[str | Callable[[], None]]) -> None:
        self.steps = list(steps)

    def readline(self) -> str:
        while self.steps:
            step = self.steps.pop(0)
            if callable(step):
                step()
                continue
            return step + "\n"
        return ""


def shown(out: io.StringIO, text: str, timeout: float = 20.0) -> Callable[[], None]:
    """A step that waits until ``text`` is on the screen (a post the bot makes on its own)."""

    def wait() -> None:
        deadline = time.monotonic() + timeout
        # On time-out the typing goes on: the test's assertions say what is missing.
        while text not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.05)

    return wait


async def play(
    tmp_path: Path,
    steps: list[str | Callable[[], None]],
    *,
    at: datetime = REHEARSAL_MOMENT,
    out: io.StringIO | None = None,
    clock: ManualClock | None = None,
) -> str:
    out = out or io.StringIO()
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'pg.db'}",
        program_file=HAET_FILE,
    )
    code = await playground_main(
        settings,
        cast(TextIO, Typing(steps)),
        out,
        clock=clock or ManualClock(at),
        log_path=tmp_path / "pg.log",
    )
    assert code == 0
    return out.getvalue()


async def test_a_reader_in_tokyo_sees_the_programs_times_in_tokyo(tmp_path: Path) -> None:
    out = await play(tmp_path, ["as aiko", "tz Asia/Tokyo", "/schedule next"])
    assert "Discord times are shown in America/New_York (the venue's zone)" in out
    assert "you are now aiko (attendee" in out
    assert "Discord times for aiko are now shown in Asia/Tokyo." in out
    # The opening, 08:45 EDT, starts at 21:45 in Tokyo (no entry is at 21:45 venue time).
    assert "21:45" in out.split("Opening welcome speech", 1)[1]
    assert "WorkshopBot [BOT] · 23 July 2022 at 21:40" in out


async def test_relative_times_count_from_the_rehearsal_clock(tmp_path: Path) -> None:
    out = await play(
        tmp_path, ["/announce at when:09:30 | Coffee is served in the lobby.", "click Schedule it"]
    )
    # 09:30 seen from the rehearsal's 08:40, not from today's wall clock ("4 years ago").
    assert "Saturday, 23 July 2022 at 09:30 (in 50 minutes" in out
    assert "years ago" not in out
    assert "🗓️ Scheduled: announcement #1 in #general at" in out


async def test_an_organizer_fills_in_the_announcement_form(tmp_path: Path) -> None:
    out = io.StringIO()
    await play(
        tmp_path,
        [
            "as aiko",
            "/announce now",  # attendees have no such command
            "as you",
            "/announce now",
            "",  # the text is required: asked again
            "Coffee is served in the lobby.\\nTea too.",
            shown(out, "--- new message in #general ---"),
        ],
        out=out,
    )
    text = out.getvalue()
    assert "! /announce is not available to aiko here" in text
    assert "[modal] Announcement in #general" in text
    assert "Fill in the form, a line per field (cancel closes it):" in text
    assert "! Announcement is required: type it, or type cancel" in text
    assert "📣 Posting announcement #1 in #general now." in text
    post = text.split("--- new message in #general ---", 1)[1]
    assert "Coffee is served in the lobby.\nTea too." in post


async def test_a_reminder_dm_reads_in_its_readers_zone_at_the_rehearsal_moment(
    tmp_path: Path,
) -> None:
    out = io.StringIO()
    clock = ManualClock(REHEARSAL_MOMENT)
    loop = asyncio.get_running_loop()
    marker = "--- new message in DM to aiko ---"
    before: list[int] = []

    def ten_to_nine() -> None:  # the workshop clock moves on while aiko waits
        before.append(out.getvalue().count(marker))
        loop.call_soon_threadsafe(clock.set, datetime(2022, 7, 23, 8, 50, tzinfo=EDT))

    def reminded() -> None:
        deadline = time.monotonic() + 20
        while out.getvalue().count(marker) <= before[0] and time.monotonic() < deadline:
            time.sleep(0.05)

    await play(
        tmp_path,
        [
            "as aiko",
            "tz Asia/Tokyo",
            "/remind talk title:keynote-melika-payvand",
            "as you",  # whoever acts at the prompt, a DM reads in its reader's zone
            ten_to_nine,
            reminded,
        ],
        out=out,
        clock=clock,
    )
    text = out.getvalue()
    assert text.count(marker) > before[0], text
    dm = text.split(marker)[-1]
    # The 09:00 EDT keynote, read in Tokyo at 08:50 EDT: 22:00, in 10 minutes.
    assert "Brain-inspired hardware" in dm
    assert "22:00" in dm and "in 10 minutes" in dm, dm


async def test_picking_from_a_select_menu_opens_the_talk_card(tmp_path: Path) -> None:
    out = await play(tmp_path, ["/search pruning", "pick 2", "pick Gintare Karolina Dziugaite"])
    assert "[ Open a talk card ▾ ]" in out
    card = out.split("**Search: “pruning”**", 1)[1]
    assert "│ **Finding Structured Winning Tickets with Early Pruning**" in card
    assert "[ Look up an author ▾ ] Udbhav Bamba | Devin Kwok" in card
    assert "│ **Gintare Karolina Dziugaite**" in card


async def test_autocomplete_shows_the_choices_for_a_partial_option(tmp_path: Path) -> None:
    out = await play(tmp_path, ["/schedule talk title:openin?", "/schedule day ?"])
    assert "Choices for title as you type 'openin':\n  > Opening welcome speech   [opening]" in out
    assert re.search(r"\n  > Saturday 23 July 2022 .*   \[2022-07-23\]\n", out), out


async def test_a_program_in_the_past_offers_the_rehearsal_command_once(tmp_path: Path) -> None:
    out = await play(tmp_path, ["/about"], at=datetime(2026, 12, 3, 11, 0, tzinfo=UTC))
    assert out.count("Note: HAET 2022 was on Saturday 23 July 2022, 08:45–17:30 EDT") == 1
    assert "on this clock it ended 4 years ago" in out
    assert "workshop-bot playground --simulate-start 2022-07-23T08:40-04:00 --speed 60" in out
    ahead = await play(tmp_path, ["/about"], at=datetime(2022, 7, 1, 12, 0, tzinfo=UTC))
    assert "Note: HAET 2022 is on Saturday 23 July 2022" in ahead
    assert "on this clock it starts in 22 days" in ahead
    assert "--simulate-start 2022-07-23T08:40-04:00 --speed 60" in ahead
    rehearsing = await play(tmp_path, ["/about"])
    assert "--simulate-start" not in rehearsing


async def test_a_warning_is_one_line_on_screen_and_whole_in_the_log(tmp_path: Path) -> None:
    def warn() -> None:
        try:
            raise ConnectionResetError("the gateway went away")
        except ConnectionResetError:
            logging.getLogger("bot.delivery").warning("send failed, retrying", exc_info=True)

    out = await play(tmp_path, ["/about", warn, "/about"])
    notices = [line for line in out.splitlines() if "send failed" in line]
    assert notices == [
        f"! warning from bot.delivery: send failed, retrying (full log: {tmp_path / 'pg.log'})"
    ]
    assert "Traceback" not in out and "ConnectionResetError" not in out
    logged = (tmp_path / "pg.log").read_text()
    assert "send failed, retrying" in logged and "ConnectionResetError" in logged
