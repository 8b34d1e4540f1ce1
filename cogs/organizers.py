"""Organizer tools: reload a changed program (more in /setup, /announce and /status)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import ProgramError, UserFacingError
from bot.permissions import organizer_interaction_check
from bot.program.model import kind_label
from bot.reloading import ProgramFollower
from bot.services.events import EventSync
from bot.services.guild_config import GuildConfigService
from bot.services.kinds import KindCheck, KindDrift, kinds_of
from bot.services.program import ProgramService
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
        follower: ProgramFollower,
        event_sync: EventSync,
        guild_config: GuildConfigService,
        program: ProgramService,
        kind_check: KindCheck,
    ) -> None:
        self.follower = follower
        self.event_sync = event_sync
        self.guild_config = guild_config
        self.program_service = program
        self.kind_check = kind_check

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await organizer_interaction_check(interaction, self.guild_config)

    @program.command(
        name="reload", description="Read the program source again now and apply its changes"
    )
    @app_commands.describe(
        force="Apply it even if it would cancel most of the program (a URL source is checked)"
    )
    async def reload(self, interaction: discord.Interaction, force: bool = False) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        before = self._kinds()
        try:
            report = await self.follower.check(force=force)
        except ProgramError as exc:
            raise UserFacingError(
                trim(f"The program source has a problem, nothing changed: {exc}", 1900)
            ) from None
        if report is None:
            await interaction.followup.send(
                "The program source has not changed since it was last read: nothing to do.",
                ephemeral=True,
            )
            return
        lines = [f"Program reloaded: {report.summary()}."]
        shown = self.follower.warnings[:5]
        lines.extend(f"⚠️ {trim(w, 300)}" for w in shown)
        if len(self.follower.warnings) > len(shown):
            lines.append(f"… and {len(self.follower.warnings) - len(shown)} more warnings.")
        if report.moved or report.cancelled:
            lines.append("Subscribers of moved or cancelled entries are being told by DM.")
        if report.changed and await self.events_synced(interaction.guild_id):
            lines.append("This server's Discord events are being brought up to date.")
        drift = await self.kind_check.after_reload(before, self._kinds(), interaction.guild_id)
        lines.extend(kind_warnings(drift))
        await interaction.followup.send(trim("\n".join(lines), 2000), ephemeral=True)

    async def events_synced(self, guild_id: int | None) -> bool:
        return guild_id is not None and await self.event_sync.count(guild_id) > 0

    def _kinds(self) -> dict[str, int]:
        """The loaded program's kinds and their entries (none before a program is loaded)."""
        if not self.program_service.loaded:
            return {}
        return kinds_of([talk.kind for talk in self.program_service.snapshot.talks])


def kind_warnings(drift: KindDrift) -> list[str]:
    """What a reload did to kinds, for the organizer who reloaded: a typo and what it cost."""
    lines = []
    for new in drift.lookalikes:
        entries = f"{new.entries} entr{'y' if new.entries == 1 else 'ies'}"
        lines.append(
            f"⚠️ New kind `{new.kind}` ({entries}) looks like a misspelling of "
            f"{kind_label(new.like)} (`{new.like}`), which the program had: its entries get no "
            f"reminder, announcement channel or Discord event set up for {kind_label(new.like)}. "
            "If it is a typo, fix the file and reload."
        )
    for kind, people in drift.subscriptions:
        who = "1 person's reminder" if people == 1 else f"{people} people's reminders"
        lines.append(f"⚠️ {who} of every {kind_label(kind).lower()} (`{kind}`) now match no entry.")
    for kind, channel_id in drift.channels:
        lines.append(
            f"⚠️ The announcement channel for {kind_label(kind)} (`{kind}`), <#{channel_id}>, "
            "now matches no entry (`/setup channel`)."
        )
    if drift.event_kinds:
        kinds = ", ".join(f"{kind_label(k)} (`{k}`)" for k in drift.event_kinds)
        lines.append(
            f"⚠️ Discord events are made for {kinds}, which no entry has now "
            "(`/setup events kinds`)."
        )
    return lines


async def setup(bot: WorkshopBot) -> None:
    s = bot.services
    assert s.follower is not None
    kind_check = KindCheck(s.sessions, s.guild_config)
    await bot.add_cog(Organizers(s.follower, s.events, s.guild_config, s.program, kind_check))
