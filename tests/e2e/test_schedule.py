"""/schedule through the local Discord: now, next, the day, talk cards, kinds and poster sessions."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import discord
import pytest
from pydantic import SecretStr

from bot.clock import ManualClock
from bot.local import LocalDiscord
from bot.services.program import Talk
from bot.settings import Settings
from bot.simulator import InteractionResult, SimUser
from cogs.schedule import Schedule
from tests.conftest import HAET_FILE

EDT = ZoneInfo("America/New_York")
TRIMBERT = "poster-trimbert-tailoring-bert-for-trade-offs"
LOW_BIT = "poster-low-bit-dnn-training-with-hardware-efficient"
RANDOM_NUMBER = "poster-get-the-random-number-on-the-fly-a-low-precision"


@pytest.fixture
def program_file() -> Path:
    """The program the bot loads; a test may parametrize another (or a missing one)."""
    return HAET_FILE


@pytest.fixture
def settings(database_url: str, program_file: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        program_file=program_file,
        discord_token=SecretStr("sim-token"),
    )


def edt(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2022, 7, day, hour, minute, tzinfo=EDT)


def ts(moment: datetime, style: str = "t") -> str:
    return f"<t:{int(moment.timestamp())}:{style}>"


def bold_titles(text: str) -> list[str]:
    """Titles as a listing shows them (bold, markdown-escaped), unescaped."""
    return [re.sub(r"\\(.)", r"\1", t) for t in re.findall(r"^(?:◦ )?\*\*(.+?)\*\*", text, re.M)]


def menu(result: InteractionResult, custom_id: str) -> list[dict[str, Any]]:
    """The options of a select menu on the result's message."""
    for row in result.components:
        for component in row["components"]:
            if component.get("custom_id") == custom_id:
                return list(component["options"])
    return []


def button(result: InteractionResult, label: str) -> dict[str, Any] | None:
    for row in result.components:
        for component in row["components"]:
            if component.get("label") == label:
                return dict(component)
    return None


def talks(local: LocalDiscord) -> dict[str, Talk]:
    assert local.services is not None
    return local.services.program.snapshot.by_id


@pytest.fixture
async def alice(local: LocalDiscord) -> SimUser:
    return local.sim.add_user("alice")


# -- now and next ----------------------------------------------------------------------------------


async def test_now_through_the_workshop_day(
    local: LocalDiscord, clock: ManualClock, alice: SimUser
) -> None:
    # 09:05 EDT: the Payvand keynote runs, Keller is next.
    result = await alice.slash("schedule now")
    assert result.ephemeral
    embed = result.embeds[0]
    now = embed["description"]
    assert "Brain-inspired hardware and algorithm co-design" in now
    assert "Melika Payvand" in now
    # How soon is a live timestamp, true whenever it is read (not "ends in 25 min").
    assert f"ends {ts(edt(23, 9, 30), 'R')}" in now
    # Every time twice: the reader's zone (Discord timestamp, with the reader's date) and the
    # venue's.
    assert f"{ts(edt(23, 9), 'f')}–{ts(edt(23, 9, 30))} (09:00–09:30 EDT)" in now
    following = embed["fields"][0]
    assert following["name"] == "Next"
    assert "Alexander Keller" in following["value"]
    assert "How Computer Graphics advances" in following["value"]
    assert f"{ts(edt(23, 9, 30), 'f')} (09:30 EDT), {ts(edt(23, 9, 30), 'R')}" in following["value"]
    assert "Keller" not in now
    assert embed["footer"]["text"] == "Workshop clock: Sat 23 Jul 09:05 EDT"
    assert datetime.fromisoformat(embed["timestamp"]) == edt(23, 9, 5)
    assert button(result, "Share in channel") is not None

    # 10:30 EDT: poster session I, with its posters.
    clock.set(edt(23, 10, 30))
    result = await alice.slash("schedule now")
    now = result.embeds[0]["description"]
    assert now.startswith("**Poster session I: open discussion and coffee break.**")
    assert f"ends {ts(edt(23, 11, 30), 'R')}" in now
    assert "Posters (12):" in now
    posters = [t for t in talks(local).values() if t.session_id == "poster-session-i"]
    assert len(posters) == 12
    for poster in posters:
        assert f"◦ {poster.title[:80]}" in now
    assert "Memory-Centric Machine Learning" in result.embeds[0]["fields"][0]["value"]
    # Everything named can be opened as a card.
    ids = [o["value"] for o in menu(result, "list:open")]
    assert ids[0] == "poster-session-i" and {p.id for p in posters} <= set(ids)

    # The day before, and the day after.
    clock.set(edt(22, 9))
    result = await alice.slash("schedule now")
    text = result.embeds[0]["description"]
    assert text == (
        f"The workshop starts on {ts(edt(23, 8, 45), 'F')} (Sat 23 Jul 08:45 EDT), "
        f"{ts(edt(23, 8, 45), 'R')}."
    )
    assert "Opening welcome speech" in result.embeds[0]["fields"][0]["value"]

    clock.set(edt(24, 9))
    result = await alice.slash("schedule now")
    text = result.embeds[0]["description"]
    assert text.startswith("The workshop has ended")
    assert "(Sat 23 Jul 17:30 EDT)" in text
    assert result.embeds[0].get("fields", []) == []


