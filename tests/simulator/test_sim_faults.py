"""Faults and rate limits: discord.py retries 5xx, honours 429s and bucket headers; raw spam is refused."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import discord
import pytest
from discord.ext import commands

from bot.simulator import DiscordSimulator, RateLimitConfig, RouteLimit
from bot.simulator.faults import Faults

from .harness import redirect, start_bot, stop_bot
from .sim_bot import build_bot


def channel(bot: commands.Bot, sim: DiscordSimulator, name: str) -> discord.TextChannel:
    found = bot.get_channel(sim.channel_id(name))
    assert isinstance(found, discord.TextChannel)
    return found


async def test_server_error_is_retried_by_discord_py(
    sim: DiscordSimulator, bot: commands.Bot
) -> None:
    fault = sim.faults.fail_requests(500, count=1, route="POST /channels/{channel_id}/messages")
    message = await channel(bot, sim, "general").send("survives a 500")
    assert fault.hits == 1
    assert sim.stats.server_errors == 1
    assert [m["content"] for m in sim.messages("general")] == ["survives a 500"]  # created once
    assert sim.stats.requests["POST /channels/{channel_id}/messages"] == 2
    assert message.content == "survives a 500"


async def test_interaction_callback_survives_a_502(
    sim: DiscordSimulator, bot: commands.Bot
) -> None:
    alice = sim.add_user("Alice")
    sim.faults.fail_requests(
        502, count=1, route="/interactions/{interaction_id}/{interaction_token}/callback"
    )
    result = await alice.slash("ping", word="retry")  # the webhook adapter retries after 1 s
    assert result.content == "pong retry 1"
    assert sim.stats.server_errors == 1


async def test_route_429_with_retry_after_is_respected(
    sim: DiscordSimulator, bot: commands.Bot, caplog: pytest.LogCaptureFixture
) -> None:
    sim.faults.rate_limit(count=1, retry_after=0.2, route="POST /channels/{channel_id}/messages")
    started = time.monotonic()
    await channel(bot, sim, "general").send("after a 429")
    assert time.monotonic() - started >= 0.2
    assert sim.stats.rate_limited == 1 and sim.stats.global_rate_limited == 0
    assert len(sim.messages("general")) == 1
    assert "We are being rate limited" in caplog.text


async def test_global_429_is_respected(sim: DiscordSimulator, bot: commands.Bot) -> None:
    sim.faults.rate_limit(count=1, retry_after=0.1, global_=True)
    started = time.monotonic()
    await channel(bot, sim, "general").send("after a global 429")
    assert time.monotonic() - started >= 0.1
    assert sim.stats.global_rate_limited == 1
    assert len(sim.messages("general")) == 1


async def test_raw_spam_without_honouring_headers_gets_429s(sim: DiscordSimulator) -> None:
    url = f"{sim.api_base}/channels/{sim.channel_id('general')}/messages"
    headers = {"Authorization": f"Bot {sim.token}"}
    async with aiohttp.ClientSession() as session:

        async def post(i: int) -> tuple[int, dict[str, str], dict[str, object]]:
            async with session.post(
                url, json={"content": f"spam {i}"}, headers=headers
            ) as response:
                return response.status, dict(response.headers), await response.json()

        answers = await asyncio.gather(*(post(i) for i in range(60)))
    limited = [a for a in answers if a[0] == 429]
    assert len(limited) == 55  # 5 per window, the rest refused
    _, hdrs, body = limited[0]
    assert hdrs["Via"] == "1.1 google"
    assert hdrs["X-RateLimit-Scope"] == "user"
    assert hdrs["X-RateLimit-Remaining"] == "0"
    assert {
        "Retry-After",
        "X-RateLimit-Limit",
        "X-RateLimit-Reset",
        "X-RateLimit-Reset-After",
        "X-RateLimit-Bucket",
    } <= set(hdrs)
    assert (
        body["message"] == "You are being rate limited."
        and body["global"] is False
        and body["code"] == 0
    )
    assert isinstance(body["retry_after"], float)
    assert sim.stats.rate_limited == 55
    assert len(sim.messages("general")) == 5


async def test_global_limit_applies_across_routes_but_not_to_interactions(
    sim: DiscordSimulator, bot: commands.Bot
) -> None:
    alice = sim.add_user("Alice")
    headers = {"Authorization": f"Bot {sim.token}"}
    async with aiohttp.ClientSession() as session:
        statuses = []
        for _ in range(60):
            async with session.get(
                f"{sim.api_base}/guilds/{sim.guild_id}/roles", headers=headers
            ) as r:
                statuses.append(r.status)
                if r.status == 429:
                    assert r.headers["X-RateLimit-Global"] == "true"
                    assert (await r.json())["global"] is True
    assert statuses.count(429) > 0
    assert sim.stats.global_rate_limited == statuses.count(429)
    # Interaction callbacks are exempt from the global limit.
    result = await alice.slash("ping", word="exempt")
    assert result.content == "pong exempt 1"


@pytest.fixture
async def roomy_sim() -> AsyncIterator[DiscordSimulator]:
    # 10 messages per 0.25 s per channel: 40/s, under the global 50/s.
    config = RateLimitConfig(channel_messages=RouteLimit(10, 0.25))
    async with DiscordSimulator(rate_limit_config=config) as simulator:
        yield simulator


async def test_discord_py_honours_bucket_headers(
    roomy_sim: DiscordSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = roomy_sim
    redirect(monkeypatch, sim)
    client = build_bot(sim)
    task = await start_bot(sim, client)
    try:
        general = channel(client, sim, "general")
        started = time.monotonic()
        for i in range(60):
            await general.send(f"message {i}")
        elapsed = time.monotonic() - started
    finally:
        await stop_bot(client, task)
    assert sim.stats.rate_limited == 0
    assert len(sim.messages("general")) == 60
    assert elapsed >= 5 * 0.25  # six windows of ten: it really waited for resets


async def test_each_dm_channel_is_its_own_bucket(sim: DiscordSimulator, bot: commands.Bot) -> None:
    users = [sim.add_user(f"User {i}") for i in range(8)]
    for user in users:
        member = await bot.fetch_user(user.id)
        await member.send("one")
        await member.send("two")
    assert all(len(u.dms) == 2 for u in users)
    assert sim.stats.rate_limited == 0


def test_fault_rules_are_deterministic_with_a_seed() -> None:
    sim = DiscordSimulator(seed=1)
    faults: Faults = sim.faults
    fault = faults.fail_requests(503, probability=0.5, duration=60)
    hits = [faults.pick("GET", "/users/@me") is not None for _ in range(20)]
    again = DiscordSimulator(seed=1).faults
    again.fail_requests(503, probability=0.5, duration=60)
    assert hits == [again.pick("GET", "/users/@me") is not None for _ in range(20)]
    assert 0 < sum(hits) < 20 and fault.hits == sum(hits)
    fault.cancel()
    assert faults.pick("GET", "/users/@me") is None
    limited = faults.rate_limit(count=2, route="/users/@me")
    assert faults.pick("GET", "/guilds/{guild_id}") is None
    assert faults.pick("GET", "/users/@me") is limited
    assert faults.pick("GET", "/users/@me") is limited
    assert faults.pick("GET", "/users/@me") is None
