"""Gateway: login, READY and GUILD_CREATE, command sync, resume after drops, reconnect opcodes."""

from __future__ import annotations

import asyncio
import time

import discord
import pytest
from discord.ext import commands

from bot.simulator import DiscordSimulator

from .harness import redirect, start_bot, stop_bot
from .sim_bot import build_bot


async def test_login_ready_and_guild_create(sim: DiscordSimulator, bot: commands.Bot) -> None:
    assert bot.user is not None and bot.user.id == sim.bot_id
    assert bot.application_id == sim.application_id
    guild = bot.get_guild(sim.guild_id)
    assert guild is not None
    assert {c.name for c in guild.text_channels} == {
        "general",
        "announcements",
        "reminders",
        "organizers",
    }
    assert guild.default_role.id == guild.id
    assert discord.utils.get(guild.roles, name="Organizer") is not None
    assert guild.chunked  # member_count == len(members): discord.py never asked for chunks
    assert guild.me is not None and guild.me.guild_permissions.send_messages
    assert sim.stats.identifies == 1
    assert sim.stats.gateway_dispatches["READY"] == 1
    assert sim.stats.gateway_dispatches["GUILD_CREATE"] == 1
    sim.assert_clean()


async def test_commands_synced_to_guild_and_globally(
    sim: DiscordSimulator, bot: commands.Bot
) -> None:
    guild_names = {c["name"] for c in sim.commands()}
    assert {"ping", "remind", "workshop", "panel", "feedback", "slow", "admin"} <= guild_names
    assert [c["name"] for c in sim.commands(guild=False)] == ["about"]
    remind = next(c for c in sim.commands() if c["name"] == "remind")
    talk = remind["options"][0]
    assert talk["type"] == 1 and talk["name"] == "talk"
    assert {o["name"]: o["type"] for o in talk["options"]} == {"title": 3, "minutes_before": 4}
    assert all(c["application_id"] == str(sim.application_id) for c in sim.commands())


async def test_connect_is_fast(sim: DiscordSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    redirect(monkeypatch, sim)
    client = build_bot(sim)
    started = time.perf_counter()
    task = await start_bot(sim, client)
    elapsed = time.perf_counter() - started
    await stop_bot(client, task)
    # Login, two command syncs, READY, GUILD_CREATE and the 50 ms guild_ready_timeout.
    assert elapsed < 1.0


async def test_drop_gateway_resumes_and_interactions_still_work(
    sim: DiscordSimulator, bot: commands.Bot
) -> None:
    resumed: list[bool] = []

    async def on_resumed() -> None:
        resumed.append(True)

    bot.add_listener(on_resumed)
    alice = sim.add_user("Alice")
    await sim.drop_gateway()
    assert sim.stats.resumes == 1
    assert sim.stats.identifies == 1  # resumed, not re-identified
    result = await alice.slash("ping", word="again")
    assert result.content == "pong again 1"
    assert resumed == [True]
    sim.assert_clean()


async def test_interaction_sent_while_disconnected_is_replayed_on_resume(
    sim: DiscordSimulator, bot: commands.Bot
) -> None:
    alice = sim.add_user("Alice")
    # Not waiting: the INTERACTION_CREATE goes into the session backlog while the bot is away.
    await sim.drop_gateway(wait=False)
    result = await alice.slash("ping", word="queued")
    assert result.content == "pong queued 1"
    assert sim.stats.resumes == 1


async def test_reconnect_opcode_and_invalid_session(
    sim: DiscordSimulator, bot: commands.Bot
) -> None:
    alice = sim.add_user("Alice")

    async def no_wait(shard_id: int | None, *, initial: bool = False) -> None:
        # discord.py sleeps 5 s before every non-initial IDENTIFY; not worth waiting for here.
        return None

    bot.before_identify_hook = no_wait  # type: ignore[method-assign]
    await sim.request_reconnect()
    await sim.wait_until(lambda: sim.stats.resumes == 1, 5, "a resume after op 7")
    await sim.invalidate_session(resumable=False)
    await sim.wait_until(lambda: sim.stats.identifies == 2, 5, "a new IDENTIFY after op 9")
    result = await alice.slash("ping", word="fresh")
    assert result.content == "pong fresh 1"


async def test_members_intent_off_means_only_the_bot_is_sent(
    sim: DiscordSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim.add_user("Alice")
    redirect(monkeypatch, sim)
    client = build_bot(sim, intents=discord.Intents.default())
    task = await start_bot(sim, client)
    try:
        guild = client.get_guild(sim.guild_id)
        assert guild is not None
        assert [m.id for m in guild.members] == [sim.bot_id]
        assert guild.member_count == 3  # the owner, Alice and the bot
    finally:
        await stop_bot(client, task)


async def test_wrong_token_is_refused(
    sim: DiscordSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    redirect(monkeypatch, sim)
    client = build_bot(sim)
    with pytest.raises(discord.LoginFailure):
        await client.login("not-the-token")
    await client.close()
    assert sim.stats.invalid_requests == 1


async def test_heartbeats_are_acknowledged(monkeypatch: pytest.MonkeyPatch) -> None:
    async with DiscordSimulator(heartbeat_interval=0.02) as sim:
        redirect(monkeypatch, sim)
        client = build_bot(sim)
        task = await start_bot(sim, client)
        try:
            await asyncio.sleep(0.1)
            assert client.latency < 1.0  # inf until a heartbeat was acknowledged
        finally:
            await stop_bot(client, task)


async def test_member_query_is_answered_with_a_chunk(
    sim: DiscordSimulator, bot: commands.Bot
) -> None:
    sim.add_user("Alice")
    sim.add_user("Albert")
    sim.add_user("Bob")
    guild = bot.get_guild(sim.guild_id)
    assert guild is not None
    found = await guild.query_members(query="al", limit=10)
    assert sorted(m.display_name for m in found) == ["Albert", "Alice"]
    assert sim.stats.gateway_dispatches["GUILD_MEMBERS_CHUNK"] == 1


async def test_user_messages_reach_the_bot(sim: DiscordSimulator, bot: commands.Bot) -> None:
    alice = sim.add_user("Alice")
    seen = asyncio.ensure_future(bot.wait_for("message", timeout=2))
    await alice.say("general", "hello bot")
    message = await seen
    assert message.content == "hello bot" and message.author.id == alice.id
    assert isinstance(message.author, discord.Member)