async def test_next_lists_what_starts_next(clock: ManualClock, alice: SimUser) -> None:
    result = await alice.slash("schedule next")
    text = result.embeds[0]["description"]
    assert bold_titles(text) == [
        "How Computer Graphics advances Hardware Aware Efficient Training",
        "Poster session I: open discussion and coffee break.",
        "Memory-Centric Machine Learning",
        "Lunch",
        "DNN Quantization with Mixed Precision and Trained Lookup Tables",
    ]
    assert f"(09:30–10:00 EDT) · Keynote · {ts(edt(23, 9, 30), 'R')}" in text
    assert f"Poster session · {ts(edt(23, 10), 'R')} · 12 posters" in text

    one = await alice.slash("schedule next", count=1)
    assert bold_titles(one.embeds[0]["description"])[0].startswith("How Computer Graphics")
    assert len(bold_titles(one.embeds[0]["description"])) == 1

    clock.set(edt(24, 9))
    late = await alice.slash("schedule next", count=25)
    assert late.ephemeral
    assert late.content == "Nothing else is scheduled: the workshop has ended."


# -- the whole day ---------------------------------------------------------------------------------


async def test_day_pages_through_all_37_entries_exactly_once(
    local: LocalDiscord, alice: SimUser
) -> None:
    result = await alice.slash("schedule day")
    assert result.ephemeral
    seen: list[str] = []
    opened: list[str] = []
    pages = 0
    assert (button(result, "Previous") or {}).get("disabled") is True
    while True:
        pages += 1
        embed = result.embeds[0]
        assert len(bold_titles(embed["description"])) <= 10
        seen += bold_titles(embed["description"])
        opened += [o["value"] for o in menu(result, "list:open")]
        nxt = button(result, "Next")
        assert nxt is not None
        if nxt.get("disabled"):
            break
        await result.click("Next")
        assert pages < 10
    program = talks(local)
    assert len(seen) == 37 == len(program)
    assert sorted(seen) == sorted(t.title for t in program.values())
    assert sorted(opened) == sorted(program)
    assert embed["footer"]["text"] == f"Page {pages}/{pages}"
    back = await result.click("Previous")
    assert back.type == 7
    assert result.embeds[0]["footer"]["text"] == f"Page {pages - 1}/{pages}"


