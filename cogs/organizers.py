"""Organizer tools: reload a changed program (more in /setup, /announce and /status)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import ProgramError, UserFacingError
from bot.permissions import organizer_interaction_check
from bot.reloading import ProgramReloader
from bot.services.guild_config import GuildConfigService
from bot.settings import Settings
from bot.ui.text import trim

if TYPE_CHECKING:
    from bot.client import WorkshopBot


class Organizers(commands.Cog):
    program = app_commands.Group(
        name="program",
        description="Organizers: the workshop program",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )

    def __init__(
        self, reloader: ProgramReloader, settings: Settings, guild_config: GuildConfigService
    ) -> None:
        self.reloader = reloader
        self.settings = settings
        self.guild_config = guild_config

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await organizer_interaction_check(interaction, self.guild_config)

    @program.command(name="reload", description="Load the program file again and apply changes")
    async def reload(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            report = await self.reloader.reload(self.settings.program_file)
        except ProgramError as exc:
            raise UserFacingError(
                trim(f"The program file has an error, nothing changed: {exc}", 1900)
            ) from None
        lines = [f"Program reloaded: {report.summary()}."]
        if report.moved or report.cancelled:
            lines.append("Subscribers of moved or cancelled entries are being told by DM.")
        lines.append("Discord events follow the change after `/setup events sync`.")
        await interaction.followup.send("\n".join(lines), ephemeral=True)


async def setup(bot: WorkshopBot) -> None:
    s = bot.services
    assert s.reloader is not None
    await bot.add_cog(Organizers(s.reloader, s.settings, s.guild_config))
