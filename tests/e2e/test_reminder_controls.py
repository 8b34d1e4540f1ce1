"""What a member can do with their reminders, and what they are told (issue 13, items 4, 5, 9, 10).

The reminder DM's controls stop what the DM is about, and "stop all" only when confirmed;
"every <kind>" subscriptions are listed, cancelled one by one and counted; /remind list says
when each DM comes; a reminder asked for inside its lead goes out now, and says so.
"""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.clock import ManualClock
from bot.local import LocalDiscord
from bot.services.program import Talk
from bot.simulator import SimUser
from bot.ui.text import trim
from tests.e2e.helpers import at, edt, settle

PAYVAND = "keynote-melika-payvand"  # keynote, 09:00-09:30 EDT
KELLER = "keynote-alexander-keller"  # keynote, 09:30-10:00 EDT
PAYVAND_TITLE = "Brain-inspired hardware and algorithm co-design for low power online"
KELLER_TITLE = "How Computer Graphics advances Hardware Aware Efficient Training"
VENUE = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
KEYNOTES_AFTER_0850 = 5  # Keller, Querlioz, Cardinaux, Yang, Tang


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(edt("08:30"))


def talk(local: LocalDiscord, entry_id: str) -> Talk:
    assert local.services is not None
    return local.services.program.snapshot.by_id[entry_id]


async def reminder_dm(
    local: LocalDiscord, user: SimUser, items: list[tuple[Talk, str | None]]
) -> dict[str, Any]:
    """A reminder DM with the controls the delivery engine gives it (bot/delivery/outbox.py)."""
    from bot.ui.reminders import reminder_dm_view

    assert local.services is not None and local.services.outbox is not None
    titles = ", ".join(t.title for t, _ in items)
    await local.services.outbox.send_dm(
        user.id, content=f"⏰ {titles}"[:2000], view=reminder_dm_view(items)
    )
    return user.dms[-1]


def controls(message: dict[str, Any]) -> list[tuple[int, str]]:
    """(row, label or custom id) of each component, in order."""
    return [
        (row, c.get("label") or c["custom_id"])
        for row, line in enumerate(message["components"])
        for c in line["components"]
    ]


def custom_ids(message: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for line in message["components"] for c in line["components"]]


async def listing(user: SimUser, tz: ZoneInfo = VENUE) -> str:
    return (await user.slash("remind list")).text(tz=tz)


# -- item 4: the reminder DM's controls ------------------------------------------------------


async def test_a_reminder_dm_stops_its_talk_or_its_every_kind_and_all_only_when_confirmed(
    local: LocalDiscord, clock: ManualClock
) -> None:
    alice = local.sim.add_user("alice")
    await alice.slash("remind kind", kind="keynote")
    await alice.slash("remind talk", title="panel")
    await at(local, clock, edt("08:50"))
    dm = await reminder_dm(local, alice, [(talk(local, PAYVAND), "keynote")])
    assert controls(dm) == [
        (0, "Details"),
        (0, "Stop this reminder"),
        (1, "Stop 'every keynote'"),
        (1, "Stop all…"),
    ]
    assert all(len(i) <= 100 for i in custom_ids(dm))

    details = await alice.click(dm, "Details")
    assert details.embeds[0]["title"].startswith(PAYVAND_TITLE)
    assert "Speaker" in {f["name"] for f in details.embeds[0]["fields"]}

    # That talk only: the rest stays, the "every keynote" subscription too.
    stopped = await alice.click(dm, "Stop this reminder")
    assert stopped.content == (
        f"OK, no more reminders for “{PAYVAND_TITLE} training on the edge”. "
        "Your other reminders stay."
    )
    text = await listing(alice)
    assert PAYVAND_TITLE not in text
    assert KELLER_TITLE in text and "**Panel**" in text and "Every keynote" in text

    # The buttons live in their custom ids: a restart in between changes nothing.
    await local.stop_bot()
    await local.start_bot()
    await settle(local)
    every = await alice.click(dm, "Stop 'every keynote'")
    assert every.content == (
        f"Stopped your 'every keynote' subscription and its {KEYNOTES_AFTER_0850} reminders "
        "still to come. Reminders you asked for one by one stay."
    )
    text = await listing(alice)
    assert "Every keynote" not in text and KELLER_TITLE not in text and "**Panel**" in text

    # "Stop all…" asks, with the count; "Keep them" keeps them.
    asked = await alice.click(dm, "Stop all…")
    assert asked.content == "Stop 1 reminder?"
    assert [c["label"] for c in asked.components[0]["components"]] == ["Confirm", "Keep them"]
    kept = await asked.click("Keep them")
    assert kept.content == "OK, I kept all your reminders." and kept.components == []
    assert "**Panel**" in await listing(alice)
    asked = await alice.click(dm, "Stop all…")
    done = await asked.click("Confirm")
    assert done.content == "Stopped 1 reminder." and done.components == []
    text = await listing(alice)
    assert "**Panel**" not in text and "⏰" not in text and "🔁" not in text
    assert f"✅ **{PAYVAND_TITLE}" not in text  # stopped before: out of the list


