"""/announce through the local Discord: now, at a time (across a restart), cancel, limits, pings."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.db.models import Delivery, ScheduledAnnouncement
from bot.local import LocalDiscord
from bot.simulator import InteractionResult, Perm, SimulatorError, SimUser
from bot.simulator.users import build_command_data
from tests.e2e.helpers import edt
from tests.e2e.test_organizers import organizer, settle


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(edt("09:05"))


def text_input(result: InteractionResult) -> dict[str, Any]:
    """The modal's one text input."""
    assert result.modal is not None, result
    found = [
        c
        for row in result.modal["components"]
        for c in (row.get("components") or [row.get("component")])
        if c and c.get("type") == 4
    ]
    assert len(found) == 1
    return found[0]


async def write(result: InteractionResult, text: str, **kwargs: Any) -> InteractionResult:
    return await result.submit_modal({text_input(result)["custom_id"]: text}, **kwargs)


async def schedule(
    local: LocalDiscord, user: SimUser, when: str, text: str, **options: Any
) -> InteractionResult:
    opened = await user.slash("announce at", when=when, options=options)
    confirm = await write(opened, text)
    done = await confirm.click("Schedule it")
    assert "Scheduled: announcement #" in (done.content or ""), done
    return done


def posts(local: LocalDiscord, channel: str = "announcements") -> list[dict[str, Any]]:
    return local.sim.messages(channel)


async def test_announce_at_in_20_minutes_posts_once_20_minutes_later_across_a_restart(
    local: LocalDiscord, clock: ManualClock
) -> None:
    olga = organizer(local.sim)
    opened = await olga.slash(
        "announce at", when="in 20 minutes", options={"channel": "announcements"}
    )
    assert text_input(opened)["max_length"] == 2000
    assert text_input(opened)["style"] == 2  # paragraph
    confirm = await write(opened, "Lunch is served in the atrium.")
    shown = confirm.content or ""
    due = edt("09:25")
    # The parsed instant, as Discord timestamps and in venue time, before anything is stored.
    assert f"<t:{int(due.timestamp())}:F>" in shown and f"<t:{int(due.timestamp())}:R>" in shown
    assert "Sat 23 Jul 09:25 EDT venue time" in shown
    assert "> Lunch is served in the atrium." in shown
    assert [c["label"] for row in confirm.components for c in row["components"]] == [
        "Schedule it",
        "Cancel",
    ]
    assert local.services is not None
    async with local.services.sessions() as s:
        assert (await s.scalars(select(ScheduledAnnouncement))).all() == []

    done = await confirm.click("Schedule it")
    assert "🗓️ Scheduled: announcement #1 in #announcements" in done.text()
    assert done.components == []
    listing = await olga.slash("announce list")
    assert "#1" in listing.text() and "Lunch is served" in listing.text()

    await settle(local)
    clock.set(edt("09:24") + timedelta(seconds=59))
    await settle(local)
    assert posts(local) == []
    await local.stop_bot()
    clock.set(edt("09:25"))
    await local.start_bot()
    await settle(local)
    await local.sim.wait_for_message("announcements")
    [post] = posts(local)
    assert post["content"] == "Lunch is served in the atrium."

    await local.stop_bot()
    clock.set(edt("09:40"))
    await local.start_bot()
    await settle(local)
    assert len(posts(local)) == 1
    listing = await olga.slash("announce list")
    assert "No announcements are waiting" in listing.text()


async def test_announcement_text_cannot_ping_anyone_unless_a_role_is_picked(
    local: LocalDiscord,
) -> None:
    sim = local.sim
    olga = organizer(sim)
    alice = sim.add_user("alice")
    organizers = sim.role_id("Organizer")
    text = f"@everyone @here <@&{organizers}> <@{alice.id}> the poster session starts!"

    opened = await olga.slash("announce now", options={"channel": "announcements"})
    answer = await write(opened, text)
    assert "Posting announcement #1 in #announcements now" in answer.text()
    post = await sim.wait_for_message("announcements")
    assert post["content"] == text
    assert post["mention_everyone"] is False
    assert post["mentions"] == [] and post["mention_roles"] == []

    opened = await olga.slash(
        "announce now", role="Organizer", options={"channel": "announcements"}
    )
    assert text_input(opened)["max_length"] == 2000 - len(f"<@&{organizers}> ")
    await write(opened, text)
    pinged = await sim.wait_for_message("announcements", after=post)
    assert pinged["content"] == f"<@&{organizers}> {text}"
    assert pinged["mention_roles"] == [str(organizers)]
    assert pinged["mention_everyone"] is False and pinged["mentions"] == []


