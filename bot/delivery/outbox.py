"""Sends what the timing engine says is due, through discord.py: reminder DMs, announcements.

Each send is one request: DM channel ids are cached in the database (created when a user
first subscribes), and Discord's answers become outcomes the engine records. Every timed send
carries a nonce derived from its delivery key (Discord returns the message it already made
for a repeated nonce), and is bounded in time, so a retry is never a second copy and a hung
request never holds a claim past its lease.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp
import discord
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db.models import DMChannel
from bot.delivery.engine import (
    BoardPost,
    DueReminder,
    Outcome,
    QueuedNotice,
    SendResult,
)
from bot.delivery.pacer import ENGINE_TRAFFIC, Pacer
from bot.services.announcements import AnnouncementTarget, AnnouncementTargets, PlannedAnnouncement
from bot.services.program import ProgramService, Talk
from bot.services.schedule import NowView, Phase
from bot.services.threads import ThreadLinks, discussed
from bot.ui.cards import (
    LINK_MAX,
    lines_within,
    link_md,
    md,
    poster_fields,
    talk_embed,
    talk_line,
    with_links,
)
from bot.ui.format import discord_ts, venue_time
from bot.ui.people import author_line
from bot.ui.reminders import reminder_dm_view
from bot.ui.text import (
    CONTENT_MAX,
    EMBED_FIELDS_MAX,
    EMBED_TOTAL_MAX,
    FIELD_VALUE_MAX,
    defuse_mentions,
    trim,
)

#: What a reminder DM's lines may take: the rest of a message is for "(Sent late…)".
DM_BUDGET = CONTENT_MAX - 100

if TYPE_CHECKING:
    from bot.client import WorkshopBot

log = logging.getLogger(__name__)

CANNOT_DM = 50007
MISSING_PERMISSIONS = 50013
MISSING_ACCESS = 50001
UNKNOWN_CHANNEL = 10003

R = TypeVar("R")

#: A title inside a message's text (the embed carries it whole): a 2,000-character title
#: must not push the message past Discord's 2,000 (issue 12, item 5).
TITLE_IN_TEXT = 300


def nonce_for(key: str) -> str:
    """The nonce of the send under ``key``: the same for every attempt (Discord keeps one
    message per nonce for a few minutes), at most 25 characters as Discord requires."""
    return str(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big"))


def _exempt_from_global_limit(route: discord.http.Route) -> bool:
    # Interaction callbacks and followups (interaction webhooks) are not counted by Discord.
    return route.path.startswith(("/interactions/", "/webhooks/"))


def pace_every_request(http: discord.http.HTTPClient, pacer: Pacer) -> None:
    """Make every REST request of this bot wait on ``pacer`` (members' before the engine's).

    One pacer for all of them: Discord's global limit counts every request a token makes,
    whichever part of the bot made it.
    """
    request = http.request

    async def paced(route: discord.http.Route, **kwargs: Any) -> Any:
        if not _exempt_from_global_limit(route):
            await pacer.wait()
        return await request(route, **kwargs)

    http.request = paced  # type: ignore[method-assign]


def outcome_of(exc: Exception) -> SendResult:
    """Discord's refusal as the engine's outcome, with Discord's own reason."""
    if isinstance(exc, discord.Forbidden):
        if exc.code == CANNOT_DM:
            return SendResult(Outcome.UNDELIVERABLE, error="the user does not accept DMs (50007)")
        if exc.code in (MISSING_PERMISSIONS, MISSING_ACCESS):
            return SendResult(Outcome.FORBIDDEN, error=f"missing permissions ({exc.code})")
        return SendResult(Outcome.FAILED, error=f"forbidden ({exc.code}): {exc.text}")
    if isinstance(exc, discord.NotFound) and exc.code == UNKNOWN_CHANNEL:
        return SendResult(Outcome.GONE, error=f"unknown channel ({UNKNOWN_CHANNEL})")
    if isinstance(exc, discord.DiscordServerError | aiohttp.ClientError | asyncio.TimeoutError):
        return SendResult(Outcome.RETRY, error=f"{type(exc).__name__}: {exc}")
    # discord.py waits out a 429 and tries again, five times; after that (or a retry_after over
    # max_ratelimit_timeout) it gives up: Discord asked for later, not never.
    if isinstance(exc, discord.RateLimited) or (
        isinstance(exc, discord.HTTPException) and exc.status == 429
    ):
        return SendResult(Outcome.RETRY, error=f"rate limited: {exc}")
    if isinstance(exc, discord.HTTPException):
        return SendResult(Outcome.FAILED, error=f"HTTP {exc.status} ({exc.code}): {exc.text}")
    raise exc


