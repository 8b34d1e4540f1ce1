"""REST: messages, mentions, pins, files, scheduled events, errors, auth and answer headers."""

from __future__ import annotations

import asyncio
import datetime as dt
import io

import aiohttp
import discord
import pytest
from discord.ext import commands

from bot.simulator import DiscordSimulator

from .sim_bot import ICS


def text_channel(bot: commands.Bot, sim: DiscordSimulator, name: str) -> discord.TextChannel:
    channel = bot.get_channel(sim.channel_id(name))
    assert isinstance(channel, discord.TextChannel)
    return channel


async def test_channel_send_edit_fetch_delete(sim: DiscordSimulator, bot: commands.Bot) -> None:
    general = text_channel(bot, sim, "general")
    sent = await general.send(
        "hello", embed=discord.Embed(title="T", description="D").add_field(name="a", value="b")
    )
    assert sent.content == "hello" and sent.embeds[0].title == "T"
    stored = await sim.wait_for_message("general")
    assert stored["id"] == str(sent.id) and stored["embeds"][0]["type"] == "rich"
    edited = await sent.edit(content="hello again")
    assert edited.content == "hello again" and edited.edited_at is not None
    fetched = await general.fetch_message(sent.id)
    assert fetched.content == "hello again"
    reply = await sent.reply("a reply")
    assert reply.type is discord.MessageType.reply
    assert reply.reference is not None and reply.reference.message_id == sent.id
    history = [m.content async for m in general.history(limit=10)]
    assert history == ["a reply", "hello again"]  # newest first
    await sent.delete()
    assert [m["content"] for m in sim.messages("general")] == ["a reply"]
    with pytest.raises(discord.NotFound):
        await general.fetch_message(sent.id)
    sim.assert_clean()


async def test_everyone_in_content_with_parse_none_mentions_nobody(
    sim: DiscordSimulator, bot: commands.Bot
) -> None:
    alice = sim.add_user("Alice")
    result = await alice.slash("announce", text="Talks start soon")
    assert result.ephemeral
    [announcement] = sim.messages("announcements")
    assert announcement["content"] == "@everyone Talks start soon"
    assert announcement["mention_everyone"] is False
    assert announcement["pinned"] is True
    assert sim.pins("announcements") == [announcement]
    sim.assert_clean()


async def test_mentions_follow_allowed_mentions(sim: DiscordSimulator, bot: commands.Bot) -> None:
    alice = sim.add_user("Alice")
    bob = sim.add_user("Bob")
    organizer = sim.role_id("Organizer")
    general = text_channel(bot, sim, "general")
    content = f"@everyone {alice.mention} {bob.mention} <@&{organizer}>"
    await general.send(content)  # no allowed_mentions: Discord parses everything
    await general.send(
        content,
        allowed_mentions=discord.AllowedMentions(
            everyone=False, users=[discord.Object(bob.id)], roles=False
        ),
    )
    parsed, limited = sim.messages("general")
    assert parsed["mention_everyone"] is True
    assert [m["id"] for m in parsed["mentions"]] == [str(alice.id), str(bob.id)]
    assert parsed["mention_roles"] == [str(organizer)]
    assert limited["mention_everyone"] is False
    assert [m["id"] for m in limited["mentions"]] == [str(bob.id)]
    assert limited["mention_roles"] == []
    sim.assert_clean()


async def test_missing_permissions_answer_50013(sim: DiscordSimulator, bot: commands.Bot) -> None:
    updated = asyncio.ensure_future(bot.wait_for("guild_channel_update", timeout=2))
    sim.set_channel_permissions("organizers", allow_bot_send=False)
    await updated
    organizers = text_channel(bot, sim, "organizers")
    assert bot.user is not None
    assert organizers.guild.me is not None
    # discord.py sees the overwrite through CHANNEL_UPDATE, as with real Discord.
    assert not organizers.permissions_for(organizers.guild.me).send_messages
    with pytest.raises(discord.Forbidden) as refused:
        await organizers.send("hi")
    assert refused.value.code == 50013
    sim.set_channel_permissions("organizers", allow_bot_send=True)
    await organizers.send("hi")


async def test_closed_dms_answer_50007_but_dm_channel_opens(
    sim: DiscordSimulator, bot: commands.Bot
) -> None:
    carol = sim.add_user("Carol", dms_open=False)
    user = await bot.fetch_user(carol.id)
    with pytest.raises(discord.Forbidden) as refused:
        await user.send("hello")
    assert refused.value.code == 50007
    assert refused.value.text == "Cannot send messages to this user"
    assert user.dm_channel is not None  # creating the DM channel itself worked
    carol.dms_open = True
    await user.send("hello")
    assert [m["content"] for m in carol.dms] == ["hello"]


async def test_files_are_kept_with_names_and_bytes(
    sim: DiscordSimulator, bot: commands.Bot
) -> None:
    general = text_channel(bot, sim, "general")
    sent = await general.send("calendar", file=discord.File(io.BytesIO(ICS), "talk.ics"))
    assert sent.attachments[0].filename == "talk.ics"
    assert await sent.attachments[0].read() == ICS  # served from the simulator's "CDN"
    assert sim.attachments(str(sent.id)) == {"talk.ics": ICS}
    assert sim.messages("general")[0]["attachments"][0]["content_type"] == "text/calendar"
    sim.assert_clean()


