"""/status: is the bot healthy, what is it about to send, and what went wrong (organizers)."""

from __future__ import annotations

import math
import time
from datetime import timedelta
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.clock import Clock
from bot.delivery.engine import DeliveryEngine
from bot.permissions import organizer_interaction_check
from bot.program.source import SourceState, shown
from bot.reloading import ProgramFollower
from bot.services.guild_config import GuildConfigService
from bot.services.program import ProgramService
from bot.services.status import StatusService
from bot.ui.format import discord_ts, human_duration, venue_time
from bot.ui.text import FIELD_VALUE_MAX, trim

if TYPE_CHECKING:
    from bot.client import WorkshopBot


class Status(commands.Cog):
    def __init__(
        self,
        bot: WorkshopBot,
        status: StatusService,
        guild_config: GuildConfigService,
        program: ProgramService,
        engine: DeliveryEngine,
        clock: Clock,
        database_backend: str,
        started: float,
        follower: ProgramFollower | None = None,
    ) -> None:
        self.bot = bot
        self.status_service = status
        self.guild_config = guild_config
        self.program = program
        self.engine = engine
        self.clock = clock
        self.database_backend = database_backend
        self.started = started
        self.follower = follower

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await organizer_interaction_check(interaction, self.guild_config)

    @app_commands.command(name="status", description="Organizers: the bot's health and queue")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def status(self, interaction: discord.Interaction) -> None:
        counts = await self.status_service.counts()
        stats = self.engine.stats
        embed = discord.Embed(title="workshop-bot status", colour=discord.Colour.blurple())

        uptime = human_duration(timedelta(seconds=time.monotonic() - self.started))
        latency = self.bot.latency
        gateway = f"{latency * 1000:.0f} ms" if math.isfinite(latency) else "not measured yet"
        now = self.clock.now()
        if self.program.loaded:
            snapshot = self.program.snapshot
            ws = snapshot.workshop
            cancelled = len(snapshot.by_id) - len(snapshot.talks)
            program = f"{ws.name} ({ws.acronym}): {len(snapshot.talks)} entries"
            if cancelled:
                program += f", {cancelled} cancelled"
            clock_text = venue_time(now, ws.zone, with_date=True)
        else:
            program = "none loaded"
            clock_text = now.strftime("%a %d %b %H:%M UTC")
        if self.clock.rehearsal:
            clock_text += f" (rehearsal, {self.clock.speed:g}× speed)"
        embed.add_field(
            name="Bot",
            value=(
                f"Uptime: {uptime}\nGateway latency: {gateway}\n"
                f"Database: {self.database_backend}\nClock: {clock_text}"
            ),
            inline=False,
        )
        if self.follower is not None:
            program += "\n" + source_line(self.follower.state)
        embed.add_field(name="Program", value=trim(program, FIELD_VALUE_MAX), inline=False)

        next_due = (
            f"{discord_ts(stats.next_due, 'F')} ({discord_ts(stats.next_due, 'R')})"
            if stats.next_due is not None
            else "nothing scheduled"
        )
        embed.add_field(
            name="Deliveries",
            value=(
                f"Next due: {next_due}\n"
                f"Reminders: {counts.reminders_pending} pending · {counts.reminders_sent} sent"
                f" · {counts.reminders_undeliverable} not delivered (DMs closed)\n"
                f"Messages: {counts.deliveries_sent} sent · {counts.deliveries_failed} failed"
                f" · {counts.deliveries_dms_closed} to closed DMs"
                f" · {counts.queued_waiting} queued\n"
                f"Since start: {stats.sent} sent ({stats.late} late) · {stats.skipped} skipped"
                f" · {stats.failed} failed · {stats.dms_closed} to closed DMs"
                f" · {stats.retried} retried"
            ),
            inline=False,
        )
        embed.add_field(
            name="Last error",
            value=trim(stats.last_error or "none since start", FIELD_VALUE_MAX),
            inline=False,
        )
        if counts.problems:
            lines = [
                f"{'🆕 ' if p.new else ''}{discord_ts(p.created_at, 'R')}: {p.message}"
                for p in counts.problems
            ]
            more = counts.problems_total - len(counts.problems)
            if more > 0:
                lines.append(f"… and {more} earlier")
            problems = "\n".join(lines)
        else:
            problems = "none"
        embed.add_field(name="Problems noted", value=trim(problems, FIELD_VALUE_MAX), inline=False)
        await interaction.response.send_message(embed=embed, ephemeral=True)


def source_line(state: SourceState) -> str:
    """Where the program comes from, and whether the last look at it went well."""
    where = shown(state.location)
    if not state.is_url:
        text = f"Source: file `{trim(where, 200)}` (`/program reload` reads it again)"
    else:
        every = f"{state.refresh_seconds / 60:g} min"
        text = f"Source: <{trim(where, 300)}>, checked every {every}"
        if state.checked_at is not None:
            text += f", last {discord_ts(state.checked_at, 'R')}"
        if state.changed_at is not None:
            text += f"; last change applied {discord_ts(state.changed_at, 'R')}"
    if state.problem is not None:
        since = discord_ts(state.problem_since, "R") if state.problem_since else "now"
        text += f"\n⚠️ Kept the last good program (since {since}): {state.problem}"
    return text


async def setup(bot: WorkshopBot) -> None:
    s = bot.services
    assert s.engine is not None
    await bot.add_cog(
        Status(
            bot,
            s.status,
            s.guild_config,
            s.program,
            s.engine,
            s.clock,
            s.database_backend,
            s.started,
            s.follower,
        )
    )
