"""The first subscription's confirmation DM: one Discord will not take now never undoes it.

The subscription is saved before the DM is tried, so whatever happens to the DM the member is
told the reminder is saved. Only Discord's 50007 means "your DMs are closed"; a 429 past
discord.py's five tries or a 503 is Discord being unable to take it now: a one-line note, no
apology and no ERROR (the ``local`` fixture fails the test on one).
"""

from __future__ import annotations

import pytest

from bot.clock import ManualClock
from bot.local import LocalDiscord
from bot.simulator import SimUser
from bot.tree import APOLOGY
from tests.e2e.helpers import at, edt
from tests.e2e.test_organizers import KELLER, PAYVAND

DM_SEND = "POST /channels/{channel_id}/messages"
NOT_NOW = "Discord would not take my confirmation DM just now; your reminder is saved"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(edt("08:30"))


def reminders(user: SimUser) -> list[str]:
    return [m["content"] for m in user.dms if m["content"].startswith("⏰")]


@pytest.mark.parametrize("refusal", ["429 five times", "503"])
async def test_a_confirmation_dm_discord_will_not_take_now_still_confirms_the_reminder(
    local: LocalDiscord, clock: ManualClock, refusal: str
) -> None:
    sim = local.sim
    alice, bob = sim.add_user("alice"), sim.add_user("bob")
    card = await bob.slash("schedule talk", title=KELLER)

    def refuse() -> None:
        if refusal == "503":
            sim.faults.fail_requests(503, count=1, route=DM_SEND)
        else:
            # discord.py waits out each 429 and gives up after the fifth.
            sim.faults.rate_limit(5, retry_after=0.05, route=DM_SEND)

    refuse()
    answer = await alice.slash("remind talk", title=PAYVAND)
    refuse()
    pressed = await card.click("Remind me")

    for result in (answer, pressed):
        text = result.text()
        assert result.ephemeral
        assert "I'll remind you of “" in text and "10 min before" in text, text
        assert NOT_NOW in text, text
        assert APOLOGY not in text and "DMs are closed" not in text, text
        assert "Privacy Settings" not in text, text  # their DMs are open
    assert alice.dms == [] and bob.dms == []
    assert "Brain-inspired hardware" in (await alice.slash("remind list")).text()

    # The reminders themselves go out when due.
    await at(local, clock, edt("08:50"))
    await sim.wait_for_message(dm_of=alice, predicate=lambda m: m["content"].startswith("⏰"))
    await at(local, clock, edt("09:20"))
    await sim.wait_for_message(dm_of=bob, predicate=lambda m: m["content"].startswith("⏰"))
    assert len(reminders(alice)) == 1 and len(reminders(bob)) == 1
