"""Reminders and session-start announcements on the HAET day, through the local Discord."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.clock import ManualClock
from bot.local import LocalDiscord
from bot.settings import Settings
from bot.simulator import DiscordSimulator, SimUser
from tests.conftest import HAET_FILE
from tests.e2e.conftest import FAST_LIMITS
from tests.e2e.helpers import at, edt, settle

PAYVAND = "keynote-melika-payvand"
VENUE = ZoneInfo("America/New_York")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(edt("08:30"))


@pytest.fixture
def program_copy(tmp_path: Path) -> Path:
    """The HAET program in a file the test may edit (the organizer's copy)."""
    copy = tmp_path / "program.yaml"
    copy.write_text(HAET_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    return copy


@pytest.fixture
def settings(database_url: str, sim: DiscordSimulator, program_copy: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        program_file=program_copy,
        discord_token="sim-token",
        announce_channel_id=sim.channel_id("announcements"),
        claim_lease_seconds=0.5,
    )


def reminder_dms(user: SimUser) -> list[dict]:
    return [m for m in user.dms if m["content"].startswith("⏰")]


def posts(sim: DiscordSimulator) -> list[dict]:
    return sim.messages("announcements")


async def test_payvand_reminder_arrives_once_at_0850(
    local: LocalDiscord, clock: ManualClock
) -> None:
    alice = local.sim.add_user("alice")
    result = await alice.slash("remind talk", title=PAYVAND)
    assert result.ephemeral
    assert "I'll remind you of “Brain-inspired hardware" in result.text()
    assert "10 min before" in result.text()
    # First subscription: confirmed by DM.
    assert (
        len(alice.dms) == 1 and "I'll send your workshop reminders here" in alice.dms[0]["content"]
    )

    await at(local, clock, edt("08:49") + timedelta(seconds=59))
    assert reminder_dms(alice) == []
    await at(local, clock, edt("08:50"))
    await local.sim.wait_for_message(dm_of=alice, predicate=lambda m: m["content"].startswith("⏰"))
    [dm] = reminder_dms(alice)
    assert "**Brain-inspired hardware and algorithm co-design" in dm["content"]
    assert "09:00 EDT" in dm["content"]
    assert "Sent late" not in dm["content"]
    # Short: the time and where to go; the card (abstract, authors) is a button away.
    assert dm["embeds"] == [] and len(dm["content"]) < 400
    labels = [c["label"] for row in dm["components"] for c in row["components"]]
    assert labels == ["Details", "Stop this reminder", "Stop all…"]
    # Later passes do not send it again.
    await at(local, clock, edt("08:55"))
    await at(local, clock, edt("09:20"))
    assert len(reminder_dms(alice)) == 1

    listing = await alice.slash("remind list")
    assert "✅ **Brain-inspired hardware" in listing.text()
    assert ": sent at 08:50, for the 09:00 keynote." in listing.text(tz=VENUE)


@pytest.mark.parametrize("rate_limits", [FAST_LIMITS])
async def test_announcements_one_post_per_non_break_non_poster_entry(
    local: LocalDiscord, clock: ManualClock
) -> None:
    assert local.services is not None
    talks = local.services.program.snapshot.talks
    for moment in sorted({t.start for t in talks}):
        await at(local, clock, moment)
    await at(local, clock, edt("16:00"))
    announced = [t for t in talks if t.kind not in ("poster", "break")]
    assert len(announced) == 12
    got = posts(local.sim)
    assert [p["embeds"][0]["title"] for p in got] == [t.title for t in announced]
    assert all(p["content"].startswith("**Starting now**") for p in got)
    # Posters appear inside their session's post, never on their own.
    session_post = next(p for p in got if p["embeds"][0]["title"].startswith("Poster session II"))
    fields = {f["name"]: f["value"] for f in session_post["embeds"][0]["fields"]}
    assert (
        "FlashAttention: Fast and Memory-Efficient Exact Attention with IO-Awareness"
        in fields["Posters (12)"]
    )
    assert not any(p["mention_everyone"] or p["mention_roles"] for p in got)


async def test_closed_dms_are_told_at_subscription_and_do_not_block_others(
    local: LocalDiscord, clock: ManualClock
) -> None:
    bob = local.sim.add_user("bob", dms_open=False)
    alice = local.sim.add_user("alice")
    answer = await bob.slash("remind talk", title=PAYVAND, minutes_before=5)
    assert "I couldn't send you a DM" in answer.text()
    assert "Privacy Settings" in answer.text()
    await alice.slash("remind talk", title=PAYVAND, minutes_before=5)
    listing = await bob.slash("remind list")
    assert "Brain-inspired hardware" in listing.text()

    await at(local, clock, edt("08:55"))
    await local.sim.wait_for_message(dm_of=alice, predicate=lambda m: m["content"].startswith("⏰"))
    assert len(reminder_dms(alice)) == 1
    listing = await bob.slash("remind list")
    assert "could not be delivered" in listing.text()
    # Not retried in a loop.
    await at(local, clock, edt("08:58"))
    assert local.sim.stats.requests.get("POST /channels/{channel.id}/messages", 0) < 10


async def test_restart_inside_a_talk_posts_its_announcement_late_once_and_no_second_reminder(
    local: LocalDiscord, clock: ManualClock
) -> None:
    alice = local.sim.add_user("alice")
    await alice.slash("remind talk", title=PAYVAND)
    await at(local, clock, edt("08:50"))
    await local.sim.wait_for_message(dm_of=alice, predicate=lambda m: m["content"].startswith("⏰"))
    await at(local, clock, edt("08:55"))
    await local.stop_bot()

    clock.set(edt("09:10"))
    await local.start_bot()
    await settle(local)
    payvand_posts = [
        p for p in posts(local.sim) if p["embeds"][0]["title"].startswith("Brain-inspired")
    ]
    assert len(payvand_posts) == 1
    assert payvand_posts[0]["content"].startswith("**Started <t:")
    assert "Posted late" in payvand_posts[0]["content"]
    assert len(reminder_dms(alice)) == 1

    # Restarting again changes nothing.
    await local.stop_bot()
    await local.start_bot()
    await settle(local)
    assert (
        len([p for p in posts(local.sim) if p["embeds"][0]["title"].startswith("Brain-inspired")])
        == 1
    )


async def test_restart_after_a_talk_ended_posts_nothing_for_it(
    local: LocalDiscord, clock: ManualClock
) -> None:
    await at(local, clock, edt("08:50"))
    await local.stop_bot()
    clock.set(edt("10:10"))
    await local.start_bot()
    await settle(local)
    titles = [p["embeds"][0]["title"] for p in posts(local.sim)]
    assert not any(t.startswith("Brain-inspired") for t in titles)
    assert not any(t.startswith("How Computer Graphics") for t in titles)
    # The opening was posted at 08:50; Poster session I (10:00-11:30) is on: posted late.
    assert titles == [
        "Opening welcome speech",
        "Poster session I: open discussion and coffee break.",
    ]


async def test_subscribing_to_a_started_talk_or_twice_gives_a_clear_answer(
    local: LocalDiscord, clock: ManualClock
) -> None:
    alice = local.sim.add_user("alice")
    await alice.slash("remind talk", title=PAYVAND)
    again = await alice.slash("remind talk", title=PAYVAND)
    assert "You already have a reminder" in again.text()
    clock.set(edt("09:05"))
    started = await alice.slash("remind talk", title="keynote-melika-payvand", minutes_before=0)
    assert "has already started" in started.text()
    off = await alice.slash("remind off")
    assert "Stopped 1 reminder." in off.text()


async def test_moving_a_keynote_moves_its_reminders_and_tells_subscribers_once(
    local: LocalDiscord, clock: ManualClock, program_copy: Path
) -> None:
    from bot.simulator import Perm

    alice = local.sim.add_user("alice")
    carol = local.sim.add_user("carol")
    await alice.slash("remind talk", title=PAYVAND)
    await carol.slash("remind talk", title=PAYVAND, minutes_before=30)
    organizer = local.sim.add_user("olga", permissions=Perm.MANAGE_GUILD | Perm.VIEW_CHANNEL)

    text = program_copy.read_text(encoding="utf-8")
    text = text.replace(
        "  start: '2022-07-23T09:00:00-04:00'\n  end: '2022-07-23T09:30:00-04:00'\n  people:\n  - Melika Payvand",
        "  start: '2022-07-23T09:30:00-04:00'\n  end: '2022-07-23T10:00:00-04:00'\n  people:\n  - Melika Payvand",
    )
    assert "09:30:00-04:00'\n  end: '2022-07-23T10:00:00-04:00'\n  people:\n  - Melika" in text
    program_copy.write_text(text, encoding="utf-8")

    answer = await organizer.slash("program reload")
    assert "Program reloaded: 0 added, 1 updated (1 moved)" in answer.text()
    await settle(local)
    for user in (alice, carol):
        moved = [m for m in user.dms if m["content"].startswith("📅")]
        assert len(moved) == 1, user.dms
        assert "has moved" in moved[0]["content"] and "09:30 EDT" in moved[0]["content"]

    # Reloading the same file again tells nobody anything new.
    await organizer.slash("program reload")
    await settle(local)
    assert sum(m["content"].startswith("📅") for m in alice.dms) == 1

    # The reminder now comes at 09:20, not 08:50.
    await at(local, clock, edt("08:50"))
    assert reminder_dms(alice) == []
    await at(local, clock, edt("09:20"))
    await local.sim.wait_for_message(dm_of=alice, predicate=lambda m: m["content"].startswith("⏰"))
    assert len(reminder_dms(alice)) == 1


async def test_non_organizer_cannot_reload(local: LocalDiscord) -> None:
    from bot.simulator import CommandNotAvailable

    mallory = local.sim.add_user("mallory")
    with pytest.raises(CommandNotAvailable):
        await mallory.slash("program reload")


@pytest.mark.parametrize("rate_limits", [FAST_LIMITS])
async def test_live_board_is_one_pinned_message_edited_in_place(
    local: LocalDiscord, clock: ManualClock
) -> None:
    from bot.db.models import GuildConfig

    assert local.services is not None
    board = local.sim.channel_id("reminders")
    async with local.services.sessions() as s, s.begin():
        s.add(
            GuildConfig(
                guild_id=local.sim.guild_id,
                default_channel_id=local.sim.channel_id("announcements"),
                board_channel_id=board,
                updated_at=clock.now(),
            )
        )
    await at(local, clock, edt("08:40"))
    [message] = local.sim.messages("reminders")
    assert "The workshop starts" in message["embeds"][0]["description"]
    assert [p["id"] for p in local.sim.pins("reminders")] == [message["id"]]
    # It promises nothing it cannot keep (commands synced to one server do not exist in DMs,
    # and /schedule now answers privately, not by DM).
    footer = message["embeds"][0]["footer"]["text"]
    assert footer == "Kept up to date as sessions start and end"

    await at(local, clock, edt("09:05"))
    [message] = local.sim.messages("reminders")
    fields = {f["name"]: f["value"] for f in message["embeds"][0]["fields"]}
    assert "Brain-inspired hardware" in fields["Now"]
    assert "How Computer Graphics" in fields["Next"]
    assert message["edited_timestamp"] is not None

    await at(local, clock, edt("10:30"))
    [message] = local.sim.messages("reminders")
    fields = {f["name"]: f["value"] for f in message["embeds"][0]["fields"]}
    assert fields["Now"].count("Poster session I") == 1


async def test_a_program_edited_while_the_bot_was_down_tells_subscribers_at_start(
    local: LocalDiscord, clock: ManualClock, program_copy: Path
) -> None:
    alice = local.sim.add_user("alice")
    await alice.slash("remind talk", title=PAYVAND)
    await local.stop_bot()
    text = program_copy.read_text(encoding="utf-8").replace(
        "  start: '2022-07-23T09:00:00-04:00'\n  end: '2022-07-23T09:30:00-04:00'\n  people:\n  - Melika Payvand",
        "  start: '2022-07-23T09:30:00-04:00'\n  end: '2022-07-23T10:00:00-04:00'\n  people:\n  - Melika Payvand",
    )
    program_copy.write_text(text, encoding="utf-8")
    await local.start_bot()
    await settle(local)
    await local.sim.wait_for_message(dm_of=alice, predicate=lambda m: m["content"].startswith("📅"))
    # A second restart with the same file tells nobody again.
    await local.stop_bot()
    await local.start_bot()
    await settle(local)
    assert sum(m["content"].startswith("📅") for m in alice.dms) == 1
    await at(local, clock, edt("09:20"))
    await local.sim.wait_for_message(dm_of=alice, predicate=lambda m: m["content"].startswith("⏰"))


async def test_remind_autocomplete_offers_only_talks_still_to_come(
    local: LocalDiscord, clock: ManualClock
) -> None:
    assert local.services is not None
    snapshot = local.services.program.snapshot
    clock.set(edt("12:30"))
    alice = local.sim.add_user("alice")
    choices = await alice.autocomplete("remind talk", title="efficient")
    assert choices, "nothing offered though matching talks are still to come"
    assert all(snapshot.by_id[c["value"]].start > edt("12:30") for c in choices)
    assert "poster-efficient-training-of-deep-equilibrium-models" in {c["value"] for c in choices}