async def test_day_shows_sessions_with_their_posters_beneath(
    local: LocalDiscord, alice: SimUser
) -> None:
    result = await alice.slash("schedule day")
    text = result.embeds[0]["description"]
    session = text.index("**Poster session I: open discussion and coffee break.**")
    first_poster = text.index("◦ **A 28nm 8-bit Floating-Point CNN Training Processor")
    assert session < first_poster
    assert "(10:00–11:30 EDT) · Poster session · 12 posters" in text
    await result.click("Next")
    # Page 2 opens inside poster session I, and says so (after the day's intro).
    intro, entries = result.embeds[0]["description"].split("\n\n", 1)
    assert intro.startswith("In your time zone: ")
    assert entries.startswith("↳ *Poster session at 10:00 EDT, continued*")

    # Only the one who asked turns the pages of their copy.
    bob = local.sim.add_user("bob")
    answer = await bob.click(result, "Next")
    assert answer.ephemeral and "belong to someone else" in (answer.content or "")


# -- programs of several days ----------------------------------------------------------------------

MULTI_DAY = Path(__file__).resolve().parent.parent / "fixtures" / "multi_day.yaml"
DAYS_NOTE = "pick one with `/schedule day date:`."


def day_page(result: InteractionResult) -> tuple[str, str, list[str]]:
    """A one-page day listing: its title, its intro (the text before the entries), titles."""
    embed = result.embeds[0]
    assert result.ephemeral and "footer" not in embed  # no "Page 1/2"
    intro = embed["description"].split("\n\n", 1)[0]
    return embed["title"], intro, bold_titles(embed["description"])


@pytest.mark.parametrize("program_file", [MULTI_DAY])
async def test_day_shows_one_day_of_a_program_of_several(
    local: LocalDiscord, clock: ManualClock, alice: SimUser
) -> None:
    # Saturday 09:05 at the venue: Saturday's program, and only it.
    title, intro, titles = day_page(await alice.slash("schedule day"))
    assert title == "MDW 2022 · Saturday 23 July 2022 (venue time)"
    assert titles == [
        "Saturday keynote on low-precision arithmetic",
        "Saturday poster session",
        "Eight-bit optimizers in practice",
        "Pruning at initialization, revisited",
    ]
    assert intro == (
        f"Day 2 of 3. In your time zone: {ts(edt(23, 9), 'F')} to {ts(edt(23, 11, 30), 'f')}.\n"
        "Other days (venue time): Fri 22 Jul (2022-07-22), Mon 25 Jul (2022-07-25); " + DAYS_NOTE
    )

    # Friday, as picked from the list: its late social is Saturday in UTC, not at the venue.
    choices = await alice.autocomplete("schedule day", date="")
    assert choices == [
        {"name": "Friday 22 July 2022 (venue time) · 2 entries", "value": "2022-07-22"},
        {
            "name": "Saturday 23 July 2022 (venue time) · 2 entries · today at the venue",
            "value": "2022-07-23",
        },
        {"name": "Monday 25 July 2022 (venue time) · 1 entry", "value": "2022-07-25"},
    ]
    assert await alice.autocomplete("schedule day", date="mon") == choices[2:]
    title, intro, titles = day_page(await alice.slash("schedule day", date="2022-07-22"))
    assert title == "MDW 2022 · Friday 22 July 2022 (venue time)"
    assert titles == ["Friday keynote on sparse training", "Friday night social"]
    assert f"to {ts(edt(22, 23, 59), 'f')}." in intro

    # Typed rather than picked.
    for typed in ("Monday", "day 3", "25 jul", " 2022-07-25 "):
        title, _, titles = day_page(await alice.slash("schedule day", date=typed))
        assert title == "MDW 2022 · Monday 25 July 2022 (venue time)", typed
        assert titles == ["Monday keynote on energy budgets"]
    sunday = await alice.slash("schedule day", date="2022-07-24")
    assert sunday.ephemeral
    assert sunday.content == (
        "Nothing is scheduled on Sunday 24 July 2022 (venue time). The program's days: "
        "Fri 22 Jul (2022-07-22), Sat 23 Jul (2022-07-23), Mon 25 Jul (2022-07-25)."
    )

    # On Sunday, the next day with entries; once it is all over, the last day.
    clock.set(edt(24, 12))
    assert day_page(await alice.slash("schedule day"))[0].endswith(
        "Monday 25 July 2022 (venue time)"
    )
    clock.set(edt(30, 12))
    assert day_page(await alice.slash("schedule day"))[0].endswith(
        "Monday 25 July 2022 (venue time)"
    )
    clock.set(edt(21, 12))
    assert day_page(await alice.slash("schedule day"))[0].endswith(
        "Friday 22 July 2022 (venue time)"
    )


