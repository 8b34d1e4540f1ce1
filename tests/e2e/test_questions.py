"""Questions for speakers through the local Discord: /ask, the upvote button, /questions."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.local import LocalDiscord
from bot.simulator import SimUser
from tests.e2e.helpers import edt
from tests.e2e.test_organizers import organizer

PAYVAND = "keynote-melika-payvand"
PANEL = "panel"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(edt("09:10"))


def question_posts(local: LocalDiscord, channel: str = "general") -> list[dict[str, Any]]:
    return [
        m
        for m in local.sim.messages(channel)
        if m["author"]["bot"] and m["content"].startswith("❓")
    ]


def vote_id(post: dict[str, Any]) -> str:
    [button] = [c for row in post["components"] for c in row["components"]]
    return str(button["custom_id"])


async def upvote(user: SimUser, post: dict[str, Any]) -> str:
    answer = await user.click(post, custom_id=vote_id(post))
    [note] = await answer.wait_for_followups(1)
    return str(note["content"])


def post_by(local: LocalDiscord, author: SimUser) -> dict[str, Any]:
    [post] = [p for p in question_posts(local) if f"<@{author.id}>" in p["content"]]
    return post


async def test_ask_upvote_list_answer_and_restart(local: LocalDiscord, clock: ManualClock) -> None:
    sim = local.sim
    alice, bob, carol = (sim.add_user(n) for n in ("alice", "bob", "carol"))
    dave, erin = sim.add_user("dave"), sim.add_user("erin")

    choices = await alice.autocomplete("ask", focused="talk", talk="brain")
    assert PAYVAND in [c["value"] for c in choices]

    asked = await alice.slash("ask", talk=PAYVAND, question="How much energy does it save?")
    assert asked.ephemeral
    assert "Your question for “Brain-inspired hardware" in asked.text()
    assert "is recorded and posted" in asked.text()
    await bob.slash("ask", talk=PAYVAND, question="Does it   scale\nto large models?")
    await carol.slash("ask", talk=PAYVAND, question="Which chip did you use?")

    posts = question_posts(local)
    assert len(posts) == 3
    first = post_by(local, alice)
    assert first["content"].startswith("❓ Question for *Brain-inspired hardware")
    assert "> How much energy does it save?\n👍 0" in first["content"]
    assert "> Does it scale to large models?" in post_by(local, bob)["content"]

    # Carol's question gets three votes, Bob's one, Alice's none.
    for voter in (alice, dave, erin):
        assert "Your upvote counts" in await upvote(voter, post_by(local, carol))
    assert "👍 3" in post_by(local, carol)["content"]

    # A double click (two clicks at once) counts once.
    post = post_by(local, bob)
    both = await asyncio.gather(
        dave.click(post, custom_id=vote_id(post)), dave.click(post, custom_id=vote_id(post))
    )
    for answer in both:
        await answer.wait_for_followups(1)
    assert post_by(local, bob)["content"].endswith("👍 1")
    # A second click later takes the vote back; a third gives it again.
    clock.advance(timedelta(seconds=5))
    assert "You took your upvote back" in await upvote(dave, post_by(local, bob))
    assert post_by(local, bob)["content"].endswith("👍 0")
    clock.advance(timedelta(seconds=5))
    assert "Your upvote counts" in await upvote(dave, post_by(local, bob))
    assert post_by(local, bob)["content"].endswith("👍 1")

    # One's own question cannot be upvoted.
    own = await alice.click(post_by(local, alice), custom_id=vote_id(post_by(local, alice)))
    [note] = await own.wait_for_followups(1)
    assert "your own question" in note["content"]

    # /questions: sorted by votes, then age; members get no moderation menus.
    listed = await erin.slash("questions", talk=PAYVAND)
    assert listed.ephemeral
    text = listed.embeds[0]["description"]
    order = [text.index(s) for s in ("Which chip", "Does it scale", "How much energy")]
    assert order == sorted(order)
    assert "1. **3** 👍 Which chip did you use?" in text
    assert listed.components == []

    # The chair marks Carol's question answered.
    olga = organizer(sim)
    chair = await olga.slash("questions", talk=PAYVAND)
    menus = [c["custom_id"] for row in chair.components for c in row["components"]]
    assert menus == ["ask:answer", "ask:remove"]
    carol_id = vote_id(post_by(local, carol)).rsplit(":", 1)[1]
    done = await olga.select(chair, "ask:answer", [carol_id])
    [note] = await done.wait_for_followups(1)
    assert note["content"].startswith("Marked answered: “Which chip did you use?”")
    relisted = chair.embeds[0]["description"]
    assert relisted.index("Does it scale") < relisted.index("✅ **3** 👍 Which chip")
    assert "· ✅ answered" in post_by(local, carol)["content"]
    # A member's menu pick (a modified client) is refused.
    bob_id = vote_id(post_by(local, bob)).rsplit(":", 1)[1]
    sneaky = await dave.select(chair, "ask:answer", [bob_id])
    [refusal] = await sneaky.wait_for_followups(1)
    assert (
        refusal["content"] == "Only the session chair (the organizers) or the speaker can do that."
    )
    assert "answered" not in post_by(local, bob)["content"]

    # After a restart the upvote button still counts.
    await local.stop_bot()
    await local.start_bot()
    clock.advance(timedelta(seconds=5))
    assert "Your upvote counts" in await upvote(erin, post_by(local, alice))
    assert post_by(local, alice)["content"].endswith("👍 1")
    listed = await erin.slash("questions", talk=PAYVAND)
    assert "**1** 👍 How much energy" in listed.embeds[0]["description"]

    # The extension reloads cleanly, its buttons with it.
    assert local.bot is not None
    await local.bot.reload_extension("cogs.questions")
    clock.advance(timedelta(seconds=5))
    assert "You took your upvote back" in await upvote(erin, post_by(local, alice))
    assert post_by(local, alice)["content"].endswith("👍 0")


async def test_hostile_question_pings_nobody(local: LocalDiscord) -> None:
    sim = local.sim
    mallory = sim.add_user("mallory")
    role = sim.role_id("Organizer")
    hostile = f"@everyone @here <@&{role}> <@{mallory.id}> **bold** `code` [x](https://evil)"
    answer = await mallory.slash("ask", talk=PANEL, question=hostile)
    assert "is recorded and posted" in answer.text()
    [post] = question_posts(local)
    assert post["mention_everyone"] is False
    assert post["mention_roles"] == [] and post["mentions"] == []
    assert "@\u200beveryone" in post["content"] and "\\*\\*bold\\*\\*" in post["content"]
    listed = await mallory.slash("questions", talk=PANEL)
    assert listed.message is not None and listed.message["mention_everyone"] is False
    menus = [c["custom_id"] for row in listed.components for c in row["components"]]
    assert menus == ["ask:withdraw"]


async def test_refusals(local: LocalDiscord, clock: ManualClock) -> None:
    alice = local.sim.add_user("alice")
    await alice.slash("ask", talk=PAYVAND, question="Why spikes?")
    again = await alice.slash("ask", talk=PAYVAND, question="  why SPIKES? ")
    assert "You already asked that" in again.text()
    blank = await alice.slash("ask", talk=PAYVAND, question="   ")
    assert "Your question is empty" in blank.text()
    brk = await alice.slash("ask", talk="lunch", question="Coffee?")
    assert "nobody to ask" in brk.text()
    clock.set(edt("11:00"))
    late = await alice.slash("ask", talk=PAYVAND, question="Still there?")
    assert "is over: it takes no more questions" in late.text()
    assert len(question_posts(local)) == 1
