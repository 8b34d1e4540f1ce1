"""Who is an organizer (Manage Server, or the role /setup names), and where the bot may post."""

from __future__ import annotations

from typing import Protocol

import discord
from discord import app_commands

from bot.errors import UserFacingError

#: What the bot needs in a channel to post announcements there (they carry embeds).
POST_PERMISSIONS: tuple[tuple[str, str], ...] = (
    ("view_channel", "View Channel"),
    ("send_messages", "Send Messages"),
    ("embed_links", "Embed Links"),
)


class OrganizerRoles(Protocol):
    """Where the configured organizer role is read (bot/services/guild_config.py)."""

    async def organizer_role(self, guild_id: int | None) -> int | None: ...


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


async def check_organizer(interaction: discord.Interaction, roles: OrganizerRoles) -> None:
    """``require_organizer`` with the server's configured organizer role.

    Discord shows organizer commands to members with Manage Server, but a server admin can
    show them to anyone with a per-command override: so every call is checked here too.
    """
    require_organizer(interaction, await roles.organizer_role(interaction.guild_id))


async def allows_organizer(interaction: discord.Interaction, roles: OrganizerRoles) -> bool:
    """``check_organizer`` as a yes/no, for paths that answer quietly (autocomplete)."""
    try:
        await check_organizer(interaction, roles)
    except UserFacingError:
        return False
    return True


async def organizer_interaction_check(
    interaction: discord.Interaction, roles: OrganizerRoles
) -> bool:
    """``check_organizer`` as a cog's ``interaction_check``: a refusal becomes a CheckFailure,
    which the tree's error handler answers with its text."""
    try:
        await check_organizer(interaction, roles)
    except UserFacingError as exc:
        raise app_commands.CheckFailure(str(exc)) from None
    return True


def missing_post_permissions(
    channel: discord.abc.GuildChannel, needed: tuple[tuple[str, str], ...] = POST_PERMISSIONS
) -> list[str]:
    """The names of the permissions the bot lacks in ``channel`` (empty: it can post)."""
    me = channel.guild.me
    perms = channel.permissions_for(me)
    missing = [label for attr, label in needed if not getattr(perms, attr)]
    # Without View Channel nothing else counts, and without Send Messages discord.py (like
    # Discord) denies Embed Links too: name only the permission to grant.
    for root in ("View Channel", "Send Messages"):
        if root in missing:
            return [root]
    return missing


def require_can_post(
    channel: discord.abc.GuildChannel, needed: tuple[tuple[str, str], ...] = POST_PERMISSIONS
) -> None:
    """Refuse, naming what is missing, when the bot could not post in ``channel``."""
    if not isinstance(channel, discord.TextChannel):
        raise UserFacingError(f"{channel.mention} is not a text channel: pick a text channel.")
    missing = missing_post_permissions(channel, needed)
    if missing:
        names = ", ".join(f"**{name}**" for name in missing)
        raise UserFacingError(
            f"I can't post in {channel.mention}: I'm missing the {names} permission"
            f"{'s' if len(missing) > 1 else ''} there. Allow it for my role in the channel's "
            "settings (Edit Channel → Permissions), then try again."
        )


def require_pingable(guild: discord.Guild, role: discord.Role) -> None:
    """Refuse roles the bot could not ping (it never holds Mention Everyone by default)."""
    if role.is_default():
        raise UserFacingError("I never ping @everyone: pick a role.")
    if role.managed:
        raise UserFacingError(f"{role.mention} belongs to an app or integration: pick a role.")
    if not role.mentionable and not guild.me.guild_permissions.mention_everyone:
        raise UserFacingError(
            f"I can't ping {role.mention}: turn on “Allow anyone to @mention this role” in "
            "Server Settings → Roles, then try again."
        )
