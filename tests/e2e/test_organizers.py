"""Who may use the organizer commands, /setup and /status, through the local Discord."""

from __future__ import annotations

import asyncio
import re

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.db.models import Delivery, GuildConfig, Subscription
from bot.local import LocalDiscord
from bot.simulator import CommandNotAvailable, DiscordSimulator, Perm, SimulatorError, SimUser
from tests.e2e.helpers import at, edt, settle

PAYVAND = "keynote-melika-payvand"
KELLER = "keynote-alexander-keller"
REFUSAL = "Only the workshop's organizers can do that."


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(edt("08:30"))


def organizer(sim: DiscordSimulator, name: str = "olga") -> SimUser:
    return sim.add_user(name, roles=["Organizer"])


# -- who is an organizer ------------------------------------------------------------------------


async def test_organizer_commands_are_hidden_from_members(local: LocalDiscord) -> None:
    mallory = local.sim.add_user("mallory")
    for command in ("setup show", "announce list", "status", "program reload"):
        with pytest.raises(CommandNotAvailable):
            await mallory.slash(command)
    definitions = {c["name"]: c for c in local.sim.commands()}
    for name in ("setup", "announce", "status", "program"):
        assert definitions[name]["default_member_permissions"] == str(Perm.MANAGE_GUILD)
        assert definitions[name]["dm_permission"] is False  # guild only


@pytest.mark.usefixtures("visible_to_all")
async def test_a_member_who_sees_the_commands_through_an_override_is_still_refused(
    local: LocalDiscord,
) -> None:
    mallory = local.sim.add_user("mallory")
    for command in ("setup show", "announce list", "status", "program reload"):
        answer = await mallory.slash(command)
        assert answer.ephemeral
        assert answer.content == REFUSAL, command
    opened = await mallory.slash("announce now")
    assert opened.modal is None and opened.content == REFUSAL
    timed = await mallory.slash("announce at", when="in 20 minutes")
    assert timed.modal is None and timed.content == REFUSAL
    assert local.sim.messages("announcements") == []


@pytest.mark.usefixtures("visible_to_all")
async def test_the_organizer_role_makes_a_member_an_organizer(local: LocalDiscord) -> None:
    olga = organizer(local.sim)
    # A personal role with no special permissions (the simulator announces it to the bot).
    helper = local.sim.add_user("hana", permissions=Perm.VIEW_CHANNEL | Perm.SEND_MESSAGES)
    assert (await helper.slash("status")).content == REFUSAL

    answer = await olga.slash("setup organizer-role", role="hana permissions")
    assert "members with @hana permissions are organizers" in answer.text()
    assert "Integrations" in answer.text()

    status = await helper.slash("status")
    assert status.embeds and status.embeds[0]["title"] == "workshop-bot status"
    cleared = await olga.slash("setup organizer-role")
    assert "only members with Manage Server" in cleared.text()
    assert (await helper.slash("status")).content == REFUSAL


# -- /setup -------------------------------------------------------------------------------------


async def config_row(local: LocalDiscord) -> GuildConfig | None:
    assert local.services is not None
    async with local.services.sessions() as s:
        return await s.get(GuildConfig, local.sim.guild_id)


async def test_setup_stores_everything_per_server_and_show_prints_it(
    local: LocalDiscord, clock: ManualClock
) -> None:
    sim = local.sim
    olga = organizer(sim)
    show = await olga.slash("setup show")
    assert "Not configured with /setup yet" in show.text()
    assert await config_row(local) is None

    kinds = await olga.autocomplete("setup channel", focused="kind", kind="key")
    assert [c["value"] for c in kinds] == ["keynote"]
    every = await olga.autocomplete("setup channel", focused="kind", kind="")
    values = [c["value"] for c in every]
    assert values[0] == "default" and "panel" in values and "poster" not in values

    answers = [
        await olga.slash("setup channel", kind="default", options={"channel": "announcements"}),
        await olga.slash("setup channel", kind="keynote", options={"channel": "general"}),
        await olga.slash("setup board", options={"channel": "reminders"}),
        await olga.slash("setup mention-role", role="Organizer"),
        await olga.slash("setup breaks", announce=True),
        await olga.slash("setup lead", minutes=5),
    ]
    assert all(a.ephemeral and (a.content or "").startswith("OK") for a in answers), answers
    assert "Keynote will be announced in #general" in answers[1].text()

    row = await config_row(local)
    assert row is not None
    assert row.default_channel_id == sim.channel_id("announcements")
    assert row.kind_channels == {"keynote": sim.channel_id("general")}
    assert row.board_channel_id == sim.channel_id("reminders")
    assert row.mention_role_id == sim.role_id("Organizer")
    assert row.announce_breaks is True and row.lead_minutes == 5
    assert row.configured_by == olga.id
    assert row.updated_at == clock.now()

    text = (await olga.slash("setup show")).text()
    assert "default: #announcements" in text
    assert "Keynote: #general" in text
    assert "when: 5 min before · breaks: yes" in text
    assert "ping: @Organizer" in text
    assert "Board channel**: #reminders" in text
    assert "Keynote, Poster session, Panel (the default)" in text
    assert "Last changed by @olga" in text

    # Removing a kind's channel sends it back to the default channel.
    back = await olga.slash("setup channel", kind="keynote")
    assert "Keynote goes to the default channel again" in back.text()
    row = await config_row(local)
    assert row is not None and row.kind_channels == {}


