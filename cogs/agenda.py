"""/agenda: the talks a person is reminded of, in order, with clashes, as an .ics file too."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.clock import Clock
from bot.errors import UserFacingError
from bot.services.calendar import agenda_ics, overlaps
from bot.services.program import ProgramService
from bot.services.reminders import ReminderService
from bot.ui.cards import times_text
from bot.ui.text import EMBED_DESCRIPTION_MAX, trim

if TYPE_CHECKING:
    from bot.client import WorkshopBot

#: Reminders still to come, and those already sent (the talk may be on now).
SHOWN_STATES = ("active", "sent")


class Agenda(commands.Cog):
    def __init__(self, reminders: ReminderService, program: ProgramService, clock: Clock) -> None:
        self.reminders = reminders
        self.program = program
        self.clock = clock

    @app_commands.command(name="agenda", description="Your talks in order, as a calendar file too")
    async def agenda(self, interaction: discord.Interaction) -> None:
        if not self.program.loaded:
            raise UserFacingError("No program is loaded yet.")
        reminders, _kinds = await self.reminders.list(interaction.user.id)
        talks = [r.talk for r in reminders if r.state in SHOWN_STATES and not r.talk.cancelled]
        if not talks:
            raise UserFacingError(
                "Your agenda is empty: add talks with `/remind talk` and they show up here."
            )
        workshop = self.program.snapshot.workshop
        clashes = overlaps(talks)
        lines = []
        for talk in talks:
            # Start and end, like every other listing, the reader's with its date.
            line = f"**{talk.title}**\n{times_text(talk, workshop.zone)} · {talk.kind_label}"
            others = clashes.get(talk.id)
            if others:
                names = ", ".join(f"“{trim(o.title, 60)}”" for o in others)
                line += f"\n⚠ overlaps with {names}"
            lines.append(trim(line, 500))
        description = trim("\n\n".join(lines), EMBED_DESCRIPTION_MAX)
        embed = discord.Embed(
            title=trim(f"Your agenda for {workshop.acronym}", 256),
            description=description,
            colour=discord.Colour.blurple(),
        )
        embed.set_footer(text="agenda.ics: open it to add these talks to your calendar.")
        ics = agenda_ics(talks, workshop, now=self.clock.now())
        await interaction.response.send_message(
            embed=embed,
            file=discord.File(io.BytesIO(ics), filename="agenda.ics"),
            ephemeral=True,
        )


async def setup(bot: WorkshopBot) -> None:
    s = bot.services
    await bot.add_cog(Agenda(s.reminders, s.program, s.clock))
