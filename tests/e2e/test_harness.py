"""The end-to-end harness itself: it catches bad requests, refuses the internet, and sees errors.

If these fail, a green end-to-end run means nothing.
"""

from __future__ import annotations

import ipaddress
import time
from typing import Any

import aiohttp
import discord
import pytest
from discord.ext import commands

from bot.local import LocalDiscord, NonLoopbackRequest
from bot.tree import APOLOGY
from tests.e2e.conftest import ErrorRecords

# TEST-NET-2 (RFC 5737): documentation only, never routed. Nothing may even try to connect.
UNREACHABLE_API = "http://198.51.100.1/api/v10"


def meta_cog(local: LocalDiscord) -> commands.Cog:
    """The loaded cog. Patch it, not ``cogs.meta.Meta``: discord.py's ``load_extension`` executes
    a fresh module object, so the class a test imported is not the one the bot runs."""
    assert local.bot is not None
    cog = local.bot.get_cog("Meta")
    assert cog is not None and type(cog).__name__ == "Meta"
    return cog


def text_channel(local: LocalDiscord, name: str) -> discord.TextChannel:
    assert local.bot is not None
    channel = local.bot.get_channel(local.sim.channel_id(name))
    assert isinstance(channel, discord.TextChannel)
    return channel


# -- bad requests ---------------------------------------------------------------------------------


async def test_a_2001_character_message_fails_validation(local: LocalDiscord) -> None:
    sim = local.sim
    general = text_channel(local, "general")
    with pytest.raises(discord.HTTPException) as refused:
        await general.send("x" * 2001)
    # Refused like Discord refuses it, and recorded for the test to fail on.
    assert refused.value.status == 400 and refused.value.code == 50035
    assert sim.violations == [
        f"POST /api/v10/channels/{general.id}/messages limit /content: "
        "content is 2001 characters (limit 2000)"
    ]
    assert sim.messages("general") == []
    with pytest.raises(AssertionError, match=r"violation: .*content is 2001 characters"):
        sim.assert_clean()  # what the `local` fixture's teardown would have raised
    sim.violations.clear()
    await general.send("x" * 2000)  # the limit itself is fine
    assert len(sim.messages("general")) == 1


async def test_a_257_character_embed_title_fails_validation(local: LocalDiscord) -> None:
    sim = local.sim
    general = text_channel(local, "general")
    with pytest.raises(discord.HTTPException) as refused:
        await general.send(embed=discord.Embed(title="t" * 257))
    assert refused.value.status == 400 and refused.value.code == 50035
    assert (
        f"POST /api/v10/channels/{general.id}/messages limit /embeds/0/title: "
        "embed title is 257 characters (limit 256)"
    ) in sim.violations
    assert all("/embeds/0/title: " in v for v in sim.violations)
    assert sim.messages("general") == []
    sim.violations.clear()


async def test_a_command_answering_out_of_limits_is_caught_and_apologised_for(
    local: LocalDiscord, error_log: ErrorRecords, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bot's own answer (the interaction callback) is validated too."""
    sim = local.sim
    alice = sim.add_user("alice")

    def oversized() -> discord.Embed:
        return discord.Embed(title="t" * 257)

    monkeypatch.setattr(meta_cog(local), "about_embed", oversized)
    error_log.sim = None  # the ERROR is expected: let the apology arrive
    try:
        result = await alice.slash("about")
    finally:
        error_log.sim = sim
    assert result.ephemeral and result.content == APOLOGY
    # Caught twice over: by the OpenAPI description (maxLength) and by Discord's limits.
    callback = f"POST /api/v10/interactions/{result.record.id}/{result.record.token}/callback"
    assert sorted(sim.violations) == [
        f"{callback} limit /data/embeds/0/title: embed title is 257 characters (limit 256)",
        f"{callback} request /data/embeds/0/title: string of length 257 violates maxLength 256",
    ]
    sim.violations.clear()
    [record] = error_log.take()
    assert record.getMessage().startswith("command /about failed")
    assert record.exc_info is not None
    original = getattr(record.exc_info[1], "original", None)
    assert isinstance(original, discord.HTTPException) and original.code == 50035


# -- nothing leaves the machine -------------------------------------------------------------------


async def test_a_request_to_a_non_loopback_host_is_refused_before_connecting(
    local: LocalDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert local.bot is not None
    sim = local.sim
    # A second guard: should the trace ever let a request through, no connection is made.
    attempts: list[str] = []
    connect = aiohttp.BaseConnector.connect

    async def loopback_connect(
        self: aiohttp.BaseConnector, req: Any, *args: Any, **kwargs: Any
    ) -> Any:
        host = req.url.host or ""
        if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
            attempts.append(host)
            raise AssertionError(f"the bot tried to connect to {host}")
        return await connect(self, req, *args, **kwargs)

    monkeypatch.setattr(aiohttp.BaseConnector, "connect", loopback_connect)
    requests_before = sim.stats.total_requests
    with monkeypatch.context() as patch:
        patch.setattr(discord.http.Route, "BASE", UNREACHABLE_API)
        with pytest.raises(NonLoopbackRequest, match=r"198\.51\.100\.1"):
            await local.bot.http.get_user(1)
    assert discord.http.Route.BASE == sim.api_base  # restored
    assert attempts == []  # refused in on_request_start, before any connection
    assert sim.stats.total_requests == requests_before
    # The session is intact: the next request goes to the local Discord as usual.
    alice = sim.add_user("alice")
    assert (await local.bot.fetch_user(alice.id)).name == alice.member.username
    assert local.bot_alive()


# -- errors inside commands -----------------------------------------------------------------------


def broken_embed() -> discord.Embed:
    raise RuntimeError("the about embed broke")


async def test_a_failing_command_apologises_and_logs_one_error(
    local: LocalDiscord, error_log: ErrorRecords, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = local.sim
    alice = sim.add_user("alice")
    monkeypatch.setattr(meta_cog(local), "about_embed", broken_embed)
    error_log.sim = None  # expected: let the user's interaction complete
    try:
        result = await alice.slash("about")
    finally:
        error_log.sim = sim
    assert result.ephemeral
    assert result.content == APOLOGY and result.embeds == []
    [record] = error_log.take()
    assert record.name == "bot.tree"
    assert record.getMessage() == f"command /about failed (user {alice.id}, guild {sim.guild_id})"
    assert record.exc_info is not None
    error = record.exc_info[1]
    assert isinstance(error, discord.app_commands.CommandInvokeError)
    assert isinstance(error.original, RuntimeError)
    assert str(error.original) == "the about embed broke"
    monkeypatch.undo()
    assert (await alice.slash("about")).embeds  # the bot carries on
    assert local.bot_alive()


async def test_an_unexpected_error_fails_the_waiting_interaction_at_once(
    local: LocalDiscord, error_log: ErrorRecords, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The harness does not wait out the interaction timeout when the bot logs an ERROR."""
    alice = local.sim.add_user("alice")
    monkeypatch.setattr(meta_cog(local), "about_embed", broken_embed)
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"logged an error: bot\.tree: command /about failed"):
        await alice.slash("about")
    assert time.monotonic() - started < 1.0  # not the 5 s interaction timeout
    assert len(error_log.take()) == 1  # claimed: the fixture would fail the test otherwise
    # The apology still reaches the user (the bot logs, then answers).
    [record] = local.sim.state.interactions.values()
    await local.sim.wait_until(lambda: record.response_type is not None, 2.0, "the apology")
    assert local.sim.message(record.original_message_id or 0).data["content"] == APOLOGY
