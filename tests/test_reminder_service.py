"""ReminderService without Discord: due times inside the lead, kind subscriptions stopped and
asked for again, and what "stop all" counts (issue 13, items 4, 5 and 9)."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.db.models import Subscription
from bot.program.files import load_program as read_program
from bot.program.loader import load_program
from bot.services.program import ProgramService
from bot.services.reminders import ReminderService, Standing
from tests.conftest import HAET_FILE

PAYVAND = "keynote-melika-payvand"  # 09:00 EDT
KELLER = "keynote-alexander-keller"  # 09:30 EDT


def edt(hhmm: str) -> datetime:
    return datetime.fromisoformat(f"2022-07-23T{hhmm}:00-04:00")


@pytest.fixture
async def service(sessions: async_sessionmaker[AsyncSession]) -> ReminderService:
    clock = ManualClock(edt("08:30"))
    await load_program(sessions, read_program(HAET_FILE), clock.now())
    program = ProgramService(sessions)
    await program.refresh()
    return ReminderService(sessions, clock, program)


def clock_of(service: ReminderService) -> ManualClock:
    clock = service._clock
    assert isinstance(clock, ManualClock)
    return clock


async def states(
    sessions: async_sessionmaker[AsyncSession], user_id: int
) -> dict[str, tuple[str, str | None]]:
    async with sessions() as s:
        rows = await s.execute(
            select(Subscription.entry_id, Subscription.state, Subscription.via_kind).where(
                Subscription.user_id == user_id
            )
        )
        return {entry: (state, via) for entry, state, via in rows.all()}


async def test_a_reminder_asked_for_inside_its_lead_is_due_now_not_in_the_past(
    service: ReminderService,
) -> None:
    clock_of(service).set(edt("08:52"))
    inside = await service.subscribe(1, PAYVAND, 10)
    assert inside.sending_now and inside.due_at == edt("08:52")
    outside = await service.subscribe(1, KELLER, 10)
    assert not outside.sending_now and outside.due_at == edt("09:20")
    # A new lead that reaches back past now: due now as well.
    changed = await service.subscribe(1, KELLER, 45)
    assert changed.changed_lead and changed.sending_now and changed.due_at == edt("08:52")

    kinds = await service.subscribe_kind(2, "keynote", 10)
    assert (kinds.added, kinds.sending_now) == (6, 1)
    reminders, _ = await service.list(2)
    due = {r.talk.id: r.due_at for r in reminders}
    assert due[PAYVAND] == edt("08:52") and due[KELLER] == edt("09:20")


async def test_stopping_an_every_kind_leaves_ones_asked_for_and_asking_again_brings_it_back(
    service: ReminderService, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await service.subscribe_kind(1, "keynote", 10)
    await service.subscribe(1, "panel", 10)
    await service.stop(1, [KELLER])  # one of the keynotes, stopped by hand
    assert await service.standing(1) == Standing(reminders=6, kinds=("keynote",))

    assert await service.cancel_kind(1, "keynote") == 5
    rows = await states(sessions, 1)
    assert rows["panel"] == ("active", None)
    assert rows[KELLER] == ("cancelled", None)
    assert rows[PAYVAND] == ("cancelled", "keynote")

    # Asked for again: what the subscription made comes back; Keller, stopped by hand, not.
    again = await service.subscribe_kind(1, "keynote", 5)
    assert again.added == 5
    rows = await states(sessions, 1)
    assert rows[PAYVAND] == ("active", "keynote") and rows[KELLER] == ("cancelled", None)
    reminders, _ = await service.list(1)
    assert {r.talk.id: r.due_at for r in reminders}[PAYVAND] == edt("08:55")

    stopped = await service.off(1)
    assert stopped == Standing(reminders=6, kinds=("keynote",))
    assert await service.standing(1) == Standing(reminders=0, kinds=())
    assert await service.off(1) == Standing(reminders=0, kinds=())
