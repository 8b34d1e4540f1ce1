"""Members linked to the program's people through the local Discord: /people, /claim, cards."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.clock import ManualClock
from bot.local import LocalDiscord
from bot.simulator import InteractionResult
from bot.simulator.models import Perm
from tests.e2e.helpers import at, edt, settle
from tests.e2e.test_organizers import organizer

FLASH = "poster-flashattention-fast-and-memory-efficient-exact"


def people_field(card: InteractionResult) -> str:
    [field] = [f for f in card.embeds[0]["fields"] if f["name"] in ("Authors", "Author")]
    return str(field["value"])


def pings(result: InteractionResult) -> list[Any]:
    """Whom the answer's messages pinged (users, roles, everyone)."""
    out: list[Any] = []
    for message in [result.message, *result.followups]:
        if message is not None:
            out += message["mentions"] + message["mention_roles"]
            out += ["everyone"] if message["mention_everyone"] else []
    return out


async def test_link_shows_a_mention_that_pings_nobody_and_unlink_removes_it(
    local: LocalDiscord,
) -> None:
    sim = local.sim
    olga, tri, alice = organizer(sim), sim.add_user("tri"), sim.add_user("alice")

    choices = await olga.autocomplete("people link", focused="person", person="tri d")
    assert "Tri Dao" in [c["value"] for c in choices]
    linked = await olga.slash("people link", member=tri, person="tri dao")
    assert linked.ephemeral
    assert "OK: I asked @tri (by DM) to confirm they are Tri Dao (1 entry: *FlashAttention" in (
        linked.text()
    )
    assert pings(linked) == []
    taken = await olga.slash("people link", member=alice, person="Tri Dao")
    assert "Tri Dao is already linked to @tri" in taken.text()

    # Nothing is shown until tri agrees: they are asked by DM, once.
    card = await alice.slash("schedule talk", title=FLASH)
    assert people_field(card).startswith("Tri Dao, Daniel Y Fu")
    assert "not accepted yet" in (await olga.slash("people list")).embeds[0]["description"]
    invite = await sim.wait_for_message(
        dm_of=tri, predicate=lambda m: "would like to show you as **Tri Dao**" in m["content"]
    )
    assert "type `/claim` in the server" in invite["content"]
    await olga.slash("people link", member=tri, person="Tri Dao")  # asked again: no second DM
    await settle(local)
    assert len([m for m in tri.dms if "would like to show you" in m["content"]]) == 1
    accepted = await tri.slash("claim")
    assert "You are now shown as Tri Dao on 1 entry" in accepted.text()
    nothing = await alice.slash("claim")
    assert "You have no invitation" in nothing.text()

    card = await alice.slash("schedule talk", title=FLASH)
    assert people_field(card).startswith(f"Tri Dao (<@{tri.id}>), Daniel Y Fu")
    assert pings(card) == []
    author = await alice.slash("author", name="Tri Dao")
    assert f"On this server: <@{tri.id}>" in author.embeds[0]["description"]
    assert pings(author) == []
    listed = await olga.slash("people list")
    assert (
        f"Tri Dao: <@{tri.id}> (linked by <@{olga.id}>, accepted)"
        in (listed.embeds[0]["description"])
    )

    # The member removes it themselves: the card shows the name alone again.
    mine = await tri.autocomplete("unclaim", focused="person", person="")
    assert [c["value"] for c in mine] == ["Tri Dao"]
    gone = await tri.slash("unclaim")
    assert "OK: you are no longer shown as Tri Dao." in gone.text()
    card = await alice.slash("schedule talk", title=FLASH)
    assert people_field(card).startswith("Tri Dao, Daniel Y Fu")
    author = await alice.slash("author", name="Tri Dao")
    assert "On this server" not in author.embeds[0]["description"]

    # An organizer's unlink.
    await olga.slash("people link", member=alice, person="Daniel Y Fu")
    unlinked = await olga.slash("people unlink", person="daniel y fu")
    assert "OK: @alice is no longer shown as Daniel Y Fu." in unlinked.text()
    assert "Nobody is linked yet" in (await olga.slash("people list")).text()


