"""Injected failures: 5xx answers, 429s, gateway drops, closed DMs and missing permissions."""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .core import SimChannel, SimState


@dataclass
class Fault:
    """One active rule; ``hits`` counts the requests it answered."""

    kind: str  # "error", "ratelimit", "hang" or "error_after"
    status: int = 500
    probability: float = 1.0
    count: int | None = None  # answers left; None = unlimited
    until: float | None = None  # time.monotonic() deadline; None = no deadline
    route: str | None = None  # "/template" or "METHOD /template"; None = every API route
    retry_after: float = 0.5
    is_global: bool = False
    hits: int = 0
    cancelled: bool = False
    delay: float = 0.0  # "hang": seconds before the request is served (or refused)
    serve: bool = True  # "hang": then serve it (True) or answer ``status`` without serving
    code: int = 0  # "error": Discord's JSON error code in the answer's body
    message: str | None = None  # "error": its message (default: "<status>: <reason>")

    @property
    def active(self) -> bool:
        if self.cancelled or (self.count is not None and self.count <= 0):
            return False
        return self.until is None or time.monotonic() < self.until

    def cancel(self) -> None:
        self.cancelled = True

    def matches(self, method: str, template: str) -> bool:
        if self.route is None:
            return True
        if " " in self.route:
            want_method, want_template = self.route.split(" ", 1)
            return want_method.upper() == method and want_template == template
        return self.route == template


class Faults:
    """Switches for the failures a test wants the bot to survive."""

    def __init__(
        self,
        state: SimState,
        drop: Callable[..., Awaitable[None]],
        seed: int | None = 0,
    ) -> None:
        self._state = state
        self._drop = drop
        self._random = random.Random(seed)
        self.rules: list[Fault] = []

    def fail_requests(
        self,
        status: int = 500,
        *,
        probability: float = 1.0,
        duration: float | None = None,
        count: int | None = None,
        route: str | None = None,
        code: int = 0,
        message: str | None = None,
    ) -> Fault:
        """Answer matching requests with ``status`` (and a JSON body) instead of serving them.

        ``code`` and ``message`` make it one of Discord's own refusals, e.g. ``403, code=50278,
        message="Cannot send messages to this user due to having no mutual guilds"``.
        """
        if duration is None and count is None:
            duration = 60.0
        fault = Fault(
            kind="error",
            status=status,
            probability=probability,
            count=count,
            until=None if duration is None else time.monotonic() + duration,
            route=route,
            code=code,
            message=message,
        )
        self.rules.append(fault)
        return fault

    def hang(
        self,
        seconds: float,
        *,
        route: str | None = None,
        count: int | None = 1,
        serve: bool = True,
        status: int = 503,
    ) -> Fault:
        """Hold matching requests for ``seconds``, then serve them (``serve``) or answer
        ``status`` without serving. A client that gives up meanwhile does not stop the request:
        like Discord, the server may still act on it after the client has stopped waiting."""
        fault = Fault(
            kind="hang", status=status, count=count, route=route, delay=seconds, serve=serve
        )
        self.rules.append(fault)
        return fault

    def fail_after_serving(
        self, status: int = 503, *, route: str | None = None, count: int | None = 1
    ) -> Fault:
        """Serve matching requests (a message is created), then answer ``status``: the client
        believes it failed and tries again, as after a gateway timeout at Discord's edge."""
        fault = Fault(kind="error_after", status=status, count=count, route=route)
        self.rules.append(fault)
        return fault

    def rate_limit(
        self,
        count: int = 1,
        *,
        retry_after: float = 0.5,
        global_: bool = False,
        route: str | None = None,
    ) -> Fault:
        """Answer the next ``count`` matching requests with a realistic 429."""
        fault = Fault(
            kind="ratelimit",
            status=429,
            count=count,
            route=route,
            retry_after=retry_after,
            is_global=global_,
        )
        self.rules.append(fault)
        return fault

    async def drop_gateway(self, **kwargs: Any) -> None:
        """Close the bot's gateway socket with a resumable code (see DiscordSimulator.drop_gateway)."""
        await self._drop(**kwargs)

    def close_dms(self, user: Any, closed: bool = True) -> None:
        """The user's privacy settings refuse DMs: sending to their DM channel answers 50007."""
        self._state.members[int(user.id)].dms_open = not closed

    def deny_send(self, channel: str | int | SimChannel, denied: bool = True) -> None:
        """The bot loses Send Messages in ``channel``: posting there answers 50013."""
        self._state.set_bot_send(self._state.channel(channel), allow=not denied)

    def clear(self) -> None:
        for fault in self.rules:
            fault.cancel()
        self.rules.clear()

    def pick(
        self, method: str, template: str, kinds: tuple[str, ...] = ("error", "ratelimit")
    ) -> Fault | None:
        """The fault of one of ``kinds`` that answers this request, if any (consuming one of
        its uses)."""
        for fault in self.rules:
            if fault.kind not in kinds or not fault.active or not fault.matches(method, template):
                continue
            if fault.probability < 1.0 and self._random.random() >= fault.probability:
                continue
            if fault.count is not None:
                fault.count -= 1
            fault.hits += 1
            return fault
        return None
