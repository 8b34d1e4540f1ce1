"""What is on now and next, the day's program by session, and lookups by kind, id and person."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from itertools import islice

from bot.program.model import kind_label
from bot.services.program import ProgramSnapshot, Talk
from bot.services.search import normalize

#: How many upcoming entries ``now`` shows by default, and at most (an embed's worth).
UPCOMING_DEFAULT = 3
UPCOMING_MAX = 25


class Phase(StrEnum):
    BEFORE = "before"  # the first entry has not started
    DURING = "during"  # between the first start and the last end, breaks and gaps included
    AFTER = "after"  # the last entry has ended
    EMPTY = "empty"  # the program has no (uncancelled) entries


@dataclass(frozen=True, slots=True)
class NowItem:
    """An entry as ``now`` shows it, with a poster session's posters attached."""

    talk: Talk
    children: tuple[Talk, ...]  # posters of a poster session, in order; else ()
    starts_in: timedelta  # negative once started
    ends_in: timedelta


@dataclass(frozen=True, slots=True)
class UpcomingGroup:
    """Entries starting at the same instant."""

    start: datetime
    starts_in: timedelta
    items: tuple[NowItem, ...]


@dataclass(frozen=True, slots=True)
class NowView:
    at: datetime
    phase: Phase
    running: tuple[NowItem, ...]  # started and not ended; empty in a gap between entries
    upcoming: tuple[UpcomingGroup, ...]  # what starts next, soonest first
    starts_at: datetime | None  # the first entry's start
    ends_at: datetime | None  # the last entry's end
    # No "today" or "tomorrow" here: a day word counted on the venue's calendar is wrong for
    # a reader whose date differs (20:00 in Baltimore is the next day in Berlin).

    @property
    def starts_in(self) -> timedelta | None:
        return None if self.starts_at is None else self.starts_at - self.at


@dataclass(frozen=True, slots=True)
class SessionGroup:
    """A top-level entry of the day, with its children (a poster session's posters)."""

    entry: Talk
    children: tuple[Talk, ...]


@dataclass(frozen=True, slots=True)
class ProgramDay:
    """A calendar day of the venue on which entries start."""

    date: date  # in the venue's zone
    number: int  # 1 for the program's first day
    entries: int  # top-level entries starting that day (a poster session counts once)
    first_start: datetime
    last_end: datetime


def program_order(talk: Talk) -> tuple[datetime, bool, str, str]:
    """Sort key: by start, a session before its posters, then by title (and id, for ties)."""
    return (talk.start, talk.session_id is not None, talk.title, talk.id)


def _in_listed_session(talk: Talk, listed: set[str]) -> bool:
    return talk.session_id is not None and talk.session_id in listed


class _RunningIndex:
    """Finds the entries running at an instant without looking at every entry started before.

    Entries are grouped by duration class (at least 2**(k-1) and under 2**k seconds); an
    entry of class k running at ``t`` started in ``(t - 2**k, t]``, a window at most twice its
    length, so when starts are spread out a look-up reads about twice what it finds, whatever
    the program's size.
    """

    __slots__ = ("_classes", "_ends")

    def __init__(self, starts: list[float], ends: list[float]) -> None:
        self._ends = ends
        classes: dict[int, tuple[list[float], list[int]]] = {}
        # ``starts`` is ascending, so each class's starts are too.
        for position, (start, end) in enumerate(zip(starts, ends, strict=True)):
            k = math.ceil(max(end - start, 1.0)).bit_length()
            class_starts, positions = classes.setdefault(k, ([], []))
            class_starts.append(start)
            positions.append(position)
        self._classes = [(float(2**k), *found) for k, found in sorted(classes.items())]

    def at(self, moment: float) -> list[int]:
        """Positions of the entries with ``start <= moment < end``, ascending."""
        found: list[int] = []
        ends = self._ends
        for span, starts, positions in self._classes:
            lo = bisect_right(starts, moment - span)
            hi = bisect_right(starts, moment, lo)
            found.extend(p for p in positions[lo:hi] if moment < ends[p])
        if len(self._classes) > 1:
            found.sort()
        return found


