"""What the invite link grants is all the bot needs; an older invite is told what to add.

Since 23 February 2026 Discord lets a bot pin only with Pin Messages (Manage Messages no longer
does) and create scheduled events only with Create Events (Manage Events no longer does). The
local Discord enforces both, like Discord.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import pytest

from bot.app import INVITE_PERMISSIONS
from bot.clock import ManualClock
from bot.local import LocalDiscord
from bot.simulator import Perm
from tests.e2e.conftest import FAST_LIMITS
from tests.e2e.helpers import at, edt
from tests.e2e.test_organizers import organizer

#: What the bot's invite link asked for until Discord split the pin and create-events rights.
OLD_INVITE = (
    INVITE_PERMISSIONS.value & ~(Perm.PIN_MESSAGES | Perm.CREATE_EVENTS)
    | Perm.MANAGE_MESSAGES
    | Perm.MANAGE_EVENTS
)


@pytest.fixture
def clock() -> ManualClock:
    # Days before the workshop, so that Discord accepts its events.
    return ManualClock(edt("12:00", day=20))


@pytest.fixture
def sim_now(clock: ManualClock) -> Callable[[], datetime]:
    """Discord refuses events in the past, judged by the workshop clock."""
    return clock.now


def test_the_invite_asks_for_pin_messages_and_create_events_only() -> None:
    granted = INVITE_PERMISSIONS
    assert granted.pin_messages and granted.create_events
    # Least privilege: nothing that lets the bot touch other people's messages or events,
    # and never a ping of everyone.
    assert not granted.manage_messages
    assert not granted.manage_events
    assert not granted.mention_everyone
    assert not granted.administrator


@pytest.mark.parametrize("rate_limits", [FAST_LIMITS])
@pytest.mark.parametrize("bot_permissions", [INVITE_PERMISSIONS.value])
async def test_what_the_invite_link_grants_pins_the_board_and_makes_events(
    local: LocalDiscord, clock: ManualClock
) -> None:
    sim = local.sim
    olga = organizer(sim)
    board = await olga.slash("setup board", options={"channel": "reminders"})
    assert board.text().splitlines()[1:-1] == ["OK: the board goes in #reminders."]
    created = await olga.slash("setup events sync")
    assert "9 created, 0 updated, 0 unchanged, 0 deleted" in created.text()
    # Its own events it may delete with Create Events alone.
    await olga.slash("setup events kinds", kinds="keynote")
    narrowed = await olga.slash("setup events sync")
    assert "0 created, 0 updated, 6 unchanged, 3 deleted" in narrowed.text()
    assert len(sim.scheduled_events) == 6

    await at(local, clock, edt("08:40"))
    [message] = sim.messages("reminders")
    assert [p["id"] for p in sim.pins("reminders")] == [message["id"]]
    assert "could not pin" not in (await olga.slash("status")).text()


@pytest.mark.parametrize("rate_limits", [FAST_LIMITS])
@pytest.mark.parametrize("bot_permissions", [OLD_INVITE])
async def test_an_older_invite_is_told_what_to_grant_and_then_pins(
    local: LocalDiscord, clock: ManualClock
) -> None:
    sim = local.sim
    assert local.bot is not None
    olga = organizer(sim)
    board = await olga.slash("setup board", options={"channel": "reminders"})
    assert board.text().splitlines()[1:-1] == [
        "OK: the board goes in #reminders.",
        "I can't pin it there yet: I'm missing the **Pin Messages** permission in that "
        "channel. It will be posted and kept up to date, and pinned once you allow it for my "
        "role.",
    ]
    refused = await olga.slash("setup events sync")
    assert (
        "Discord refused: I need the **Create Events** permission in this server "
        "(Server Settings → Roles → my role)."
    ) in refused.text()
    assert sim.scheduled_events == []

    # The board is still posted and kept up to date; /status says why it is not pinned.
    await at(local, clock, edt("08:40"))
    [message] = sim.messages("reminders")
    assert sim.pins("reminders") == []
    status = (await olga.slash("status")).text()
    assert (
        "I could not pin the Now / Next board in #reminders (missing permissions): it is "
        "posted and kept up to date, but not pinned. Give my role **Pin Messages** in that "
        "channel; I pin it at its next update."
    ) in status

    # An admin adds what the note names: the next update pins the same message, and the
    # note is gone.
    updated = asyncio.ensure_future(local.bot.wait_for("guild_role_update", timeout=2))
    sim.set_bot_permissions(OLD_INVITE | Perm.PIN_MESSAGES | Perm.CREATE_EVENTS)
    await updated
    await at(local, clock, edt("09:05"))
    [pinned] = sim.messages("reminders")
    assert pinned["id"] == message["id"]
    assert "Brain-inspired hardware" in pinned["embeds"][0]["fields"][0]["value"]
    assert [p["id"] for p in sim.pins("reminders")] == [message["id"]]
    assert "could not pin" not in (await olga.slash("status")).text()


@pytest.mark.parametrize("rate_limits", [FAST_LIMITS])
async def test_a_board_refused_a_pin_for_another_reason_says_discords_reason(
    local: LocalDiscord, clock: ManualClock
) -> None:
    from bot.simulator.models import SimPin

    sim = local.sim
    olga = organizer(sim)
    # The channel already holds Discord's maximum of 250 pins.
    sim.state.channel("reminders").pins = [
        SimPin(n, "2022-07-01T00:00:00+00:00") for n in range(250)
    ]
    await olga.slash("setup board", options={"channel": "reminders"})
    await at(local, clock, edt("08:40"))
    [message] = sim.messages("reminders")
    assert message["embeds"][0]["title"].startswith("Now / Next")
    status = (await olga.slash("status")).text()
    assert (
        "I could not pin the Now / Next board in #reminders (Discord said: Maximum number of "
        "pins reached (250)): it is posted and kept up to date, but not pinned. I try again at "
        "its next update."
    ) in status