async def test_setup_refuses_unknown_kinds_and_leads_out_of_range(local: LocalDiscord) -> None:
    olga = organizer(local.sim)
    answer = await olga.slash(
        "setup channel", kind="workshopz", options={"channel": "announcements"}
    )
    assert "The program has no entries of kind “workshopz”" in answer.text()
    with pytest.raises(SimulatorError, match=r"within 0\.\.60"):
        await olga.slash("setup lead", minutes=61)
    assert await config_row(local) is None


async def test_setup_channel_where_the_bot_cannot_post_is_refused_clearly(
    local: LocalDiscord,
) -> None:
    assert local.bot is not None
    olga = organizer(local.sim)
    updated = asyncio.ensure_future(local.bot.wait_for("guild_channel_update", timeout=2))
    local.sim.set_channel_permissions("reminders", allow_bot_send=False)
    await updated

    answer = await olga.slash("setup channel", kind="default", options={"channel": "reminders"})
    assert answer.ephemeral
    assert answer.content == (
        f"I can't post in <#{local.sim.channel_id('reminders')}>: I'm missing the "
        "**Send Messages** permission there. Allow it for my role in the channel's settings "
        "(Edit Channel → Permissions), then try again."
    )
    board = await olga.slash("setup board", options={"channel": "reminders"})
    assert "missing the **Send Messages** permission" in (board.content or "")
    assert await config_row(local) is None

    # Allowed again: accepted.
    updated = asyncio.ensure_future(local.bot.wait_for("guild_channel_update", timeout=2))
    local.sim.set_channel_permissions("reminders", allow_bot_send=True)
    await updated
    ok = await olga.slash("setup channel", kind="default", options={"channel": "reminders"})
    assert ok.text().splitlines()[1] == (
        "OK: Every kind without a channel of its own will be announced in #reminders."
    )


async def test_session_starts_go_where_setup_says(local: LocalDiscord, clock: ManualClock) -> None:
    olga = organizer(local.sim)
    await olga.slash("setup channel", kind="default", options={"channel": "announcements"})
    await olga.slash("setup channel", kind="keynote", options={"channel": "general"})
    await at(local, clock, edt("08:45"))
    await local.sim.wait_for_message("announcements")
    await at(local, clock, edt("09:00"))
    keynote = await local.sim.wait_for_message("general", predicate=lambda m: bool(m.get("embeds")))
    assert keynote["embeds"][0]["title"].startswith("Brain-inspired hardware")
    titles = [m["embeds"][0]["title"] for m in local.sim.messages("announcements")]
    assert titles == ["Opening welcome speech"]


# -- /status ------------------------------------------------------------------------------------


def _number(text: str, pattern: str) -> int:
    found = re.search(pattern, text)
    assert found is not None, f"{pattern!r} not in {text}"
    return int(found.group(1))


async def test_status_reports_the_counts_the_database_holds(
    local: LocalDiscord, clock: ManualClock
) -> None:
    sim = local.sim
    olga = organizer(sim)
    alice = sim.add_user("alice")
    bob = sim.add_user("bob")
    await alice.slash("remind talk", title=PAYVAND)
    await alice.slash("remind talk", title=KELLER)
    await bob.slash("remind talk", title=KELLER)
    await at(local, clock, edt("08:50"))
    await sim.wait_for_message(dm_of=alice, predicate=lambda m: m["content"].startswith("⏰"))
    await settle(local)

    status = await olga.slash("status")
    assert status.ephemeral
    text = status.text()
    assert local.services is not None
    async with local.services.sessions() as s:
        active = await s.scalar(
            select(func.count()).select_from(Subscription).where(Subscription.state == "active")
        )
        sent = await s.scalar(
            select(func.count()).select_from(Subscription).where(Subscription.state == "sent")
        )
        failed = await s.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.state == "failed")
        )
    assert (active, sent, failed) == (2, 1, 0)
    assert _number(text, r"Reminders: (\d+) pending") == active
    assert _number(text, r"pending · (\d+) sent") == sent
    assert _number(text, r"Messages: \d+ sent · (\d+) failed") == failed
    assert "Database: " + local.services.database_backend in text
    assert "Hardware-Aware Efficient Training (HAET 2022):" in text
    assert re.search(r"Gateway latency: (\d+ ms|not measured yet)", text)
    assert "Next due:" in text and "Uptime:" in text
    # Nothing secret: no token, no database URL.
    assert "sim-token" not in text
    assert local.settings.database_url not in text
    assert "postgresql+asyncpg://" not in text and "sqlite+aiosqlite" not in text


async def test_status_shows_a_permission_problem_once_noted(
    local: LocalDiscord, clock: ManualClock
) -> None:
    sim = local.sim
    olga = organizer(sim)
    await olga.slash("setup channel", kind="default", options={"channel": "announcements"})
    assert local.bot is not None
    updated = asyncio.ensure_future(local.bot.wait_for("guild_channel_update", timeout=2))
    sim.set_channel_permissions("announcements", allow_bot_send=False)
    await updated
    await at(local, clock, edt("08:45"))

    first = (await olga.slash("status")).text()
    assert "🆕" in first
    assert "I may not post in #announcements (missing permissions)" in first
    assert _number(first, r"Messages: \d+ sent · (\d+) failed") == 1
    again = (await olga.slash("status")).text()
    assert "I may not post in #announcements" in again and "🆕" not in again
