"""Discord's REST rate limits: a global per-token limit and per-route buckets with real headers."""

from __future__ import annotations

import hashlib
import math
import time
from collections import deque
from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class RouteLimit:
    """``limit`` requests per ``per`` seconds (a fixed window opened by the first request)."""

    limit: int
    per: float


@dataclass(frozen=True)
class RateLimitConfig:
    """Limits close to Discord's published and observed ones; shrink ``per`` for fast tests."""

    global_limit: int = 50
    global_window: float = 1.0
    channel_messages: RouteLimit = RouteLimit(5, 5.0)  # POST /channels/{id}/messages
    message_edits: RouteLimit = RouteLimit(5, 5.0)  # PATCH /channels/{id}/messages/{mid}
    message_deletes: RouteLimit = RouteLimit(5, 1.0)
    pins: RouteLimit = RouteLimit(5, 5.0)
    dm_create: RouteLimit = RouteLimit(50, 1.0)  # POST /users/@me/channels: generous
    webhooks: RouteLimit = RouteLimit(5, 1.0)  # interaction followups and @original edits
    commands: RouteLimit = RouteLimit(10, 10.0)  # bulk overwrite of application commands
    # Starting threads and forum posts (POST .../threads), per parent channel: Discord publishes
    # no number, so this mirrors the message bucket.
    thread_creates: RouteLimit = RouteLimit(5, 5.0)
    channel_edits: RouteLimit = RouteLimit(5, 5.0)  # PATCH /channels/{id}: threads, forum tags
    default: RouteLimit = RouteLimit(50, 1.0)

    def scaled(self, factor: float) -> RateLimitConfig:
        """The same limits with every window (not the global one) multiplied by ``factor``."""

        def scale(limit: RouteLimit) -> RouteLimit:
            return RouteLimit(limit.limit, limit.per * factor)

        return replace(
            self,
            channel_messages=scale(self.channel_messages),
            message_edits=scale(self.message_edits),
            message_deletes=scale(self.message_deletes),
            pins=scale(self.pins),
            dm_create=scale(self.dm_create),
            webhooks=scale(self.webhooks),
            commands=scale(self.commands),
            thread_creates=scale(self.thread_creates),
            channel_edits=scale(self.channel_edits),
            default=scale(self.default),
        )

    def rule_for(self, method: str, template: str) -> tuple[str, RouteLimit]:
        """The bucket name and limit of a route (routes in one bucket share a counter)."""
        if template == "/channels/{channel_id}/messages" and method == "POST":
            return "channel-messages", self.channel_messages
        if template == "/channels/{channel_id}/messages/{message_id}":
            if method == "PATCH":
                return "message-edit", self.message_edits
            if method == "DELETE":
                return "message-delete", self.message_deletes
        if "/pins/" in template and method in ("PUT", "DELETE"):
            return "pins", self.pins
        if template == "/users/@me/channels":
            return "dm-create", self.dm_create
        if template.startswith("/webhooks/"):
            return f"webhook-{method}", self.webhooks
        if template.endswith("/threads") and method == "POST":
            return "thread-create", self.thread_creates
        if template == "/channels/{channel_id}" and method == "PATCH":
            return "channel-edit", self.channel_edits
        if template.endswith("/commands") and method == "PUT":
            return "commands-put", self.commands
        return f"{method} {template}", self.default


@dataclass
class _Window:
    started: float
    count: int = 0


@dataclass
class Verdict:
    """The outcome of a rate-limit check: headers to send, and a retry delay when refused."""

    allowed: bool
    headers: dict[str, str] = field(default_factory=dict)
    retry_after: float = 0.0
    is_global: bool = False
    bucket: str | None = None


def _hash(name: str) -> str:
    # Opaque like Discord's bucket hashes; stable so discord.py can learn them.
    return hashlib.md5(name.encode()).hexdigest()


def _ceil_ms(seconds: float) -> float:
    # Rounded up: a client sleeping exactly Reset-After must land in the next window.
    return math.ceil(max(seconds, 0.0) * 1000) / 1000


class RateLimiter:
    """Counts requests; a refused request does not count against any limit (as on Discord)."""

    def __init__(self, config: RateLimitConfig) -> None:
        self.config = config
        self._global: dict[str, deque[float]] = {}
        self._windows: dict[tuple[str, str], _Window] = {}

    def check_global(self, token: str) -> Verdict:
        now = time.monotonic()
        window = self._global.setdefault(token, deque())
        horizon = now - self.config.global_window
        while window and window[0] <= horizon:
            window.popleft()
        if len(window) >= self.config.global_limit:
            retry = _ceil_ms(window[0] + self.config.global_window - now)
            return Verdict(
                allowed=False,
                retry_after=retry,
                is_global=True,
                headers={"X-RateLimit-Global": "true", "X-RateLimit-Scope": "global"},
            )
        window.append(now)
        return Verdict(allowed=True)

    def uncount_global(self, token: str) -> None:
        """Give back a global slot taken by a request that the route bucket then refused."""
        window = self._global.get(token)
        if window:
            window.pop()

    def check_route(self, method: str, template: str, major: str) -> Verdict:
        name, rule = self.config.rule_for(method, template)
        bucket = _hash(name)
        now = time.monotonic()
        key = (name, major)
        window = self._windows.get(key)
        if window is None or now >= window.started + rule.per:
            window = self._windows[key] = _Window(started=now)
        reset_after = _ceil_ms(window.started + rule.per - now)
        allowed = window.count < rule.limit
        if allowed:
            window.count += 1
        headers = {
            "X-RateLimit-Limit": str(rule.limit),
            "X-RateLimit-Remaining": str(max(rule.limit - window.count, 0)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket,
        }
        if not allowed:
            headers["X-RateLimit-Scope"] = "user"
        return Verdict(allowed=allowed, headers=headers, retry_after=reset_after, bucket=bucket)
