"""Per-server organizer data: /setup's configuration and /announce's scheduled posts."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db.models import BotEvent, Delivery, GuildConfig, ScheduledAnnouncement
from bot.errors import UserFacingError
from bot.settings import Settings

log = logging.getLogger(__name__)

#: Entries that become Discord scheduled events unless /setup events kinds says otherwise.
DEFAULT_EVENT_KINDS: tuple[str, ...] = ("keynote", "poster_session", "panel")
#: Discord's limit on message content.
CONTENT_MAX = 2000
MAX_LEAD = 60


@dataclass(frozen=True)
class ServerConfig:
    """One server's configuration as /setup show prints it (defaults where nothing is set)."""

    guild_id: int
    default_channel_id: int | None = None
    kind_channels: dict[str, int] = field(default_factory=dict)
    board_channel_id: int | None = None
    organizer_role_id: int | None = None
    mention_role_id: int | None = None
    announce_breaks: bool = False
    lead_minutes: int = 0
    event_kinds: tuple[str, ...] = DEFAULT_EVENT_KINDS
    event_kinds_default: bool = True
    configured_by: int | None = None
    updated_at: datetime | None = None  # None: never configured
    changes_channel_id: int | None = None  # one short post per program change

    def channel_for(self, kind: str) -> int | None:
        return self.kind_channels.get(kind, self.default_channel_id)


def _view(row: GuildConfig) -> ServerConfig:
    kinds = tuple(row.event_kinds or ())
    return ServerConfig(
        guild_id=row.guild_id,
        default_channel_id=row.default_channel_id,
        kind_channels={k: int(v) for k, v in (row.kind_channels or {}).items()},
        board_channel_id=row.board_channel_id,
        organizer_role_id=row.organizer_role_id,
        mention_role_id=row.mention_role_id,
        announce_breaks=row.announce_breaks,
        lead_minutes=row.lead_minutes,
        event_kinds=kinds or DEFAULT_EVENT_KINDS,
        event_kinds_default=not kinds,
        configured_by=row.configured_by,
        updated_at=row.updated_at,
        changes_channel_id=row.changes_channel_id,
    )