async def test_text_over_2000_characters_is_refused_with_its_length(local: LocalDiscord) -> None:
    sim = local.sim
    olga = organizer(sim)
    opened = await olga.slash("announce now", options={"channel": "announcements"})
    field = text_input(opened)
    too_long = "word " * 400 + "x"  # 2,001 characters
    assert len(too_long) == 2001
    # Discord's client enforces max_length, and so does the simulated one...
    with pytest.raises(SimulatorError, match=r"needs None\.\.2000 characters, got 2001"):
        await write(opened, too_long)
    # ...but a modified client can send anything: the bot checks again.
    assert opened.modal is not None
    data = {
        "custom_id": opened.modal["custom_id"],
        "components": [
            {
                "type": 1,
                "components": [{"type": 4, "custom_id": field["custom_id"], "value": too_long}],
            }
        ],
    }
    answer = await sim.interact(olga, 5, sim.channel("general"), data, opened_by=opened.record)
    assert answer.ephemeral
    assert answer.content == (
        "Your text is 2,001 characters; the limit is 2,000. Nothing was posted."
    )
    await settle(local)
    assert posts(local) == []
    assert local.services is not None
    async with local.services.sessions() as s:
        assert (await s.scalars(select(ScheduledAnnouncement))).all() == []


async def test_cancel_stops_the_queued_delivery(local: LocalDiscord, clock: ManualClock) -> None:
    olga = organizer(local.sim)
    await schedule(local, olga, "in 10 minutes", "First", channel="announcements")
    await schedule(local, olga, "10:00", "Second", channel="announcements")
    choices = await olga.autocomplete("announce cancel", focused="announcement", announcement="")
    assert [c["value"] for c in choices] == [1, 2]
    # A choice shows no Discord timestamp: venue time, with its date.
    assert choices[1]["name"].startswith("#2 · Sat 23 Jul 10:00 EDT · Second")

    answer = await olga.slash("announce cancel", announcement=1)
    assert answer.content is not None and answer.content.startswith("Cancelled announcement #1")
    again = await olga.slash("announce cancel", announcement=1)
    assert "was already cancelled" in (again.content or "")
    missing = await olga.slash("announce cancel", announcement=99)
    assert "There is no announcement #99 here." == missing.content

    assert local.services is not None
    async with local.services.sessions() as s:
        states = dict(
            (
                await s.execute(
                    select(Delivery.key, Delivery.state).where(Delivery.kind == "notice")
                )
            ).all()
        )
    assert states == {"announce-custom:1": "cancelled", "announce-custom:2": "pending"}

    clock.set(edt("10:00"))
    await settle(local)
    await local.sim.wait_for_message("announcements")
    assert [p["content"] for p in posts(local)] == ["Second"]
    late = await olga.slash("announce cancel", announcement=2)
    assert "was already sent" in (late.content or "")


async def test_a_bad_or_past_time_is_refused_before_the_text_is_typed(local: LocalDiscord) -> None:
    olga = organizer(local.sim)
    garbage = await olga.slash("announce at", when="after lunch")
    assert garbage.modal is None
    assert (garbage.content or "").startswith("I couldn't read “after lunch” as a time.")
    past = await olga.slash("announce at", when="today 08:00")
    assert past.content == "Sat 23 Jul 2022 08:00 EDT is in the past: pick a later time."


async def test_only_the_organizer_who_wrote_it_can_confirm_and_cancel_keeps_nothing(
    local: LocalDiscord,
) -> None:
    olga = organizer(local.sim)
    otto = organizer(local.sim, "otto")
    opened = await olga.slash("announce at", when="11:00", options={"channel": "announcements"})
    confirm = await write(opened, "Posters up!")
    other = await otto.click(confirm, "Schedule it")
    assert other.content == "Only the organizer who wrote this announcement can schedule it."
    dropped = await confirm.click("Cancel")
    assert dropped.content == "Not scheduled: nothing will be posted."
    assert local.services is not None
    async with local.services.sessions() as s:
        assert (await s.scalars(select(ScheduledAnnouncement))).all() == []


