"""Reminder subscriptions: subscribe, list, cancel, by talk or by kind (future entries too)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db.models import Delivery, KindSubscription, Subscription
from bot.errors import UserFacingError
from bot.program.model import kind_label
from bot.services.program import ProgramService, Talk

log = logging.getLogger(__name__)

DEFAULT_LEAD = 10
MAX_LEAD = 120
PER_USER_CAP = 100


@dataclass(frozen=True, slots=True)
class Reminder:
    """A user's reminder as /remind list shows it."""

    talk: Talk
    minutes_before: int
    due_at: datetime
    state: str  # active | sent | undeliverable | failed | missed | cancelled
    via_kind: str | None
    # State "sent": whether it went out late (after the engine's grace), None if unrecorded.
    sent_late: bool | None = None


@dataclass(frozen=True, slots=True)
class Subscribed:
    talk: Talk
    minutes_before: int
    due_at: datetime
    first_ever: bool  # the user's first subscription: confirm by DM
    changed_lead: bool  # they had one already; only its lead time changed
    sending_now: bool = False  # subscribed inside its lead: due now, not at a past time


@dataclass(frozen=True, slots=True)
class KindSubscribed:
    kind: str
    minutes_before: int
    added: int  # talks of that kind subscribed now (future ones follow on reload)
    first_ever: bool
    sending_now: int = 0  # of those, starting within the lead: their reminders are due now


#: A reminder still to send (or to retry): what "stop" and "off" count and cancel.
PENDING = ("active", "undeliverable", "failed")


@dataclass(frozen=True, slots=True)
class Standing:
    """What a user has that "stop all" would stop: pending reminders, kind subscriptions."""

    reminders: int
    kinds: tuple[str, ...]  # the kinds of their "every <kind>" subscriptions, sorted


def due_time(talk: Talk, minutes_before: int, now: datetime | None = None) -> datetime:
    """When the reminder is due: ``minutes_before`` the start, or ``now`` if that has passed
    (a reminder asked for inside its lead goes out at once; it never promises a past time)."""
    due = talk.start - timedelta(minutes=minutes_before)
    return due if now is None or due > now else now


