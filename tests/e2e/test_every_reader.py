"""Every sentence true for every reader (issue 13, items 2, 3, 14 and 15), through the local Discord.

The bot cannot know a reader's zone. Discord renders ``<t:…>`` timestamps in each reader's zone,
so these tests render what the bot sent as a Discord client in Berlin or Tokyo shows it, at the
workshop clock's moment, and look for what would be false there: a day word counted on the
venue's calendar, a time of day without its date, a date the bot wrote without saying it is the
venue's, a "starts in 25 min" frozen into a message that is read later.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.clock import ManualClock
from bot.local import LocalDiscord
from bot.simulator import InteractionResult, SimUser, render_message
from tests.e2e.helpers import at, edt, settle
from tests.e2e.test_announce import schedule, write
from tests.e2e.test_organizers import organizer

BERLIN = ZoneInfo("Europe/Berlin")
TOKYO = ZoneInfo("Asia/Tokyo")
EDT = ZoneInfo("America/New_York")
PAYVAND = "keynote-melika-payvand"
TRIMBERT = "poster-trimbert-tailoring-bert-for-trade-offs"

# 20:00 on Friday in Baltimore: 02:00 on Saturday in Berlin, 09:00 on Saturday in Tokyo.
EVENING_BEFORE = edt("20:00", 22)

DAY_WORD = re.compile(r"\b(today|tomorrow|yesterday|tonight)\b", re.IGNORECASE)
TOKEN = re.compile(r"<t:(-?\d+)(?::([tTdDfFsSR]))?>")
DATED_STYLES = set("dDfFsS")
# A date or weekday the bot wrote itself (not a Discord timestamp): "Sat 23 Jul", "23 July".
WRITTEN_DATE = re.compile(
    r"\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b"
    r"|\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2}\b"
    r"|\b\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\b"
)


def raw_lines(message: Mapping[str, Any]) -> Iterator[str]:
    """Every line of text the bot wrote in a message: content, embeds, menus."""
    texts = [message.get("content") or ""]
    for embed in message.get("embeds") or []:
        texts += [
            (embed.get("author") or {}).get("name") or "",
            embed.get("title") or "",
            embed.get("description") or "",
            (embed.get("footer") or {}).get("text") or "",
        ]
        for field in embed.get("fields") or []:
            texts += [field.get("name") or "", field.get("value") or ""]
    for row in message.get("components") or []:
        for component in row.get("components") or []:
            for option in component.get("options") or []:
                texts += [option.get("label") or "", option.get("description") or ""]
    for text in texts:
        yield from text.splitlines()


def problems_for_every_reader(message: Mapping[str, Any], zones: list[ZoneInfo]) -> list[str]:
    """What is false, or may be, for a reader in one of ``zones`` (or anywhere)."""
    found: list[str] = []
    for line in raw_lines(message):
        styles = [m.group(2) or "f" for m in TOKEN.finditer(line)]
        # A time of day in the reader's zone carries the reader's date on the same line.
        if set(styles) & {"t", "T"} and not set(styles) & DATED_STYLES:
            found.append(f"a time without its date: {line}")
        # A date the bot wrote itself is the venue's: said so (or with the venue's zone).
        written = TOKEN.sub("", line)
        if WRITTEN_DATE.search(written) and "venue" not in written and "EDT" not in written:
            found.append(f"a date not labelled as the venue's: {line}")
    for zone in zones:
        text = render_message(message, tz=zone, now=EVENING_BEFORE)
        for line in text.splitlines():
            if DAY_WORD.search(line) and "venue" not in line:
                found.append(f"a day word in {zone.key}: {line}")
    return found


def seen_in(message: Mapping[str, Any], zone: ZoneInfo, now: datetime) -> str:
    return render_message(message, tz=zone, now=now)


async def pages(result: InteractionResult) -> list[dict[str, Any]]:
    """Every page of a listing, turned by its owner."""
    assert result.message is not None
    shown = [dict(result.message)]
    while any(
        c.get("label") == "Next" and not c.get("disabled")
        for row in result.components
        for c in row["components"]
    ):
        await result.click("Next")
        assert result.message is not None
        shown.append(dict(result.message))
    return shown


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(EVENING_BEFORE)


# -- item 2: no day word counted on the venue's calendar; dates with times ---------------------


async def test_readers_in_berlin_and_tokyo_the_evening_before_read_no_wrong_day_word(
    local: LocalDiscord, clock: ManualClock
) -> None:
    reader = local.sim.add_user("aiko")
    await reader.slash("remind talk", title=PAYVAND)
    await reader.slash("remind talk", title="poster-session-ii")
    views: dict[str, list[dict[str, Any]]] = {}
    for name, command, options in [
        ("now", "schedule now", {}),
        ("next", "schedule next", {"count": 25}),
        ("day", "schedule day", {}),
        ("kind", "schedule kind", {"kind": "keynote"}),
        ("session", "schedule session", {"session": "poster-session-ii"}),
        ("card", "schedule talk", {"title": TRIMBERT}),
        ("agenda", "agenda", {}),
        ("about", "about", {}),
    ]:
        result = await reader.slash(command, options=options)
        views[name] = await pages(result)
    # An organizer in Tokyo or Berlin schedules an announcement and lists what waits.
    olga = organizer(local.sim)
    scheduled = await schedule(local, olga, "20:30", "Social at 20:30", channel="announcements")
    views["announce at"] = [dict(scheduled.message or {})]
    listing = await olga.slash("announce list")
    views["announce list"] = [dict(listing.message or {}), *listing.followups]
    assert "(Fri 22 Jul 20:30 EDT, <t:" in str(views["announce list"])
    assert "Fri 22 Jul 20:30 EDT venue time" in str(views["announce at"])
    problems = [
        f"{name}: {problem}"
        for name, shown in views.items()
        for message in shown
        for problem in problems_for_every_reader(message, [BERLIN, TOKYO])
    ]
    assert problems == []

    # Berlin, at 02:00 on Saturday: the opening is "Saturday … 14:45", not "tomorrow".
    [now] = views["now"]
    berlin = seen_in(now, BERLIN, EVENING_BEFORE)
    assert (
        "The workshop starts on Saturday, 23 July 2022 at 14:45 (Sat 23 Jul 08:45 EDT), "
        "in 13 hours." in berlin
    )
    # Tokyo: the afternoon at the venue is Sunday morning, and says so beside the time.
    tokyo = "\n".join(seen_in(m, TOKYO, EVENING_BEFORE) for m in views["next"])
    assert "24 July 2022 at 04:00–05:30 (15:00–16:30 EDT) · Poster session" in tokyo
    assert "23 July 2022 at 21:45–22:00 (08:45–09:00 EDT) · Opening" in tokyo
    session = views["session"][0]
    assert (
        seen_in(session, TOKYO, EVENING_BEFORE)
        .splitlines()[2]
        .startswith("│ 24 July 2022 at 04:00–05:30 (15:00–16:30 EDT)")
    )
    [agenda] = views["agenda"]
    tokyo_agenda = seen_in(agenda, TOKYO, EVENING_BEFORE)
    assert "23 July 2022 at 22:00–22:30 (09:00–09:30 EDT) · Keynote" in tokyo_agenda
    assert "24 July 2022 at 04:00–05:30 (15:00–16:30 EDT) · Poster session" in tokyo_agenda
    # The day's listing is headed by the venue's date, said as such, with the span in Tokyo's.
    day = seen_in(views["day"][0], TOKYO, EVENING_BEFORE)
    assert "**HAET 2022 · Saturday 23 July 2022 (venue time)**" in day
    assert "In your time zone: Saturday, 23 July 2022 at 21:45 to 24 July 2022 at 06:30." in day


# -- item 3: relative times stay true in a message read later ----------------------------------


async def test_a_shared_now_and_next_stay_true_when_read_later(
    local: LocalDiscord, clock: ManualClock
) -> None:
    clock.set(edt("09:05"))
    alice = local.sim.add_user("alice")
    now = await alice.slash("schedule now")
    await now.click("Share in channel")
    following = await alice.slash("schedule next", count=2)
    await following.click("Share in channel")
    shared_now, shared_next = local.sim.messages("general")[-2:]
    assert shared_now["content"] == shared_next["content"] == "Shared by alice"

    # Read a quarter of an hour later, in Berlin: the keynote ends in 10 minutes, not 25.
    later = edt("09:20")
    text = seen_in(shared_now, BERLIN, later)
    assert "ends in 10 minutes" in text
    assert "Next:\n│   23 July 2022 at 15:30 (09:30 EDT), in 10 minutes" in text
    assert "25 min" not in text
    listing = seen_in(shared_next, BERLIN, later)
    assert "(09:30–10:00 EDT) · Keynote · in 10 minutes" in listing
    assert "(10:00–11:30 EDT) · Poster session · in 40 minutes · 12 posters" in listing
    assert "55 min" not in listing
    # And the message itself says which moment its "now" was (footer and timestamp).
    assert "│ Workshop clock: Sat 23 Jul 09:05 EDT • 23 July 2022 at 15:05" in text


# -- item 14: /announce at with a bare time ----------------------------------------------------


async def confirm_text(user: SimUser, when: str) -> tuple[InteractionResult, str]:
    opened = await user.slash("announce at", when=when, options={"channel": "announcements"})
    assert opened.modal is not None, opened.content
    confirm = await write(opened, "The social starts in the lobby.")
    return confirm, confirm.content or ""


def stamp(moment: datetime, style: str) -> str:
    return f"<t:{int(moment.timestamp())}:{style}>"


async def test_a_bare_time_means_its_next_occurrence_at_the_venue(
    local: LocalDiscord, clock: ManualClock
) -> None:
    olga = organizer(local.sim)
    # 20:00 on Friday: "20:30" is this evening, not Saturday's 20:30.
    confirm, shown = await confirm_text(olga, "20:30")
    assert shown.startswith(
        f"Post this in <#{local.sim.channel_id('announcements')}> at "
        f"{stamp(edt('20:30', 22), 'F')} ({stamp(edt('20:30', 22), 'R')}; "
        "Fri 22 Jul 20:30 EDT venue time)?"
    )
    assert "Friday, 22 July 2022 at 20:30 (in 30 minutes" in seen_in(
        confirm.message or {}, EDT, clock.now()
    )
    await confirm.click("Schedule it")
    await at(local, clock, edt("20:30", 22))
    post = await local.sim.wait_for_message("announcements")
    assert post["content"] == "The social starts in the lobby."

    # "19:00" at 20:30 is tomorrow's 19:00.
    _, shown = await confirm_text(olga, "19:00")
    assert "Sat 23 Jul 19:00 EDT venue time" in shown

    # After the workshop: the next 20:30, not "in the past".
    clock.set(edt("09:00", 24))
    _, shown = await confirm_text(olga, "20:30")
    assert "Sun 24 Jul 20:30 EDT venue time" in shown
    _, shown = await confirm_text(olga, "8am")
    assert "Mon 25 Jul 08:00 EDT venue time" in shown
    # A time given with its day can still be in the past, and is refused.
    past = await olga.slash("announce at", when="today 08:00")
    assert past.content == "Sun 24 Jul 2022 08:00 EDT is in the past: pick a later time."


# -- item 15: the smaller things ---------------------------------------------------------------


async def test_the_agenda_shows_each_talks_start_and_end(
    local: LocalDiscord, clock: ManualClock
) -> None:
    alice = local.sim.add_user("alice")
    await alice.slash("remind talk", title=PAYVAND)
    [embed] = (await alice.slash("agenda")).embeds
    assert (
        f"{stamp(edt('09:00'), 'f')}–{stamp(edt('09:30'), 't')} (09:00–09:30 EDT) · Keynote"
        in embed["description"]
    )


async def test_setup_board_is_described_as_the_now_next_board(local: LocalDiscord) -> None:
    [setup] = [c for c in local.sim.commands(guild=True) if c["name"] == "setup"]
    [board] = [o for o in setup["options"] if o["name"] == "board"]
    assert board["description"] == "The channel for the live Now / Next board"


async def test_status_counts_closed_dms_and_does_not_call_them_errors(
    local: LocalDiscord, clock: ManualClock
) -> None:
    clock.set(edt("08:30"))
    olga = organizer(local.sim)
    bob = local.sim.add_user("bob", dms_open=False)
    await bob.slash("remind talk", title=PAYVAND)
    await at(local, clock, edt("08:50"))
    await settle(local)

    text = (await olga.slash("status")).text()
    assert "Reminders: 0 pending · 0 sent · 1 not delivered (DMs closed)" in text
    assert "Messages: 0 sent · 0 failed · 1 to closed DMs · 0 queued" in text
    assert "Last error:\n│   none since start" in text
    assert "50007" not in text and "does not accept DMs" not in text


async def test_the_hint_footer_is_on_the_card_only_and_short(
    local: LocalDiscord, clock: ManualClock
) -> None:
    clock.set(edt("08:30"))
    olga = organizer(local.sim)
    await olga.slash("setup channel", kind="default", options={"channel": "announcements"})
    alice = local.sim.add_user("alice")
    card = await alice.slash("schedule talk", title=PAYVAND)
    footer = card.embeds[0]["footer"]["text"]
    assert footer == "Find people with /author, papers with /search"
    await alice.slash("remind talk", title=PAYVAND)

    await at(local, clock, edt("08:50"))
    dm = await local.sim.wait_for_message(dm_of=alice)
    await at(local, clock, edt("09:00"))
    post = await local.sim.wait_for_message(
        "announcements", predicate=lambda m: "Brain-inspired" in str(m.get("embeds"))
    )
    for message in (dm, post):
        assert all("footer" not in e for e in message.get("embeds") or []), message


async def test_about_links_only_what_exists(local: LocalDiscord) -> None:
    alice = local.sim.add_user("alice")
    result = await alice.slash("about")
    [embed] = result.embeds
    assert "github.com/workshop-bot" not in str(embed)
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    # The program's own link, from its file.
    assert fields["Links"] == "[Workshop page](https://icml.cc/virtual/2022/workshop/13457)"
    assert "footer" not in embed
