"""A fresh process that restores the bot's timers from a prepared database, and says how long.

Run by bench/run.py as ``python -m bench.restore --mode engine|naive ...``; prints one JSON line.

``engine``: what the bot does at start: ``build_services`` (connect, migrate, read the program,
build the search index) and then ``DeliveryEngine.start()``, timed until its first pass has
armed the next timer (the engine is idle and knows its next due time). The outbox is a no-op:
nothing is due yet, so restoring sends nothing.

``naive``: the same ``build_services``, then the design the engine replaced: one APScheduler
date job per pending reminder, in the scheduler's memory job store, timed until the last job
is added.

Times are wall-clock seconds from ``--spawned`` (the parent's ``time.time()`` just before it
started this process), so interpreter start-up and imports count.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

IMPORTS_STARTED = time.time()

import argparse  # noqa: E402
import asyncio  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bot.app import build_services  # noqa: E402
from bot.clock import RehearsalClock  # noqa: E402
from bot.db.models import Subscription  # noqa: E402
from bot.delivery.engine import (  # noqa: E402
    BoardPost,
    DeliveryEngine,
    DueReminder,
    Outcome,
    QueuedNotice,
    SendResult,
)
from bot.services.announcements import PlannedAnnouncement  # noqa: E402
from bot.services.schedule import NowView  # noqa: E402
from bot.settings import Settings  # noqa: E402

from .rss import peak_rss_mb, rss_mb  # noqa: E402

IMPORTED = time.time()


class NoOutbox:
    """Sends nothing: restoring timers sends nothing when nothing is due yet."""

    sends = 0

    async def send_reminders(
        self, reminders: Sequence[DueReminder], *, offline: bool
    ) -> SendResult:
        self.sends += 1
        return SendResult(Outcome.SENT)

    async def send_announcement(self, item: PlannedAnnouncement, *, offline: bool) -> SendResult:
        self.sends += 1
        return SendResult(Outcome.SENT)

    async def send_notice(self, notice: QueuedNotice, *, offline: bool) -> SendResult:
        self.sends += 1
        return SendResult(Outcome.SENT)

    async def update_board(
        self, channel_id: int, message_id: int | None, view: NowView, *, pin: bool
    ) -> BoardPost:
        self.sends += 1
        return BoardPost(message_id)


async def remind(subscription_id: int) -> None:
    """The naive design's job: one per reminder (never runs here)."""


async def restore(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=args.database,
        program_file=Path(args.program_file),
        discord_token="unused",  # type: ignore[arg-type]
        log_level="WARNING",
    )
    clock = RehearsalClock(datetime.fromisoformat(args.now), speed=1.0)
    out: dict[str, Any] = {"mode": args.mode, "rss_imported_mb": rss_mb()}
    started = time.time()
    services = await build_services(settings, clock)
    built = time.time()
    out["rss_services_mb"] = rss_mb()
    try:
        if args.mode == "engine":
            outbox = NoOutbox()
            engine = DeliveryEngine(
                services.sessions,
                services.clock,
                services.program,
                services.targets,
                outbox,
                services.schedule,
                rate=settings.delivery_rate,
                lease_seconds=settings.claim_lease_seconds,
            )
            services.engine = engine
            await engine.start()
            await engine.wait_idle(300)
            armed = time.time()
            if outbox.sends:
                raise SystemExit(f"restore went wrong: {engine.stats}, {outbox.sends} sends")
            next_due = engine.stats.next_due
            out["next_due"] = None if next_due is None else next_due.isoformat()
            out["timers"] = 1
        else:
            scheduler = AsyncIOScheduler(timezone=UTC)
            scheduler.start()
            async with services.sessions() as s:
                rows = (
                    await s.execute(
                        select(Subscription.id, Subscription.due_at).where(
                            Subscription.state == "active"
                        )
                    )
                ).all()
            for subscription_id, due_at in rows:
                scheduler.add_job(
                    remind,
                    "date",
                    run_date=due_at,
                    args=(subscription_id,),
                    id=f"reminder:{subscription_id}",
                    misfire_grace_time=None,
                    coalesce=True,
                )
            armed = time.time()
            out["timers"] = len(scheduler.get_jobs())
            scheduler.shutdown(wait=False)
        out["rss_armed_mb"] = rss_mb()
    finally:
        await services.close()
    out.update(
        seconds_to_armed=armed - args.spawned,
        interpreter_and_imports=IMPORTED - args.spawned,
        startup_before_services=started - IMPORTED,
        build_services=built - started,
        arm=armed - built,
        peak_rss_mb=peak_rss_mb(),
        gc_objects=len(gc.get_objects()),
        entries=len(services.program.snapshot.talks),
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", choices=("engine", "naive"), required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--program-file", required=True)
    parser.add_argument("--now", required=True, help="the workshop clock's start (ISO 8601)")
    parser.add_argument("--spawned", type=float, required=True, help="parent's time.time()")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(restore(args))), flush=True)


if __name__ == "__main__":
    main()