class ReminderService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        program: ProgramService,
        *,
        cap: int = PER_USER_CAP,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._program = program
        self.cap = cap

    def _talk(self, entry_id: str) -> Talk:
        talk = self._program.snapshot.by_id.get(entry_id)
        if talk is None:
            raise UserFacingError("I don't know that talk: pick one from the suggestions.")
        if talk.cancelled:
            raise UserFacingError(f"“{talk.title}” was cancelled.")
        return talk

    @staticmethod
    def _check_lead(minutes_before: int) -> None:
        if not 0 <= minutes_before <= MAX_LEAD:
            raise UserFacingError(f"Choose between 0 and {MAX_LEAD} minutes before the start.")

    async def _ever_subscribed(self, s: AsyncSession, user_id: int) -> bool:
        subs = await s.scalar(
            select(func.count()).select_from(Subscription).where(Subscription.user_id == user_id)
        )
        kinds = await s.scalar(
            select(func.count())
            .select_from(KindSubscription)
            .where(KindSubscription.user_id == user_id)
        )
        return bool(subs or kinds)

    async def subscribe(
        self,
        user_id: int,
        entry_id: str,
        minutes_before: int = DEFAULT_LEAD,
        guild_id: int | None = None,
    ) -> Subscribed:
        self._check_lead(minutes_before)
        talk = self._talk(entry_id)
        now = self._clock.now()
        if now >= talk.start:
            raise UserFacingError(f"“{talk.title}” has already started: no reminder needed!")
        due = due_time(talk, minutes_before, now)
        sending_now = due == now
        async with self._sessions() as s, s.begin():
            first = not await self._ever_subscribed(s, user_id)
            existing = await s.scalar(
                select(Subscription).where(
                    Subscription.user_id == user_id, Subscription.entry_id == entry_id
                )
            )
            if existing is not None and existing.state == "active":
                if existing.minutes_before == minutes_before:
                    raise UserFacingError(
                        f"You already have a reminder for “{talk.title}”, "
                        f"{minutes_before} min before it starts."
                    )
                existing.minutes_before = minutes_before
                existing.due_at = due
                return Subscribed(
                    talk,
                    minutes_before,
                    due,
                    first_ever=False,
                    changed_lead=True,
                    sending_now=sending_now,
                )
            active = await s.scalar(
                select(func.count())
                .select_from(Subscription)
                .where(Subscription.user_id == user_id, Subscription.state == "active")
            )
            if (active or 0) >= self.cap:
                raise UserFacingError(
                    f"You have {self.cap} reminders already, the most I keep per person. "
                    "Cancel some with /remind cancel."
                )
            if existing is not None:
                # A cancelled, sent, missed or undeliverable one comes back to life, as a new
                # send: its old delivery (sent, or refused when DMs were closed) is final.
                existing.revision = (existing.revision or 0) + 1
                existing.state = "active"
                existing.minutes_before = minutes_before
                existing.due_at = due
                existing.via_kind = None
            else:
                s.add(
                    Subscription(
                        user_id=user_id,
                        guild_id=guild_id,
                        entry_id=entry_id,
                        minutes_before=minutes_before,
                        due_at=due,
                        state="active",
                        created_at=now,
                    )
                )
        return Subscribed(
            talk, minutes_before, due, first_ever=first, changed_lead=False, sending_now=sending_now
        )

    async def subscribe_kind(
        self,
        user_id: int,
        kind: str,
        minutes_before: int = DEFAULT_LEAD,
        guild_id: int | None = None,
    ) -> KindSubscribed:
        self._check_lead(minutes_before)
        snapshot = self._program.snapshot
        if not any(t.kind == kind for t in snapshot.talks):
            raise UserFacingError(f"The program has no entries of kind “{kind}”.")
        now = self._clock.now()
        async with self._sessions() as s, s.begin():
            first = not await self._ever_subscribed(s, user_id)
            row = await s.scalar(
                select(KindSubscription).where(
                    KindSubscription.user_id == user_id, KindSubscription.kind == kind
                )
            )
            if row is None:
                s.add(
                    KindSubscription(
                        user_id=user_id,
                        guild_id=guild_id,
                        kind=kind,
                        minutes_before=minutes_before,
                        created_at=now,
                    )
                )
            else:
                row.minutes_before = minutes_before
            added, sending_now = await self._materialize(
                s, [(user_id, guild_id, kind, minutes_before)], now, revive=True
            )
        return KindSubscribed(
            kind, minutes_before, added, first_ever=first, sending_now=sending_now
        )

    async def apply_kind_subscriptions(self) -> int:
        """After a program (re)load: subscribe kind-subscribers to new entries of their kinds."""
        now = self._clock.now()
        async with self._sessions() as s, s.begin():
            rows = (await s.scalars(select(KindSubscription))).all()
            wanted = [(r.user_id, r.guild_id, r.kind, r.minutes_before) for r in rows]
            added, _now = await self._materialize(s, wanted, now)
            return added

    async def _materialize(
        self,
        s: AsyncSession,
        wanted: list[tuple[int, int | None, str, int]],
        now: datetime,
        *,
        revive: bool = False,
    ) -> tuple[int, int]:
        """Subscribe to each wanted kind's talks still to come: (how many, of which due now).

        With ``revive`` (the user asked for the kind again), reminders a stopped subscription to
        that kind cancelled come back; ones the user cancelled one by one stay cancelled.
        """
        if not wanted:
            return 0, 0
        talks_by_kind: dict[str, list[Talk]] = {}
        for talk in self._program.snapshot.talks:
            if talk.start > now:
                talks_by_kind.setdefault(talk.kind, []).append(talk)
        users = {u for u, _, _, _ in wanted}
        have: dict[int, set[str]] = {u: set() for u in users}
        counts: dict[int, int] = dict.fromkeys(users, 0)
        for user_id, entry_id, state in (
            await s.execute(
                select(Subscription.user_id, Subscription.entry_id, Subscription.state).where(
                    Subscription.user_id.in_(users)
                )
            )
        ).all():
            have[user_id].add(entry_id)
            if state == "active":
                counts[user_id] += 1
        stopped: dict[tuple[int, str], Subscription] = {}
        if revive:
            rows = await s.scalars(
                select(Subscription).where(
                    Subscription.user_id.in_(users),
                    Subscription.state == "cancelled",
                    Subscription.via_kind.in_({kind for _, _, kind, _ in wanted}),
                )
            )
            stopped = {(r.user_id, r.entry_id): r for r in rows}
        added = due_now = 0
        for user_id, guild_id, kind, lead in wanted:
            for talk in talks_by_kind.get(kind, []):
                if counts[user_id] >= self.cap:
                    break
                row = stopped.get((user_id, talk.id))
                if row is not None and row.via_kind == kind:
                    # A new send under the same row (the revision keys it apart from the old).
                    row.revision = (row.revision or 0) + 1
                    row.state = "active"
                    row.minutes_before = lead
                    row.due_at = due_time(talk, lead, now)
                elif talk.id in have[user_id]:
                    # Whatever the user did with a talk before (cancelled it, say) stands.
                    continue
                else:
                    s.add(
                        Subscription(
                            user_id=user_id,
                            guild_id=guild_id,
                            entry_id=talk.id,
                            minutes_before=lead,
                            due_at=due_time(talk, lead, now),
                            state="active",
                            via_kind=kind,
                            created_at=now,
                        )
                    )
                have[user_id].add(talk.id)
                counts[user_id] += 1
                added += 1
                due_now += due_time(talk, lead, now) == now
        return added, due_now

    async def list(self, user_id: int) -> tuple[list[Reminder], list[tuple[str, int]]]:
        """The user's reminders in program order, and their standing kind subscriptions."""
        snapshot = self._program.snapshot
        async with self._sessions() as s:
            subs = (
                await s.scalars(
                    select(Subscription)
                    .where(Subscription.user_id == user_id, Subscription.state != "cancelled")
                    .order_by(Subscription.due_at)
                )
            ).all()
            kinds = (
                await s.execute(
                    select(KindSubscription.kind, KindSubscription.minutes_before)
                    .where(KindSubscription.user_id == user_id)
                    .order_by(KindSubscription.kind)
                )
            ).all()
            sent = await self._sent_late(s, [sub.id for sub in subs if sub.state == "sent"])
        reminders = [
            Reminder(
                snapshot.by_id[sub.entry_id],
                sub.minutes_before,
                sub.due_at,
                sub.state,
                sub.via_kind,
                sent.get(sub.id),
            )
            for sub in subs
            if sub.entry_id in snapshot.by_id
        ]
        reminders.sort(key=lambda r: (r.talk.start, r.talk.title))
        return reminders, [(k, m) for k, m in kinds]

    @staticmethod
    async def _sent_late(s: AsyncSession, subscription_ids: Sequence[int]) -> dict[int, bool]:
        """Whether each subscription's last reminder went out late, from the delivery records
        (keyed ``reminder:<subscription id>:...``). Their ``sent_at`` is the database's clock,
        not the workshop's (a rehearsal runs on its own), so it is not shown."""
        found: dict[int, tuple[int, bool]] = {}
        for start in range(0, len(subscription_ids), 100):
            chunk = subscription_ids[start : start + 100]
            rows = await s.execute(
                select(Delivery.id, Delivery.key, Delivery.late).where(
                    Delivery.kind == "reminder",
                    Delivery.state == "sent",
                    or_(*(Delivery.key.startswith(f"reminder:{i}:") for i in chunk)),
                )
            )
            for row_id, key, late in rows.all():
                sub_id = int(key.split(":")[1])
                if sub_id not in found or row_id > found[sub_id][0]:
                    found[sub_id] = (row_id, bool(late))
        return {sub_id: late for sub_id, (_, late) in found.items()}

    async def is_subscribed(self, user_id: int, entry_id: str) -> bool:
        async with self._sessions() as s:
            state = await s.scalar(
                select(Subscription.state).where(
                    Subscription.user_id == user_id, Subscription.entry_id == entry_id
                )
            )
        return state == "active"

    async def cancel(self, user_id: int, entry_id: str) -> Talk:
        talk = self._program.snapshot.by_id.get(entry_id)
        async with self._sessions() as s, s.begin():
            result = await s.execute(
                update(Subscription)
                .where(
                    Subscription.user_id == user_id,
                    Subscription.entry_id == entry_id,
                    Subscription.state.in_(PENDING),
                )
                # The user's own choice: no kind subscription brings it back.
                .values(state="cancelled", via_kind=None)
            )
        if talk is None or not result.rowcount:  # type: ignore[attr-defined]
            raise UserFacingError("You have no reminder for that talk.")
        return talk

    async def stop(self, user_id: int, entry_ids: Sequence[str]) -> tuple[Talk, ...]:
        """Stop the user's reminders for these talks, sent ones included (so a moved talk does
        not remind them again); the talks that had one, in program order."""
        async with self._sessions() as s, s.begin():
            stopped = (
                await s.scalars(
                    update(Subscription)
                    .where(
                        Subscription.user_id == user_id,
                        Subscription.entry_id.in_(list(entry_ids)),
                        Subscription.state != "cancelled",
                    )
                    # The user's own choice: no kind subscription brings it back.
                    .values(state="cancelled", via_kind=None)
                    .returning(Subscription.entry_id)
                )
            ).all()
        by_id = self._program.snapshot.by_id
        talks = [by_id[i] for i in set(stopped) if i in by_id]
        return tuple(sorted(talks, key=lambda t: (t.start, t.title)))

    async def cancel_kind(self, user_id: int, kind: str) -> int:
        """Stop an "every <kind>" subscription and the reminders it made that are still to
        send; how many of those. Reminders the user asked for one by one stay."""
        async with self._sessions() as s, s.begin():
            gone = await s.execute(
                delete(KindSubscription).where(
                    KindSubscription.user_id == user_id, KindSubscription.kind == kind
                )
            )
            if not gone.rowcount:  # type: ignore[attr-defined]
                raise UserFacingError(f"You have no '{kind_label(kind).lower()}' subscription.")
            return await self._unmake(s, user_id, [kind])

    @staticmethod
    async def _unmake(s: AsyncSession, user_id: int, kinds: Sequence[str]) -> int:
        """Cancel the unsent reminders that kind subscriptions made, how many. They keep their
        ``via_kind``, so asking for the kind again brings them back (see ``_materialize``)."""
        if not kinds:
            return 0
        result = await s.execute(
            update(Subscription)
            .where(
                Subscription.user_id == user_id,
                Subscription.via_kind.in_(list(kinds)),
                Subscription.state.in_(PENDING),
            )
            .values(state="cancelled")
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def standing(self, user_id: int) -> Standing:
        """What "stop all" would stop, to ask before doing it."""
        async with self._sessions() as s:
            count = await s.scalar(
                select(func.count())
                .select_from(Subscription)
                .where(Subscription.user_id == user_id, Subscription.state.in_(PENDING))
            )
            kinds = await s.scalars(
                select(KindSubscription.kind)
                .where(KindSubscription.user_id == user_id)
                .order_by(KindSubscription.kind)
            )
            return Standing(int(count or 0), tuple(kinds.all()))

    async def off(self, user_id: int) -> Standing:
        """Stop every pending reminder and kind subscription of the user; what was stopped."""
        async with self._sessions() as s, s.begin():
            kinds = (
                await s.scalars(
                    delete(KindSubscription)
                    .where(KindSubscription.user_id == user_id)
                    .returning(KindSubscription.kind)
                )
            ).all()
            made = await self._unmake(s, user_id, kinds)
            result = await s.execute(
                update(Subscription)
                .where(Subscription.user_id == user_id, Subscription.state.in_(PENDING))
                .values(state="cancelled")
            )
            asked = int(result.rowcount or 0)  # type: ignore[attr-defined]
        return Standing(made + asked, tuple(sorted(kinds)))

    async def active_count(self) -> int:
        async with self._sessions() as s:
            return int(
                await s.scalar(
                    select(func.count())
                    .select_from(Subscription)
                    .where(Subscription.state == "active")
                )
                or 0
            )
