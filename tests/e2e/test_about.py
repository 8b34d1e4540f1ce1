"""/about through the local Discord: what the bot is, which workshop, its clock and uptime."""

from __future__ import annotations

from bot import __version__
from bot.local import LocalDiscord


async def test_about_names_the_workshop_and_the_clock(local: LocalDiscord) -> None:
    alice = local.sim.add_user("alice")
    result = await alice.slash("about")
    assert result.ephemeral
    embed = result.embeds[0]
    assert embed["title"] == f"workshop-bot {__version__}"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Workshop"] == "Hardware-Aware Efficient Training (HAET 2022)"
    assert "Saturday 23 July 2022" in fields["When and where"]
    assert "America/New_York" in fields["When and where"]
    # The injected clock, in the venue's zone: 09:05 EDT.
    assert fields["Workshop clock"].startswith("Sat 23 Jul 09:05 EDT")
    assert "Uptime" in fields
    assert "workshop-bot" in result.text()


async def test_about_works_in_a_dm_after_a_global_sync(local: LocalDiscord) -> None:
    assert local.bot is not None
    # DMs only see global commands, which are synced on purpose (`workshop-bot sync`).
    await local.bot.tree.sync()
    bob = local.sim.add_user("bob")
    result = await bob.slash("about", dm=True)
    assert result.embeds[0]["title"].startswith("workshop-bot")


async def test_commands_are_synced_to_the_dev_guild_only(local: LocalDiscord) -> None:
    names = {c["name"] for c in local.sim.commands(guild=True)}
    assert "about" in names
    assert local.sim.commands(guild=False) == []
