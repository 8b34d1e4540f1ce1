"""Spec validation and Discord's limits: bad bodies are caught, correct discord.py traffic is clean."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest
from discord.ext import commands

from bot.simulator import DiscordSimulator, SpecValidator, spec_template
from bot.simulator.routes import ROUTES
from bot.simulator.validation import (
    autocomplete_issues,
    component_issues,
    embed_issues,
    load_spec,
    message_issues,
    modal_issues,
)

from .harness import redirect, start_bot, stop_bot
from .sim_bot import build_bot


async def post_message(sim: DiscordSimulator, body: dict[str, Any]) -> tuple[int, Any]:
    url = f"{sim.api_base}/channels/{sim.channel_id('general')}/messages"
    async with aiohttp.ClientSession() as session:
        async with session.post(
            url, json=body, headers={"Authorization": f"Bot {sim.token}"}
        ) as response:
            return response.status, await response.json()


async def test_2001_character_message_is_caught(sim: DiscordSimulator, bot: commands.Bot) -> None:
    general = bot.get_channel(sim.channel_id("general"))
    assert isinstance(general, discord.TextChannel)
    with pytest.raises(discord.HTTPException) as refused:
        await general.send("x" * 2001)
    # Rejected like Discord does (400 Invalid Form Body) and recorded as a violation.
    assert refused.value.status == 400 and refused.value.code == 50035
    assert sim.violations == [
        f"POST /api/v10/channels/{general.id}/messages limit /content: content is 2001 characters (limit 2000)"
    ]
    assert sim.messages("general") == []


async def test_violations_are_only_recorded_when_not_rejecting() -> None:
    async with DiscordSimulator(reject_invalid=False) as sim:
        status, _ = await post_message(sim, {"content": "x" * 2001})
        assert status == 200
        assert len(sim.violations) == 1 and "2001 characters" in sim.violations[0]


async def test_spec_violation_names_the_field(sim: DiscordSimulator) -> None:
    status, _ = await post_message(sim, {"content": "hi", "embeds": [{"title": 42}]})
    assert status == 200  # spec violations are recorded, not refused (the spec may lag Discord)
    [violation] = [v for v in sim.violations if " request " in v]
    assert violation.startswith(
        f"POST /api/v10/channels/{sim.channel_id('general')}/messages request /embeds/0/title:"
    )
    assert "42 is not of type" in violation


async def test_empty_message_is_refused(sim: DiscordSimulator) -> None:
    status, body = await post_message(sim, {"content": ""})
    assert status == 400 and body["code"] == 50006


@pytest.fixture
async def strict_sim() -> AsyncIterator[DiscordSimulator]:
    async with DiscordSimulator(strict=True) as simulator:
        yield simulator


async def test_strict_mode_flags_unknown_fields_but_not_discord_py_traffic(
    strict_sim: DiscordSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = strict_sim
    redirect(monkeypatch, sim)
    client = build_bot(sim)
    task = await start_bot(sim, client)
    try:
        alice = sim.add_user("Alice")
        panel = await alice.slash("panel")
        await panel.click("Remind me")  # UPDATE_MESSAGE with tts: legitimately sent
        await alice.autocomplete("remind talk", title="fl")
        opened = await alice.slash("feedback")
        await opened.submit_modal({"text": "ok"})
        slow = await alice.slash("slow")
        await slow.wait_for_followups(1)  # the bot must be done before it is closed
    finally:
        await stop_bot(client, task)
    assert sim.violations == []  # incl. nsfw on command bodies
    status, _ = await post_message(sim, {"content": "hi", "colour": 5})
    assert status == 200
    assert sim.violations == [
        f"POST /api/v10/channels/{sim.channel_id('general')}/messages request /: "
        "Unevaluated properties are not allowed ('colour' was unexpected)"
    ]


def test_snowflakes_may_be_integers() -> None:
    validator = SpecValidator()
    body = {"content": "hi", "allowed_mentions": {"users": [1234567890123456789], "parse": []}}
    assert validator.validate_request("POST", "/channels/{channel_id}/messages", "/x", body) == []
    bad = {"content": "hi", "allowed_mentions": {"users": [-1]}}
    assert validator.validate_request("POST", "/channels/{channel_id}/messages", "/x", bad) != []


def test_every_simulated_route_is_in_the_spec() -> None:
    paths = load_spec()["paths"]
    for route in ROUTES:
        assert route.method.lower() in paths[route.template], f"{route.method} {route.template}"


def test_spec_template_prefers_literal_segments() -> None:
    assert (
        spec_template("/api/v10/channels/1/messages/pins/2")
        == "/channels/{channel_id}/messages/pins/{message_id}"
    )
    assert spec_template("/channels/1/messages/2") == "/channels/{channel_id}/messages/{message_id}"
    assert (
        spec_template("/webhooks/1/tok/messages/@original")
        == "/webhooks/{webhook_id}/{webhook_token}/messages/@original"
    )
    assert spec_template("/nope") is None


def test_documented_limits() -> None:
    embed = {
        "title": "t" * 257,
        "description": "d" * 4097,
        "fields": [{"name": "n" * 257, "value": "v" * 1025}] * 26,
        "footer": {"text": "f" * 2049},
        "author": {"name": "a" * 257},
    }
    messages = [m for _, m in embed_issues([embed] * 11)]
    for expected in (
        "11 embeds",
        "embed title",
        "embed description",
        "26 embed fields",
        "field name",
        "field value",
        "footer text",
        "author name",
        "limit 6000",
    ):
        assert any(expected in m for m in messages), expected
    row = {
        "type": 1,
        "components": [
            {"type": 2, "style": 1, "label": "x" * 81, "custom_id": f"c{i}"} for i in range(6)
        ],
    }
    issues = [m for _, m in component_issues([row] * 6, v2=False)]
    for expected in (
        "6 action rows",
        "6 components in a row",
        "button label",
        "duplicate custom_id",
    ):
        assert any(expected in m for m in issues), expected
    select = {
        "type": 1,
        "components": [
            {"type": 3, "custom_id": "s" * 101, "options": [{"label": "o", "value": "v"}] * 26}
        ],
    }
    issues = [m for _, m in component_issues([select], v2=False)]
    assert any("custom_id" in m for m in issues) and any("26 select options" in m for m in issues)
    choices = [
        m for _, m in autocomplete_issues({"choices": [{"name": "n" * 101, "value": "v"}] * 26})
    ]
    assert any("26 choices" in m for m in choices) and any("1-100" in m for m in choices)
    modal = {
        "title": "t" * 46,
        "custom_id": "m",
        "components": [
            {"type": 1, "components": [{"type": 4, "custom_id": "x", "style": 1, "label": "L"}]}
        ],
    }
    assert any("title" in m for _, m in modal_issues(modal))
    assert message_issues({"content": "ok"}, creating=True) == []