class DiscordOutbox:
    def __init__(
        self,
        bot: WorkshopBot,
        sessions: async_sessionmaker[AsyncSession],
        program: ProgramService,
        targets: AnnouncementTargets,
        clock: Clock,
        *,
        send_timeout: float = 15.0,
    ) -> None:
        self._bot = bot
        self._clock = clock
        self.send_timeout = send_timeout
        self._sessions = sessions
        self._program = program
        self._targets = targets
        self._dm_cache: dict[int, int] = {}
        self._targets_cache: tuple[float, list[AnnouncementTarget]] = (0.0, [])
        # Which of a member's reminded talks they present (PeopleService.presenting): their
        # reminder DM then reads as for an author.
        self.presenting: Callable[[int, Sequence[Talk]], Awaitable[list[Talk]]] | None = None
        # Each entry's discussion thread (ThreadSync.links): linked from posts and DMs.
        self.threads: ThreadLinks | None = None

    async def _discussed(self, talks: Sequence[Talk], guild_id: int | None) -> list[Talk]:
        if self.threads is None or not talks:
            return list(talks)
        try:
            links = await self.threads([t.id for t in talks], guild_id)
        except SQLAlchemyError as exc:
            log.warning("thread links not read: %s", exc)
            return list(talks)
        return [discussed(t, links) for t in talks]

    async def _bounded(self, request: Awaitable[R]) -> R:
        """One request of the engine's, given up after ``send_timeout`` seconds (the engine
        records a retry): aiohttp would wait 300 s, and discord.py sleeps out any 429."""
        if not ENGINE_TRAFFIC.get():
            return await request
        return await asyncio.wait_for(request, self.send_timeout)

    # -- DM channels ----------------------------------------------------------------------------

    async def dm_channel_id(self, user_id: int, *, refresh: bool = False) -> int:
        """The user's DM channel: from memory, the database, or (once) from Discord."""
        if not refresh:
            cached = self._dm_cache.get(user_id)
            if cached is not None:
                return cached
            async with self._sessions() as s:
                row = await s.get(DMChannel, user_id)
            if row is not None:
                self._dm_cache[user_id] = row.channel_id
                return row.channel_id
        data = await self._bounded(self._bot.http.start_private_message(user_id))
        channel_id = int(data["id"])
        await self._remember_dm(user_id, channel_id)
        return channel_id

    async def _remember_dm(self, user_id: int, channel_id: int) -> None:
        self._dm_cache[user_id] = channel_id
        try:
            async with self._sessions() as s, s.begin():
                row = await s.get(DMChannel, user_id)
                if row is None:
                    s.add(DMChannel(user_id=user_id, channel_id=channel_id))
                else:
                    row.channel_id = channel_id
        except IntegrityError:
            pass  # another process stored it at the same moment: same channel
        except SQLAlchemyError as exc:
            # The send can go on (the id is in memory): the database is the engine's to report.
            why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            log.warning("could not store the DM channel of user %s: %s", user_id, why)

    async def send_dm(
        self,
        user_id: int,
        *,
        content: str,
        embed: discord.Embed | None = None,
        view: discord.ui.View | None = None,
        key: str | None = None,
    ) -> discord.Message:
        channel_id = await self.dm_channel_id(user_id)
        try:
            return await self._send(channel_id, content, embed, view, private=True, key=key)
        except discord.NotFound:
            # The cached channel is gone: ask Discord for the current one, once.
            channel_id = await self.dm_channel_id(user_id, refresh=True)
            return await self._send(channel_id, content, embed, view, private=True, key=key)

    async def _send(
        self,
        channel_id: int,
        content: str,
        embed: discord.Embed | None,
        view: discord.ui.View | None,
        *,
        private: bool = False,
        allowed: discord.AllowedMentions | None = None,
        key: str | None = None,
    ) -> discord.Message:
        kind = discord.ChannelType.private if private else discord.ChannelType.text
        channel = self._bot.get_partial_messageable(channel_id, type=kind)
        # A timed send's nonce: Discord answers a repeat with the message it already made.
        extra: dict[str, Any] = {} if key is None else {"nonce": nonce_for(key)}
        return await self._bounded(
            channel.send(
                content=trim(content, CONTENT_MAX),
                embed=embed if embed is not None else discord.utils.MISSING,
                view=view if view is not None else discord.utils.MISSING,
                allowed_mentions=allowed or discord.AllowedMentions.none(),
                **extra,
            )
        )

    # -- what the engine calls ------------------------------------------------------------------

    async def _announcement_channel(self, kind: str) -> tuple[int | None, int | None]:
        """(guild id, channel id) where ``kind`` is announced, for the reminder's jump link."""
        stamp, targets = self._targets_cache
        if time.monotonic() - stamp > 30:
            targets = await self._targets.load()
            self._targets_cache = (time.monotonic(), targets)
        for target in targets:
            channel_id = target.channel_for(kind)
            if channel_id is None:
                continue
            guild_id = target.guild_id
            if guild_id is None:
                channel = self._bot.get_channel(channel_id)
                guild_id = getattr(getattr(channel, "guild", None), "id", None)
            return guild_id, channel_id
        return None, None

    async def send_reminders(
        self, reminders: Sequence[DueReminder], *, offline: bool
    ) -> SendResult:
        """One short DM for a member's reminders due in the same minute: each talk's title,
        its time (in the reader's zone, worded so it stays true when read late), where to
        go, and buttons for its card and for stopping it."""
        talks = await self._discussed([r.talk for r in reminders], None)
        lines = self.reminder_lines(
            [dataclasses.replace(r, talk=t) for r, t in zip(reminders, talks, strict=True)]
        )
        if self.presenting is not None:
            mine = await self.presenting(reminders[0].user_id, [r.talk for r in reminders])
            lines[:0] = [author_line(mine)] if mine else []
        if offline:
            lines.append("(Sent late: I was offline when this reminder was due.)")
        # The controls follow the DM's order: talks by start.
        ordered = sorted(reminders, key=lambda r: (r.talk.start, r.talk.title))
        view = reminder_dm_view([(r.talk, r.via_kind) for r in ordered])
        key = ",".join(sorted(r.key for r in reminders))
        try:
            message = await self.send_dm(
                reminders[0].user_id, content="\n".join(lines), view=view, key=key
            )
        except Exception as exc:
            result = outcome_of(exc)
            log.info("reminder %s not delivered: %s", key, result.error)
            return result
        return SendResult(Outcome.SENT, message_id=message.id, channel_id=message.channel.id)

    def reminder_lines(self, reminders: Sequence[DueReminder]) -> list[str]:
        now = self._clock.now()
        zone = self._program.snapshot.workshop.zone
        talks = sorted({r.talk.id: r.talk for r in reminders}.values(), key=lambda t: t.start)

        def when(talk: Talk, *, plural: bool = False) -> str:
            # "starts at 09:00 (in 10 minutes, …)" stays true read late: "started" once begun.
            verb = "started" if now >= talk.start else ("start" if plural else "starts")
            # <t:f> carries the reader's date: a reader far from the venue may be on another.
            return (
                f"{verb} {discord_ts(talk.start, 'f')} "
                f"({discord_ts(talk.start, 'R')}; {venue_time(talk.start, zone)} at the venue)"
            )

        if len(talks) == 1:
            [talk] = talks
            lines = [f"⏰ **{md(trim(talk.title, TITLE_IN_TEXT))}** {when(talk)}."]
            where = self.where_to_go(talk)
            if where:
                lines.append(where)
            return lines
        starts = {t.start for t in talks}
        if len(starts) == 1:
            head = f"⏰ These {len(talks)} {when(talks[0], plural=True)}:"
            for with_links in (True, False):
                lines = [head]
                for talk in talks:
                    where = self.where_to_go(talk, links=with_links)
                    lines.append(
                        f"• **{md(trim(talk.title, TITLE_IN_TEXT // 2))}**"
                        + (f" · {where}" if where else "")
                    )
                # Twelve posters with their links overflow a message: rather every title
                # (their cards, one button each, have the links) than half of them.
                if len("\n".join(lines)) <= DM_BUDGET:
                    break
                if any(talk.links for talk in talks):
                    head = (
                        f"⏰ These {len(talks)} {when(talks[0], plural=True)} "
                        "(links on each card, buttons below):"
                    )
            return lines
        lines = [f"⏰ {len(talks)} talks you asked me to remind you of:"]
        for talk in talks:
            lines.append(f"• **{md(trim(talk.title, TITLE_IN_TEXT // 2))}** {when(talk)}")
        return lines

    def where_to_go(self, talk: Talk, *, links: bool = True) -> str:
        """Room, and the talk's own links (poster, video, stream), as one short line."""
        parts = [f"📍 {md(trim(talk.room, 100))}"] if talk.room else []
        if links:
            # The same form as everywhere: escaped text, a target that cannot end early.
            shown = (link_md(title, url) for title, url in talk.links)
            parts += [link for link in shown if link is not None and len(link) <= LINK_MAX][:4]
        return " · ".join(parts)

    async def send_announcement(self, item: PlannedAnnouncement, *, offline: bool) -> SendResult:
        talk = item.talk
        snapshot = self._program.snapshot
        posters = snapshot.children(talk.id) if talk.kind == "poster_session" else []
        channel = self._bot.get_channel(item.channel_id)
        guild_id = getattr(getattr(channel, "guild", None), "id", None)
        # Each poster (and the talk) with its discussion thread, when it has one.
        talk, *posters = await self._discussed([talk, *posters], guild_id)
        embed = talk_embed(talk, snapshot.workshop, posters=posters)
        # Shown as written (allowed_mentions is what keeps it from pinging); never markdown.
        title = md(trim(talk.title, TITLE_IN_TEXT))
        content = f"{self.session_start_words(talk)} · {talk.kind_label}: {title}"
        if offline:
            content += "\n(Posted late: I was offline when it started.)"
        allowed = discord.AllowedMentions.none()
        if item.mention_role_id is not None:
            content = f"<@&{item.mention_role_id}> {content}"
            allowed = discord.AllowedMentions(
                everyone=False, users=False, roles=[discord.Object(item.mention_role_id)]
            )
        try:
            message = await self._send(
                item.channel_id, content, embed, None, allowed=allowed, key=item.key
            )
        except Exception as exc:
            result = outcome_of(exc)
            log.warning("announcement %s not posted: %s", item.key, result.error)
            return SendResult(result.outcome, channel_id=item.channel_id, error=result.error)
        return SendResult(Outcome.SENT, message_id=message.id, channel_id=item.channel_id)

    def session_start_words(self, talk: Talk) -> str:
        """What is true when the post goes out, and stays true when read later: early (a lead
        set with /setup lead), at the start, or after it (a restart, a channel set meanwhile)."""
        now = self._clock.now()
        # <t:f> carries the reader's date: a reader far from the venue may be on another.
        if now < talk.start - timedelta(seconds=30):
            return f"**Starts {discord_ts(talk.start, 'f')}** ({discord_ts(talk.start, 'R')})"
        if now <= talk.start + timedelta(minutes=1):
            return "**Starting now**"
        return f"**Started {discord_ts(talk.start, 'f')}** ({discord_ts(talk.start, 'R')})"

    async def send_notice(self, notice: QueuedNotice, *, offline: bool) -> SendResult:
        text = self.notice_text(notice)
        role_id = notice.payload.get("role_id")
        allowed = discord.AllowedMentions.none()
        if role_id is not None:
            # Only the role the organizer picked may be pinged; nothing in the text is parsed.
            text = f"<@&{int(role_id)}> {text}"
            allowed = discord.AllowedMentions(
                everyone=False, users=False, roles=[discord.Object(int(role_id))]
            )
        try:
            if notice.user_id is not None:
                message = await self.send_dm(notice.user_id, content=text, key=notice.key)
            elif notice.channel_id is not None:
                message = await self._send(
                    notice.channel_id, text, None, None, allowed=allowed, key=notice.key
                )
            else:
                return SendResult(Outcome.FAILED, error="a notice with no recipient")
        except Exception as exc:
            result = outcome_of(exc)
            log.info("notice %s not delivered: %s", notice.key, result.error)
            return SendResult(result.outcome, channel_id=notice.channel_id, error=result.error)
        return SendResult(Outcome.SENT, message_id=message.id, channel_id=message.channel.id)

    def notice_text(self, notice: QueuedNotice) -> str:
        """The notice's words: a program change is worded when it is sent, from the program
        as it is then (recorded with the change, in the same transaction, as data)."""
        payload = notice.payload
        about = payload.get("about")
        snapshot = self._program.snapshot
        if about == "changes":
            return self.changes_text(payload.get("items") or [])
        talk = snapshot.by_id.get(str(payload.get("entry_id", "")))
        if about not in ("moved", "cancelled") or talk is None:
            return str(payload.get("text", ""))
        title = md(trim(talk.title, TITLE_IN_TEXT))
        if about == "cancelled":
            return f"❌ “{title}” was cancelled, so your reminder for it is gone."
        when = (
            f"{discord_ts(talk.start, 'F')} "
            f"({venue_time(talk.start, snapshot.workshop.zone, with_date=True)})"
        )
        text = f"📅 “{title}” has moved: it now starts {when}."
        reminder = payload.get("reminder")
        if reminder == "moves":
            text += " Your reminder moves with it."
        elif reminder == "again":
            text += (
                f" You had your reminder already; I'll remind you again "
                f"{int(payload.get('minutes_before', 0))} min before the new time."
            )
        elif reminder == "again_now":
            text += " You had your reminder already; a new one follows now."
        return text

    def changes_text(self, items: list[dict[str, str]]) -> str:
        """A schedule-changes channel's post: one line per change, in every reader's own time
        (and the venue's), worded from the program as it is when sent."""
        snapshot = self._program.snapshot
        zone = snapshot.workshop.zone
        lines = []
        for item in items:
            talk = snapshot.by_id.get(str(item.get("entry_id", "")))
            if talk is None:
                continue
            title = f"**{md(trim(talk.title, TITLE_IN_TEXT))}**"
            start = (
                f"{discord_ts(talk.start, 'F')} ({venue_time(talk.start, zone, with_date=True)})"
            )
            change = item.get("change")
            if change == "moved":
                was = datetime.fromisoformat(str(item.get("was")))
                lines.append(
                    f"🕑 Moved: {title} now starts {start}; it was {discord_ts(was, 'f')}."
                )
            elif change == "cancelled":
                lines.append(f"❌ Cancelled: {title} (was {discord_ts(talk.start, 'f')}).")
            elif change == "new":
                lines.append(f"🆕 New: {title}, {start}.")
        if not lines:
            return "The program changed (the entries concerned are gone from it since)."
        return trim("\n".join(lines), 2000)

    async def update_board(
        self, channel_id: int, message_id: int | None, view: NowView, *, pin: bool
    ) -> BoardPost:
        """Edit the board in place, or post a new one if it is gone; pin it when asked (and
        always a new one). A board that cannot be pinned is still posted and kept up to date."""
        embed = self.board_embed(view)
        channel = self._bot.get_partial_messageable(channel_id, type=discord.ChannelType.text)
        message: discord.PartialMessage | discord.Message | None = None
        if message_id is not None:
            try:
                message = channel.get_partial_message(message_id)
                await self._bounded(message.edit(content=None, embed=embed))
            except discord.NotFound:
                log.info("the board message in %s was deleted: posting a new one", channel_id)
                message = None
        if message is None:
            message = await self._bounded(
                channel.send(embed=embed, allowed_mentions=discord.AllowedMentions.none())
            )
            pin = True
        if not pin:
            return BoardPost(message.id)
        try:
            await self._bounded(message.pin(reason="workshop-bot live board: Now / Next"))
        except discord.HTTPException as exc:
            log.warning("could not pin the board in %s: %s", channel_id, exc)
            if exc.code == MISSING_PERMISSIONS:
                return BoardPost(message.id, "missing permissions", pin_forbidden=True)
            return BoardPost(message.id, f"Discord said: {trim(exc.text or str(exc), 200)}")
        return BoardPost(message.id)

    def board_embed(self, view: NowView) -> discord.Embed:
        workshop = self._program.snapshot.workshop
        embed = discord.Embed(
            title=trim(f"Now / Next · {workshop.acronym}", 256), colour=discord.Colour.green()
        )
        if view.phase is Phase.BEFORE and view.starts_at is not None:
            embed.description = (
                f"The workshop starts {discord_ts(view.starts_at, 'F')} "
                f"({venue_time(view.starts_at, workshop.zone, with_date=True)})."
            )
        elif view.phase is Phase.AFTER:
            embed.description = "The workshop has ended. Thank you for coming!"
        # What runs, with its own links; a running poster session's posters (each with its
        # links) follow in fields of their own, between Now and Next.
        running = [
            with_links(talk_line(item.talk, workshop), item.talk.links, limit=900)
            for item in view.running
        ]
        upcoming = [
            talk_line(item.talk, workshop, relative=True)
            for group in view.upcoming
            for item in group.items
        ]
        embed.set_footer(text="Kept up to date as sessions start and end")
        now = lines_within(running, FIELD_VALUE_MAX) or "A short break."
        following = lines_within(upcoming, FIELD_VALUE_MAX) if upcoming else ""
        if view.phase is Phase.DURING:
            embed.add_field(name="Now", value=now, inline=False)
            sessions = [item for item in view.running if item.children]
            for index, item in enumerate(sessions):
                # Each running session gets its share of what Now and Next leave.
                left = EMBED_TOTAL_MAX - len(embed) - len("Next") - len(following) - 20
                name = ""
                if len(sessions) > 1:
                    title = md(defuse_mentions(trim(item.talk.title, 150)))
                    name = f"Posters ({len(item.children)}) · {title}"
                for field_name, value in poster_fields(
                    item.children,
                    budget=left // (len(sessions) - index),
                    fields=(EMBED_FIELDS_MAX - len(embed.fields) - 1) // (len(sessions) - index),
                    more_hint=": `/schedule session`",
                    name=name,
                ):
                    embed.add_field(name=field_name, value=value, inline=False)
        if following:
            embed.add_field(name="Next", value=following, inline=False)
        return embed