async def test_the_default_channel_is_the_configured_one_else_the_current_one(
    local: LocalDiscord,
) -> None:
    sim = local.sim
    olga = organizer(sim)

    async def in_organizers() -> InteractionResult:
        # slash(channel=...) refuses commands that have a "channel" option of their own.
        where = sim.channel("organizers")
        data = build_command_data(sim.state, olga, "announce now", {}, channel=where, focused=None)
        return await sim.interact(olga, 2, where, data)

    here = await write(await in_organizers(), "Here")
    assert "in #organizers" in here.text()
    await olga.slash("setup channel", kind="default", options={"channel": "announcements"})
    there = await write(await in_organizers(), "There")
    assert "in #announcements" in there.text()
    await settle(local)
    assert [m["content"] for m in sim.messages("organizers") if m["author"]["bot"]] == ["Here"]
    assert "There" in [m["content"] for m in sim.messages("announcements")]


async def test_a_channel_the_bot_cannot_post_in_is_refused(local: LocalDiscord) -> None:
    import asyncio

    assert local.bot is not None
    olga = organizer(local.sim)
    updated = asyncio.ensure_future(local.bot.wait_for("guild_channel_update", timeout=2))
    local.sim.set_channel_permissions("announcements", allow_bot_send=False)
    await updated
    answer = await olga.slash("announce now", options={"channel": "announcements"})
    assert answer.modal is None
    assert "missing the **Send Messages** permission" in (answer.content or "")


async def deny_organizers(local: LocalDiscord, channel: str, permission: int) -> None:
    """An admin denies the Organizer role ``permission`` in ``channel`` (the bot keeps its own)."""
    assert local.bot is not None
    state = local.sim.state
    target = state.channel(channel)
    role = state.role("Organizer")
    target.overwrites.append({"id": str(role.id), "type": 0, "allow": "0", "deny": str(permission)})
    updated = asyncio.ensure_future(local.bot.wait_for("guild_channel_update", timeout=2))
    state.emit("CHANNEL_UPDATE", state.channel_payload(target))
    await updated


async def test_an_organizer_cannot_make_the_bot_post_where_they_cannot_post_themselves(
    local: LocalDiscord,
) -> None:
    sim = local.sim
    olga = organizer(sim)
    where = sim.channel_id("announcements")
    await olga.slash("setup channel", kind="default", options={"channel": "announcements"})
    form = await olga.slash("announce now", options={"channel": "announcements"})
    await deny_organizers(local, "announcements", Perm.SEND_MESSAGES)
    no_send = f"you don't have the **Send Messages** permission in <#{where}>"

    # The channel given as an option (Discord's resolved permissions for her there).
    refused = await olga.slash("announce now", options={"channel": "announcements"})
    assert refused.modal is None and refused.ephemeral
    assert refused.content == f"I only announce where you could post yourself, and {no_send}."
    # The configured default channel (her roles and the channel's overwrites).
    assert no_send in ((await olga.slash("announce at", when="11:00")).content or "")
    # Run inside that channel (the interaction's own permissions).
    inside = sim.channel("announcements")
    data = build_command_data(sim.state, olga, "announce now", {}, channel=inside, focused=None)
    assert no_send in ((await sim.interact(olga, 2, inside, data)).content or "")
    # A form opened before the change is refused when sent.
    assert no_send in ((await write(form, "Lunch is served.")).content or "")

    await deny_organizers(local, "announcements", Perm.VIEW_CHANNEL)
    hidden = await olga.slash("announce now", options={"channel": "announcements"})
    assert hidden.modal is None
    assert "you don't have the **View Channel** permission in" in (hidden.content or "")

    await settle(local)
    assert not any("Lunch" in m["content"] for m in posts(local))  # only the session posts
    assert local.services is not None
    async with local.services.sessions() as s:
        assert (await s.scalars(select(ScheduledAnnouncement))).all() == []
