"""A guard for tests and local runs: the bot's HTTP client may only reach this machine."""

from __future__ import annotations

import ipaddress
from types import SimpleNamespace

import aiohttp


class NonLoopbackRequest(RuntimeError):
    """The bot tried to reach a host that is not this machine."""


def loopback_only_trace() -> aiohttp.TraceConfig:
    """An aiohttp trace that refuses any request leaving 127.0.0.0/8 or ::1."""

    async def on_request_start(
        _session: aiohttp.ClientSession,
        _ctx: SimpleNamespace,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        host = params.url.host or ""
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise NonLoopbackRequest(f"refusing a request to {params.url.host}")

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)
    return trace