@pytest.mark.parametrize("program_file", [MULTI_DAY])
async def test_listings_across_days_say_which_day(alice: SimUser) -> None:
    result = await alice.slash("schedule kind", kind="keynote")
    text = result.embeds[0]["description"]
    lines = [line for line in text.splitlines() if line.startswith(("__", "**"))]
    assert lines == [
        "__Friday 22 July 2022__ (venue time)",
        "**Friday keynote on sparse training** — Ada Lovelace",
        "__Saturday 23 July 2022__ (venue time)",
        "**Saturday keynote on low-precision arithmetic** — Grace Hopper",
        "__Monday 25 July 2022__ (venue time)",
        "**Monday keynote on energy budgets** — Barbara Liskov",
    ]
    later = await alice.slash("schedule next", count=5)
    headings = [
        line for line in later.embeds[0]["description"].splitlines() if line.startswith("__")
    ]
    assert headings == [
        "__Saturday 23 July 2022__ (venue time)",
        "__Monday 25 July 2022__ (venue time)",
    ]


# -- the talk card ---------------------------------------------------------------------------------


async def test_talk_autocomplete_card_and_typed_titles(alice: SimUser) -> None:
    choices = await alice.autocomplete("schedule talk", title="trim")
    assert choices[0] == {"name": "TrimBERT: Tailoring BERT for Trade-offs", "value": TRIMBERT}
    everything = await alice.autocomplete("schedule talk", title="")
    assert len(everything) == 25
    assert all(1 <= len(c["name"]) <= 100 and len(c["value"]) <= 100 for c in everything)

    # The chosen value is the entry id.
    result = await alice.slash("schedule talk", title=TRIMBERT)
    assert result.ephemeral
    card = result.embeds[0]
    assert card["title"] == "TrimBERT: Tailoring BERT for Trade-offs"
    assert card["author"]["name"] == "Poster · HAET 2022"
    fields = {f["name"]: f["value"] for f in card["fields"]}
    assert fields["Authors"].count(",") == 2
    assert f"{ts(edt(23, 15), 'F')} – {ts(edt(23, 16, 30))}" in fields["When"]
    assert "Sat 23 Jul 15:00 EDT – 16:30 EDT" in fields["When"]
    assert fields["Session"].startswith("Poster session II")
    assert card["description"]
    names = [o["label"] for o in menu(result, "card:author")]
    assert len(names) == 3
    assert button(result, "Authors' other work") is None

    # Typed without choosing: the best match, or a clear "nothing".
    result = await alice.slash("schedule talk", title="flash atention")
    assert result.embeds[0]["title"].startswith("FlashAttention")
    nothing = await alice.slash("schedule talk", title="xqzvy qqqqqqq")
    assert nothing.ephemeral
    assert nothing.content == (
        "Nothing in the program matches “xqzvy qqqqqqq”: pick a title from the list."
    )


async def test_card_buttons_other_work_author_lookup_and_share(
    local: LocalDiscord, alice: SimUser
) -> None:
    card = await alice.slash("schedule talk", title=LOW_BIT)
    authors = [o["label"] for o in menu(card, "card:author")]
    assert "Yanzhi Wang" in authors

    other = await card.click("Authors' other work")
    assert other.ephemeral
    text = other.embeds[0]["description"]
    assert bold_titles(text) == [talks(local)[RANDOM_NUMBER].title]
    assert "With Geng Yuan, Sung-En Chang" in text

    who = await card.select("card:author", [str(authors.index("Yanzhi Wang"))])
    assert who.ephemeral
    assert who.embeds[0]["title"] == "Yanzhi Wang"
    assert [o["value"] for o in menu(who, "list:open")] == [LOW_BIT, RANDOM_NUMBER]

    shared = await card.click("Share in channel")
    assert not shared.ephemeral
    assert shared.content == "Shared by alice"
    assert shared.embeds[0]["title"] == card.embeds[0]["title"]
    channel = local.sim.state.channel("general")
    assert any(
        m.data.get("content") == "Shared by alice"
        for m in local.sim.state.channel_messages(channel)
    )


