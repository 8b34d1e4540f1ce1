"""/about: what the bot is, which workshop it serves, its version, uptime and clock."""

from __future__ import annotations

import importlib.metadata
import time
from datetime import timedelta
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import __version__
from bot.clock import Clock
from bot.services.program import ProgramService
from bot.ui.cards import lines_within
from bot.ui.format import human_duration, venue_time
from bot.ui.text import FIELD_VALUE_MAX, trim

if TYPE_CHECKING:
    from bot.client import WorkshopBot


def project_links() -> list[tuple[str, str]]:
    """The project's own links as its package metadata declares them (``[project.urls]`` in
    pyproject.toml), e.g. ``("Source", "https://…")``: none are made up."""
    try:
        declared = importlib.metadata.metadata("workshop-bot").get_all("Project-URL") or []
    except importlib.metadata.PackageNotFoundError:
        return []
    links = []
    for entry in declared:
        label, _, url = entry.partition(",")
        if url.strip().startswith("https://"):
            links.append((label.strip(), url.strip()))
    return links


class Meta(commands.Cog):
    def __init__(self, program: ProgramService, clock: Clock, started: float) -> None:
        self.program = program
        self.clock = clock
        self.started = started

    @app_commands.command(name="about", description="What this bot is and which workshop it runs")
    async def about(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(embed=self.about_embed(), ephemeral=True)

    def about_embed(self) -> discord.Embed:
        embed = discord.Embed(
            title=f"workshop-bot {__version__}",
            description=(
                "I run this workshop's Discord: `/schedule` shows what is on now and next in "
                "your own timezone, `/search` and `/author` find papers and people, and I can "
                "remind you of talks by DM."
            ),
            colour=discord.Colour.blurple(),
        )
        now = self.clock.now()
        if self.program.loaded:
            ws = self.program.snapshot.workshop
            embed.add_field(name="Workshop", value=f"{ws.name} ({ws.acronym})", inline=False)
            where = f"{ws.venue}, " if ws.venue else ""
            embed.add_field(
                name="When and where",
                value=f"{where}{ws.day.strftime('%A %d %B %Y')}, venue time ({ws.zone.key})",
                inline=False,
            )
            if ws.links:
                links = [f"[{trim(title, 80)}]({url})" for title, url in ws.links]
                embed.add_field(
                    name="Links", value=lines_within(links, FIELD_VALUE_MAX), inline=False
                )
            clock_text = venue_time(now, ws.zone, with_date=True)
        else:
            embed.add_field(name="Workshop", value="No program is loaded yet.", inline=False)
            clock_text = now.strftime("%a %d %b %H:%M UTC")
        if self.clock.rehearsal:
            clock_text = f"{clock_text} (rehearsal, {self.clock.speed:g}× speed)"
        embed.add_field(name="Workshop clock", value=clock_text, inline=True)
        uptime = timedelta(seconds=time.monotonic() - self.started)
        embed.add_field(name="Uptime", value=human_duration(uptime), inline=True)
        # Only links that exist: the program's (above) and the ones the package declares.
        own = project_links()
        if own:
            embed.add_field(
                name="About the bot",
                value=lines_within([f"[{trim(t, 80)}]({u})" for t, u in own], FIELD_VALUE_MAX),
                inline=False,
            )
        return embed


async def setup(bot: WorkshopBot) -> None:
    s = bot.services
    await bot.add_cog(Meta(s.program, s.clock, s.started))
