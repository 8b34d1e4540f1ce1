"""Helpers shared by the simulator tests: redirect discord.py, start and stop a bot."""

from __future__ import annotations

import asyncio

import discord
import pytest
import yarl
from discord.ext import commands

from bot.simulator import DiscordSimulator, RateLimitConfig

# Real limits with short windows so rate-limit behaviour shows up in milliseconds, not minutes.
FAST_LIMITS = RateLimitConfig().scaled(0.05)


def redirect(monkeypatch: pytest.MonkeyPatch, simulator: DiscordSimulator) -> None:
    """Nothing else in discord.py builds URLs: these two attributes redirect it (restored after)."""
    monkeypatch.setattr(discord.http.Route, "BASE", simulator.api_base)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(simulator.gateway_url)
    )


async def start_bot(simulator: DiscordSimulator, client: commands.Bot) -> asyncio.Task[None]:
    """Log in, connect in a task and wait for on_ready (failing fast if the task dies)."""
    await client.login(simulator.token)
    task = asyncio.create_task(client.connect())
    ready = asyncio.create_task(client.wait_until_ready())
    done, _ = await asyncio.wait({task, ready}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
    if ready not in done:
        ready.cancel()
        if task.done():
            task.result()  # re-raises why the bot died
        raise AssertionError("the bot did not become ready within 5 s")
    return task


async def stop_bot(client: commands.Bot, task: asyncio.Task[None]) -> None:
    await client.close()
    await asyncio.wait_for(task, 5)