class _Plan:
    """One snapshot's entries, sorted and grouped once."""

    def __init__(self, snapshot: ProgramSnapshot) -> None:
        self.snapshot = snapshot
        self.talks: list[Talk] = sorted(snapshot.talks, key=program_order)
        # POSIX timestamps: comparing aware datetimes of different zones costs a UTC offset
        # look-up per comparison, too much for every entry of a 10,000-entry program.
        self.starts = [t.start.timestamp() for t in self.talks]
        self.ends = [t.end.timestamp() for t in self.talks]
        self._running = _RunningIndex(self.starts, self.ends)
        ids = {t.id for t in self.talks}
        grouped: dict[str, list[Talk]] = {}
        for talk in self.talks:
            if talk.session_id is not None and talk.session_id in ids:
                grouped.setdefault(talk.session_id, []).append(talk)
        self.children: dict[str, tuple[Talk, ...]] = {
            session: tuple(talks) for session, talks in grouped.items()
        }
        # A poster whose session is cancelled or missing is shown on its own.
        self.top = [t for t in self.talks if t.session_id is None or t.session_id not in ids]
        self.first_start = self.talks[0].start if self.talks else None
        self.last_end = max((t.end for t in self.talks), default=None)
        # Top-level entries by the venue's calendar day they start on: a poster stays with
        # its session, whatever its own times say.
        zone = snapshot.workshop.zone
        self.by_day: dict[date, list[Talk]] = {}
        for talk in self.top:
            self.by_day.setdefault(talk.start.astimezone(zone).date(), []).append(talk)
        self.days = [
            ProgramDay(
                date=day,
                number=number,
                entries=len(talks),
                first_start=talks[0].start,
                last_end=max(
                    t.end for talk in talks for t in (talk, *self.children.get(talk.id, ()))
                ),
            )
            for number, (day, talks) in enumerate(sorted(self.by_day.items()), 1)
        ]
        self.by_person: dict[str, list[Talk]] = {}
        for talk in self.talks:
            for key in dict.fromkeys(normalize(name) for name in talk.people):
                if key:
                    self.by_person.setdefault(key, []).append(talk)

    def running(self, at: float) -> list[Talk]:
        """Entries started at or before ``at`` (a timestamp) and not yet ended, in order."""
        return [self.talks[i] for i in self._running.at(at)]

    def item(self, talk: Talk, at: datetime) -> NowItem:
        return NowItem(
            talk=talk,
            children=self.children.get(talk.id, ()),
            starts_in=talk.start - at,
            ends_in=talk.end - at,
        )


