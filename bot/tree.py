"""The one app-command error handler: user errors answer briefly, the rest are logged."""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from bot.errors import UserFacingError

log = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong on our side. The organizers can see what in the bot's log."


def user_message(error: app_commands.AppCommandError) -> str | None:
    """The short text for an expected failure, or None for a bug."""
    original = getattr(error, "original", error)
    if isinstance(original, UserFacingError):
        return str(original)
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command only works in a server, not in DMs."
    if isinstance(error, app_commands.MissingPermissions | app_commands.MissingAnyRole):
        return "Only the workshop's organizers can use this command."
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down a little: try again in {error.retry_after:.0f} s."
    if isinstance(error, app_commands.CheckFailure):
        return str(error) or "You can't use this command here."
    if isinstance(error, app_commands.TransformerError):
        return f"I couldn't understand {error.value!r}."
    return None


async def reply_ephemeral(interaction: discord.Interaction, text: str) -> None:
    """Answer, or follow up when the interaction was already answered or deferred."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True)
        else:
            await interaction.response.send_message(text, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not tell user %s about a failed command", interaction.user.id)


class WorkshopTree(app_commands.CommandTree[discord.Client]):
    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        text = user_message(error)
        if text is None:
            command = interaction.command.qualified_name if interaction.command else "?"
            log.error(
                "command /%s failed (user %s, guild %s)",
                command,
                interaction.user.id,
                interaction.guild_id,
                exc_info=error,
            )
            text = APOLOGY
        await reply_ephemeral(interaction, text)
