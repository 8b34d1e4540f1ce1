"""/remind: reminders by DM for talks or whole kinds, their list, cancel and off; the buttons."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot.clock import Clock
from bot.delivery.engine import DeliveryEngine
from bot.delivery.outbox import CANNOT_DM, DiscordOutbox
from bot.errors import UserFacingError
from bot.services.kinds import did_you_mean, matching_kinds, resolve_kind
from bot.services.program import ProgramService, Talk
from bot.services.reminders import DEFAULT_LEAD, MAX_LEAD, Reminder, ReminderService, Standing
from bot.services.schedule import ScheduleService
from bot.services.search import SearchService
from bot.ui.cards import quoted
from bot.ui.format import discord_ts, venue_time
from bot.ui.reminders import (
    DYNAMIC_ITEMS,
    entry_token,
    every,
    kind_token,
    set_actions,
    stop_all_confirmation,
)
from bot.ui.text import CHOICE_NAME_MAX, trim
from bot.ui.views import Paginator, TalkCards

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

#: How /remind cancel's suggestions name a kind subscription (an entry id has no colon).
KIND_CHOICE = "kind:"


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def standing_text(standing: Standing) -> str:
    """What a user has, said with its count: "3 reminders and 1 'every keynote' subscription"."""
    parts = []
    if standing.reminders:
        parts.append(plural(standing.reminders, "reminder"))
    kinds = standing.kinds
    if len(kinds) == 1:
        parts.append(f"1 '{every(kinds[0])}' subscription")
    elif kinds:
        names = ", ".join(f"'{every(k)}'" for k in kinds)
        parts.append(f"{len(kinds)} 'every …' subscriptions ({names})")
    return " and ".join(parts)


def stopped_text(standing: Standing) -> str:
    what = standing_text(standing)
    if not what:
        return "You had no reminders and no 'every …' subscriptions to stop."
    return f"Stopped {what}."


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
        cards: TalkCards,
    ) -> None:
        self.bot = bot
        self.reminders = reminders
        self.program = program
        self.schedule = schedule
        self.search = search
        self.outbox = outbox
        self.engine = engine
        self.clock = clock
        self.cards = cards
        self._tokens: dict[str, str] = {}

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*DYNAMIC_ITEMS)
        set_actions(self)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(*DYNAMIC_ITEMS)
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
        talk = talk or self.search.talk_for(value)
        if talk is None:
            raise UserFacingError(f"No talk matches “{trim(value, 100)}”.")
        return talk

    def _by_token(self, token: str) -> Talk:
        """The talk a button's entry token names (never a search guess)."""
        snapshot = self.program.snapshot
        entry_id = self._token_map().get(token, token)
        talk = snapshot.by_id.get(entry_id)
        if talk is None:
            raise UserFacingError("That talk is no longer in the program.")
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
        lead = "when it starts" if minutes_before == 0 else f"{minutes_before} min before"
        if result.sending_now:
            # Inside the lead already: the reminder is due now, never at a time gone by.
            text = (
                f"Reminder set for “{talk.title}”. It starts {discord_ts(talk.start, 'R')} "
                f"({discord_ts(talk.start, 't')}, "
                f"{venue_time(talk.start, self.program.snapshot.workshop.zone)}), "
                "so I'm sending your reminder now."
            )
            first = f"Hi! I'll send your workshop reminders here. The first, for “{talk.title}”, "
            first += "follows right away. `/remind list` shows them all."
        elif result.changed_lead:
            text = f"Changed: I'll now remind you of “{talk.title}” {lead}: at "
            text += f"{self._when(result.due_at)}."
            first = ""
        else:
            text = (
                f"I'll remind you of “{talk.title}” by DM {lead}: at {self._when(result.due_at)}."
            )
            first = (
                f"Hi! I'll send your workshop reminders here. First one: “{talk.title}”, "
                f"at {self._when(result.due_at)}. `/remind list` shows them all."
            )
        if result.first_ever:
            note = await self._confirm_by_dm(interaction.user.id, first)
            if note is not None:
                text += "\n\n" + note
        # After the welcome DM: a reminder due at once must not arrive before it.
        self.engine.poke()
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

    async def show_card(self, interaction: discord.Interaction, token: str) -> None:
        """A reminder DM's "Details": the talk's full card, as /schedule talk shows it."""
        await self.cards.send_card(interaction, self._by_token(token))

    async def stop_talks(self, interaction: discord.Interaction, tokens: Sequence[str]) -> None:
        """A reminder DM's "Stop this reminder" (or its menu): those talks' reminders only."""
        talks = [self._by_token(token) for token in tokens]
        ephemeral = interaction.guild_id is not None
        # A write may wait for the database (SQLite's busy timeout is 30 s): answer Discord first.
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)
        stopped = await self.reminders.stop(interaction.user.id, [t.id for t in talks])
        self.engine.poke()
        if not stopped:
            text = (
                "You have no reminder for that talk any more."
                if len(talks) == 1
                else ("You have no reminders for those talks any more.")
            )
        else:
            names = ", ".join(f"“{t.title}”" for t in stopped)
            text = f"OK, no more reminders for {names}. Your other reminders stay."
        await interaction.followup.send(trim(text, 2000), ephemeral=ephemeral)

    async def stop_kind(self, interaction: discord.Interaction, token: str) -> None:
        """A reminder DM's "Stop 'every <kind>'"."""
        ephemeral = interaction.guild_id is not None
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)
        kinds = (await self.reminders.standing(interaction.user.id)).kinds
        kind = next((k for k in kinds if kind_token(k) == token), None)
        if kind is None:
            text = "That 'every …' subscription is already stopped."
        else:
            text = await self._cancel_kind(interaction.user.id, kind)
        await interaction.followup.send(text, ephemeral=ephemeral)

    async def _cancel_kind(self, user_id: int, kind: str) -> str:
        cancelled = await self.reminders.cancel_kind(user_id, kind)
        self.engine.poke()
        text = f"Stopped your '{every(kind)}' subscription"
        if cancelled:
            text += f" and its {plural(cancelled, 'reminder')} still to come"
        return text + ". Reminders you asked for one by one stay."

    async def ask_stop_all(self, interaction: discord.Interaction) -> None:
        """ "Stop all…" (and the old "Stop these reminders"): say how much that is, then ask."""
        ephemeral = interaction.guild_id is not None
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)
        standing = await self.reminders.standing(interaction.user.id)
        what = standing_text(standing)
        if not what:
            await interaction.followup.send(
                "You have no reminders left to stop.", ephemeral=ephemeral
            )
            return
        many = standing.reminders + len(standing.kinds) > 1
        await interaction.followup.send(
            f"Stop {'all ' if many else ''}{what}?",
            view=stop_all_confirmation(),
            ephemeral=ephemeral,
        )

    async def stop_all(self, interaction: discord.Interaction, *, confirmed: bool) -> None:
        """The answer to "Stop all…?": the question is replaced by what was done."""
        if not confirmed:
            await interaction.response.edit_message(
                content="OK, I kept all your reminders.", view=None
            )
            return
        # A write may wait for the database (SQLite's busy timeout is 30 s): answer Discord first.
        await interaction.response.defer()
        stopped = await self.reminders.off(interaction.user.id)
        self.engine.poke()
        await interaction.edit_original_response(content=stopped_text(stopped), view=None)

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
        kinds = [k for k, _label, _n in self.schedule.kinds()]
        resolved = resolve_kind(kind, kinds)
        if resolved is None:
            raise UserFacingError(
                f"The program has no entries of kind {quoted(kind, 40)}."
                f"{did_you_mean(kind, kinds)} Pick one from the list."
            )
        kind = resolved
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
        if result.sending_now:
            # Those inside the lead already get their reminder now, not at a time gone by.
            one = result.sending_now == 1
            text += (
                f" {plural(result.sending_now, label.lower())} "
                f"start{'s' if one else ''} within {minutes_before} min, so I'm sending "
                f"{'its reminder' if one else 'their reminders'} now."
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
        kinds = {kind: (label, count) for kind, label, count in self.schedule.kinds()}
        return [
            app_commands.Choice(
                name=trim(f"{kinds[kind][0]} ({kinds[kind][1]})", CHOICE_NAME_MAX), value=kind
            )
            for kind in matching_kinds(current, kinds)
        ][:25]

    @remind.command(name="list", description="Your reminders and when each is due")
    async def remind_list(self, interaction: discord.Interaction) -> None:
        reminders, kinds = await self.reminders.list(interaction.user.id)
        if not reminders and not kinds:
            await interaction.response.send_message(
                "You have no reminders. Add one with `/remind talk`.", ephemeral=True
            )
            return
        lines = [
            f"🔁 **{every(kind).capitalize()}**: a DM "
            + (f"{minutes} min before each one starts." if minutes else "as each one starts.")
            for kind, minutes in kinds
        ]
        lines += [trim(self._list_line(r), 500) for r in reminders]
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

    @staticmethod
    def _list_line(r: Reminder) -> str:
        """One reminder, said so it cannot be misread: when the DM comes, and for what.

        Only Discord timestamps: each reader sees their own zone, and nothing goes stale."""
        talk = r.talk
        title = f"**{trim(talk.title, 200)}**"
        the_talk = f"the {discord_ts(talk.start, 't')} {talk.kind_label.lower()}"
        if r.state == "active":
            # From the due time, not the lead asked for: one asked for inside its lead is due
            # at once, later than the lead would say.
            lead = round((talk.start - r.due_at).total_seconds() / 60)
            before = f"when {the_talk} starts" if lead <= 0 else f"{lead} min before {the_talk}"
            return f"⏰ {title}: DM at {discord_ts(r.due_at, 't')}, {before}."
        if r.state == "sent":
            due = discord_ts(r.due_at, "t")
            when = {False: f" at {due}", True: f" late (it was due at {due})", None: ""}
            return f"✅ {title}: sent{when[r.sent_late]}, for {the_talk}."
        if r.state == "undeliverable":
            return f"⚠️ {title}: it could not be delivered, because your DMs are closed."
        if r.state == "failed":
            return f"⚠️ {title}: it could not be delivered, because Discord refused the message."
        if r.state == "missed":
            return f"— {title}: not sent, because the talk ended while I was offline."
        return f"{title}: {r.state}."

    @remind.command(name="cancel", description="Stop one reminder, or one 'every …' subscription")
    @app_commands.describe(talk="The talk, or an 'every …' subscription (start typing)")
    async def remind_cancel(self, interaction: discord.Interaction, talk: str) -> None:
        kind = await self._chosen_kind(interaction.user.id, talk)
        found = None if kind is not None else self._resolve(talk)
        await interaction.response.defer(ephemeral=True, thinking=True)
        if kind is not None:
            text = await self._cancel_kind(interaction.user.id, kind)
        else:
            assert found is not None
            cancelled = await self.reminders.cancel(interaction.user.id, found.id)
            self.engine.poke()
            text = f"OK, no reminder for “{cancelled.title}”."
        await interaction.followup.send(text, ephemeral=True)

    async def _chosen_kind(self, user_id: int, value: str) -> str | None:
        """The kind subscription a /remind cancel value names: a suggestion ("kind:keynote"),
        or typed ("every keynote", "keynotes") when it names one the user has."""
        if value.startswith(KIND_CHOICE):
            return value.removeprefix(KIND_CHOICE)
        wanted = " ".join(value.casefold().split()).removeprefix("every ").rstrip("s")
        if not wanted:
            return None
        for kind in (await self.reminders.standing(user_id)).kinds:
            names = {kind.casefold(), every(kind).removeprefix("every ")}
            if wanted in {n.rstrip("s") for n in names}:
                return kind
        return None

    @remind_cancel.autocomplete("talk")
    async def _my_talks(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        reminders, kinds = await self.reminders.list(interaction.user.id)
        wanted = current.casefold()
        choices = [
            app_commands.Choice(
                name=trim(f"{every(kind).capitalize()} ({minutes} min before)", CHOICE_NAME_MAX),
                value=KIND_CHOICE + kind,
            )
            for kind, minutes in kinds
            if wanted in every(kind) or wanted in kind
        ]
        choices += [
            app_commands.Choice(name=trim(r.talk.title, CHOICE_NAME_MAX), value=r.talk.id)
            for r in reminders
            if r.state in ("active", "undeliverable", "failed")
            and wanted in r.talk.title.casefold()
            and len(r.talk.id) <= 100
        ]
        return choices[:25]

    @remind.command(name="off", description="Stop all your reminders and 'every …' subscriptions")
    async def remind_off(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        stopped = await self.reminders.off(interaction.user.id)
        self.engine.poke()
        await interaction.followup.send(stopped_text(stopped), ephemeral=True)


async def setup(bot: WorkshopBot) -> None:
    s = bot.services
    assert s.outbox is not None and s.engine is not None
    cards = TalkCards(
        s.program, s.schedule, s.search, s.card_extras, s.people.members_for, s.threads.links
    )
    await bot.add_cog(
        Reminders(
            bot, s.reminders, s.program, s.schedule, s.search, s.outbox, s.engine, s.clock, cards
        )
    )
