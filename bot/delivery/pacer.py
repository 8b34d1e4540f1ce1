"""Spaces the bot's REST requests under Discord's global rate limit, members' requests first."""

from __future__ import annotations

import asyncio
import contextvars
import time

#: True in the engine's own work: its requests wait behind members' (see Pacer).
ENGINE_TRAFFIC: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "engine_traffic", default=False
)


class Pacer:
    """Spaces the bot's REST requests under Discord's global limit, members' requests first.

    A token bucket of ``burst`` tokens refilled at ``rate`` per second, so no one-second
    window holds more than ``burst + rate`` requests (49 at the default 46/s, under Discord's
    50). A request made for a member (a command's DM, say) takes a token as soon as there is
    one; the engine's (``ENGINE_TRAFFIC``) take one only while ``reserve`` more are left. So in
    a fan-out at the full rate, a member's request goes out at once and the engine slows
    down by as much, instead of both meeting global 429s (issue 12, item 10).
    """

    def __init__(self, rate: float, burst: int = 3, reserve: int = 1) -> None:
        if not 0 <= reserve < burst:
            raise ValueError("reserve must leave the engine at least one token")
        self.rate = rate
        self.burst = burst
        self.reserve = reserve
        self._tokens = float(burst)
        self._stamp = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    async def wait(self, *, priority: bool | None = None) -> None:
        """Until this request may go; ``priority`` defaults to "not the engine's"."""
        if priority is None:
            priority = not ENGINE_TRAFFIC.get()
        need = 1.0 if priority else 1.0 + self.reserve
        while True:
            self._refill()
            if self._tokens >= need - 1e-9:
                self._tokens -= 1.0
                return
            await asyncio.sleep((need - self._tokens) / self.rate)
