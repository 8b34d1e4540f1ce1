"""Discord's own refusals: a channel deleted by an admin (10003), an injected coded refusal."""

from __future__ import annotations

import asyncio

import discord
import pytest
from discord.ext import commands

from bot.simulator import DiscordSimulator


async def test_a_deleted_channel_answers_unknown_channel_and_leaves_the_guild(
    sim: DiscordSimulator, bot: commands.Bot
) -> None:
    announcements = bot.get_channel(sim.channel_id("announcements"))
    assert isinstance(announcements, discord.TextChannel)
    kept = await announcements.send("before")
    channel_id = announcements.id

    deleted = asyncio.ensure_future(bot.wait_for("guild_channel_delete", timeout=2))
    sim.delete_channel("announcements")
    assert (await deleted).id == channel_id
    assert bot.get_channel(channel_id) is None  # gone from discord.py's cache too

    # A post (as a bot posting by id does, without its cache) and an edit: 404, 10003.
    partial = bot.get_partial_messageable(channel_id, type=discord.ChannelType.text)
    with pytest.raises(discord.NotFound) as refused:
        await partial.send("after")
    assert refused.value.status == 404
    assert refused.value.code == 10003
    assert refused.value.text == "Unknown Channel"
    with pytest.raises(discord.NotFound) as refused:
        await partial.get_partial_message(kept.id).edit(content="edited")
    assert refused.value.code == 10003

    # The guild no longer lists it; the test can still read what was posted before.
    listed = await bot.http.get_all_guild_channels(sim.guild_id)
    assert str(channel_id) not in {c["id"] for c in listed}
    assert [m["content"] for m in sim.messages("announcements")] == ["before"]
    # A mention of it reads as in Discord's client.
    assert sim.names()[str(channel_id)] == "deleted-channel"
    # Other channels are untouched.
    general = bot.get_channel(sim.channel_id("general"))
    assert isinstance(general, discord.TextChannel)
    await general.send("still here")
    sim.assert_clean()


async def test_an_injected_refusal_carries_discords_code_and_message(
    sim: DiscordSimulator, bot: commands.Bot
) -> None:
    general = bot.get_channel(sim.channel_id("general"))
    assert isinstance(general, discord.TextChannel)
    fault = sim.faults.fail_requests(
        403,
        count=1,
        route="POST /channels/{channel_id}/messages",
        code=50278,
        message="Cannot send messages to this user due to having no mutual guilds",
    )
    with pytest.raises(discord.Forbidden) as refused:
        await general.send("refused")
    assert refused.value.code == 50278
    assert refused.value.text == "Cannot send messages to this user due to having no mutual guilds"
    assert fault.hits == 1
    # Without a code: code 0 and "<status>: <reason>", as before.
    sim.faults.fail_requests(400, count=1, route="POST /channels/{channel_id}/messages")
    with pytest.raises(discord.HTTPException) as plain:
        await general.send("refused too")
    assert (plain.value.status, plain.value.code) == (400, 0)
    await general.send("served")
    assert [m["content"] for m in sim.messages("general")] == ["served"]
