"""What session posts and reminder DMs say is true when they go out and when read later (issue
13, items 1, 5 and 6, and "one DM per moment"): "I was offline" only when the bot was down.
"""

from __future__ import annotations

import re

import pytest

from bot.clock import Clock, ManualClock
from bot.local import LocalDiscord
from bot.settings import Settings
from bot.simulator import SimUser
from tests.conftest import HAET_FILE
from tests.e2e.conftest import FAST_LIMITS
from tests.e2e.helpers import at, edt
from tests.e2e.test_organizers import organizer

PAYVAND = "keynote-melika-payvand"
KELLER = "keynote-alexander-keller"
TS = re.compile(r"<t:(\d+):([tTdDfFR])>")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(edt("08:30"))


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        program_file=HAET_FILE,
        discord_token="sim-token",
        claim_lease_seconds=0.5,
    )


def reminder_dms(user: SimUser) -> list[dict]:
    return [m for m in user.dms if m["content"].startswith("⏰")]


def posts(local: LocalDiscord) -> list[str]:
    return [m["content"] for m in local.sim.messages("announcements") if m["author"]["bot"]]


async def test_a_session_posted_early_says_when_it_starts_not_starting_now(
    local: LocalDiscord, clock: Clock
) -> None:
    """/setup lead 5: the 09:00 keynote is posted at 08:55 as starting at 09:00 (a Discord
    timestamp, true for every reader and whenever read), not "Starting now"."""
    olga = organizer(local.sim)
    await olga.slash("setup channel", kind="default", options={"channel": "announcements"})
    await olga.slash("setup lead", minutes=5)
    await at(local, clock, edt("08:55"))
    [post] = [p for p in posts(local) if "Brain-inspired" in p]
    assert post.startswith("**Starts <t:1658581200:f>** (<t:1658581200:R>)"), post
    assert "Starting now" not in post and "offline" not in post


async def test_a_channel_set_during_a_keynote_posts_it_as_started_without_claiming_downtime(
    local: LocalDiscord, clock: Clock
) -> None:
    """/setup channel at 09:10, during Payvand's keynote: the post says it started at 09:00; the
    bot was never down, so it does not say "I was offline"."""
    await at(local, clock, edt("09:10"))
    olga = organizer(local.sim)
    await olga.slash("setup channel", kind="default", options={"channel": "announcements"})
    await at(local, clock, edt("09:10:05"))
    [post] = [p for p in posts(local) if "Brain-inspired" in p]
    assert post.startswith("**Started <t:1658581200:f>**"), post
    assert "offline" not in post


async def test_a_reminder_asked_for_inside_its_lead_time_does_not_claim_downtime(
    local: LocalDiscord, clock: Clock
) -> None:
    """At 09:22, "remind me 10 min before the 09:30 keynote": the reminder goes at once and
    says the talk starts at 09:30, with no false "I was offline"."""
    alice = local.sim.add_user("alice")
    await at(local, clock, edt("09:22"))
    await alice.slash("remind talk", title=KELLER, minutes_before=10)
    await at(local, clock, edt("09:22:30"))
    [dm] = reminder_dms(alice)
    assert "starts <t:1658583000:f>" in dm["content"]
    assert "offline" not in dm["content"] and "late" not in dm["content"]


async def test_a_reminder_sent_after_the_start_says_started_not_starts_ago(
    local: LocalDiscord, clock: Clock, settings: Settings
) -> None:
    """The bot was down from 08:40 to 09:05: the 08:50 reminder goes out at 09:05 as "started at
    09:00", with "I was offline" (true, this time), never "starts 5 minutes ago"."""
    alice = local.sim.add_user("alice")
    await alice.slash("remind talk", title=PAYVAND)
    await at(local, clock, edt("08:40"))
    await local.stop_bot()
    assert isinstance(clock, ManualClock)
    clock.set(edt("09:05"))
    await local.start_bot()
    await at(local, clock, edt("09:05:01"))
    [dm] = reminder_dms(alice)
    assert "started <t:1658581200:f>" in dm["content"], dm["content"]
    assert "starts" not in dm["content"]
    assert "I was offline" in dm["content"]


@pytest.mark.parametrize("rate_limits", [FAST_LIMITS])
async def test_twelve_posters_at_the_same_moment_are_one_dm(
    local: LocalDiscord, clock: Clock
) -> None:
    """/remind kind poster: the 12 posters of the first session start together at 10:00, so
    their reminders are one DM listing them, not twelve DMs in one minute."""
    alice = local.sim.add_user("alice")
    answer = await alice.slash("remind kind", kind="poster")
    assert "24" in answer.text() or "poster" in answer.text().lower()
    await at(local, clock, edt("09:50"))
    dms = reminder_dms(alice)
    assert len(dms) == 1, [d["content"][:60] for d in dms]
    content = dms[0]["content"]
    assert content.startswith("⏰ These 12 start <t:1658584800:f>"), content
    assert content.count("\n• **") == 12, content
    assert len(content) <= 2000
    # Once: later passes send nothing more for them.
    await at(local, clock, edt("09:55"))
    assert len(reminder_dms(alice)) == 1
