"""Every free-text argument and its autocomplete, at and past its limits, answers normally.

Discord lets a string option carry up to 6,000 characters, and a modified client anything: empty
text, only emoji, zero-width and right-to-left characters, SQL and full-text syntax, mentions,
NUL. "Normally" means: an ephemeral answer (or the modal the command opens) that is not the
generic apology, no ERROR logged, nothing Discord would refuse (the ``local`` fixture checks
both), at most 25 autocomplete choices, and nothing that pings.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.clock import ManualClock
from bot.local import LocalDiscord
from bot.simulator import InteractionResult, SimUser
from bot.tree import APOLOGY
from tests.e2e.test_announce import text_input
from tests.e2e.test_organizers import edt, organizer

HOSTILE: list[str] = [
    "",
    " ",
    "x" * 6000,  # Discord's limit for a string option
    "flash " * 1000,  # 6,000 too, in words
    "y" * 6001,  # past it: only a modified client sends this
    "🙂" * 200,
    "👩‍👩‍👧‍👦🏳️‍🌈",
    "\u200b\u200c\u200d\ufeff",
    "Ben\u200bgio",
    "שלום עולם",
    "\u202eoigneB\u202c",
    "مرحبا flash",
    "'; DROP TABLE subscriptions; --",
    "%' OR '1'='1",
    "_",
    '"',
    "*",
    "flash*",
    "NEAR(flash memory)",
    "title:flash AND abstract:memory",
    "-flash +memory",
    "\\",
    "[a-",
    ".*",
    "nul\x00byte",
    "@everyone <@123456789012345678> <@&123456789012345678>",
    "**bold** _it_ `code` ||spoiler|| > quote",
    "keynote, , ,poster_session,",
]

PAYVAND = "keynote-melika-payvand"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(edt("08:30"))


def check_answer(result: InteractionResult, what: str) -> None:
    if result.modal is not None:  # the command went on to ask for its text
        return
    assert result.ephemeral, what
    texts = [result.content or "", *(f.get("content") or "" for f in result.followups)]
    assert APOLOGY not in texts, what
    assert any(texts) or result.embeds, what
    message = result.message
    if message is not None:
        assert message["mention_everyone"] is False and message["mentions"] == [], what
        assert message["mention_roles"] == [], what


def check_choices(choices: list[dict[str, Any]], what: str) -> None:
    assert len(choices) <= 25, what
    for choice in choices:
        assert 1 <= len(choice["name"]) <= 100, what
        if isinstance(choice["value"], str):
            assert len(choice["value"]) <= 100, what


async def run_all(user: SimUser, command: str, option: str, **fixed: Any) -> None:
    for text in HOSTILE:
        what = f"/{command} {option}={text[:40]!r}"
        result = await user.slash(command, options={option: text, **fixed})
        check_answer(result, what)


async def complete_all(user: SimUser, command: str, option: str, **fixed: Any) -> None:
    for text in HOSTILE:
        what = f"/{command} {option}={text[:40]!r} (autocomplete)"
        choices = await user.autocomplete(command, focused=option, options={option: text, **fixed})
        check_choices(choices, what)


#: (command, option): free text everyone may type. Those that only read run on SQLite alone.
READERS = [
    ("search", "query"),
    ("author", "name"),
    ("schedule talk", "title"),
    ("schedule kind", "kind"),
    ("schedule session", "session"),
]
COMPLETED = [
    ("author", "name"),
    ("schedule talk", "title"),
    ("schedule kind", "kind"),
    ("schedule session", "session"),
    ("remind talk", "title"),
    ("remind kind", "kind"),
    ("remind cancel", "talk"),
]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("command", "option"), READERS)
async def test_lookups_answer_normally(local: LocalDiscord, command: str, option: str) -> None:
    await run_all(local.sim.add_user("alice"), command, option)


@pytest.mark.parametrize(("command", "option"), COMPLETED)
async def test_autocomplete_offers_at_most_25_valid_choices(
    local: LocalDiscord, command: str, option: str
) -> None:
    alice = local.sim.add_user("alice")
    await alice.slash("remind talk", title=PAYVAND)  # something for /remind cancel to offer
    await complete_all(alice, command, option)


async def test_remind_talk_and_cancel_answer_normally(local: LocalDiscord) -> None:
    alice = local.sim.add_user("alice")
    await alice.slash("remind talk", title=PAYVAND)
    await run_all(alice, "remind talk", "title")
    await run_all(alice, "remind cancel", "talk")
    await run_all(alice, "remind kind", "kind")
    listing = await alice.slash("remind list")
    check_answer(listing, "/remind list after hostile subscriptions")


async def test_announce_at_when_and_every_organizer_text_answer_normally(
    local: LocalDiscord,
) -> None:
    olga = organizer(local.sim)
    await run_all(olga, "announce at", "when", channel="announcements")
    await run_all(olga, "setup channel", "kind")
    await run_all(olga, "setup events kinds", "kinds")
    await complete_all(olga, "setup channel", "kind")
    await complete_all(olga, "announce cancel", "announcement")


async def submit_raw(user: SimUser, opened: InteractionResult, text: str) -> InteractionResult:
    """Submit the modal as a modified client could: empty, or past its max_length."""
    assert opened.modal is not None
    field = text_input(opened)["custom_id"]
    data = {
        "custom_id": opened.modal["custom_id"],
        "components": [{"type": 1, "components": [{"type": 4, "custom_id": field, "value": text}]}],
    }
    sim = user.sim
    return await sim.interact(user, 5, sim.channel("general"), data, opened_by=opened.record)


async def test_announcement_text_answers_normally(local: LocalDiscord) -> None:
    olga = organizer(local.sim)
    for text in HOSTILE:
        opened = await olga.slash("announce at", when="11:00", options={"channel": "announcements"})
        answer = await submit_raw(olga, opened, text)
        check_answer(answer, f"announcement text {text[:40]!r}")
        if answer.components:
            done = await answer.click("Schedule it")
            check_answer(done, f"scheduling {text[:40]!r}")
    listing = await olga.slash("announce list")
    check_answer(listing, "/announce list")