async def test_claim_codes_from_the_cli_are_redeemed_once(
    local: LocalDiscord,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sim = local.sim
    olga, tri, mallory = organizer(sim), sim.add_user("tri"), sim.add_user("mallory")
    await olga.slash("people link", member=olga, person="Melika Payvand")

    monkeypatch.setenv("DATABASE_URL", local.settings.database_url)
    out = tmp_path / "codes.csv"
    assert await asyncio.to_thread(main, ["claim-codes", "-o", str(out)]) == 0
    with out.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    said = capsys.readouterr().out
    assert f"wrote {len(rows)} claim codes to {out}" in said
    codes = {r["person"]: r["code"] for r in rows}
    assert "Melika Payvand" not in codes  # already linked
    assert not any(code in said for code in codes.values())
    [flash] = [r for r in rows if r["person"] == "Tri Dao"]
    assert flash["entries"].startswith("FlashAttention")

    wrong = await mallory.slash("claim", code="AAAAA-AAAAA")
    assert "That code is not one I know" in wrong.text()
    claimed = await tri.slash("claim", code=codes["Tri Dao"].lower())
    assert claimed.ephemeral
    assert "You are now shown as Tri Dao on 1 entry: *FlashAttention" in claimed.text()
    again = await mallory.slash("claim", code=codes["Tri Dao"])
    assert "That code was already used" in again.text()
    card = await mallory.slash("schedule talk", title=FLASH)
    assert people_field(card).startswith(f"Tri Dao (<@{tri.id}>)")
    listed = await olga.slash("people list")
    assert f"Tri Dao: <@{tri.id}> (claimed with a code)" in listed.embeds[0]["description"]


async def test_speaker_role_is_given_and_taken_or_its_absence_explained(
    local: LocalDiscord,
) -> None:
    sim = local.sim
    state = sim.state
    speakers = state.add_role("Speakers", 0)
    speakers.position = 1  # below the bot's role
    state.emit(
        "GUILD_ROLE_CREATE", {"guild_id": str(state.guild.id), "role": speakers.to_payload()}
    )
    olga, tri = organizer(sim), sim.add_user("tri")

    # Without Manage Roles: the role is saved, the link made, and both say what is missing.
    saved = await olga.slash("people role", role="Speakers")
    assert "I can't give @Speakers yet" in saved.text() and "Manage Roles" in saved.text()
    await olga.slash("people link", member=tri, person="Tri Dao")
    linked = await tri.slash("claim")
    assert "You are now shown as Tri Dao" in linked.text()
    assert "I couldn't give" in linked.text() and "The link stands." in linked.text()
    assert "Speakers" not in tri.roles

    # Given Manage Roles, /people role gives it to those already linked; unlinking takes it.
    bot_role = state.guild.roles[state.bot_role_id]
    sim.set_bot_permissions(bot_role.permissions | Perm.MANAGE_ROLES)
    await asyncio.sleep(0.1)
    done = await olga.slash("people role", role="Speakers")
    assert "⚠️" not in done.text()
    await sim.wait_until(lambda: "Speakers" in tri.roles, 5, "the speaker role")
    gone = await tri.slash("unclaim", person="Tri Dao")
    assert "⚠️" not in gone.text()
    await sim.wait_until(lambda: "Speakers" not in tri.roles, 5, "the role taken back")


async def test_the_extension_reloads_cleanly(local: LocalDiscord) -> None:
    assert local.bot is not None
    await local.bot.reload_extension("cogs.people")
    names = [c.qualified_name for c in local.bot.tree.walk_commands()]
    assert len(names) == len(set(names))
    assert {
        "people link",
        "people unlink",
        "people list",
        "people role",
        "claim",
        "unclaim",
    } <= set(names)
    olga, tri = organizer(local.sim), local.sim.add_user("tri")
    assert (
        "I asked @tri (by DM) to confirm they are Tri Dao"
        in (await olga.slash("people link", member=tri, person="Tri Dao")).text()
    )
    assert "You are now shown as Tri Dao" in (await tri.slash("claim")).text()


async def test_a_linked_speaker_marks_their_talks_questions_answered(local: LocalDiscord) -> None:
    sim = local.sim
    olga, melika, alice = organizer(sim), sim.add_user("melika"), sim.add_user("alice")
    payvand = "keynote-melika-payvand"
    await alice.slash("ask", talk=payvand, question="How much energy does it save?")
    before = await melika.slash("questions", talk=payvand)
    assert [c["custom_id"] for row in before.components for c in row["components"]] == []

    await olga.slash("people link", member=melika, person="Melika Payvand")
    pending = await melika.slash("questions", talk=payvand)
    assert [c["custom_id"] for row in pending.components for c in row["components"]] == []
    await melika.slash("claim")
    listed = await melika.slash("questions", talk=payvand)
    menus = [c["custom_id"] for row in listed.components for c in row["components"]]
    assert menus == ["ask:answer", "ask:remove"]
    [option] = listed.components[0]["components"][0]["options"]
    done = await melika.select(listed, "ask:answer", [option["value"]])
    [note] = await done.wait_for_followups(1)
    assert note["content"].startswith("Marked answered: “How much energy does it save?”")


async def test_a_linked_author_gets_one_dm_before_their_poster_session(
    local: LocalDiscord, clock: ManualClock
) -> None:
    sim = local.sim
    olga, tri, dan = organizer(sim), sim.add_user("tri"), sim.add_user("dan")
    await olga.slash("people link", member=tri, person="Tri Dao")
    linked = await tri.slash("claim")
    assert "You get a DM 10 min before your poster session (1 reminder;" in linked.text()
    await olga.slash("people link", member=dan, person="Daniel Y Fu")
    await dan.slash("claim")
    # Unlinking stops the reminder the link made (and only that one).
    await olga.slash("people unlink", person="Daniel Y Fu")

    await at(local, clock, edt("14:49"))
    assert [m for m in tri.dms if "🎤" in m["content"]] == []
    await at(local, clock, edt("14:50"))
    dm = await sim.wait_for_message(dm_of=tri, predicate=lambda m: "🎤" in m["content"])
    assert dm["content"].startswith(
        "🎤 Your poster session is about to start: please be at your poster "
        "(“FlashAttention: Fast and Memory-Efficient"
    )
    assert "⏰ **FlashAttention" in dm["content"]
    await at(local, clock, edt("15:10"))
    assert len([m for m in tri.dms if "🎤" in m["content"]]) == 1
    assert [m for m in dan.dms if m["content"].startswith(("🎤", "⏰"))] == []
