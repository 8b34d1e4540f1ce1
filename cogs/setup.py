"""/setup: organizers choose channels, roles, lead time, breaks and Discord events per server."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.delivery.engine import DeliveryEngine
from bot.delivery.pacer import ENGINE_TRAFFIC
from bot.discord_threads import DiscordThreadsApi
from bot.errors import UserFacingError
from bot.permissions import (
    POST_PERMISSIONS,
    allows_organizer,
    missing_post_permissions,
    organizer_interaction_check,
    require_can_post,
    require_pingable,
)
from bot.program.loader import LoadReport
from bot.program.model import KIND_PATTERN, kind_label
from bot.reloading import ProgramReloader
from bot.services.announcements import NEVER_ANNOUNCED
from bot.services.events import EventGone, EventSpec, EventSync, ListedEvent
from bot.services.guild_config import MAX_LEAD, GuildConfigService, ServerConfig
from bot.services.kinds import (
    closest_kind,
    did_you_mean,
    labels,
    matching_kinds,
    resolve_kind,
    split_kinds,
)
from bot.services.people import PeopleService
from bot.services.program import ProgramService, Talk
from bot.services.schedule import ScheduleService
from bot.services.threads import DEFAULT_KINDS, ThreadReport, ThreadsBusy, ThreadSync
from bot.tree import acknowledge
from bot.ui.format import discord_ts
from bot.ui.text import CHOICE_NAME_MAX, trim

if TYPE_CHECKING:
    from bot.client import WorkshopBot

log = logging.getLogger(__name__)

DEFAULT = "default"
EXTERNAL = 3  # entity_type: somewhere outside Discord
GUILD_ONLY = 2  # privacy_level
MISSING_PERMISSIONS = 50013


class DiscordEventsApi:
    """The server's scheduled events through discord.py's HTTP client (what EventSync needs)."""

    def __init__(self, http: discord.http.HTTPClient, guild_id: int) -> None:
        self._http = http
        self._guild_id = guild_id

    @staticmethod
    def _payload(spec: EventSpec) -> dict[str, Any]:
        return {
            "name": spec.name,
            "description": spec.description,
            "entity_type": EXTERNAL,
            "privacy_level": GUILD_ONLY,
            "entity_metadata": {"location": spec.location},
            "scheduled_start_time": spec.start.astimezone(UTC).isoformat(),
            "scheduled_end_time": spec.end.astimezone(UTC).isoformat(),
        }

    async def list(self) -> list[ListedEvent]:
        data = await self._http.get_scheduled_events(self._guild_id, False)
        return [
            ListedEvent(
                int(e["id"]), str(e["name"]), datetime.fromisoformat(e["scheduled_start_time"])
            )
            for e in data
        ]

    async def create(self, spec: EventSpec) -> int:
        data = await self._http.create_guild_scheduled_event(
            self._guild_id, reason="program sync", **self._payload(spec)
        )
        return int(data["id"])

    async def edit(self, event_id: int, spec: EventSpec) -> None:
        try:
            await self._http.edit_scheduled_event(
                self._guild_id, event_id, reason="program sync", **self._payload(spec)
            )
        except discord.NotFound:
            raise EventGone(event_id) from None

    async def delete(self, event_id: int) -> None:
        try:
            await self._http.delete_scheduled_event(self._guild_id, event_id, reason="program sync")
        except discord.NotFound:
            pass  # already deleted in Discord: that is what we wanted


def _channel(guild: discord.Guild, channel_id: int | None) -> str:
    if channel_id is None:
        return "not set"
    channel = guild.get_channel(channel_id)
    if channel is None:
        return f"<#{channel_id}> ⚠ (not in this server, or deleted)"
    missing = missing_post_permissions(channel, POST_PERMISSIONS)
    warn = f" ⚠ I'm missing {', '.join(missing)} there" if missing else ""
    return f"{channel.mention}{warn}"


def _role(role_id: int | None, unset: str) -> str:
    return f"<@&{role_id}>" if role_id is not None else unset


class Setup(commands.Cog):
    config = app_commands.Group(
        name="setup",
        description="Organizers: where and how the bot announces in this server",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )
    events = app_commands.Group(
        name="events", description="Organizers: Discord events for program entries", parent=config
    )

    def __init__(
        self,
        bot: WorkshopBot,
        guild_config: GuildConfigService,
        event_sync: EventSync,
        program: ProgramService,
        schedule: ScheduleService,
        engine: DeliveryEngine,
        reloader: ProgramReloader | None = None,
        threads: ThreadSync | None = None,
        people: PeopleService | None = None,
    ) -> None:
        self.bot = bot
        self.threads = threads
        self.people = people
        self._resuming: asyncio.Task[None] | None = None
        self.reloader = reloader
        self.guild_config = guild_config
        self.event_sync = event_sync
        self.program = program
        self.schedule = schedule
        self.engine = engine

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await organizer_interaction_check(interaction, self.guild_config)

    async def cog_load(self) -> None:
        if self.reloader is not None:
            self.reloader.after_apply.append(self.follow_program)
            self.reloader.after_apply.append(self.threads_follow_program)
        if self.people is not None:
            self.people.on_link.append(self.author_linked)
        if self.threads is not None and self.bot.services.settings.gateway:
            # A set-up a killed process left unfinished is finished once connected.
            self._resuming = asyncio.create_task(self.resume_threads(), name="threads-resume")

    async def cog_unload(self) -> None:
        if self.reloader is not None:
            for hook in (self.follow_program, self.threads_follow_program):
                if hook in self.reloader.after_apply:
                    self.reloader.after_apply.remove(hook)
        if self.people is not None and self.author_linked in self.people.on_link:
            self.people.on_link.remove(self.author_linked)
        if self._resuming is not None:
            self._resuming.cancel()
            self._resuming = None

    # -- discussion threads: the work outside commands -------------------------------------------

    def _threads_api(self, guild_id: int) -> DiscordThreadsApi:
        assert self.bot.user is not None
        return DiscordThreadsApi(self.bot.http, guild_id, self.bot.user.id)

    async def _finish_when_free(self, guild_id: int) -> ThreadReport | None:
        """Finish ``guild_id``'s unfinished set-up; while another process holds it, look again
        each lease (a killed process's claim runs out; a live one finishes the work itself:
        None)."""
        assert self.threads is not None
        while True:
            try:
                return await self.threads.sync(guild_id, self._threads_api(guild_id))
            except ThreadsBusy:
                log.info("discussion threads of %s: another process has them", guild_id)
            await asyncio.sleep(self.threads.lease.total_seconds())
            setup = await self.threads.setup_of(guild_id)
            if setup is None or setup.state != "running":
                return None

    async def resume_threads(self) -> None:
        """Finish every set-up left ``running`` (a process killed halfway through)."""
        assert self.threads is not None
        await self.bot.wait_until_ready()
        ENGINE_TRAFFIC.set(True)  # members' requests go first
        for setup in await self.threads.setups():
            if setup.state != "running" or self.bot.get_guild(setup.guild_id) is None:
                continue
            log.info("finishing the discussion threads of guild %s", setup.guild_id)
            try:
                report = await self._finish_when_free(setup.guild_id)
            except (UserFacingError, discord.HTTPException) as exc:
                log.warning("discussion threads of %s not finished: %s", setup.guild_id, exc)
                continue
            if report is None:
                continue  # another process finished them
            log.info("discussion threads of %s finished: %s", setup.guild_id, report.summary())
            # Who ran /setup posters saw it stop: told once per run that it was finished.
            guild = self.bot.get_guild(setup.guild_id)
            name = guild.name if guild is not None else "your server"
            await self.engine.queue_notice(
                f"threads-finished:{setup.guild_id}:{setup.run}",
                due_at=self.bot.services.clock.now(),
                user_id=setup.requested_by,
                text=trim(
                    f"✅ The discussion threads you set up in {name} (<#{setup.channel_id}>) "
                    f"were finished after a restart: {report.summary()}.",
                    1900,
                ),
            )

    async def threads_follow_program(self, _report: LoadReport) -> None:
        """After a program change, each server's threads follow: a moved paper's post is
        edited, a cancelled one closed, a new one made."""
        if self.threads is None:
            return
        # Members' requests first; reset after, as this runs in the reloading command's task.
        token = ENGINE_TRAFFIC.set(True)
        try:
            await self._threads_follow()
        finally:
            ENGINE_TRAFFIC.reset(token)

    async def _threads_follow(self) -> None:
        assert self.threads is not None
        for setup in await self.threads.setups():
            if self.bot.get_guild(setup.guild_id) is None:
                continue
            try:
                report = await self.threads.sync(setup.guild_id, self._threads_api(setup.guild_id))
            except ThreadsBusy:
                # The process holding them follows this change too, once its run ends.
                log.info("discussion threads of %s: another process has them", setup.guild_id)
                continue
            except (UserFacingError, discord.HTTPException) as exc:
                log.warning("discussion threads of %s do not follow: %s", setup.guild_id, exc)
                continue
            log.info(
                "discussion threads of %s follow the program: %s", setup.guild_id, report.summary()
            )

    async def author_linked(self, guild_id: int, user_id: int, talks: Sequence[Talk]) -> None:
        """A member linked to a person joins the threads of that person's entries."""
        if self.threads is None or self.bot.user is None:
            return
        try:
            await self.threads.add_author(guild_id, user_id, talks, self._threads_api(guild_id))
        except discord.HTTPException as exc:
            log.warning("could not add %s to their threads: %s", user_id, exc)

    async def follow_program(self, _report: LoadReport) -> None:
        """After a program change (a reload, the followed source): the Discord events of each
        server that has them follow it, with no `/setup events sync` needed."""
        for guild in list(self.bot.guilds):
            if not await self.event_sync.count(guild.id):
                continue
            config = await self.guild_config.get(guild.id)
            api = DiscordEventsApi(self.bot.http, guild.id)
            try:
                report = await self.event_sync.sync(guild.id, config.event_kinds, api)
            except discord.HTTPException as exc:
                log.warning("could not update the Discord events of %s: %s", guild.id, exc)
                continue
            log.info("Discord events of %s follow the program: %s", guild.id, report.summary())

    # -- helpers -------------------------------------------------------------------------------

    def _kinds(self) -> list[tuple[str, str]]:
        """(kind, label) of the program's announceable kinds."""
        if not self.program.loaded:
            return []
        return [(k, label) for k, label, _n in self.schedule.kinds() if k not in NEVER_ANNOUNCED]

    def _check_kind(self, kind: str) -> str | None:
        """None for the default channel, else the kind (refused when the program has none)."""
        if kind.strip().lower() == DEFAULT:
            return None
        if not self.program.loaded:
            typed = kind.strip().lower()
            if KIND_PATTERN.match(typed):
                return typed
            raise UserFacingError(f"“{trim(kind, 40)}” is not a kind (e.g. keynote, panel).")
        every = [k for k, _label, _n in self.schedule.kinds()]
        found = resolve_kind(kind, every)
        if found in NEVER_ANNOUNCED:
            raise UserFacingError(
                f"{kind_label(found)} entries are never announced on their own: each is listed "
                "in its session's post."
            )
        if found is not None:
            return found
        known = [k for k in every if k not in NEVER_ANNOUNCED]
        raise UserFacingError(
            f"The program has no entries of kind “{trim(kind, 40)}”.{did_you_mean(kind, known)} "
            f"Pick one of: {', '.join([DEFAULT, *map(kind_label, known)])}."
        )

    def _replan(self) -> None:
        """Make the delivery engine re-read the plan now, not at its next timer."""
        self.engine.poke()

    # -- /setup channel, board, roles, breaks, lead ----------------------------------------------

    @config.command(name="channel", description="Where session starts are announced (per kind)")
    @app_commands.describe(
        kind="An entry kind (keynote, panel…) or 'default' for every other kind",
        channel="The channel (leave out to stop announcing this kind there)",
    )
    async def channel(
        self,
        interaction: discord.Interaction,
        kind: str,
        channel: discord.TextChannel | None = None,
    ) -> None:
        assert interaction.guild is not None
        chosen = self._check_kind(kind)
        if channel is not None:
            require_can_post(channel)
        await acknowledge(interaction)
        await self.guild_config.set_channel(
            interaction.guild.id,
            chosen,
            channel.id if channel else None,
            by=interaction.user.id,
        )
        if channel is not None:
            await self.guild_config.forget_problem(f"forbidden:{channel.id}")
        self._replan()
        what = "Every kind without a channel of its own" if chosen is None else kind_label(chosen)
        if channel is None:
            fallback = (
                "is no longer announced" if chosen is None else "goes to the default channel again"
            )
            text = f"OK: {what.lower() if chosen is None else what} {fallback}."
        else:
            text = f"OK: {what} will be announced in {channel.mention}."
        await interaction.followup.send(text, ephemeral=True)

    @channel.autocomplete("kind")
    async def _kind_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        # A cog's interaction_check does not cover autocomplete: check here too.
        if not await allows_organizer(interaction, self.guild_config):
            return []
        kinds = dict(self._kinds())
        options = [(kind, kinds[kind]) for kind in matching_kinds(current, kinds)]
        if DEFAULT.startswith(current.strip().casefold()):
            options.insert(0, (DEFAULT, "default (every other kind)"))
        return [
            app_commands.Choice(name=trim(label, CHOICE_NAME_MAX), value=kind)
            for kind, label in options
        ][:25]

    @config.command(name="board", description="The channel for the live Now / Next board")
    @app_commands.describe(channel="The channel (leave out to have no board)")
    async def board(
        self, interaction: discord.Interaction, channel: discord.TextChannel | None = None
    ) -> None:
        assert interaction.guild is not None
        if channel is not None:
            require_can_post(channel)
        await acknowledge(interaction)
        await self.guild_config.set_board(
            interaction.guild.id, channel.id if channel else None, by=interaction.user.id
        )
        self._replan()
        text = f"OK: the board goes in {channel.mention}." if channel else "OK: no board."
        if channel is not None and not channel.permissions_for(channel.guild.me).pin_messages:
            text += (
                "\nI can't pin it there yet: I'm missing the **Pin Messages** permission in "
                "that channel. It will be posted and kept up to date, and pinned once you allow "
                "it for my role."
            )
        await interaction.followup.send(text, ephemeral=True)

    @config.command(
        name="changes", description="A channel that gets a short post per program change"
    )
    @app_commands.describe(channel="The channel (leave out to post changes nowhere)")
    async def changes(
        self, interaction: discord.Interaction, channel: discord.TextChannel | None = None
    ) -> None:
        assert interaction.guild is not None
        if channel is not None:
            require_can_post(channel)
        await acknowledge(interaction)
        await self.guild_config.set_changes_channel(
            interaction.guild.id, channel.id if channel else None, by=interaction.user.id
        )
        text = (
            f"OK: each change of the program (moved, cancelled, new) gets a short post in "
            f"{channel.mention}, from the next change on."
            if channel
            else "OK: program changes are posted nowhere (subscribers are still told by DM)."
        )
        await interaction.followup.send(text, ephemeral=True)

    @config.command(name="organizer-role", description="Members with this role are organizers")
    @app_commands.describe(role="The role (leave out: only members with Manage Server)")
    async def organizer_role(
        self, interaction: discord.Interaction, role: discord.Role | None = None
    ) -> None:
        assert interaction.guild is not None
        if role is not None and role.is_default():
            raise UserFacingError("@everyone can't be the organizer role: pick a role.")
        await acknowledge(interaction)
        await self.guild_config.set_organizer_role(
            interaction.guild.id, role.id if role else None, by=interaction.user.id
        )
        self._replan()
        if role is None:
            text = "OK: only members with Manage Server are organizers now."
        else:
            text = (
                f"OK: members with {role.mention} are organizers. Discord only shows them the "
                "organizer commands once you allow the role for this app: Server Settings → "
                "Integrations → this bot → the commands (/setup, /announce, /status, /program)."
            )
        await interaction.followup.send(text, ephemeral=True)

    @config.command(name="mention-role", description="The role to ping when a session starts")
    @app_commands.describe(role="The role (leave out to ping nobody)")
    async def mention_role(
        self, interaction: discord.Interaction, role: discord.Role | None = None
    ) -> None:
        assert interaction.guild is not None
        if role is not None:
            require_pingable(interaction.guild, role)
        await acknowledge(interaction)
        await self.guild_config.set_mention_role(
            interaction.guild.id, role.id if role else None, by=interaction.user.id
        )
        self._replan()
        text = (
            f"OK: session starts will ping {role.mention}."
            if role
            else "OK: session starts ping nobody."
        )
        await interaction.followup.send(text, ephemeral=True)

    @config.command(name="breaks", description="Whether breaks are announced too")
    @app_commands.describe(announce="True to announce breaks")
    async def breaks(self, interaction: discord.Interaction, announce: bool) -> None:
        assert interaction.guild is not None
        await acknowledge(interaction)
        await self.guild_config.set_breaks(interaction.guild.id, announce, by=interaction.user.id)
        self._replan()
        text = "OK: breaks are announced." if announce else "OK: breaks are not announced."
        await interaction.followup.send(text, ephemeral=True)

    @config.command(name="lead", description="How many minutes before the start to announce")
    @app_commands.describe(minutes="0-60 (0: at the start)")
    async def lead(
        self, interaction: discord.Interaction, minutes: app_commands.Range[int, 0, MAX_LEAD]
    ) -> None:
        assert interaction.guild is not None
        await acknowledge(interaction)
        await self.guild_config.set_lead(interaction.guild.id, minutes, by=interaction.user.id)
        self._replan()
        text = (
            "OK: sessions are announced when they start."
            if minutes == 0
            else f"OK: sessions are announced {minutes} min before they start."
        )
        await interaction.followup.send(text, ephemeral=True)

    @config.command(name="show", description="This server's whole configuration")
    async def show(self, interaction: discord.Interaction) -> None:
        assert interaction.guild is not None
        config = await self.guild_config.get(interaction.guild.id)
        synced = await self.event_sync.count(interaction.guild.id)
        text = self._describe(interaction.guild, config, synced)
        text += "\n" + await self._describe_threads(interaction.guild)
        await interaction.response.send_message(trim(text, 2000), ephemeral=True)

    async def _describe_threads(self, guild: discord.Guild) -> str:
        setup = await self.threads.setup_of(guild.id) if self.threads is not None else None
        if self.threads is None or setup is None:
            return "**Discussion threads**: not set up (`/setup posters`)"
        made = sum(r.state == "open" for r in (await self.threads.rows(guild.id)).values())
        kinds = ", ".join(kind_label(k) for k in setup.kinds)
        state = {
            "running": "being made",
            "done": "finished",
            "blocked": "blocked",
        }.get(setup.state, setup.state)
        line = (
            f"**Discussion threads** in {_channel(guild, setup.channel_id)} for {kinds}: "
            f"{made} threads · {state}"
        )
        if setup.note:
            line += f" ({trim(setup.note, 300)})"
        return line

    def _describe(self, guild: discord.Guild, config: ServerConfig, synced: int) -> str:
        lines = ["**This server's configuration**", "**Announcements of session starts**"]
        default = _channel(guild, config.default_channel_id)
        if config.default_channel_id is None:
            default += " (only kinds with a channel of their own are announced)"
        lines.append(f"• default: {default}")
        for kind, channel_id in sorted(config.kind_channels.items()):
            lines.append(f"• {kind_label(kind)}: {_channel(guild, channel_id)}")
        lead = "at the start" if not config.lead_minutes else f"{config.lead_minutes} min before"
        lines.append(f"• when: {lead} · breaks: {'yes' if config.announce_breaks else 'no'}")
        lines.append(f"• ping: {_role(config.mention_role_id, 'nobody')}")
        lines.append(f"**Board channel**: {_channel(guild, config.board_channel_id)}")
        lines.append(f"**Program changes channel**: {_channel(guild, config.changes_channel_id)}")
        lines.append(
            "**Organizer role**: "
            + _role(config.organizer_role_id, "not set (members with Manage Server only)")
        )
        kinds = ", ".join(kind_label(k) for k in config.event_kinds)
        default_note = " (the default)" if config.event_kinds_default else ""
        lines.append(
            f"**Discord events** for: {kinds}{default_note} · {synced} synced "
            "(they follow program changes; `/setup events sync` makes them)"
        )
        if config.updated_at is not None and config.configured_by is not None:
            lines.append(
                f"Last changed by <@{config.configured_by}> {discord_ts(config.updated_at, 'R')}."
            )
        else:
            lines.append("Not configured with /setup yet: these are the defaults.")
        return "\n".join(lines)

    # -- /setup posters ------------------------------------------------------------------------

    @config.command(name="posters", description="A discussion thread per paper (forum or text)")
    @app_commands.describe(
        channel="A forum channel (one post per paper) or a text channel (one thread per paper)",
        kinds="Kinds that get a thread, separated by commas (default: poster)",
    )
    async def posters(
        self,
        interaction: discord.Interaction,
        channel: discord.ForumChannel | discord.TextChannel,
        kinds: str | None = None,
    ) -> None:
        assert interaction.guild is not None
        if self.threads is None:
            raise UserFacingError("Discussion threads are not available in this bot.")
        if not self.program.loaded:
            raise UserFacingError("No program is loaded yet: nothing to make threads for.")
        chosen = self._thread_kinds(kinds)
        me = channel.permissions_for(channel.guild.me)
        needed = {
            "View Channel": me.view_channel,
            "Send Messages": me.send_messages,
            "Send Messages in Threads": me.send_messages_in_threads,
            "Embed Links": me.embed_links,
        }
        if isinstance(channel, discord.TextChannel):
            needed["Create Public Threads"] = me.create_public_threads
        missing = [name for name, ok in needed.items() if not ok]
        if missing:
            raise UserFacingError(
                f"I can't make threads in {channel.mention}: I'm missing "
                f"{', '.join(missing)} there."
            )
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.threads.configure(
            interaction.guild.id, channel.id, chosen, by=interaction.user.id
        )
        total = len(self.threads.chosen(chosen))
        what = ", ".join(kind_label(k) for k in chosen)
        await interaction.edit_original_response(
            content=f"Making discussion threads in {channel.mention} for {total} entries ({what})…"
        )

        async def progress(done: int, todo: int) -> None:
            try:
                await interaction.edit_original_response(
                    content=f"Making discussion threads in {channel.mention}: {done} of {todo} "
                    "new ones made…"
                )
            except discord.HTTPException as exc:  # the interaction expired: the work goes on
                log.info("progress not shown: %s", exc)

        ENGINE_TRAFFIC.set(False)
        report = await self.threads.sync(
            interaction.guild.id, self._threads_api(interaction.guild.id), progress
        )
        done = self._threads_done(channel, total, report)
        try:
            await interaction.edit_original_response(content=done)
        except discord.HTTPException as exc:
            # A set-up longer than the interaction's 15 minutes: the work is done all the same
            # (/setup show says so); the reply can no longer be edited.
            log.info("threads set-up finished, reply not edited: %s", exc)

    # Text and forum channels only (discord.py would offer media channels too).
    posters._params["channel"].channel_types = [  # noqa: RUF012 (a command's, not the cog's)
        discord.ChannelType.text,
        discord.ChannelType.forum,
    ]

    @staticmethod
    def _threads_done(
        channel: discord.ForumChannel | discord.TextChannel, total: int, report: ThreadReport
    ) -> str:
        lines = [
            f"✅ Discussion threads in {channel.mention} for {total} entries: {report.summary()}."
        ]
        lines += [f"⚠ {note}" for note in report.notes]
        lines.append(
            "They follow program changes; session posts, talk cards, `/schedule now` and "
            "reminders link them."
        )
        return trim("\n".join(lines), 2000)

    def _thread_kinds(self, kinds: str | None) -> list[str]:
        if not kinds or kinds.strip().lower() == DEFAULT:
            return list(DEFAULT_KINDS)
        known = [k for k, _l, _n in self.schedule.kinds()]
        chosen: list[str] = []
        for word in split_kinds(kinds):
            kind = resolve_kind(word, known)
            if kind is None:
                raise UserFacingError(
                    trim(
                        f"The program has no entries of kind “{trim(word, 40)}”."
                        f"{did_you_mean(word, known)} It has: {labels(known)}.",
                        1900,
                    )
                )
            if kind not in chosen:
                chosen.append(kind)
        return chosen

    # -- /setup events -------------------------------------------------------------------------

    @events.command(name="sync", description="Create or update Discord events for the program")
    async def events_sync(self, interaction: discord.Interaction) -> None:
        assert interaction.guild is not None
        if not self.program.loaded:
            raise UserFacingError("No program is loaded yet: nothing to make events of.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        config = await self.guild_config.get(interaction.guild.id)
        api = DiscordEventsApi(self.bot.http, interaction.guild.id)
        try:
            report = await self.event_sync.sync(interaction.guild.id, config.event_kinds, api)
        except discord.Forbidden as exc:
            if exc.code != MISSING_PERMISSIONS:
                raise
            raise UserFacingError(
                "Discord refused: I need the **Create Events** permission in this server "
                "(Server Settings → Roles → my role)."
            ) from None
        kinds = ", ".join(kind_label(k) for k in config.event_kinds)
        await interaction.followup.send(
            f"Discord events for {kinds}: {report.summary()}.", ephemeral=True
        )

    @events.command(name="kinds", description="Which kinds of entries become Discord events")
    @app_commands.describe(kinds="Kinds separated by commas (e.g. keynote, panel), or 'default'")
    async def events_kinds(self, interaction: discord.Interaction, kinds: str) -> None:
        assert interaction.guild is not None
        words = split_kinds(kinds)
        if not words:
            raise UserFacingError("Name at least one kind, or 'default'.")
        chosen: list[str] | None = None
        if [w.lower() for w in words] != [DEFAULT]:
            known = [k for k, _l, _n in self.schedule.kinds()] if self.program.loaded else []
            found = {word: resolve_kind(word, known) for word in words}
            unknown = []
            for word, kind in found.items():
                if kind is None:
                    near = closest_kind(word, known)
                    guess = f" (did you mean {kind_label(near)}?)" if near is not None else ""
                    unknown.append(f"{trim(word, 40)}{guess}")
            if unknown:
                raise UserFacingError(
                    trim(
                        f"The program has no entries of kind {', '.join(unknown)}. "
                        f"It has: {labels(known) or 'no entries'}.",
                        1900,
                    )
                )
            chosen = list(dict.fromkeys(kind for kind in found.values() if kind is not None))
        await acknowledge(interaction)
        config = await self.guild_config.set_event_kinds(
            interaction.guild.id, chosen, by=interaction.user.id
        )
        names = ", ".join(kind_label(k) for k in config.event_kinds)
        await interaction.followup.send(
            f"OK: Discord events will be made for {names}. Run `/setup events sync` to apply.",
            ephemeral=True,
        )

    @events_kinds.autocomplete("kinds")
    async def _event_kind_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """The list typed so far, completed by each kind its last item may start."""
        if not self.program.loaded or not await allows_organizer(interaction, self.guild_config):
            return []
        known = [k for k, _l, _n in self.schedule.kinds()]
        *done, last = current.split(",")
        head = [part.strip() for part in done if part.strip()]
        taken = {resolve_kind(part, known) for part in head}
        options = [
            ", ".join([*head, kind_label(kind)])
            for kind in matching_kinds(last, known)
            if kind not in taken
        ]
        if not head and DEFAULT.startswith(last.strip().casefold()):
            options.append(DEFAULT)
        return [
            app_commands.Choice(name=option, value=option)
            for option in options
            if len(option) <= CHOICE_NAME_MAX
        ][:25]


async def setup(bot: WorkshopBot) -> None:
    s = bot.services
    assert s.engine is not None
    await bot.add_cog(
        Setup(
            bot,
            s.guild_config,
            s.events,
            s.program,
            s.schedule,
            s.engine,
            s.reloader,
            threads=s.threads,
            people=s.people,
        )
    )
