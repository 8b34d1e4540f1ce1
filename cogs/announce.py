"""/announce: organizers post their own announcements, now or at a time, and manage them."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import discord
from discord import app_commands
from discord.ext import commands

from bot.clock import Clock
from bot.errors import UserFacingError
from bot.permissions import (
    allows_organizer,
    check_organizer,
    organizer_interaction_check,
    require_can_post,
    require_pingable,
)
from bot.services.guild_config import (
    CustomAnnouncement,
    CustomAnnouncements,
    GuildConfigService,
    check_text,
    text_limit,
)
from bot.services.program import ProgramService
from bot.services.timeparse import parse_when
from bot.tree import APOLOGY, acknowledge, expected_answer, reply_ephemeral
from bot.ui.format import discord_ts, venue_time
from bot.ui.text import CHOICE_NAME_MAX, trim

if TYPE_CHECKING:
    from bot.client import WorkshopBot

log = logging.getLogger(__name__)

#: A channel the bot only posts plain text in: no embeds needed.
TEXT_POST = (("view_channel", "View Channel"), ("send_messages", "Send Messages"))
PREVIEW_MAX = 600

Submit = Callable[[discord.Interaction, str], Awaitable[None]]
#: Raises UserFacingError unless this interaction may go on with the form it answers.
Check = Callable[[discord.Interaction], Awaitable[None]]


def member_permissions(
    interaction: discord.Interaction, channel: discord.abc.GuildChannel
) -> discord.Permissions:
    """The member's own permissions in ``channel``: Discord's own figure where the interaction
    carries one (its channel, or a channel option it resolved), else computed from the roles and
    the channel's overwrites as discord.py caches them."""
    if channel.id == interaction.channel_id:
        return interaction.permissions
    data: Any = interaction.data or {}
    resolved: Any = data.get("resolved") or {}
    computed = resolved.get("channels", {}).get(str(channel.id), {}).get("permissions")
    if computed is not None:
        return discord.Permissions(int(computed))
    if isinstance(interaction.user, discord.Member):
        return channel.permissions_for(interaction.user)
    return discord.Permissions.none()


def require_member_can_post(
    interaction: discord.Interaction, channel: discord.abc.GuildChannel
) -> None:
    """Refuse to post where the organizer asking could not post themselves (the bot's
    permissions are not theirs to borrow)."""
    perms = member_permissions(interaction, channel)
    missing = next((label for attr, label in TEXT_POST if not getattr(perms, attr)), None)
    if missing is not None:
        raise UserFacingError(
            f"I only announce where you could post yourself, and you don't have the "
            f"**{missing}** permission in {channel.mention}."
        )


async def _answer_error(interaction: discord.Interaction, error: Exception, what: str) -> None:
    """A modal's or button's failure, answered as the tree answers commands."""
    text = expected_answer(interaction, error, what)
    if text is not None:
        await reply_ephemeral(interaction, text)
        return
    log.error(
        "%s failed (user %s, guild %s)",
        what,
        interaction.user.id,
        interaction.guild_id,
        exc_info=error,
    )
    await reply_ephemeral(interaction, APOLOGY)


class AnnouncementModal(discord.ui.Modal):
    """The text of an announcement (Discord enforces ``max_length`` in its client only)."""

    def __init__(self, title: str, limit: int, submit: Submit, check: Check) -> None:
        super().__init__(title=trim(title, 45), timeout=1800)
        self.text: discord.ui.TextInput[AnnouncementModal] = discord.ui.TextInput(
            label="Announcement",
            style=discord.TextStyle.paragraph,
            placeholder="What everyone should read. Mentions in the text do not ping.",
            max_length=limit,
        )
        self.add_item(self.text)
        self._submit = submit
        self._check = check

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        # discord.py matches a submit to its modal by custom id alone: anyone can send one.
        await self._check(interaction)
        return True

    async def on_submit(self, interaction: discord.Interaction) -> None:
        # A modified client can send NUL, which PostgreSQL cannot store and Discord drops.
        await self._submit(interaction, self.text.value.replace("\x00", ""))

    # discord.py's stubs declare Modal.on_error narrower than BaseView's: a typing quirk.
    async def on_error(self, interaction: discord.Interaction, error: Exception, /) -> None:  # type: ignore[override]
        await _answer_error(interaction, error, "announcement modal")


