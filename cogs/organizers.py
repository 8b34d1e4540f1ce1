"""Organizer tools: reload a changed program (more in /setup, /announce, /status)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import GuildConfig
from bot.errors import ProgramError, UserFacingError
from bot.permissions import require_organizer
from bot.reloading import ProgramReloader
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
        self,
        reloader: ProgramReloader,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
    ) -> None:
        self.reloader = reloader
        self.settings = settings
        self.sessions = sessions

    async def _organizer_role(self, guild_id: int | None) -> int | None:
        if guild_id is None:
            return None
        async with self.sessions() as s:
            config = await s.get(GuildConfig, guild_id)
        return config.organizer_role_id if config else None

    @program.command(name="reload", description="Load the program file again and apply changes")
    async def reload(self, interaction: discord.Interaction) -> None:
        require_organizer(interaction, await self._organizer_role(interaction.guild_id))
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
        await interaction.followup.send("\n".join(lines), ephemeral=True)


async def setup(bot: WorkshopBot) -> None:
    s = bot.services
    assert s.reloader is not None
    await bot.add_cog(Organizers(s.reloader, s.settings, s.sessions))