async def test_the_old_stop_these_reminders_button_asks_before_stopping_everything(
    local: LocalDiscord, clock: ManualClock
) -> None:
    """A DM sent before the upgrade carries "Stop these reminders": it now counts and asks."""
    import discord

    from bot.ui.reminders import StopRemindersButton

    alice = local.sim.add_user("alice")
    await alice.slash("remind kind", kind="keynote")
    await alice.slash("remind talk", title="panel")
    await at(local, clock, edt("08:50"))
    old = discord.ui.View(timeout=None)
    old.add_item(StopRemindersButton())
    assert local.services is not None and local.services.outbox is not None
    await local.services.outbox.send_dm(alice.id, content="⏰ an older reminder", view=old)
    dm = alice.dms[-1]

    asked = await alice.click(dm, "Stop these reminders")
    assert asked.content == (
        f"Stop all {KEYNOTES_AFTER_0850 + 1} reminders and 1 'every keynote' subscription?"
    )
    assert KELLER_TITLE in await listing(alice)  # nothing stopped yet
    done = await asked.click("Confirm")
    assert done.content == (
        f"Stopped {KEYNOTES_AFTER_0850 + 1} reminders and 1 'every keynote' subscription."
    )
    text = await listing(alice)
    assert "⏰" not in text and "🔁" not in text
    assert f"✅ **{PAYVAND_TITLE}" in text  # what was sent stays listed as sent


async def test_a_reminder_dm_about_several_talks_offers_their_cards_and_which_to_stop(
    local: LocalDiscord, clock: ManualClock
) -> None:
    assert local.services is not None
    snapshot = local.services.program.snapshot
    posters = [t for t in snapshot.talks if t.kind == "poster" and t.start == edt("10:00")]
    assert len(posters) >= 5
    alice = local.sim.add_user("alice")
    await alice.slash("remind kind", kind="poster")
    await alice.slash("remind talk", title=KELLER)

    # Two talks: a "Details" button each, and a menu of which to stop.
    two = await reminder_dm(local, alice, [(posters[0], "poster"), (posters[1], "poster")])
    labels = [label for _row, label in controls(two)]
    assert labels[:2] == [trim(f"Details: {p.title}", 80) for p in posters[:2]]
    assert labels[2:] == ["rdm:stops", "Stop 'every poster'", "Stop all…"]
    card = await alice.click(two, labels[1])
    assert card.embeds[0]["title"] == posters[1].title

    # Five: a menu for the cards too.
    five = await reminder_dm(local, alice, [(p, "poster") for p in posters[:5]])
    assert [label for _row, label in controls(five)] == [
        "rdm:cards",
        "rdm:stops",
        "Stop 'every poster'",
        "Stop all…",
    ]
    assert all(len(i) <= 100 for i in custom_ids(five))
    card = await alice.select(five, "rdm:cards", [posters[3].id])
    assert card.embeds[0]["title"] == posters[3].title
    stopped = await alice.select(five, "rdm:stops", [posters[0].id, posters[2].id])
    assert stopped.content == (
        f"OK, no more reminders for “{posters[0].title}”, “{posters[2].title}”. "
        "Your other reminders stay."
    )
    text = await listing(alice)
    assert posters[0].title not in text and posters[2].title not in text
    assert posters[1].title in text and KELLER_TITLE in text and "Every poster" in text


# -- item 9: "every kind" subscriptions, first-class --------------------------------------------


