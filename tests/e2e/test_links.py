"""Posters' links where people need them, through the local Discord: the session-start post,
/schedule now during Poster session I, and the live board."""

from __future__ import annotations

import pytest

from bot.clock import ManualClock
from bot.db.models import GuildConfig
from bot.local import LocalDiscord
from bot.settings import Settings
from bot.simulator import DiscordSimulator
from bot.simulator.validation import message_issues
from tests.conftest import HAET_FILE
from tests.e2e.conftest import FAST_LIMITS
from tests.e2e.helpers import at, edt

LOW_BIT = "poster-low-bit-dnn-training-with-hardware-efficient"
LOW_BIT_TITLE = "Low-Bit DNN Training with Hardware-Efficient Stochastic Rounding Unit Design"
LOW_BIT_PDF = "[PDF](<https://www.dropbox.com/s/gk7tx169tcvcsbj/HAET2022_lowbittraining.pdf?dl=0>)"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(edt("09:50"))


@pytest.fixture
def settings(database_url: str, sim: DiscordSimulator) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        program_file=HAET_FILE,
        discord_token="sim-token",
        announce_channel_id=sim.channel_id("announcements"),
    )


def fields_text(message: dict) -> str:
    embed = message["embeds"][0]
    return "\n".join(
        [embed.get("description") or ""] + [f"{f['name']}\n{f['value']}" for f in embed["fields"]]
    )


@pytest.mark.parametrize("rate_limits", [FAST_LIMITS])
async def test_session_start_post_and_board_show_each_posters_links(
    local: LocalDiscord, clock: ManualClock
) -> None:
    assert local.services is not None
    snapshot = local.services.program.snapshot
    assert snapshot.by_id[LOW_BIT].title == LOW_BIT_TITLE
    async with local.services.sessions() as s, s.begin():
        s.add(
            GuildConfig(
                guild_id=local.sim.guild_id,
                default_channel_id=local.sim.channel_id("announcements"),
                board_channel_id=local.sim.channel_id("reminders"),
                updated_at=clock.now(),
            )
        )
    await at(local, clock, edt("10:00"))
    post = next(
        m
        for m in local.sim.messages("announcements")
        if m["embeds"] and m["embeds"][0]["title"].startswith("Poster session I:")
    )
    assert post["content"].startswith("**Starting now** · Poster session: Poster session I")
    assert (
        message_issues({"content": post["content"], "embeds": post["embeds"]}, creating=True) == []
    )
    text = fields_text(post)
    # Every poster of the session, each with its links, in the one post.
    for poster in snapshot.children("poster-session-i"):
        assert f"• **{poster.title}**" in text
        for _, url in poster.links:
            assert f"(<{url}>)" in text
    assert f"• **{LOW_BIT_TITLE}** — {LOW_BIT_PDF} · [Poster](<" in text
    assert not post["mention_everyone"] and not post["mention_roles"]

    await at(local, clock, edt("10:30"))
    [board] = local.sim.messages("reminders")
    names = [f["name"] for f in board["embeds"][0]["fields"]]
    assert names[:2] == ["Now", "Posters (12)"] and names[-1] == "Next"
    assert f"• **{LOW_BIT_TITLE}** — {LOW_BIT_PDF}" in fields_text(board)


async def test_schedule_now_during_poster_session_i_shows_a_posters_pdf(
    local: LocalDiscord, clock: ManualClock
) -> None:
    clock.set(edt("10:30"))
    alice = local.sim.add_user("alice")
    answer = await alice.slash("schedule now")
    now = answer.embeds[0]["description"]
    assert now.startswith("**Poster session I: open discussion and coffee break.**")
    assert f"◦ {LOW_BIT_TITLE} — {LOW_BIT_PDF} · [Poster](<" in now
    # Shared in the channel: the same links, in the one embed (no link previews unfurl).
    shared = await answer.click("Share in channel")
    assert not shared.ephemeral and len(shared.embeds) == 1
    assert LOW_BIT_PDF in shared.embeds[0]["description"]