class ConfirmSchedule(discord.ui.View):
    """ "Schedule it" / "Cancel" under the parsed time; only its organizer may press them."""

    def __init__(self, owner_id: int, confirm: Callable[[discord.Interaction], Awaitable[None]]):
        super().__init__(timeout=900)
        self.owner_id = owner_id
        self._confirm = confirm
        self._answered = False

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self.owner_id:
            await interaction.response.send_message(
                "Only the organizer who wrote this announcement can schedule it.", ephemeral=True
            )
            return False
        if self._answered:
            # A double click: the first press decided.
            await interaction.response.send_message("Already done.", ephemeral=True)
            return False
        self._answered = True
        return True

    @discord.ui.button(label="Schedule it", style=discord.ButtonStyle.success)
    async def schedule(
        self, interaction: discord.Interaction, _button: discord.ui.Button[ConfirmSchedule]
    ) -> None:
        self.stop()
        await self._confirm(interaction)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(
        self, interaction: discord.Interaction, _button: discord.ui.Button[ConfirmSchedule]
    ) -> None:
        self.stop()
        await interaction.response.edit_message(
            content="Not scheduled: nothing will be posted.", view=None
        )

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        await _answer_error(interaction, error, "announcement confirmation")


class Announce(commands.Cog):
    announce = app_commands.Group(
        name="announce",
        description="Organizers: post an announcement now or at a given time",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )

    def __init__(
        self,
        custom: CustomAnnouncements,
        guild_config: GuildConfigService,
        program: ProgramService,
        clock: Clock,
    ) -> None:
        self.custom = custom
        self.guild_config = guild_config
        self.program = program
        self.clock = clock

    async def cog_load(self) -> None:
        # Rows whose delivery was never queued (a crash between the two writes) go out now.
        await self.custom.requeue_missing()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await organizer_interaction_check(interaction, self.guild_config)

    # -- helpers -------------------------------------------------------------------------------

    def _zone(self) -> ZoneInfo:
        """The venue's zone, in which typed times are read (UTC without a program)."""
        if self.program.loaded:
            return self.program.snapshot.workshop.zone
        return ZoneInfo("UTC")

    def _when(self, moment: datetime) -> str:
        zone = self._zone()
        return (
            f"{discord_ts(moment, 'F')} ({discord_ts(moment, 'R')}; "
            f"{venue_time(moment, zone, with_date=True)} venue time)"
        )

    async def _target(
        self, interaction: discord.Interaction, channel: discord.TextChannel | None
    ) -> discord.TextChannel:
        """The channel given, else the configured default, else the one the command ran in."""
        guild = interaction.guild
        assert guild is not None
        target: Any = channel
        if target is None:
            config = await self.guild_config.get(guild.id)
            if config.default_channel_id is not None:
                target = guild.get_channel(config.default_channel_id)
        if target is None:
            target = interaction.channel
        if not isinstance(target, discord.TextChannel):
            raise UserFacingError("I can only announce in a text channel: pick one with `channel`.")
        require_can_post(target, TEXT_POST)
        require_member_can_post(interaction, target)
        return target

    def _form_check(self, owner_id: int, target: discord.TextChannel) -> Check:
        """Forms and their buttons outlive the command: whoever answers them is checked again."""

        async def check(interaction: discord.Interaction) -> None:
            await check_organizer(interaction, self.guild_config)
            if interaction.user.id != owner_id:
                raise UserFacingError(
                    "This form belongs to another organizer: run `/announce` yourself."
                )
            require_member_can_post(interaction, target)

        return check

    def _check_role(self, interaction: discord.Interaction, role: discord.Role | None) -> None:
        if role is not None:
            assert interaction.guild is not None
            require_pingable(interaction.guild, role)

    @staticmethod
    def _where(channel_id: int, role_id: int | None) -> str:
        ping = f", pinging <@&{role_id}>" if role_id is not None else ""
        return f"in <#{channel_id}>{ping}"

    # -- /announce now / at ----------------------------------------------------------------------

    @announce.command(name="now", description="Post an announcement now")
    @app_commands.describe(
        channel="Where (default: the announcement channel, else here)",
        role="A role to ping (nobody else is pinged, whatever the text says)",
    )
    async def now(
        self,
        interaction: discord.Interaction,
        channel: discord.TextChannel | None = None,
        role: discord.Role | None = None,
    ) -> None:
        target = await self._target(interaction, channel)
        self._check_role(interaction, role)
        role_id = role.id if role else None
        guild_id = target.guild.id

        async def submit(answer: discord.Interaction, text: str) -> None:
            await acknowledge(answer)
            item = await self.custom.schedule(
                guild_id,
                target.id,
                text,
                due_at=self.clock.now(),
                by=answer.user.id,
                role_id=role_id,
            )
            await answer.followup.send(
                f"📣 Posting announcement #{item.id} {self._where(target.id, role_id)} now.",
                ephemeral=True,
            )

        await interaction.response.send_modal(
            AnnouncementModal(
                f"Announcement in #{target.name}",
                text_limit(role_id),
                submit,
                self._form_check(interaction.user.id, target),
            )
        )

    @announce.command(name="at", description="Post an announcement at a given time")
    @app_commands.describe(
        when="Venue time: 14:30 (the next 14:30), tomorrow 9am, in 20 minutes, 2022-07-23T14:30",
        channel="Where (default: the announcement channel, else here)",
        role="A role to ping (nobody else is pinged, whatever the text says)",
    )
    async def at(
        self,
        interaction: discord.Interaction,
        when: str,
        channel: discord.TextChannel | None = None,
        role: discord.Role | None = None,
    ) -> None:
        # Parsed before the text is typed: a mistyped time costs no rewriting.
        due_at = parse_when(when, now=self.clock.now(), zone=self._zone())
        target = await self._target(interaction, channel)
        self._check_role(interaction, role)
        role_id = role.id if role else None
        guild_id = target.guild.id

        async def submit(answer: discord.Interaction, text: str) -> None:
            text = check_text(text, role_id)

            async def confirm(press: discord.Interaction) -> None:
                await self._form_check(answer.user.id, target)(press)
                if due_at < self.clock.now():
                    raise UserFacingError(
                        "That time passed while you were deciding: run `/announce at` again."
                    )
                # The write may wait for the database: acknowledge the press first.
                await press.response.defer()
                item = await self.custom.schedule(
                    guild_id, target.id, text, due_at=due_at, by=press.user.id, role_id=role_id
                )
                await press.edit_original_response(
                    content=(
                        f"🗓️ Scheduled: announcement #{item.id} {self._where(target.id, role_id)}"
                        f" at {self._when(due_at)}. `/announce cancel {item.id}` stops it."
                    ),
                    view=None,
                )

            preview = "\n".join(f"> {line}" for line in trim(text, PREVIEW_MAX).splitlines())
            await answer.response.send_message(
                f"Post this {self._where(target.id, role_id)} at {self._when(due_at)}?\n{preview}",
                view=ConfirmSchedule(answer.user.id, confirm),
                ephemeral=True,
            )

        await interaction.response.send_modal(
            AnnouncementModal(
                f"Announcement in #{target.name}",
                text_limit(role_id),
                submit,
                self._form_check(interaction.user.id, target),
            )
        )

    # -- /announce list / cancel -----------------------------------------------------------------

    def _line(self, item: CustomAnnouncement) -> str:
        zone = self._zone()
        first = trim(" ".join(item.text.split()), 60)
        venue = venue_time(item.due_at, zone, with_date=True)
        return (
            f"**#{item.id}** · {discord_ts(item.due_at, 'f')} ({venue}, "
            f"{discord_ts(item.due_at, 'R')}) · {self._where(item.channel_id, item.role_id)} · "
            f"“{first}”"
        )

    @announce.command(name="list", description="Announcements waiting to be posted")
    async def list_pending(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        # Listing records the outcome of announcements posted since (a write).
        await acknowledge(interaction)
        items = await self.custom.pending(interaction.guild_id)
        if not items:
            await interaction.followup.send(
                "No announcements are waiting. Schedule one with `/announce at`.", ephemeral=True
            )
            return
        lines = [f"**{len(items)} waiting**"]
        for item in items:
            line = self._line(item)
            if sum(len(x) + 1 for x in lines) + len(line) > 1900:
                lines.append("… (more not shown)")
                break
            lines.append(line)
        await interaction.followup.send("\n".join(lines), ephemeral=True)

    @announce.command(name="cancel", description="Stop an announcement before it is posted")
    @app_commands.describe(announcement="Its number (see /announce list)")
    async def cancel(self, interaction: discord.Interaction, announcement: int) -> None:
        assert interaction.guild_id is not None
        await acknowledge(interaction)
        item = await self.custom.cancel(interaction.guild_id, announcement)
        await interaction.followup.send(
            f"Cancelled announcement #{item.id}: it was due {self._when(item.due_at)}.",
            ephemeral=True,
        )

    @cancel.autocomplete("announcement")
    async def _pending_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[int]]:
        # A cog's interaction_check does not cover autocomplete, and these choices quote
        # announcements not yet posted: check here too.
        if interaction.guild_id is None or not await allows_organizer(
            interaction, self.guild_config
        ):
            return []
        zone = self._zone()
        wanted = current.strip().lstrip("#").casefold()
        choices = []
        for item in await self.custom.pending(interaction.guild_id):
            # A choice shows no Discord timestamps: venue time, with its date.
            due = venue_time(item.due_at, zone, with_date=True)
            name = f"#{item.id} · {due} · {' '.join(item.text.split())}"
            if wanted in name.casefold():
                choices.append(app_commands.Choice(name=trim(name, CHOICE_NAME_MAX), value=item.id))
        return choices[:25]


async def setup(bot: WorkshopBot) -> None:
    s = bot.services
    assert s.custom_announcements is not None
    await bot.add_cog(Announce(s.custom_announcements, s.guild_config, s.program, s.clock))