async def test_every_kind_subscriptions_are_listed_cancelled_one_by_one_and_counted(
    local: LocalDiscord, clock: ManualClock
) -> None:
    alice = local.sim.add_user("alice")
    await alice.slash("remind kind", kind="keynote")
    await alice.slash("remind talk", title="panel")
    assert "🔁 **Every keynote**: a DM 10 min before each one starts." in await listing(alice)

    choices = await alice.autocomplete("remind cancel", talk="key")
    assert {"name": "Every keynote (10 min before)", "value": "kind:keynote"} in choices
    cancelled = await alice.slash("remind cancel", talk="kind:keynote")
    assert cancelled.content.startswith(
        "Stopped your 'every keynote' subscription and its 6 reminders still to come."
    )
    text = await listing(alice)
    assert "Every keynote" not in text and PAYVAND_TITLE not in text and "**Panel**" in text

    # Asked for again, the keynotes come back; typed by hand, it is found too.
    again = await alice.slash("remind kind", kind="keynote")
    assert "(6 upcoming now)" in again.text()
    typed = await alice.slash("remind cancel", talk="Every keynote")
    assert "Stopped your 'every keynote' subscription and its 6 reminders" in typed.text()

    await alice.slash("remind kind", kind="keynote")
    off = await alice.slash("remind off")
    assert off.content == "Stopped 7 reminders and 1 'every keynote' subscription."
    assert "You have no reminders" in await listing(alice)
    off = await alice.slash("remind off")
    assert off.content == "You had no reminders and no 'every …' subscriptions to stop."


# -- item 10: /remind list says when each DM comes ----------------------------------------------


async def test_remind_list_says_when_each_dm_comes_in_the_readers_zone(
    local: LocalDiscord, clock: ManualClock
) -> None:
    alice = local.sim.add_user("alice")
    await alice.slash("remind talk", title=PAYVAND)
    await alice.slash("remind talk", title=KELLER, minutes_before=30)
    await at(local, clock, edt("08:50"))
    await at(local, clock, edt("08:55"))

    answer = await alice.slash("remind list")
    lines = answer.text(tz=VENUE)
    assert (
        f"✅ **{PAYVAND_TITLE} training on the edge**: sent at 08:50, for the 09:00 keynote."
        in (lines)
    )
    assert f"⏰ **{KELLER_TITLE}**: DM at 09:00, 30 min before the 09:30 keynote." in lines
    # Discord renders the times in each reader's own zone.
    assert "DM at 22:00, 30 min before the 22:30 keynote." in answer.text(tz=TOKYO)
    # No frozen relative time ("in 20 min"), nothing left dangling after "before".
    raw = answer.embeds[0]["description"]
    assert not re.search(r"\bin \d+ ?(s|min|h)\b|\bago\b|before \n|before $", raw), raw


# -- item 5: a reminder asked for inside its lead ------------------------------------------------


async def test_a_reminder_asked_for_inside_its_lead_goes_out_now_and_says_so(
    local: LocalDiscord, clock: ManualClock
) -> None:
    clock.set(edt("08:52"))
    alice = local.sim.add_user("alice")
    answer = await alice.slash("remind talk", title=PAYVAND)
    start = int(edt("09:00").timestamp())
    assert answer.content == (
        f"Reminder set for “{PAYVAND_TITLE} training on the edge”. It starts <t:{start}:R> "
        f"(<t:{start}:t>, 09:00 EDT), so I'm sending your reminder now."
    )
    assert "08:50" not in answer.text(tz=VENUE)
    await settle(local)
    first, reminder = alice.dms
    assert "follows right away" in first["content"] and "08:50" not in first["content"]
    assert reminder["content"].startswith("⏰")
    assert "offline" not in reminder["content"] and "late" not in reminder["content"]

    # The card's "Remind me" at 09:22, 8 min before the 09:30 keynote.
    await at(local, clock, edt("09:22"))
    bob = local.sim.add_user("bob")
    card = await bob.slash("schedule talk", title=KELLER)
    pressed = await card.click("Remind me")
    assert "so I'm sending your reminder now." in pressed.text()
    assert "09:20" not in pressed.text(tz=VENUE)
    await settle(local)
    assert [m["content"][:1] for m in bob.dms] == ["H", "⏰"]  # the welcome, then the reminder
    assert "DM at 09:22, 8 min before the 09:30 keynote" not in await listing(bob)
    assert ": sent at 09:22, for the 09:30 keynote." in await listing(bob)

    # "/remind kind keynote" at 09:22: Keller's reminder now, the others at their time.
    carol = local.sim.add_user("carol")
    kinds = await carol.slash("remind kind", kind="keynote")
    assert "1 keynote starts within 10 min, so I'm sending its reminder now." in kinds.text(), (
        kinds.text()
    )
    await settle(local)
    reminders = [m for m in carol.dms if m["content"].startswith("⏰")]
    assert len(reminders) == 1 and KELLER_TITLE in reminders[0]["content"]
    text = await listing(carol)
    assert "DM at 11:20, 10 min before the 11:30 keynote." in text
