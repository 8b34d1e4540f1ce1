"""The injectable clock: real time, or a rehearsal that replays the workshop day faster."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Everything in the bot that needs "now" asks one of these."""

    speed: float
    rehearsal: bool  # True when the clock is not the wall clock

    def now(self) -> datetime:
        """The current instant (timezone-aware, UTC)."""
        ...

    async def sleep_until(self, moment: datetime) -> None:
        """Sleep until the clock reads ``moment`` (returns at once if it is past)."""
        ...

    def real_delay(self, moment: datetime) -> float:
        """Real seconds until the clock reads ``moment`` (0 if past, inf if it may never)."""
        ...

    def on_jump(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` whenever the clock is set rather than flowing (test clocks)."""
        ...


class SystemClock:
    """Wall-clock time."""

    speed = 1.0
    rehearsal = False

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, moment: datetime) -> None:
        delay = self.real_delay(moment)
        if delay > 0:
            await asyncio.sleep(delay)

    def real_delay(self, moment: datetime) -> float:
        return max(0.0, (moment - self.now()).total_seconds())

    def on_jump(self, callback: Callable[[], None]) -> None:
        pass  # the wall clock only flows


class RehearsalClock:
    """Starts at ``start`` when created and runs ``speed`` times faster than real time.

    ``--simulate-start 2022-07-23T08:40-04:00 --speed 60`` lives through the HAET day
    (six hours) in six minutes.
    """

    rehearsal = True

    def __init__(self, start: datetime, speed: float = 1.0) -> None:
        if start.tzinfo is None:
            raise ValueError("the rehearsal start needs a UTC offset or zone")
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.start = start.astimezone(UTC)
        self.speed = float(speed)
        self._origin = time.monotonic()

    def now(self) -> datetime:
        elapsed = (time.monotonic() - self._origin) * self.speed
        return self.start + timedelta(seconds=elapsed)

    async def sleep_until(self, moment: datetime) -> None:
        delay = self.real_delay(moment)
        if delay > 0:
            await asyncio.sleep(delay)

    def real_delay(self, moment: datetime) -> float:
        return max(0.0, (moment - self.now()).total_seconds() / self.speed)

    def on_jump(self, callback: Callable[[], None]) -> None:
        pass  # a rehearsal flows like the wall clock, only faster


class ManualClock:
    """A clock that only moves when told to: for tests. ``sleep_until`` waits for ``advance``."""

    speed = 1.0
    rehearsal = True

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._changed = asyncio.Event()
        self._listeners: list[Callable[[], None]] = []

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment.astimezone(UTC)
        self._changed.set()
        for callback in list(self._listeners):
            callback()

    def advance(self, delta: timedelta) -> None:
        self.set(self._now + delta)

    async def sleep_until(self, moment: datetime) -> None:
        while self._now < moment:
            self._changed.clear()
            await self._changed.wait()

    def real_delay(self, moment: datetime) -> float:
        return 0.0 if moment <= self._now else float("inf")

    def on_jump(self, callback: Callable[[], None]) -> None:
        self._listeners.append(callback)
