"""Small helpers the end-to-end tests share: HAET-day times and waiting for the bot's timers."""

from __future__ import annotations

from datetime import datetime

from bot.clock import Clock, ManualClock
from bot.local import LocalDiscord


def edt(hhmm: str, day: int = 23) -> datetime:
    """A moment of July 2022 in Baltimore's summer time, e.g. ``edt("09:05")``."""
    return datetime.fromisoformat(f"2022-07-{day}T{hhmm}:00-04:00")


async def settle(local: LocalDiscord) -> None:
    """Until the delivery engine has done every pass asked of it so far."""
    assert local.services is not None and local.services.engine is not None
    await local.services.engine.wait_idle()


async def at(local: LocalDiscord, clock: Clock, moment: datetime) -> None:
    """Move the test clock to ``moment`` and let the bot act on it."""
    assert isinstance(clock, ManualClock)
    clock.set(moment)
    await settle(local)
