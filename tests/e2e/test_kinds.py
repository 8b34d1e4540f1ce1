"""Kinds through the local Discord (issue 13, items 11 and 12): every command that takes a kind
reads ids, labels and plurals alike, splits lists on commas only and answers with labels; a
reloaded kind typo is pointed out with what no longer matches, rather than losing people quietly."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.local import LocalDiscord
from bot.settings import Settings
from tests.conftest import HAET_FILE
from tests.e2e.test_organizers import organizer

KINDS = "Opening, Keynote, Poster session, Poster, Break, Presentation, Panel, Closing"


@pytest.fixture
def program_copy(tmp_path: Path) -> Path:
    """The HAET program in a file the test may edit (the organizer's copy)."""
    copy = tmp_path / "program.yaml"
    copy.write_text(HAET_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    return copy


@pytest.fixture
def settings(database_url: str, program_copy: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        program_file=program_copy,
        discord_token="sim-token",
    )


async def test_setup_reads_kinds_as_people_write_them(local: LocalDiscord) -> None:
    olga = organizer(local.sim)
    # A list is split on commas only: "poster session" is one kind, labels and plurals welcome.
    answer = await olga.slash("setup events kinds", kinds="keynote, poster session")
    assert answer.content == (
        "OK: Discord events will be made for Keynote, Poster session. "
        "Run `/setup events sync` to apply."
    )
    answer = await olga.slash("setup events kinds", kinds="Keynotes, Panels")
    assert (answer.content or "").startswith("OK: Discord events will be made for Keynote, Panel.")
    refused = await olga.slash("setup events kinds", kinds="keynote, panle, banquet")
    assert refused.content == (
        f"The program has no entries of kind panle (did you mean Panel?), banquet. It has: {KINDS}."
    )

    answer = await olga.slash(
        "setup channel", kind="Poster sessions", options={"channel": "general"}
    )
    assert "\nOK: Poster session will be announced in #general.\n" in answer.text()
    refused = await olga.slash("setup channel", kind="kenote", options={"channel": "general"})
    assert refused.content == (
        "The program has no entries of kind “kenote”. Did you mean Keynote? Pick one of: "
        "default, Opening, Keynote, Poster session, Break, Presentation, Panel, Closing."
    )
    posters = await olga.slash("setup channel", kind="Posters", options={"channel": "general"})
    assert posters.content == (
        "Poster entries are never announced on their own: each is listed in its session's post."
    )
    show = await olga.slash("setup show")
    assert "• Poster session: #general" in show.text()
    assert "**Discord events** for: Keynote, Panel · " in show.text()

    choices = await olga.autocomplete("setup channel", focused="kind", kind="Keynotes")
    assert [c["value"] for c in choices] == ["keynote"]
    choices = await olga.autocomplete("setup channel", focused="kind", kind="poster sessions")
    assert choices == [{"name": "Poster session", "value": "poster_session"}]
    assert [c["value"] for c in await olga.autocomplete("setup channel", kind="def")] == ["default"]
    # The list typed so far, completed with the kinds its last item may start.
    choices = await olga.autocomplete("setup events kinds", kinds="keynote, pos")
    assert [c["value"] for c in choices] == ["keynote, Poster session", "keynote, Poster"]
    choices = await olga.autocomplete("setup events kinds", kinds="Keynote, Poster session,")
    assert "Keynote, Poster session, Panel" in [c["value"] for c in choices]
    assert "Keynote, Poster session, Keynote" not in [c["value"] for c in choices]


async def test_schedule_and_remind_read_kinds_as_people_write_them(local: LocalDiscord) -> None:
    alice = local.sim.add_user("alice")
    result = await alice.slash("schedule kind", kind="Poster sessions")
    assert result.embeds[0]["title"] == "Poster session (2)"
    result = await alice.slash("schedule kind", kind="PANELS")
    assert result.embeds[0]["title"] == "Panel (1)"
    typo = await alice.slash("schedule kind", kind="panle")
    assert typo.content == f"The program has no kind “panle”. Did you mean Panel? It has: {KINDS}."

    for typed in ("Poster sessions", "poster_session", "poster session"):
        choices = await alice.autocomplete("remind kind", kind=typed)
        assert choices == [{"name": "Poster session (2)", "value": "poster_session"}], typed
    assert [c["value"] for c in await alice.autocomplete("remind kind", kind="kenote")] == [
        "keynote"
    ]
    refused = await alice.slash("remind kind", kind="panle")
    assert refused.content == (
        "The program has no entries of kind “panle”. Did you mean Panel? Pick one from the list."
    )
    answer = await alice.slash("remind kind", kind="Poster sessions")
    assert (answer.content or "").startswith("I'll remind you of every poster session 10 min")


async def test_reload_points_out_a_kind_typo_and_what_no_longer_matches(
    local: LocalDiscord, program_copy: Path
) -> None:
    olga = organizer(local.sim)
    await olga.slash("setup channel", kind="panel", options={"channel": "general"})
    await olga.slash("setup events kinds", kinds="keynote, panel")
    for name in ("alice", "bob"):
        answer = await local.sim.add_user(name).slash("remind kind", kind="panel")
        assert (answer.content or "").startswith("I'll remind you of every panel"), answer.content

    text = program_copy.read_text(encoding="utf-8")
    at = text.index("- id: panel\n")
    program_copy.write_text(
        text[:at] + text[at:].replace("kind: panel", "kind: panle", 1), encoding="utf-8"
    )
    reloaded = (await olga.slash("program reload")).text()
    assert "\nProgram reloaded: " in reloaded
    assert (
        "⚠️ New kind `panle` (1 entry) looks like a misspelling of Panel (`panel`), which the "
        "program had: its entries get no reminder, announcement channel or Discord event set "
        "up for Panel. If it is a typo, fix the file and reload."
    ) in reloaded
    assert "⚠️ 2 people's reminders of every panel (`panel`) now match no entry." in reloaded
    assert (
        "⚠️ The announcement channel for Panel (`panel`), #general, now matches no entry "
        "(`/setup channel`)."
    ) in reloaded
    assert (
        "⚠️ Discord events are made for Panel (`panel`), which no entry has now "
        "(`/setup events kinds`)."
    ) in reloaded

    # Fixed: nothing to warn about.
    program_copy.write_text(text, encoding="utf-8")
    again = (await olga.slash("program reload")).text()
    assert "⚠️" not in again


async def test_reload_shows_what_the_file_check_warns_of(
    local: LocalDiscord, program_copy: Path
) -> None:
    """A warning of `workshop-bot validate` (an entry off the workshop's date) is in the reply,
    not only in the log."""
    olga = organizer(local.sim)
    text = program_copy.read_text(encoding="utf-8")
    at = text.index("- id: closing-remarks\n")
    program_copy.write_text(
        text[:at] + text[at:].replace("2022-07-23T", "2022-07-24T", 2), encoding="utf-8"
    )
    reloaded = (await olga.slash("program reload")).text()
    assert "Program reloaded: " in reloaded
    assert "⚠️ " in reloaded and "not on the workshop's date 2022-07-23" in reloaded