class ScheduleService:
    """Answers schedule questions about whatever snapshot the provider currently returns."""

    def __init__(self, snapshot_provider: Callable[[], ProgramSnapshot]) -> None:
        self._provider = snapshot_provider
        self._plan: _Plan | None = None

    def _current(self) -> _Plan:
        snapshot = self._provider()
        if self._plan is None or self._plan.snapshot is not snapshot:
            self._plan = _Plan(snapshot)
        return self._plan

    # -- now and next -------------------------------------------------------------------------

    def now(self, at: datetime, upcoming: int = UPCOMING_DEFAULT) -> NowView:
        """What runs at ``at`` (aware) and what starts next, posters under their session.

        About ``upcoming`` entries are shown: entries starting together are never split.
        """
        plan = self._current()
        if plan.first_start is None or plan.last_end is None:
            return NowView(at, Phase.EMPTY, (), (), None, None)
        stamp = at.timestamp()
        cut = bisect_right(plan.starts, stamp)  # entries from the cut on start later
        running_talks = plan.running(stamp)
        listed = {t.id for t in running_talks}
        running = tuple(
            plan.item(t, at) for t in running_talks if not _in_listed_session(t, listed)
        )
        groups = self._upcoming_groups(plan, cut, at, listed, upcoming)
        if at < plan.first_start:
            phase = Phase.BEFORE
        elif at >= plan.last_end:
            phase = Phase.AFTER
        else:
            phase = Phase.DURING
        return NowView(
            at=at,
            phase=phase,
            running=running,
            upcoming=groups,
            starts_at=plan.first_start,
            ends_at=plan.last_end,
        )

    def _upcoming_groups(
        self, plan: _Plan, cut: int, at: datetime, listed: set[str], count: int
    ) -> tuple[UpcomingGroup, ...]:
        groups: list[tuple[datetime, list[NowItem]]] = []
        shown = 0
        for talk in self._after(plan, cut, listed):
            same_start = bool(groups) and groups[-1][0] == talk.start
            # Stop once enough is shown, but never split entries starting together.
            if (shown >= count and not same_start) or shown >= UPCOMING_MAX:
                break
            if not same_start:
                groups.append((talk.start, []))
            groups[-1][1].append(plan.item(talk, at))
            shown += 1
        return tuple(UpcomingGroup(start, start - at, tuple(items)) for start, items in groups)

    @staticmethod
    def _after(plan: _Plan, cut: int, listed: set[str]) -> Iterable[Talk]:
        """Entries starting after the cut, minus posters whose session is already listed.

        ``listed`` grows as sessions are yielded, so posters after their session are skipped.
        """
        for talk in islice(plan.talks, cut, None):
            if _in_listed_session(talk, listed):
                continue
            listed.add(talk.id)
            yield talk

    def upcoming(self, at: datetime, count: int = UPCOMING_DEFAULT) -> list[Talk]:
        """The next ``count`` entries starting after ``at`` (posters under their session)."""
        plan = self._current()
        if count <= 0:
            return []
        stamp = at.timestamp()
        cut = bisect_right(plan.starts, stamp)
        listed = {t.id for t in plan.running(stamp)}
        found: list[Talk] = []
        for talk in self._after(plan, cut, listed):
            found.append(talk)
            if len(found) == count:
                break
        return found

    # -- the whole program --------------------------------------------------------------------

    def day(self, on: date | None = None) -> list[SessionGroup]:
        """The top-level entries starting on the venue's day ``on`` (default: every day), in
        order, each with its children (posters) attached."""
        plan = self._current()
        top = plan.top if on is None else plan.by_day.get(on, [])
        return [SessionGroup(t, plan.children.get(t.id, ())) for t in top]

    def days(self) -> list[ProgramDay]:
        """The venue's calendar days on which entries start, in order."""
        return list(self._current().days)

    def default_day(self, at: datetime) -> ProgramDay | None:
        """The day an attendee asking at ``at`` means: today (venue time) if entries start
        today, else the next day with entries, else (the workshop is over) the last day."""
        days = self._current().days
        if not days:
            return None
        today = at.astimezone(self._current().snapshot.workshop.zone).date()
        return next((d for d in days if d.date >= today), days[-1])

    def by_kind(self, kind: str) -> list[Talk]:
        return [t for t in self._current().talks if t.kind == kind]

    def kinds(self) -> list[tuple[str, str, int]]:
        """``(kind, label, count)`` for each kind in the program, by first appearance."""
        counts: dict[str, int] = {}
        for talk in self._current().talks:
            counts[talk.kind] = counts.get(talk.kind, 0) + 1
        return [(kind, kind_label(kind), n) for kind, n in counts.items()]

    def poster_sessions(self) -> list[Talk]:
        """Poster sessions: entries of that kind, and any entry that has children."""
        plan = self._current()
        return [t for t in plan.top if t.kind == "poster_session" or t.id in plan.children]

    def children(self, session_id: str) -> list[Talk]:
        return list(self._current().children.get(session_id, ()))

    def talk(self, talk_id: str) -> Talk | None:
        """The entry with this id, cancelled ones included (check ``talk.cancelled``)."""
        return self._current().snapshot.by_id.get(talk_id)

    def session_of(self, talk: Talk) -> Talk | None:
        if talk.session_id is None:
            return None
        return self._current().snapshot.by_id.get(talk.session_id)

    def other_work(self, talk: Talk) -> list[Talk]:
        """Other entries sharing at least one speaker or author with ``talk``, in order."""
        plan = self._current()
        found: dict[str, Talk] = {}
        for name in talk.people:
            for other in plan.by_person.get(normalize(name), ()):
                if other.id != talk.id:
                    found.setdefault(other.id, other)
        return sorted(found.values(), key=program_order)
