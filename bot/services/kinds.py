"""Kinds as people write them: one resolver for every command, and what a reload leaves behind.

A kind is stored as its id (``poster_session``) and shown as its label (``Poster session``).
People type either, in any case, singular or plural, and lists of kinds are split on commas
only, so "poster session" stays one kind. A near miss ("panle") gets a suggestion rather than
a silent match: a kind decides who is reminded, where a start is announced and which Discord
events exist, so a guess would be a wrong answer nobody sees.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import KindSubscription
from bot.program.model import KNOWN_KINDS, kind_distance, kind_key, kind_label
from bot.services.guild_config import GuildConfigService

#: What stands for "every other kind" where a command takes one (``/setup channel``).
DEFAULT = "default"


def split_kinds(text: str) -> list[str]:
    """The kinds of a list typed by a person: split on commas only ("keynote, poster session")."""
    return [part.strip() for part in text.split(",") if part.strip()]


def resolve_kind(text: str, kinds: Iterable[str]) -> str | None:
    """The kind id among ``kinds`` that ``text`` names (id, label, plural, any case), or None."""
    key = kind_key(text)
    if not key:
        return None
    for kind in kinds:
        if key == kind_key(kind) or key == kind_key(kind_label(kind)):
            return kind
    return None


def closest_kind(text: str, kinds: Iterable[str]) -> str | None:
    """The kind ``text`` most likely misspells ("panle" -> ``panel``), or None if none is near.

    Near is a typo or two away (see ``kind_distance``), or the start of just one kind ("key").
    """
    key = kind_key(text)
    if not key:
        return None
    near: list[tuple[int, str]] = []
    starting: list[str] = []
    for kind in kinds:
        distances = (kind_distance(text, kind), kind_distance(text, kind_label(kind)))
        found = [d for d in distances if d is not None]
        if found:
            near.append((min(found), kind))
        elif len(key) >= 3 and kind_key(kind_label(kind)).startswith(key):
            starting.append(kind)
    if near:
        return min(near, key=lambda dk: dk[0])[1]
    return starting[0] if len(starting) == 1 else None


def did_you_mean(text: str, kinds: Iterable[str]) -> str:
    """`` Did you mean Panel?`` for a near miss, else ``""``: to follow a refusal."""
    near = closest_kind(text, kinds)
    return f" Did you mean {kind_label(near)}?" if near is not None else ""


def matching_kinds(text: str, kinds: Iterable[str]) -> list[str]:
    """The kinds an autocomplete offers for ``text``: those whose id or label holds it as typed
    (any case, singular or plural; the one it names first, then those it starts), else near
    misses; every kind for empty text."""
    kinds = list(kinds)
    key = kind_key(text)
    if not key:
        return kinds
    rank: dict[str, int] = {}
    for kind in kinds:
        keys = (kind_key(kind), kind_key(kind_label(kind)))
        if key in keys:
            rank[kind] = 0
        elif any(k.startswith(key) for k in keys):
            rank[kind] = 1
        elif any(key in k for k in keys):
            rank[kind] = 2
    if rank:
        return sorted(rank, key=rank.__getitem__)  # stable: program order within a rank
    near = closest_kind(text, kinds)
    return [near] if near is not None else []


def labels(kinds: Iterable[str]) -> str:
    """``Keynote, Poster session``: kinds as people read them."""
    return ", ".join(kind_label(kind) for kind in kinds)


# -- after a reload -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Lookalike:
    """A kind the reloaded program brought in that looks like one the program had."""

    kind: str  # new in the program
    entries: int  # of that kind now
    like: str  # the kind of the program loaded before that it resembles


@dataclass(frozen=True)
class KindDrift:
    """What a reload did to kinds: look-alike newcomers, and settings left matching nothing."""

    lookalikes: list[Lookalike] = field(default_factory=list)
    #: Kinds no entry has now that people subscribed to ("every panel"), and how many people.
    subscriptions: list[tuple[str, int]] = field(default_factory=list)
    #: This server's per-kind announcement channels whose kind no entry has now.
    channels: list[tuple[str, int]] = field(default_factory=list)
    #: Kinds this server makes Discord events of that no entry has now.
    event_kinds: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.lookalikes or self.subscriptions or self.channels or self.event_kinds)


def lookalikes(before: Collection[str], after: Mapping[str, int]) -> list[Lookalike]:
    """Kinds of ``after`` (kind -> entries) not in ``before`` that look like one of ``before``.

    A kind the bot knows is taken as meant: it is what fixing a typo brings in ("panel" after
    "panle").
    """
    found = []
    for kind, entries in after.items():
        if kind in before or kind in KNOWN_KINDS:
            continue
        near = [(d, old) for old in before if (d := kind_distance(kind, old)) is not None]
        if near:
            found.append(Lookalike(kind, entries, min(near)[1]))
    return found


class KindCheck:
    """After a reload: which kinds are new look-alikes, and what no longer matches any entry."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], guild_config: GuildConfigService
    ) -> None:
        self._sessions = sessions
        self._guild_config = guild_config

    async def after_reload(
        self, before: Collection[str], after: Mapping[str, int], guild_id: int | None
    ) -> KindDrift:
        """``before``: the kinds of the program loaded until now; ``after`` those of the reloaded
        one, with their entries; ``guild_id``: the server whose settings to check."""
        async with self._sessions() as s:
            rows = (
                await s.execute(
                    select(KindSubscription.kind, func.count())
                    .where(KindSubscription.kind.not_in(list(after)))
                    .group_by(KindSubscription.kind)
                    .order_by(KindSubscription.kind)
                )
            ).all()
        subscriptions = [(str(kind), int(people)) for kind, people in rows]
        channels: list[tuple[str, int]] = []
        event_kinds: list[str] = []
        if guild_id is not None:
            config = await self._guild_config.get(guild_id)
            channels = sorted((k, c) for k, c in config.kind_channels.items() if k not in after)
            if not config.event_kinds_default:
                event_kinds = [k for k in config.event_kinds if k not in after]
        return KindDrift(lookalikes(before, after), subscriptions, channels, event_kinds)


def kinds_of(kinds: Sequence[str]) -> dict[str, int]:
    """Each kind of ``kinds`` (one per entry) and its number of entries, by first appearance."""
    counts: dict[str, int] = {}
    for kind in kinds:
        counts[kind] = counts.get(kind, 0) + 1
    return counts