async def test_cards_open_from_lists_and_sessions(alice: SimUser) -> None:
    day = await alice.slash("schedule day")
    card = await day.select("list:open", ["keynote-melika-payvand"])
    assert card.ephemeral
    assert card.embeds[0]["title"].startswith("Brain-inspired hardware")
    assert card.embeds[0]["fields"][0] == {
        "name": "Speaker",
        "value": "Melika Payvand",
        "inline": False,
    }

    card = await alice.slash("schedule talk", title="poster-session-ii")
    # Twelve posters with their links take several fields: the first is named with the count.
    fields = card.embeds[0]["fields"]
    names = [f["name"] for f in fields if f["name"].startswith("Posters")]
    assert names[0] == "Posters (12)" and set(names[1:]) <= {"Posters (continued)"}
    posters = "\n".join(f["value"] for f in fields if f["name"].startswith("Posters"))
    assert "• **TrimBERT: Tailoring BERT for Trade-offs** — [PDF](<https://" in posters
    options = menu(card, "card:poster")
    assert len(options) == 12
    poster = await card.select("card:poster", [TRIMBERT])
    assert poster.embeds[0]["title"] == "TrimBERT: Tailoring BERT for Trade-offs"


async def test_card_extras_from_another_feature_join_the_card(
    local: LocalDiscord, alice: SimUser
) -> None:
    assert local.bot is not None and local.services is not None
    seen: list[tuple[str, int]] = []

    async def extras(talk: Talk, user_id: int) -> list[discord.ui.Item[Any]]:
        seen.append((talk.id, user_id))
        return [discord.ui.Button(label="Extra", custom_id=f"extra:{talk.id}")]

    s, tree = local.services, local.bot.tree
    guild = discord.Object(id=local.sim.guild_id)
    # The same cog with extras plugged in; the synced command stays as it is.
    await local.bot.remove_cog("Schedule")
    tree.remove_command("schedule", guild=guild)
    await local.bot.add_cog(Schedule(s.program, s.schedule, s.search, s.clock, extras))
    tree.copy_global_to(guild=guild)
    card = await alice.slash("schedule talk", title=TRIMBERT)
    assert button(card, "Extra") is not None
    assert seen == [(TRIMBERT, alice.id)]


async def test_extensions_reload_cleanly(local: LocalDiscord, alice: SimUser) -> None:
    assert local.bot is not None
    for name in ("cogs.schedule", "cogs.search"):
        await local.bot.reload_extension(name)
    names = [c.qualified_name for c in local.bot.tree.walk_commands()]
    assert len(names) == len(set(names))
    assert {"schedule now", "schedule talk", "author", "search"} <= set(names)


async def test_talk_card_in_a_dm_has_no_share_button(local: LocalDiscord, alice: SimUser) -> None:
    assert local.bot is not None
    # DMs only see global commands, which are synced on purpose (`workshop-bot sync`).
    await local.bot.tree.sync()
    card = await alice.slash("schedule talk", dm=True, title=TRIMBERT)
    assert card.embeds[0]["title"].startswith("TrimBERT")
    assert button(card, "Share in channel") is None
    assert menu(card, "card:author")


# -- kinds and poster sessions ---------------------------------------------------------------------


