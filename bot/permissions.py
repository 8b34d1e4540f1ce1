"""Who is an organizer: Manage Server, or the role /setup names. Checked on every call."""

from __future__ import annotations

import discord

from bot.errors import UserFacingError


def is_organizer(member: discord.abc.User, organizer_role_id: int | None) -> bool:
    if not isinstance(member, discord.Member):
        return False
    if member.guild_permissions.manage_guild or member.guild_permissions.administrator:
        return True
    return organizer_role_id is not None and any(r.id == organizer_role_id for r in member.roles)


def require_organizer(interaction: discord.Interaction, organizer_role_id: int | None) -> None:
    """Server-side check: command visibility alone is never trusted."""
    if interaction.guild is None:
        raise UserFacingError("Organizer commands only work in the workshop's server.")
    if not is_organizer(interaction.user, organizer_role_id):
        raise UserFacingError("Only the workshop's organizers can do that.")
