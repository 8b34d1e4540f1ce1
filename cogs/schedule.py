"""/schedule: what is on now and next, the whole day, a talk's card, kinds and poster sessions."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import discord
from discord import app_commands
from discord.ext import commands

from bot.clock import Clock
from bot.errors import UserFacingError
from bot.program.model import slugify
from bot.services.calendar import program_ics
from bot.services.kinds import did_you_mean, matching_kinds, resolve_kind
from bot.services.program import ProgramService, Talk
from bot.services.schedule import NowView, ProgramDay, ScheduleService
from bot.services.search import SearchService, normalize
from bot.services.threads import ThreadLinks, discussed
from bot.ui.cards import (
    Block,
    ListingPage,
    choice_name,
    day_blocks,
    entry_block,
    listing_pages,
    now_embed,
    now_talks,
    poster_line,
    quoted,
    times_text,
)
from bot.ui.format import discord_ts
from bot.ui.text import CHOICES_MAX
from bot.ui.views import CardExtras, MemberLinks, TalkCards

if TYPE_CHECKING:
    from bot.client import WorkshopBot

Choices = list[app_commands.Choice[str]]


class Schedule(commands.Cog):
    # A plain group attribute rather than a GroupCog: discord.py's remove_cog looks a GroupCog
    # up by its cog name ("Schedule"), so a reload would leave "/schedule" registered.
    group = app_commands.Group(name="schedule", description="The workshop's program")

    def __init__(
        self,
        program: ProgramService,
        schedule: ScheduleService,
        search: SearchService,
        clock: Clock,
        card_extras: CardExtras | None = None,
        members: MemberLinks | None = None,
        threads: ThreadLinks | None = None,
    ) -> None:
        self.program = program
        self.schedule = schedule
        self.search = search
        self.clock = clock
        self.cards = TalkCards(program, schedule, search, card_extras, members, threads)

    # -- now, next, the day -------------------------------------------------------------------

    @group.command(name="now", description="What is running now and what starts next")
    async def now(self, interaction: discord.Interaction) -> None:
        workshop = self.cards.snapshot().workshop
        view = await self.with_threads(self.schedule.now(self.clock.now()), interaction.guild_id)
        page = ListingPage(now_embed(view, workshop), now_talks(view))
        await self.cards.send_pages(interaction, [page])

    async def with_threads(self, view: NowView, guild_id: int | None) -> NowView:
        """What runs, each entry (a running poster session's posters too) with its thread."""
        ids = [t.id for item in view.running for t in (item.talk, *item.children)]
        links = await self.cards.thread_links(guild_id, ids)
        if not links:
            return view
        running = tuple(
            dataclasses.replace(
                item,
                talk=discussed(item.talk, links),
                children=tuple(discussed(c, links) for c in item.children),
            )
            for item in view.running
        )
        return dataclasses.replace(view, running=running)

    @group.command(name="next", description="The next entries of the program")
    @app_commands.describe(count="How many entries (1-25, default 5)")
    async def next_entries(
        self, interaction: discord.Interaction, count: app_commands.Range[int, 1, 25] = 5
    ) -> None:
        workshop = self.cards.snapshot().workshop
        now = self.clock.now()
        talks = self.schedule.upcoming(now, count)
        if not talks:
            raise UserFacingError("Nothing else is scheduled: the workshop has ended.")
        blocks = day_headed(
            talks,
            workshop.zone,
            lambda t: Block(
                entry_block(t, workshop.zone, at=now, posters=len(self.schedule.children(t.id))),
                t,
            ),
        )
        pages = listing_pages(f"Next at {workshop.acronym}", blocks)
        await self.cards.send_pages(interaction, pages)

    @group.command(name="day", description="One day of the program, session by session")
    @app_commands.describe(
        date="Which day (default: the venue's current day, or the next with entries)"
    )
    async def day(self, interaction: discord.Interaction, date: str | None = None) -> None:
        workshop = self.cards.snapshot().workshop
        days = self.schedule.days()
        if not days:
            raise UserFacingError("The program has no entries yet.")
        chosen = (
            self._resolve_day(date, days)
            if date is not None and date.strip()
            else self.schedule.default_day(self.clock.now())
        )
        assert chosen is not None
        blocks = day_blocks(self.schedule.day(chosen.date), workshop.zone)
        # Embed titles show no Discord timestamps: the date there is the venue's calendar
        # day, said as such; the intro gives the day's span in the reader's own zone.
        title = f"{workshop.acronym} · {_long_day(chosen.date)} (venue time)"
        intro = (
            f"In your time zone: {discord_ts(chosen.first_start, 'F')} to "
            f"{discord_ts(chosen.last_end, 'f')}."
        )
        if len(days) > 1:
            others = ", ".join(f"{_short_day(d.date)}" for d in days if d is not chosen)
            intro = (
                f"Day {chosen.number} of {len(days)}. {intro}\n"
                f"Other days (venue time): {others}; pick one with `/schedule day date:`."
            )
        await self.cards.send_pages(interaction, listing_pages(title, blocks, intro=intro))

    @day.autocomplete("date")
    async def _complete_day(self, _interaction: discord.Interaction, current: str) -> Choices:
        if not self.program.loaded:
            return []
        zone = self.cards.snapshot().workshop.zone
        today = self.clock.now().astimezone(zone).date()
        wanted = normalize(current)
        choices = []
        for day in self.schedule.days():
            label = f"{_long_day(day.date)} (venue time) · {_entries(day.entries)}"
            if day.date == today:
                label += " · today at the venue"
            if not wanted or any(wanted in normalize(alias) for alias in (label, *_aliases(day))):
                choices.append(
                    app_commands.Choice(name=choice_name(label), value=day.date.isoformat())
                )
        return choices[:CHOICES_MAX]

    def _resolve_day(self, text: str, days: list[ProgramDay]) -> ProgramDay:
        """The day chosen from the list (an ISO date), or typed: a date, today, a weekday…"""
        wanted = normalize(text)
        zone = self.cards.snapshot().workshop.zone
        today = self.clock.now().astimezone(zone).date()
        relative = {"today": today, "tomorrow": today + timedelta(days=1)}
        relative["yesterday"] = today - timedelta(days=1)
        try:
            asked: dt.date | None = dt.date.fromisoformat(text.strip())
        except ValueError:
            asked = relative.get(wanted)
        if asked is None:
            found = [d for d in days if any(wanted == normalize(a) for a in _aliases(d))]
            found = found or [d for d in days if any(wanted in normalize(a) for a in _aliases(d))]
            if len(found) == 1:
                return found[0]
        else:
            for day in days:
                if day.date == asked:
                    return day
        listed = ", ".join(_short_day(d.date) for d in days)
        what = f"on {_long_day(asked)} (venue time)" if asked else f"on {quoted(text, 40)}"
        raise UserFacingError(f"Nothing is scheduled {what}. The program's days: {listed}.")

    @group.command(name="ics", description="The whole program as a calendar file (.ics)")
    async def ics(self, interaction: discord.Interaction) -> None:
        snapshot = self.cards.snapshot()
        blob = program_ics(snapshot, now=self.clock.now())
        name = f"{slugify(snapshot.workshop.acronym)}.ics"
        await interaction.response.send_message(
            f"The {snapshot.workshop.acronym} program for your calendar app. Importing it "
            "again later updates the events rather than duplicating them.",
            file=discord.File(io.BytesIO(blob), filename=name),
            ephemeral=True,
        )

    # -- one talk -----------------------------------------------------------------------------

    @group.command(name="talk", description="A talk's or poster's card")
    @app_commands.describe(title="Start typing its title")
    async def talk(self, interaction: discord.Interaction, title: str) -> None:
        self.cards.snapshot()
        await self.cards.send_card(interaction, self._resolve_talk(title))

    @talk.autocomplete("title")
    async def _complete_talk(self, _interaction: discord.Interaction, current: str) -> Choices:
        if not self.program.loaded:
            return []
        # By title, any word of it or a speaker's name, who is then named before the title.
        return [
            app_commands.Choice(name=choice_name(choice.label), value=choice.talk.id)
            for choice in self.search.complete_entry(current)
        ]

    def _resolve_talk(self, text: str) -> Talk:
        """The chosen entry id, or else what typed text best matches."""
        talk = self.schedule.talk(text.strip())
        if talk is not None:
            return talk
        hits = self.search.search(text, limit=1)
        if not hits:
            raise UserFacingError(
                f"Nothing in the program matches {quoted(text)}: pick a title from the list."
            )
        return hits[0].talk

    # -- kinds and poster sessions ------------------------------------------------------------

    @group.command(name="kind", description="Every entry of one kind: keynotes, posters…")
    @app_commands.describe(kind="Keynote, poster, break…")
    async def kind(self, interaction: discord.Interaction, kind: str) -> None:
        workshop = self.cards.snapshot().workshop
        slug, label = self._resolve_kind(kind)
        talks = self.schedule.by_kind(slug)
        blocks = day_headed(talks, workshop.zone, lambda t: Block(entry_block(t, workshop.zone), t))
        pages = listing_pages(f"{label} ({len(talks)})", blocks)
        await self.cards.send_pages(interaction, pages)

    @kind.autocomplete("kind")
    async def _complete_kind(self, _interaction: discord.Interaction, current: str) -> Choices:
        # Kinds come from the loaded program, so they are offered here, not as static choices.
        if not self.program.loaded:
            return []
        kinds = {slug: (label, count) for slug, label, count in self.schedule.kinds()}
        return [
            app_commands.Choice(
                name=choice_name(f"{kinds[slug][0]} ({kinds[slug][1]})"), value=slug
            )
            for slug in matching_kinds(current, kinds)
        ][:CHOICES_MAX]

    def _resolve_kind(self, text: str) -> tuple[str, str]:
        kinds = self.schedule.kinds()
        slug = resolve_kind(text, [slug for slug, _, _ in kinds])
        for known_slug, label, _ in kinds:
            if known_slug == slug:
                return known_slug, label
        known = ", ".join(label for _, label, _ in kinds)
        near = did_you_mean(text, [slug for slug, _, _ in kinds])
        raise UserFacingError(f"The program has no kind {quoted(text, 40)}.{near} It has: {known}.")

    @group.command(name="session", description="A poster session's posters")
    @app_commands.describe(session="Start typing the session's title")
    async def session(self, interaction: discord.Interaction, session: str) -> None:
        workshop = self.cards.snapshot().workshop
        found = self._resolve_session(session)
        posters = self.schedule.children(found.id)
        intro = times_text(found, workshop.zone)
        if found.room:
            intro += f" · {found.room}"
        intro += f"\n{len(posters)} poster{'s' if len(posters) != 1 else ''}:"
        blocks = [Block(poster_line(p), p) for p in posters]
        pages = listing_pages(found.title, blocks, intro=intro, empty="No posters yet.")
        await self.cards.send_pages(interaction, pages)

    @session.autocomplete("session")
    async def _complete_session(self, _interaction: discord.Interaction, current: str) -> Choices:
        if not self.program.loaded:
            return []
        return [
            app_commands.Choice(name=choice_name(s.title), value=s.id)
            for s in self._matching_sessions(current)[:CHOICES_MAX]
        ]

    def _matching_sessions(self, text: str) -> list[Talk]:
        sessions = self.schedule.poster_sessions()
        wanted = normalize(text)
        found = [s for s in sessions if wanted in normalize(s.title)]
        if found or not wanted:
            return found
        # No title contains the text: fall back to the forgiving search, sessions only.
        ids = {s.id for s in sessions}
        hits = self.search.search(text, limit=CHOICES_MAX, kinds={s.kind for s in sessions})
        return [hit.talk for hit in hits if hit.talk.id in ids]

    def _resolve_session(self, text: str) -> Talk:
        for session in self.schedule.poster_sessions():
            if session.id == text.strip():
                return session
        found = self._matching_sessions(text)
        if not found:
            raise UserFacingError(f"No poster session matches {quoted(text)}.")
        return found[0]


def _long_day(day: dt.date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def _short_day(day: dt.date) -> str:
    return f"{day:%a} {day.day} {day:%b} ({day.isoformat()})"


def _aliases(day: ProgramDay) -> tuple[str, ...]:
    """What someone may type for a day: its date, weekday, "23 jul", "day 2"."""
    d = day.date
    return (
        d.isoformat(),
        f"{d:%A}",
        f"{d.day} {d:%B}",
        f"{d.day} {d:%b}",
        f"{d:%B} {d.day}",
        f"{d:%b} {d.day}",
        f"day {day.number}",
        str(day.number),
    )


def _entries(n: int) -> str:
    return f"{n} {'entry' if n == 1 else 'entries'}"


def day_headed(talks: list[Talk], zone: ZoneInfo, block: Callable[[Talk], Block]) -> list[Block]:
    """Blocks of ``talks`` (in order), headed by their venue day when they span several days:
    a listing of several days must not read as one."""
    days = {t.start.astimezone(zone).date() for t in talks}
    if len(days) <= 1:
        return [block(t) for t in talks]
    blocks: list[Block] = []
    current: dt.date | None = None
    for talk in talks:
        day = talk.start.astimezone(zone).date()
        heading = f"__{_long_day(day)}__ (venue time)"
        if day != current:
            blocks.append(Block(heading))
            current = day
        made = block(talk)
        blocks.append(Block(made.text, made.talk, made.resume or f"{heading}, continued"))
    return blocks


async def setup(bot: WorkshopBot) -> None:
    s = bot.services
    await bot.add_cog(
        Schedule(
            s.program,
            s.schedule,
            s.search,
            s.clock,
            s.card_extras,
            s.people.members_for,
            s.threads.links,
        )
    )
