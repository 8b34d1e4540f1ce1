"""The bot alone in its own process, against a local Discord run by the parent: for memory.

Run by bench/run.py as ``python -m bench.botproc ...``. Built through the composition root
(``build_services``, ``build_bot``) exactly as ``bot.local.LocalDiscord.start_bot`` does, only
the simulator lives in the parent, so this process holds the bot and nothing else.

Protocol on stdout/stdin, one line each way: the bot prints ``{"ready": ...}`` once connected;
the parent drives commands through its simulator, then writes ``report``; the bot prints its
memory and garbage-collection figures and calls ``gc.freeze()``; the parent drives the same
commands again and writes ``gc``; the bot prints how long a full collection takes now, and
shuts down.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.app import build_bot, build_services, point_discord_at
from bot.clock import RehearsalClock
from bot.nettrace import loopback_only_trace
from bot.settings import Settings

from .rss import peak_rss_mb, rss_mb


def _memory() -> dict[str, Any]:
    return {"rss_mb": rss_mb(), "peak_rss_mb": peak_rss_mb()}


def _full_collections() -> dict[str, Any]:
    """How many objects the garbage collector tracks, and how long a full pass takes: the first
    (which also frees the cyclic garbage of the commands served), a second (the walk alone, what
    every later full collection costs at least)."""
    objects = len(gc.get_objects())
    times = [_timed_collection(), _timed_collection()]
    return {"gc_objects": objects, "gc_full_ms": times[0], "gc_full_again_ms": times[1]}


def _timed_collection() -> float:
    began = time.perf_counter()
    gc.collect()
    return (time.perf_counter() - began) * 1000


async def run(args: argparse.Namespace) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=args.database,
        program_file=Path(args.program_file),
        discord_token=args.token,
        log_level="WARNING",
    )
    clock = RehearsalClock(datetime.fromisoformat(args.now), speed=1.0)
    point_discord_at(args.api_base, args.gateway_url)
    services = await build_services(settings, clock)
    bot = build_bot(
        services,
        dev_guild_id=args.guild_id,
        http_trace=loopback_only_trace(),
        guild_ready_timeout=0.05,
        freeze_gc=True,  # as `workshop-bot run` does
    )
    async with bot:
        task = asyncio.create_task(bot.start(args.token), name="workshop-bot")
        await bot.wait_until_ready()
        assert services.engine is not None
        await services.engine.wait_idle(120)
        print(json.dumps({"ready": True, **_memory()}), flush=True)
        loop = asyncio.get_running_loop()
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if line.strip() != "report":
            raise SystemExit(f"unexpected instruction {line!r}")
        report = {
            **_memory(),
            "sends": services.engine.stats.sent,
            "entries": len(services.program.snapshot.talks),
            **_full_collections(),
        }
        print(json.dumps(report), flush=True)
        # What a full collection would cost had the bot frozen what it holds once started
        # (gc.freeze(): those objects are never walked again): frozen now, timed after the
        # parent has served the same commands once more.
        gc.freeze()
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if line.strip() != "gc":
            raise SystemExit(f"unexpected instruction {line!r}")
        print(json.dumps({"gc_full_frozen_ms": _timed_collection()}), flush=True)
        await bot.close()
    await task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", required=True)
    parser.add_argument("--program-file", required=True)
    parser.add_argument("--now", required=True, help="the workshop clock's start (ISO 8601)")
    parser.add_argument("--api-base", required=True)
    parser.add_argument("--gateway-url", required=True)
    parser.add_argument("--guild-id", type=int, required=True)
    parser.add_argument("--token", required=True)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