class GuildConfigService:
    """Reads and writes GuildConfig rows; every write records who made it and when."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: Clock, settings: Settings
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._settings = settings

    async def get(self, guild_id: int) -> ServerConfig:
        async with self._sessions() as s:
            row = await s.get(GuildConfig, guild_id)
        return _view(row) if row is not None else self._seed_view(guild_id)

    async def organizer_role(self, guild_id: int | None) -> int | None:
        if guild_id is None:
            return None
        async with self._sessions() as s:
            return await s.scalar(
                select(GuildConfig.organizer_role_id).where(GuildConfig.guild_id == guild_id)
            )

    def _seed(self) -> dict[str, Any]:
        # A server's first /setup starts from what the settings (.env) said until then, so
        # configuring one thing does not silently switch off announcements configured there.
        settings = self._settings
        return {
            "default_channel_id": settings.announce_channel_id,
            "kind_channels": {},
            "announce_breaks": settings.announce_breaks,
            "lead_minutes": min(settings.announce_lead_minutes, MAX_LEAD),
            "mention_role_id": settings.mention_role_id,
            "event_kinds": [],
        }

    def _seed_view(self, guild_id: int) -> ServerConfig:
        seed = self._seed()
        return ServerConfig(
            guild_id=guild_id,
            default_channel_id=seed["default_channel_id"],
            announce_breaks=seed["announce_breaks"],
            lead_minutes=seed["lead_minutes"],
            mention_role_id=seed["mention_role_id"],
        )

    async def _update(
        self, guild_id: int, by: int, change: Callable[[GuildConfig], None]
    ) -> ServerConfig:
        for attempt in (1, 2):
            try:
                async with self._sessions() as s, s.begin():
                    row = await s.get(GuildConfig, guild_id, with_for_update=True)
                    if row is None:
                        row = GuildConfig(guild_id=guild_id, **self._seed())
                        s.add(row)
                    change(row)
                    row.configured_by = by
                    row.updated_at = self._clock.now()
                    await s.flush()
                    return _view(row)
            except IntegrityError:
                # Two organizers configured a new server at the same moment: read theirs.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def set_channel(
        self, guild_id: int, kind: str | None, channel_id: int | None, *, by: int
    ) -> ServerConfig:
        """Announce ``kind`` (None: every kind without its own) in ``channel_id`` (None: stop)."""

        replaced: list[int | None] = []

        def change(row: GuildConfig) -> None:
            if kind is None:
                replaced.append(row.default_channel_id)
                row.default_channel_id = channel_id
                return
            # A new dict: SQLAlchemy only notices a JSON column change on reassignment.
            channels = dict(row.kind_channels or {})
            replaced.append(channels.get(kind))
            if channel_id is None:
                channels.pop(kind, None)
            else:
                channels[kind] = channel_id
            row.kind_channels = channels

        config = await self._update(guild_id, by, change)
        old = replaced[-1] if replaced else None
        if old is not None and old != channel_id:
            # A note about a channel given up (deleted, or refusing posts) no longer applies.
            for problem in ("gone", "forbidden"):
                await self.forget_problem(f"{problem}:{old}")
        return config

    async def set_board(self, guild_id: int, channel_id: int | None, *, by: int) -> ServerConfig:
        def change(row: GuildConfig) -> None:
            if row.board_channel_id != channel_id:
                row.board_message_id = None  # the old board message lives in the old channel
            row.board_channel_id = channel_id

        return await self._update(guild_id, by, change)

    async def set_changes_channel(
        self, guild_id: int, channel_id: int | None, *, by: int
    ) -> ServerConfig:
        """Post each program change in ``channel_id`` (None: stop)."""

        def change(row: GuildConfig) -> None:
            row.changes_channel_id = channel_id

        return await self._update(guild_id, by, change)

    async def set_organizer_role(
        self, guild_id: int, role_id: int | None, *, by: int
    ) -> ServerConfig:
        def change(row: GuildConfig) -> None:
            row.organizer_role_id = role_id

        return await self._update(guild_id, by, change)

    async def set_mention_role(
        self, guild_id: int, role_id: int | None, *, by: int
    ) -> ServerConfig:
        def change(row: GuildConfig) -> None:
            row.mention_role_id = role_id

        return await self._update(guild_id, by, change)

    async def set_breaks(self, guild_id: int, announce: bool, *, by: int) -> ServerConfig:
        def change(row: GuildConfig) -> None:
            row.announce_breaks = announce

        return await self._update(guild_id, by, change)

    async def set_lead(self, guild_id: int, minutes: int, *, by: int) -> ServerConfig:
        if not 0 <= minutes <= MAX_LEAD:
            raise UserFacingError(f"Choose between 0 and {MAX_LEAD} minutes.")

        def change(row: GuildConfig) -> None:
            row.lead_minutes = minutes

        return await self._update(guild_id, by, change)

    async def set_event_kinds(
        self, guild_id: int, kinds: Sequence[str] | None, *, by: int
    ) -> ServerConfig:
        """Which kinds become Discord events (None or empty: the defaults)."""

        def change(row: GuildConfig) -> None:
            row.event_kinds = list(dict.fromkeys(kinds or ()))

        return await self._update(guild_id, by, change)

    async def forget_problem(self, key: str) -> None:
        """Drop a /status note (e.g. ``forbidden:<channel>``) once it is known to be fixed, so
        the engine notes it again should it come back."""
        async with self._sessions() as s, s.begin():
            await s.execute(delete(BotEvent).where(BotEvent.key == key))


# -- /announce: organizers' own posts, now or later ------------------------------------------------


class NoticeQueue(Protocol):
    """What scheduling needs from the delivery engine (bot/delivery/engine.py's DeliveryEngine)."""

    async def queue_notice(
        self,
        key: str,
        *,
        due_at: datetime,
        text: str,
        user_id: int | None = None,
        channel_id: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> bool: ...


@dataclass(frozen=True, slots=True)
class CustomAnnouncement:
    id: int
    guild_id: int
    channel_id: int
    role_id: int | None
    text: str
    due_at: datetime
    created_by: int
    state: str  # scheduled | sent | cancelled | failed

    @property
    def key(self) -> str:
        return announcement_key(self.id)


def announcement_key(announcement_id: int) -> str:
    return f"announce-custom:{announcement_id}"


def _announcement(row: ScheduledAnnouncement) -> CustomAnnouncement:
    return CustomAnnouncement(
        id=row.id,
        guild_id=row.guild_id,
        channel_id=row.channel_id,
        role_id=row.role_id,
        text=row.text,
        due_at=row.due_at,
        created_by=row.created_by,
        state=row.state,
    )


def text_limit(role_id: int | None) -> int:
    """How long an announcement's text may be: the role mention goes in front of it."""
    return CONTENT_MAX - (len(f"<@&{role_id}> ") if role_id is not None else 0)


def check_text(text: str, role_id: int | None) -> str:
    """The text to post, or a UserFacingError: never cut silently to fit."""
    stripped = text.strip()
    if not stripped:
        raise UserFacingError("The announcement is empty.")
    limit = text_limit(role_id)
    if len(stripped) > limit:
        why = "" if role_id is None else " (2,000 less the role mention in front)"
        raise UserFacingError(
            f"Your text is {len(stripped):,} characters; the limit is {limit:,}{why}. "
            "Nothing was posted."
        )
    return stripped


# Delivery states the engine may still take (see DeliveryEngine._deliver_queued).
_TAKEABLE = ("pending", "retry")
_FINAL = {"sent": "sent", "failed": "failed", "skipped": "failed", "cancelled": "cancelled"}


class CustomAnnouncements:
    """Scheduled announcements: a ScheduledAnnouncement row, delivered as a queued notice."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: Clock, queue: NoticeQueue
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._queue = queue

    async def schedule(
        self,
        guild_id: int,
        channel_id: int,
        text: str,
        *,
        due_at: datetime,
        by: int,
        role_id: int | None = None,
    ) -> CustomAnnouncement:
        text = check_text(text, role_id)
        async with self._sessions() as s, s.begin():
            row = ScheduledAnnouncement(
                guild_id=guild_id,
                channel_id=channel_id,
                role_id=role_id,
                text=text,
                due_at=due_at,
                created_by=by,
                created_at=self._clock.now(),
                state="scheduled",
            )
            s.add(row)
            await s.flush()
            made = _announcement(row)
        # Committed first: should the process die before queueing, requeue_missing() at the
        # next start queues it (the key makes that idempotent).
        await self._queue_row(made)
        return made

    async def _queue_row(self, item: CustomAnnouncement) -> None:
        await self._queue.queue_notice(
            item.key,
            due_at=item.due_at,
            text=item.text,
            channel_id=item.channel_id,
            extra={"role_id": item.role_id} if item.role_id is not None else None,
        )

    async def requeue_missing(self) -> int:
        """Queue scheduled rows that have no delivery yet (a crash between the two writes)."""
        async with self._sessions() as s:
            rows = (
                await s.scalars(
                    select(ScheduledAnnouncement).where(ScheduledAnnouncement.state == "scheduled")
                )
            ).all()
            keys = set(
                await s.scalars(
                    select(Delivery.key).where(
                        Delivery.key.in_([announcement_key(r.id) for r in rows])
                    )
                )
            )
        missing = [_announcement(r) for r in rows if announcement_key(r.id) not in keys]
        for item in missing:
            await self._queue_row(item)
        if missing:
            log.warning("queued %d scheduled announcement(s) that had no delivery", len(missing))
        return len(missing)

    async def _reconcile(self, s: AsyncSession, rows: Sequence[ScheduledAnnouncement]) -> None:
        """Copy the delivery's outcome onto each row (the engine only writes ``deliveries``)."""
        if not rows:
            return
        states = dict(
            (
                await s.execute(
                    select(Delivery.key, Delivery.state).where(
                        Delivery.key.in_([announcement_key(r.id) for r in rows])
                    )
                )
            ).all()
        )
        for row in rows:
            final = _FINAL.get(states.get(announcement_key(row.id), ""))
            if final is not None and row.state == "scheduled":
                row.state = final

    async def pending(self, guild_id: int) -> list[CustomAnnouncement]:
        """This server's announcements not yet posted, soonest first."""
        async with self._sessions() as s, s.begin():
            rows = (
                await s.scalars(
                    select(ScheduledAnnouncement)
                    .where(
                        ScheduledAnnouncement.guild_id == guild_id,
                        ScheduledAnnouncement.state == "scheduled",
                    )
                    .order_by(ScheduledAnnouncement.due_at, ScheduledAnnouncement.id)
                )
            ).all()
            await self._reconcile(s, rows)
            return [_announcement(r) for r in rows if r.state == "scheduled"]

    async def get(self, guild_id: int, announcement_id: int) -> CustomAnnouncement | None:
        async with self._sessions() as s, s.begin():
            row = await s.get(ScheduledAnnouncement, announcement_id)
            if row is None or row.guild_id != guild_id:
                return None
            await self._reconcile(s, [row])
            return _announcement(row)

    async def cancel(self, guild_id: int, announcement_id: int) -> CustomAnnouncement:
        """Cancel the row and its queued delivery, unless it is already (being) posted."""
        async with self._sessions() as s, s.begin():
            row = await s.get(ScheduledAnnouncement, announcement_id, with_for_update=True)
            if row is None or row.guild_id != guild_id:
                raise UserFacingError(f"There is no announcement #{announcement_id} here.")
            await self._reconcile(s, [row])
            if row.state != "scheduled":
                raise UserFacingError(
                    f"Announcement #{announcement_id} was already {row.state}: nothing to cancel."
                )
            key = announcement_key(row.id)
            # The engine only takes pending/retry (and stale claimed) notices: a cancelled
            # delivery row is never sent, even by a process that has not seen this change.
            stopped = await s.execute(
                update(Delivery)
                .where(Delivery.key == key, Delivery.state.in_(_TAKEABLE))
                .values(state="cancelled", error="cancelled by an organizer")
            )
            if not stopped.rowcount:  # type: ignore[attr-defined]
                state = await s.scalar(select(Delivery.state).where(Delivery.key == key))
                if state is not None:
                    raise UserFacingError(
                        f"Announcement #{announcement_id} is being posted right now: "
                        "too late to cancel."
                    )
            row.state = "cancelled"
            return _announcement(row)
