"""Interactions round-trip through real discord.py: slash, autocomplete, buttons, selects, modals."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from discord.ext import commands

from bot.simulator import CommandNotAvailable, DiscordSimulator, SimulatorError

from .conftest import ErrorRecords
from .harness import redirect, start_bot, stop_bot
from .sim_bot import ICS, build_bot


async def test_slash_with_options(sim: DiscordSimulator, bot: commands.Bot) -> None:
    alice = sim.add_user("Alice")
    result = await alice.slash("ping", word="hello", n=3)
    assert result.type == 4
    assert result.content == "pong hello 3"
    assert not result.ephemeral
    assert result.latency is not None and result.latency < 1.0
    assert result.message is not None and result.message["interaction"]["name"] == "ping"
    # The answer is a real message in #general.
    assert sim.messages("general")[-1]["content"] == "pong hello 3"
    sim.assert_clean()


async def test_subcommand_with_ranged_int_and_ephemeral_answer(
    sim: DiscordSimulator, bot: commands.Bot
) -> None:
    alice = sim.add_user("Alice")
    result = await alice.slash("remind talk", title="FlashAttention", minutes_before=10)
    assert result.content == "Reminder set: FlashAttention 10 min before"
    assert result.ephemeral
    assert "(only you can see this)" in result.text()
    # Ephemeral answers are visible to Alice only.
    assert sim.messages("general") == []
    assert len(sim.messages("general", viewer=alice)) == 1
    with pytest.raises(SimulatorError, match=r"1\.\.60"):
        await alice.slash("remind talk", title="x", minutes_before=99)
    with pytest.raises(SimulatorError, match="required"):
        await alice.slash("remind talk", minutes_before=5)


async def test_subcommand_group_and_typed_options(sim: DiscordSimulator, bot: commands.Bot) -> None:
    alice = sim.add_user("Alice")
    bob = sim.add_user("Bob", roles=["Organizer"])
    result = await alice.slash("workshop info author", name="Ada")
    assert result.content == "author: Ada"
    with pytest.raises(SimulatorError, match="options="):
        await alice.slash(
            "whois", member=bob, role="Organizer", channel="reminders", flag=True, ratio=0.5
        )
    # channel= is where the command runs; an option named "channel" goes through options=.
    result = await alice.slash(
        "whois",
        channel="organizers",
        options={"channel": "reminders"},
        member=bob,
        role="Organizer",
        flag=True,
        ratio=0.5,
    )
    assert result.content == "Bob|Organizer|reminders|True|0.5"
    assert result.message is not None and result.message["channel_id"] == str(
        sim.channel_id("organizers")
    )
    sim.assert_clean()


async def test_autocomplete(sim: DiscordSimulator, bot: commands.Bot) -> None:
    alice = sim.add_user("Alice")
    choices = await alice.autocomplete("remind talk", title="flash")
    assert [c["name"] for c in choices] == ["FlashAttention", "Flash Linear Attention"]
    names = await alice.autocomplete("workshop info author", name="leon")
    assert [c["value"] for c in names] == ["Leonhard Euler", "Leonie Müller"]
    sim.assert_clean()


async def test_buttons_edit_and_paginate_the_message(
    sim: DiscordSimulator, bot: commands.Bot
) -> None:
    alice = sim.add_user("Alice")
    panel = await alice.slash("panel")
    assert "[ Remind me ]" in panel.text()
    clicked = await panel.click("Remind me")
    assert clicked.type == 7
    assert panel.content == "Reminder on for Alice"  # the original message was updated
    page = await panel.click("Next")
    assert page.type == 7
    assert panel.embeds[0]["title"] == "Page 2"
    await alice.click(panel, custom_id="panel:next")
    assert panel.embeds[0]["title"] == "Page 3"
    quiet = await panel.click("Quiet")  # deferred update, then edit of @original
    assert quiet.type == 6
    assert panel.content == "quietly updated"
    with pytest.raises(SimulatorError, match="no component"):
        await panel.click("Does not exist")
    sim.assert_clean()


async def test_select_menu(sim: DiscordSimulator, bot: commands.Bot) -> None:
    alice = sim.add_user("Alice")
    panel = await alice.slash("panel")
    picked = await panel.select("panel:track", ["theory", "systems"])
    assert picked.content == "tracks: theory, systems"
    assert picked.ephemeral
    with pytest.raises(SimulatorError, match="not an option"):
        await panel.select("panel:track", ["cooking"])
    bob = sim.add_user("Bob")
    people = await alice.slash("people")
    picked = await people.select("people:who", [bob, "Alice"])
    assert picked.content == "picked Alice, Bob"
    sim.assert_clean()


async def test_modal_from_command_and_from_button(sim: DiscordSimulator, bot: commands.Bot) -> None:
    alice = sim.add_user("Alice")
    opened = await alice.slash("feedback")
    assert opened.type == 9
    assert opened.modal is not None and opened.modal["title"] == "Workshop feedback"
    assert "[modal] Workshop feedback" in opened.text()
    submitted = await alice.submit_modal(opened, {"text": "Great talks", "email": "a@b.c"})
    assert submitted.content == "thanks: Great talks (a@b.c)"
    with pytest.raises(SimulatorError, match="required"):
        await opened.submit_modal({"email": "x"})
    # A modal opened from a button may answer by updating the button's message.
    panel = await alice.slash("panel")
    form = await panel.click("Feedback")
    done = await form.submit_modal({"text": "Nice"})
    assert done.type == 7
    assert panel.content == "thanks: Nice (no email)"
    assert panel.components == []
    sim.assert_clean()


async def test_deferred_answer_with_followups_and_file(
    sim: DiscordSimulator, bot: commands.Bot
) -> None:
    alice = sim.add_user("Alice")
    result = await alice.slash("slow")
    assert result.type == 5
    # The first followup after a deferral replaces the "thinking" message.
    assert result.content == "slow done"
    assert result.attachments == {"talk.ics": ICS}
    followups = await result.wait_for_followups(1)
    assert [f["content"] for f in followups] == ["and one more"]
    assert result.completion_latency is not None and result.latency is not None
    text = result.text()
    assert "slow done" in text and "talk.ics" in text and "and one more" in text
    sim.assert_clean()


async def test_deferred_ephemeral_stays_ephemeral(sim: DiscordSimulator, bot: commands.Bot) -> None:
    alice = sim.add_user("Alice")
    result = await alice.slash("slow", ephemeral=True)
    assert result.ephemeral and result.content == "slow done"
    [second] = await result.wait_for_followups(1)
    assert not second["flags"] & 64  # a later followup is only ephemeral if it asks to be


async def test_response_with_file(sim: DiscordSimulator, bot: commands.Bot) -> None:
    alice = sim.add_user("Alice")
    result = await alice.slash("ics")
    assert result.attachments == {"talk.ics": ICS}
    # The attachment URL is served like Discord's CDN.
    url = result.message["attachments"][0]["url"] if result.message else ""
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert await response.read() == ICS
    sim.assert_clean()


async def test_dm_command_and_closed_dms(sim: DiscordSimulator, bot: commands.Bot) -> None:
    alice = sim.add_user("Alice")
    carol = sim.add_user("Carol", dms_open=False)
    about = await alice.slash("about", dm=True)
    assert about.content == "about this bot (DM)"
    assert about.message is not None and about.message["channel_id"] == str(alice.dm_channel.id)
    with pytest.raises(CommandNotAvailable):
        await alice.slash("ping", word="x", dm=True)  # guild commands do not exist in DMs
    sent = await alice.slash("dm", member=alice)
    assert sent.content == "sent"
    assert [m["content"] for m in alice.dms] == ["about this bot (DM)", "hello from the bot"]
    refused = await alice.slash("dm", member=carol)
    assert refused.content == "cannot DM (50007)"
    assert carol.dms == []
    sim.assert_clean()


async def test_default_permissions_hide_commands(sim: DiscordSimulator, bot: commands.Bot) -> None:
    alice = sim.add_user("Alice")
    organizer = sim.add_user("Olga", roles=["Organizer"])
    with pytest.raises(CommandNotAvailable):
        await alice.slash("admin")
    assert (await organizer.slash("admin")).content == "admin ok"


async def test_second_acknowledgement_is_refused(sim: DiscordSimulator, bot: commands.Bot) -> None:
    alice = sim.add_user("Alice")
    result = await alice.slash("ping", word="once")
    record = result.record
    url = f"{sim.api_base}/interactions/{record.id}/{record.token}/callback"
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json={"type": 4, "data": {"content": "again"}}) as response:
            assert response.status == 400
            assert response.headers["Content-Type"] == "application/json"
            assert (await response.json())["code"] == 40060
    assert any("acknowledged twice" in p for p in sim.problems)


async def test_interaction_ids_and_tokens_are_unique(
    sim: DiscordSimulator, bot: commands.Bot
) -> None:
    alice = sim.add_user("Alice")
    results = [await alice.slash("ping", word=str(i)) for i in range(5)]
    assert len({r.record.id for r in results}) == 5
    assert len({r.record.token for r in results}) == 5


async def test_late_answer_is_refused_like_discord(
    monkeypatch: pytest.MonkeyPatch, discord_errors: ErrorRecords
) -> None:
    async with DiscordSimulator(interaction_deadline=0.05) as sim:
        redirect(monkeypatch, sim)
        discord_errors.sim = sim
        client = build_bot(sim)
        task = await start_bot(sim, client)
        try:
            alice = sim.add_user("Alice")
            # The bot's late callback gets 404 Unknown interaction; discord.py logs the error,
            # which fails the wait at once instead of after the timeout.
            with pytest.raises(AssertionError, match="Unknown interaction"):
                await alice.slash("sleepy", seconds=0.1, timeout=3)
            assert sim.problems and "answered after" in sim.problems[0]
        finally:
            await stop_bot(client, task)
        discord_errors.records.clear()


async def test_wait_for_message_after(sim: DiscordSimulator, bot: commands.Bot) -> None:
    alice = sim.add_user("Alice")
    first = await alice.slash("ping", word="one")
    second_task = asyncio.ensure_future(
        sim.wait_for_message(
            "general", after=first.message, predicate=lambda m: "pong" in m["content"]
        )
    )
    await asyncio.sleep(0)
    assert not second_task.done()
    await alice.slash("ping", word="two")
    second = await second_task
    assert second["content"] == "pong two 1"
