"""Which program entries are announced where and when: the session-start plan per server."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import GuildConfig
from bot.services.program import ProgramSnapshot, Talk
from bot.settings import Settings

#: Posters are listed inside their session's post, never posted on their own.
NEVER_ANNOUNCED = frozenset({"poster"})


@dataclass(frozen=True)
class AnnouncementTarget:
    """Where one server wants its session starts (from /setup, or settings until then)."""

    guild_id: int | None
    default_channel_id: int | None
    kind_channels: dict[str, int] = field(default_factory=dict)
    announce_breaks: bool = False
    lead_minutes: int = 0
    mention_role_id: int | None = None
    board_channel_id: int | None = None

    def channel_for(self, kind: str) -> int | None:
        return self.kind_channels.get(kind, self.default_channel_id)


@dataclass(frozen=True, slots=True)
class PlannedAnnouncement:
    key: str
    talk: Talk
    channel_id: int
    due_at: datetime
    deadline: datetime  # after this (the entry's end) it is skipped, not sent late
    mention_role_id: int | None


def announcement_key(channel_id: int, talk: Talk) -> str:
    # The start is part of the key: a moved entry is a new announcement.
    return f"announce:{channel_id}:{talk.id}:{talk.start:%Y%m%dT%H%M%SZ}"


def plan(snapshot: ProgramSnapshot, targets: list[AnnouncementTarget]) -> list[PlannedAnnouncement]:
    """Every announcement the program calls for, soonest first."""
    out: list[PlannedAnnouncement] = []
    for target in targets:
        lead = timedelta(minutes=target.lead_minutes)
        for talk in snapshot.talks:
            if talk.kind in NEVER_ANNOUNCED or talk.session_id is not None:
                continue
            if talk.kind == "break" and not target.announce_breaks:
                continue
            channel = target.channel_for(talk.kind)
            if channel is None:
                continue
            out.append(
                PlannedAnnouncement(
                    key=announcement_key(channel, talk),
                    talk=talk,
                    channel_id=channel,
                    due_at=talk.start - lead,
                    deadline=talk.end,
                    mention_role_id=target.mention_role_id,
                )
            )
    out.sort(key=lambda a: (a.due_at, a.key))
    return out


class AnnouncementTargets:
    """Reads the servers' configuration; falls back to settings where no server has any."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self._sessions = sessions
        self._settings = settings

    async def load(self) -> list[AnnouncementTarget]:
        async with self._sessions() as s:
            rows = (await s.scalars(select(GuildConfig))).all()
        targets = [
            AnnouncementTarget(
                guild_id=row.guild_id,
                default_channel_id=row.default_channel_id,
                kind_channels={k: int(v) for k, v in (row.kind_channels or {}).items()},
                announce_breaks=row.announce_breaks,
                lead_minutes=row.lead_minutes,
                mention_role_id=row.mention_role_id,
                board_channel_id=row.board_channel_id,
            )
            for row in rows
            if row.default_channel_id or row.kind_channels
        ]
        if not targets and self._settings.announce_channel_id:
            settings = self._settings
            targets.append(
                AnnouncementTarget(
                    guild_id=None,
                    default_channel_id=settings.announce_channel_id,
                    announce_breaks=settings.announce_breaks,
                    lead_minutes=settings.announce_lead_minutes,
                    mention_role_id=settings.mention_role_id,
                )
            )
        return targets
