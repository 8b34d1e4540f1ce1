"""What /status reports from the database: reminders, deliveries and noted problems."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import BotEvent, Delivery, Subscription

PROBLEMS_SHOWN = 5
#: Discord's code for "Cannot send messages to this user": the member's own privacy setting
#: (DMs from server members off, or the bot blocked), which no retry or organizer can change.
DMS_CLOSED_CODE = "(50007)"


@dataclass(frozen=True, slots=True)
class Problem:
    message: str
    created_at: datetime
    new: bool  # not shown by /status before (since this process started)


@dataclass(frozen=True, slots=True)
class StatusCounts:
    reminders_pending: int  # active subscriptions
    reminders_sent: int
    reminders_undeliverable: int
    deliveries_sent: int
    deliveries_failed: int  # errors: not counting messages to members whose DMs are closed
    deliveries_dms_closed: int  # DMs Discord refused by the member's privacy setting
    queued_waiting: int  # one-off notices (announcements, DMs) not sent yet
    problems: tuple[Problem, ...]
    problems_total: int


class StatusService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        # Problems up to this id were shown already: later ones are flagged as new.
        self._seen_upto = 0

    async def counts(self) -> StatusCounts:
        async with self._sessions() as s:
            subs = dict(
                (
                    await s.execute(
                        select(Subscription.state, func.count()).group_by(Subscription.state)
                    )
                ).all()
            )
            deliveries = dict(
                (
                    await s.execute(select(Delivery.state, func.count()).group_by(Delivery.state))
                ).all()
            )
            dms_closed = await s.scalar(
                select(func.count())
                .select_from(Delivery)
                .where(
                    and_(
                        Delivery.state == "failed",
                        Delivery.error.contains(DMS_CLOSED_CODE, autoescape=True),
                    )
                )
            )
            waiting = await s.scalar(
                select(func.count())
                .select_from(Delivery)
                .where(Delivery.kind == "notice", Delivery.state.in_(("pending", "retry")))
            )
            total = await s.scalar(select(func.count()).select_from(BotEvent))
            rows = (
                await s.execute(
                    select(BotEvent.id, BotEvent.message, BotEvent.created_at)
                    .order_by(BotEvent.id.desc())
                    .limit(PROBLEMS_SHOWN)
                )
            ).all()
        problems = tuple(Problem(r.message, r.created_at, r.id > self._seen_upto) for r in rows)
        if rows:
            self._seen_upto = max(self._seen_upto, rows[0].id)
        return StatusCounts(
            reminders_pending=int(subs.get("active", 0)),
            reminders_sent=int(subs.get("sent", 0)),
            reminders_undeliverable=int(subs.get("undeliverable", 0)),
            deliveries_sent=int(deliveries.get("sent", 0)),
            deliveries_failed=int(deliveries.get("failed", 0)) - int(dms_closed or 0),
            deliveries_dms_closed=int(dms_closed or 0),
            queued_waiting=int(waiting or 0),
            problems=problems,
            problems_total=int(total or 0),
        )
