"""/remind: reminders by DM for talks or whole kinds, their list, cancel and off; the buttons."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot.clock import Clock
from bot.delivery import CANNOT_DM, DiscordOutbox
from bot.errors import UserFacingError
from bot.services.program import ProgramService, Talk
from bot.services.reminders import DEFAULT_LEAD, MAX_LEAD, ReminderService
from bot.services.schedule import ScheduleService
from bot.services.search import SearchService
from bot.timing import DeliveryEngine
from bot.ui.cards import quoted
from bot.ui.format import discord_ts, venue_time
from bot.ui.reminders import (
    RemindButton,
    StopRemindersButton,
    entry_token,
    set_actions,
)
from bot.ui.text import CHOICE_NAME_MAX, trim
from bot.ui.views import Paginator

if TYPE_CHECKING:
    from bot.client import WorkshopBot

log = logging.getLogger(__name__)

OPEN_DMS_HELP = (
    "I couldn't send you a DM, so I can't deliver reminders yet. Your reminder is saved: to "
    "receive it, open this server's menu → **Privacy Settings** → turn on **Direct Messages**, "
    "then try `/remind list`."
)

CONFIRMATION_NOT_SENT = (
    "(Discord would not take my confirmation DM just now; your reminder is saved all the same.)"
)

Lead = app_commands.Range[int, 0, MAX_LEAD]


class Reminders(commands.Cog):
    remind = app_commands.Group(name="remind", description="Reminders by DM before talks start")

    def __init__(
        self,
        bot: WorkshopBot,
        reminders: ReminderService,
        program: ProgramService,
        schedule: ScheduleService,
        search: SearchService,
        outbox: DiscordOutbox,
        engine: DeliveryEngine,
        clock: Clock,
    ) -> None:
        self.bot = bot
        self.reminders = reminders
        self.program = program
        self.schedule = schedule
        self.search = search
        self.outbox = outbox
        self.engine = engine
        self.clock = clock
        self._tokens: dict[str, str] = {}

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(RemindButton, StopRemindersButton)
        set_actions(self)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(RemindButton, StopRemindersButton)
        set_actions(None)

    # -- helpers ---------------------------------------------------------------------------------

    def _when(self, moment: datetime) -> str:
        zone = self.program.snapshot.workshop.zone
        return f"{discord_ts(moment, 't')} ({venue_time(moment, zone)}, {discord_ts(moment, 'R')})"

    def _resolve(self, value: str) -> Talk:
        """An autocomplete value (entry id) or free text the user typed."""
        snapshot = self.program.snapshot
        talk = snapshot.by_id.get(value)
        if talk is None and value.startswith("#"):
            entry_id = self._token_map().get(value)
            talk = snapshot.by_id.get(entry_id) if entry_id else None
        if talk is None:
            hits = self.search.search(value, 1)
            if not hits:
                raise UserFacingError(f"No talk matches “{trim(value, 100)}”.")
            talk = hits[0].talk
        return talk

    def _token_map(self) -> dict[str, str]:
        if len(self._tokens) != len(self.program.snapshot.by_id):
            self._tokens = {entry_token(i): i for i in self.program.snapshot.by_id}
        return self._tokens

    async def _confirm_by_dm(self, user_id: int, text: str) -> str | None:
        """DM the user; if that fails, the note to add to the answer (the subscription stays).

        Only Discord's 50007 means the user's DMs are closed. Anything else (429s or 5xx past
        discord.py's retries, a timeout, a dropped connection) is Discord being unable to take
        it now: the reminder itself is sent later by the engine, which retries.
        """
        try:
            await self.outbox.send_dm(user_id, content=text)
        except discord.Forbidden as exc:
            if exc.code == CANNOT_DM:
                return OPEN_DMS_HELP
            why = f"forbidden ({exc.code})"
        except discord.RateLimited as exc:
            why = f"rate limited ({exc.retry_after:.1f} s)"
        except discord.HTTPException as exc:
            why = f"HTTP {exc.status} ({exc.code})"
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            why = f"{type(exc).__name__}: {exc}"
        else:
            return None
        log.warning("could not send user %s their first-reminder DM: %s", user_id, why)
        return CONFIRMATION_NOT_SENT

    async def _subscribe(
        self, interaction: discord.Interaction, talk: Talk, minutes_before: int
    ) -> str:
        result = await self.reminders.subscribe(
            interaction.user.id, talk.id, minutes_before, guild_id=interaction.guild_id
        )
        self.engine.poke()
        lead = "when it starts" if minutes_before == 0 else f"{minutes_before} min before"
        if result.changed_lead:
            text = f"Changed: I'll now remind you of “{talk.title}” {lead}."
        else:
            text = (
                f"I'll remind you of “{talk.title}” by DM {lead}: at {self._when(result.due_at)}."
            )
        if result.first_ever:
            note = await self._confirm_by_dm(
                interaction.user.id,
                f"Hi! I'll send your workshop reminders here. First one: “{talk.title}”, "
                f"at {self._when(result.due_at)}. `/remind list` shows them all.",
            )
            if note is not None:
                text += "\n\n" + note
        return trim(text, 2000)

    # -- the buttons -----------------------------------------------------------------------------

    async def toggle(self, interaction: discord.Interaction, token: str, on: bool) -> None:
        talk = self._resolve(token)
        # Answer Discord within its 3 s first: the write may wait for the database (SQLite's
        # busy timeout is 30 s), and the first subscription DMs a confirmation.
        await interaction.response.defer(ephemeral=True, thinking=True)
        if on:
            text = await self._subscribe(interaction, talk, DEFAULT_LEAD)
        else:
            await self.reminders.cancel(interaction.user.id, talk.id)
            self.engine.poke()
            text = f"OK, no reminder for “{talk.title}”."
        await interaction.followup.send(text, ephemeral=True)

    async def stop_all(self, interaction: discord.Interaction) -> None:
        ephemeral = interaction.guild_id is not None
        # A write may wait for the database (SQLite's busy timeout is 30 s): answer Discord first.
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)
        count = await self.reminders.off(interaction.user.id)
        self.engine.poke()
        text = (
            f"Done: {count} reminder{'s' if count != 1 else ''} cancelled, and no more by kind."
            if count
            else "You have no reminders left."
        )
        await interaction.followup.send(text, ephemeral=ephemeral)

    # -- /remind ---------------------------------------------------------------------------------

    @remind.command(name="talk", description="Get a DM before a talk starts")
    @app_commands.describe(
        title="The talk (start typing its title)",
        minutes_before="How long before it starts (0-120, default 10)",
    )
    async def remind_talk(
        self, interaction: discord.Interaction, title: str, minutes_before: Lead = DEFAULT_LEAD
    ) -> None:
        talk = self._resolve(title)
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send(
            await self._subscribe(interaction, talk, minutes_before), ephemeral=True
        )

    @remind_talk.autocomplete("title")
    async def _talk_titles(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        choices = []
        # Only talks one can still be reminded of, chosen before the best 25 are taken.
        # By title, any word of it or a speaker's name, who is then named before the title.
        for choice in self.search.complete_entry(current, starts_after=self.clock.now()):
            if len(choice.talk.id) <= 100:
                choices.append(
                    app_commands.Choice(
                        name=trim(choice.label, CHOICE_NAME_MAX), value=choice.talk.id
                    )
                )
        return choices[:25]

    @remind.command(name="kind", description="Get a DM before every entry of a kind (keynotes…)")
    @app_commands.describe(kind="Which kind of entry", minutes_before="How long before (0-120)")
    async def remind_kind(
        self, interaction: discord.Interaction, kind: str, minutes_before: Lead = DEFAULT_LEAD
    ) -> None:
        if kind not in {k for k, _label, _n in self.schedule.kinds()}:
            raise UserFacingError(
                f"The program has no entries of kind {quoted(kind, 40)}: pick one from the list."
            )
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await self.reminders.subscribe_kind(
            interaction.user.id, kind, minutes_before, guild_id=interaction.guild_id
        )
        self.engine.poke()
        label = next((lbl for k, lbl, _n in self.schedule.kinds() if k == kind), kind)
        text = (
            f"I'll remind you of every {label.lower()} {minutes_before} min before it starts, "
            f"including ones added later ({result.added} upcoming now)."
        )
        if result.first_ever:
            note = await self._confirm_by_dm(
                interaction.user.id,
                f"Hi! I'll send your workshop reminders here: every {label.lower()}, "
                f"{minutes_before} min before.",
            )
            if note is not None:
                text += "\n\n" + note
        await interaction.followup.send(text, ephemeral=True)

    @remind_kind.autocomplete("kind")
    async def _kinds(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        wanted = current.casefold()
        return [
            app_commands.Choice(name=trim(f"{label} ({count})", CHOICE_NAME_MAX), value=kind)
            for kind, label, count in self.schedule.kinds()
            if wanted in label.casefold() or wanted in kind
        ][:25]

    @remind.command(name="list", description="Your reminders and when each is due")
    async def remind_list(self, interaction: discord.Interaction) -> None:
        reminders, kinds = await self.reminders.list(interaction.user.id)
        if not reminders and not kinds:
            await interaction.response.send_message(
                "You have no reminders. Add one with `/remind talk`.", ephemeral=True
            )
            return
        marks = {
            "active": "⏰",
            "sent": "✅ sent",
            "undeliverable": "⚠️ could not be delivered: your DMs are closed",
            "failed": "⚠️ could not be delivered: Discord refused the message",
            "missed": "— missed (the talk ended while I was offline)",
        }
        lines = []
        for r in reminders:
            status = marks.get(r.state, r.state)
            when = self._when(r.due_at) if r.state == "active" else ""
            lines.append(
                trim(f"{status} **{r.talk.title}** — {r.minutes_before} min before {when}", 400)
            )
        for kind, minutes in kinds:
            lines.append(f"🔁 every {kind.replace('_', ' ')}, {minutes} min before")
        pages = []
        for start in range(0, len(lines), 10):
            pages.append(
                discord.Embed(
                    title="Your reminders",
                    description="\n".join(lines[start : start + 10]),
                    colour=discord.Colour.blurple(),
                )
            )
        view = Paginator(pages, interaction.user.id)
        await interaction.response.send_message(
            embed=view.current_embed(), view=view, ephemeral=True
        )

    @remind.command(name="cancel", description="Stop one reminder")
    @app_commands.describe(talk="The talk (start typing)")
    async def remind_cancel(self, interaction: discord.Interaction, talk: str) -> None:
        found = self._resolve(talk)
        await interaction.response.defer(ephemeral=True, thinking=True)
        cancelled = await self.reminders.cancel(interaction.user.id, found.id)
        self.engine.poke()
        await interaction.followup.send(f"OK, no reminder for “{cancelled.title}”.", ephemeral=True)

    @remind_cancel.autocomplete("talk")
    async def _my_talks(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        reminders, _ = await self.reminders.list(interaction.user.id)
        wanted = current.casefold()
        return [
            app_commands.Choice(name=trim(r.talk.title, CHOICE_NAME_MAX), value=r.talk.id)
            for r in reminders
            if r.state in ("active", "undeliverable", "failed")
            and wanted in r.talk.title.casefold()
            and len(r.talk.id) <= 100
        ][:25]

    @remind.command(name="off", description="Stop all your reminders")
    async def remind_off(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        count = await self.reminders.off(interaction.user.id)
        self.engine.poke()
        await interaction.followup.send(
            f"Done: {count} reminder{'s' if count != 1 else ''} cancelled."
            if count
            else "You had no reminders.",
            ephemeral=True,
        )


async def setup(bot: WorkshopBot) -> None:
    s = bot.services
    assert s.outbox is not None and s.engine is not None
    await bot.add_cog(
        Reminders(bot, s.reminders, s.program, s.schedule, s.search, s.outbox, s.engine, s.clock)
    )
