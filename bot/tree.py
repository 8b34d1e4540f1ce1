"""The one app-command error handler: user errors answer briefly, the rest are logged."""

from __future__ import annotations

import logging

import discord
import sqlalchemy.exc
from discord import app_commands

from bot.errors import UserFacingError
from bot.ui.text import CONTENT_MAX, trim

log = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong on our side. The organizers can see what in the bot's log."
DATABASE_UNAVAILABLE = (
    "I can't use my database right now, so nothing was saved or changed. Please try again in a "
    "minute (the organizers see why in /status)."
)

#: PostgreSQL SQLSTATE classes that mean "not now" rather than "a bug": connection exceptions,
#: a read-only transaction (a standby, a full disk's safety switch), insufficient resources,
#: operator intervention (shutdown, restart).
_UNAVAILABLE_SQLSTATES = ("08", "25006", "53", "57P")


def database_unavailable(error: BaseException) -> bool:
    """The database refused or could not take the request (read-only, locked, full, gone)."""
    if isinstance(error, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError):
        return True  # SQLite: read-only, locked, disk I/O or full; a driver that lost its link
    if isinstance(error, sqlalchemy.exc.DBAPIError):
        if error.connection_invalidated:
            return True
        code = getattr(error.orig, "sqlstate", None)
        return isinstance(code, str) and code.startswith(_UNAVAILABLE_SQLSTATES)
    return False


def first_line(error: BaseException) -> str:
    """``Type: message`` without SQLAlchemy's statement and parameters."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"


def expected_answer(
    interaction: discord.Interaction, error: BaseException, what: str
) -> str | None:
    """The answer to a failure that is not a bug, or None for a bug (log it, apologise).

    ``what`` names the command or component for the warning a database outage logs: the
    delivery engine logs the outage itself at ERROR, once.
    """
    if isinstance(error, UserFacingError):
        return str(error)
    if database_unavailable(error):
        log.warning(
            "%s could not use the database (user %s, guild %s): %s",
            what,
            interaction.user.id,
            interaction.guild_id,
            first_line(error),
        )
        return DATABASE_UNAVAILABLE
    return None


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


async def acknowledge(interaction: discord.Interaction, *, ephemeral: bool = True) -> None:
    """Answer Discord now ("thinking…"); the answer follows with ``interaction.followup``.

    For whatever writes before it answers: a write may wait for the database (SQLite waits up
    to its 30 s busy timeout for another writer) and Discord waits only 3 s for a first answer.
    """
    if not interaction.response.is_done():
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)


async def reply_ephemeral(interaction: discord.Interaction, text: str) -> None:
    """Answer, or follow up when the interaction was already answered or deferred."""
    # An error may quote what the user typed, and Discord allows 6,000 characters in an option.
    text = trim(text, CONTENT_MAX)
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
        command = interaction.command.qualified_name if interaction.command else "?"
        text = user_message(error) or expected_answer(
            interaction, getattr(error, "original", error), f"command /{command}"
        )
        if text is None:
            log.error(
                "command /%s failed (user %s, guild %s)",
                command,
                interaction.user.id,
                interaction.guild_id,
                exc_info=error,
            )
            text = APOLOGY
        await reply_ephemeral(interaction, text)