async def test_scheduled_event_create_edit_delete(sim: DiscordSimulator, bot: commands.Bot) -> None:
    guild = bot.get_guild(sim.guild_id)
    assert guild is not None
    start = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    event = await guild.create_scheduled_event(
        name="Keynote",
        start_time=start,
        end_time=start + dt.timedelta(hours=1),
        entity_type=discord.EntityType.external,
        location="Hall A",
        privacy_level=discord.PrivacyLevel.guild_only,
    )
    assert event.name == "Keynote" and event.location == "Hall A"
    edited = await event.edit(name="Opening keynote")
    assert edited.name == "Opening keynote"
    assert [e["name"] for e in sim.scheduled_events] == ["Opening keynote"]
    fetched = await guild.fetch_scheduled_events()
    assert [e.name for e in fetched] == ["Opening keynote"]
    await event.delete()
    assert sim.scheduled_events == []
    sim.assert_clean()


async def test_scheduled_event_rules_the_spec_cannot_express(
    sim: DiscordSimulator, bot: commands.Bot
) -> None:
    guild = bot.get_guild(sim.guild_id)
    assert guild is not None
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    with pytest.raises(discord.HTTPException) as refused:
        await guild.create_scheduled_event(
            name="Too late",
            start_time=past,
            end_time=past + dt.timedelta(hours=2),
            entity_type=discord.EntityType.external,
            location="Hall A",
            privacy_level=discord.PrivacyLevel.guild_only,
        )
    assert refused.value.code == 50035
    assert "scheduled_start_time" in str(refused.value)


async def test_pins_via_both_routes(sim: DiscordSimulator, bot: commands.Bot) -> None:
    general = text_channel(bot, sim, "general")
    first = await general.send("first")
    await first.pin()  # discord.py uses PUT /channels/{id}/messages/pins/{mid}
    await bot.http.request(
        discord.http.Route(
            "PUT",
            "/channels/{channel_id}/pins/{message_id}",
            channel_id=general.id,
            message_id=(await general.send("second")).id,
        )
    )
    assert [m["content"] for m in sim.pins("general")] == ["first", "second"]
    pinned = [m.content async for m in general.pins()]
    assert pinned == ["second", "first"]
    await first.unpin()
    assert [m["content"] for m in sim.pins("general")] == ["second"]
    sim.assert_clean()


async def test_answers_are_exactly_application_json_and_auth_is_checked(
    sim: DiscordSimulator,
) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(
            f"{sim.api_base}/users/@me", headers={"Authorization": f"Bot {sim.token}"}
        ) as ok:
            assert ok.status == 200
            assert ok.headers["Content-Type"] == "application/json"
            assert "X-RateLimit-Bucket" in ok.headers
            assert (await ok.json())["id"] == str(sim.bot_id)
        async with session.get(f"{sim.api_base}/users/@me") as refused:
            assert refused.status == 401
            assert await refused.json() == {"message": "401: Unauthorized", "code": 0}
        async with session.get(
            f"{sim.api_base}/gateway/bot", headers={"Authorization": f"Bot {sim.token}"}
        ) as gateway:
            data = await gateway.json()
            assert data["url"].startswith("ws://127.0.0.1:") and data["shards"] == 1
    assert sim.violations == []


async def test_unknown_route_is_404_and_a_problem(sim: DiscordSimulator) -> None:
    headers = {"Authorization": f"Bot {sim.token}"}
    async with aiohttp.ClientSession() as session:
        async with session.get(
            f"{sim.api_base}/guilds/{sim.guild_id}/bans", headers=headers
        ) as known:
            assert known.status == 404
            assert await known.json() == {"message": "404: Not Found", "code": 0}
        async with session.get(f"{sim.api_base}/not/a/route", headers=headers) as unknown:
            assert unknown.status == 404
    assert sim.problems == [
        f"unknown route GET /guilds/{sim.guild_id}/bans (in Discord's spec but not simulated)",
        "unknown route GET /not/a/route (not a Discord route)",
    ]


async def test_event_checks_follow_an_injected_clock() -> None:
    moment = dt.datetime(2022, 7, 23, 13, 0, tzinfo=dt.UTC)
    async with DiscordSimulator(now=lambda: moment) as sim:
        start = moment + dt.timedelta(hours=1)
        body = {
            "name": "Poster session",
            "privacy_level": 2,
            "entity_type": 3,
            "scheduled_start_time": start.isoformat(),
            "scheduled_end_time": (start + dt.timedelta(hours=1)).isoformat(),
            "entity_metadata": {"location": "Hall B"},
        }
        url = f"{sim.api_base}/guilds/{sim.guild_id}/scheduled-events"
        async with aiohttp.ClientSession() as session:
            headers = {"Authorization": f"Bot {sim.token}"}
            async with session.post(url, json=body, headers=headers) as response:
                assert response.status == 200
            late = {**body, "scheduled_end_time": None}
            async with session.post(url, json=late, headers=headers) as response:
                assert response.status == 400
                errors = (await response.json())["errors"]
                assert errors["scheduled_end_time"]["_errors"][0]["code"] == (
                    "GUILD_SCHEDULED_EVENT_REQUIRED_FIELD"
                )
        assert [e["name"] for e in sim.scheduled_events] == ["Poster session"]