async def test_kind_offers_lists_and_checks_the_programs_kinds(alice: SimUser) -> None:
    choices = await alice.autocomplete("schedule kind", kind="")
    assert {"name": "Keynote (6)", "value": "keynote"} in choices
    assert {"name": "Poster (24)", "value": "poster"} in choices
    assert {"name": "Break (1)", "value": "break"} in choices
    narrowed = await alice.autocomplete("schedule kind", kind="keyn")
    assert narrowed == [{"name": "Keynote (6)", "value": "keynote"}]
    assert await alice.autocomplete("schedule kind", kind="poster sessions") == [
        {"name": "Poster session (2)", "value": "poster_session"}
    ]

    result = await alice.slash("schedule kind", kind="keynote")
    embed = result.embeds[0]
    assert embed["title"] == "Keynote (6)"
    assert len(bold_titles(embed["description"])) == 6
    assert "Neural Bellman-Ford Networks" in embed["description"]
    # Typed by hand rather than chosen: still understood.
    typed = await alice.slash("schedule kind", kind="Keynotes")
    assert typed.embeds[0]["title"] == "Keynote (6)"
    posters = await alice.slash("schedule kind", kind="poster")
    assert posters.embeds[0]["title"] == "Poster (24)"
    assert posters.embeds[0]["footer"]["text"] == "Page 1/3"

    result = await alice.slash("schedule kind", kind="banana")
    assert result.ephemeral
    assert result.content == (
        "The program has no kind “banana”. It has: Opening, Keynote, Poster session, "
        "Poster, Break, Presentation, Panel, Closing."
    )


async def test_session_lists_its_posters(alice: SimUser) -> None:
    choices = await alice.autocomplete("schedule session", session="")
    assert [c["value"] for c in choices] == ["poster-session-i", "poster-session-ii"]
    assert [c["value"] for c in await alice.autocomplete("schedule session", session="ii")] == [
        "poster-session-ii"
    ]
    result = await alice.slash("schedule session", session="poster-session-ii")
    embed = result.embeds[0]
    assert embed["title"] == "Poster session II: open discussion and coffee break."
    assert embed["description"].startswith(
        f"{ts(edt(23, 15), 'f')}–{ts(edt(23, 16, 30))} (15:00–16:30 EDT)\n12 posters:"
    )
    titles = bold_titles(embed["description"])
    assert len(titles) == 10
    await result.click("Next")
    titles += bold_titles(result.embeds[0]["description"])
    assert len(titles) == 12 and "TrimBERT: Tailoring BERT for Trade-offs" in titles
    typed = await alice.slash("schedule session", session="poster session 2")
    assert typed.embeds[0]["title"].startswith("Poster session")
    missing = await alice.slash("schedule session", session="zzzz")
    assert missing.content == "No poster session matches “zzzz”."


# -- no program ------------------------------------------------------------------------------------


@pytest.mark.parametrize("program_file", [Path("/nonexistent/program.yaml")])
async def test_without_a_program_commands_say_so(alice: SimUser) -> None:
    for command, options in [
        ("schedule now", {}),
        ("schedule day", {}),
        ("schedule talk", {"title": "flash"}),
        ("schedule kind", {"kind": "keynote"}),
    ]:
        result = await alice.slash(command, options=options)
        assert result.ephemeral
        assert (result.content or "").startswith("No program is loaded yet"), command
    assert await alice.autocomplete("schedule talk", title="flash") == []
    assert await alice.autocomplete("schedule kind", kind="") == []


async def test_schedule_ics_attaches_the_whole_program(local: LocalDiscord) -> None:
    import icalendar

    user = local.sim.add_user("ics-fan")
    result = await user.slash("schedule ics")
    assert result.ephemeral
    [(name, blob)] = result.attachments.items()
    assert name == "haet-2022.ics"
    calendar = icalendar.Calendar.from_ical(blob)
    events = [c for c in calendar.walk("VEVENT")]
    # Top-level entries only: posters are listed in their session's description.
    assert len(events) == 13
    opening = next(e for e in events if str(e["SUMMARY"]) == "Opening: Opening welcome speech")
    assert opening.decoded("DTSTART").isoformat() == "2022-07-23T12:45:00+00:00"
    uids = {str(e["UID"]) for e in events}
    assert len(uids) == 13
