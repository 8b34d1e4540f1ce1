"""The questions service without Discord (real database), and a rehearsal in the playground."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.db.models import QuestionVote
from bot.errors import UserFacingError
from bot.program.files import load_program
from bot.program.loader import load_program as load_into_db
from bot.services.program import ProgramService
from bot.services.questions import QUESTION_MAX, QuestionService
from tests.conftest import HAET_FILE
from tests.e2e.helpers import edt
from tests.test_playground import play

GUILD = 1
PAYVAND = "keynote-melika-payvand"


@pytest.fixture
async def service(sessions: async_sessionmaker[AsyncSession]) -> QuestionService:
    clock = ManualClock(edt("09:10"))
    await load_into_db(sessions, load_program(HAET_FILE), clock.now())
    program = ProgramService(sessions)
    await program.refresh()
    return QuestionService(sessions, clock, program)


def clock_of(service: QuestionService) -> ManualClock:
    clock = service._clock
    assert isinstance(clock, ManualClock)
    return clock


async def test_votes_toggle_once_per_member_and_list_by_votes_then_age(
    service: QuestionService,
) -> None:
    first = await service.ask(GUILD, 10, PAYVAND, "First?")
    second = await service.ask(GUILD, 11, PAYVAND, "Second?")
    third = await service.ask(GUILD, 12, PAYVAND, "Third?")
    for voter in (20, 21):
        await service.toggle_vote(third.id, voter, GUILD)
    await service.toggle_vote(second.id, 20, GUILD)
    listed = await service.list(GUILD, PAYVAND)
    assert [(q.id, q.votes) for q in listed] == [(third.id, 2), (second.id, 1), (first.id, 0)]

    # A double click changes nothing; a click later takes the vote back.
    again = await service.toggle_vote(second.id, 20, GUILD)
    assert again.voted and not again.changed and again.question.votes == 1
    clock_of(service).advance(timedelta(seconds=3))
    back = await service.toggle_vote(second.id, 20, GUILD)
    assert not back.voted and back.changed and back.question.votes == 0

    with pytest.raises(UserFacingError, match="your own question"):
        await service.toggle_vote(first.id, 10, GUILD)
    with pytest.raises(UserFacingError):
        await service.toggle_vote(first.id, 20, GUILD + 1)  # another server's question

    # Answered ones go last; removed ones leave the list.
    await service.mark_answered(third.id, 99, GUILD, organizer=True)
    await service.remove(first.id, 10, GUILD, organizer=False)  # its author withdraws it
    listed = await service.list(GUILD, PAYVAND)
    assert [(q.id, q.answered) for q in listed] == [(second.id, False), (third.id, True)]


async def test_clicks_at_once_count_once(
    service: QuestionService, sessions: async_sessionmaker[AsyncSession]
) -> None:
    q = await service.ask(GUILD, 10, PAYVAND, "Concurrent?")
    results = await asyncio.gather(*(service.toggle_vote(q.id, 20, GUILD) for _ in range(5)))
    assert all(r.voted for r in results)
    assert sum(r.changed for r in results) == 1
    async with sessions() as s:
        rows = await s.scalar(select(func.count()).select_from(QuestionVote))
    assert rows == 1
    assert (await service.get(q.id)).votes == 1


async def test_refusals_and_who_may_moderate(service: QuestionService) -> None:
    with pytest.raises(UserFacingError, match="empty"):
        await service.ask(GUILD, 10, PAYVAND, " \n\t ")
    with pytest.raises(UserFacingError, match=f"keep it to {QUESTION_MAX}"):
        await service.ask(GUILD, 10, PAYVAND, "x" * (QUESTION_MAX + 1))
    q = await service.ask(GUILD, 10, PAYVAND, "Why\nspikes?")
    assert q.text == "Why spikes?"
    with pytest.raises(UserFacingError, match="already asked"):
        await service.ask(GUILD, 10, PAYVAND, "why   SPIKES?")
    with pytest.raises(UserFacingError, match="nobody to ask"):
        await service.ask(GUILD, 10, "lunch", "Coffee?")
    with pytest.raises(UserFacingError, match="Only the session chair"):
        await service.mark_answered(q.id, 20, GUILD, organizer=False)
    with pytest.raises(UserFacingError, match="Only its author or the organizers"):
        await service.remove(q.id, 20, GUILD, organizer=False)
    answered = await service.mark_answered(q.id, 99, GUILD, organizer=True)
    assert answered.answered and answered.answered_by == 99
    reopened = await service.mark_answered(q.id, 99, GUILD, organizer=True, answered=False)
    assert not reopened.answered
    clock_of(service).set(edt("10:31"))  # the keynote ended at 09:30: an hour later, closed
    with pytest.raises(UserFacingError, match="is over"):
        await service.ask(GUILD, 11, PAYVAND, "Too late?")


async def test_the_playground_rehearses_a_question_and_its_upvote(tmp_path: Path) -> None:
    out = await play(
        tmp_path,
        [
            "as aiko",
            '/ask talk:panel question:"Will analog compute ever ship? @everyone"',
            "as bob",
            "click Upvote (0)",
            "as olga organizer",
            "/questions talk:panel",
            "pick Mark answered… > 1",
        ],
    )
    assert (
        "❓ Question for *Panel* from @aiko:\n> Will analog compute ever ship? @\u200beveryone"
        in out
    )
    assert "[ 👍 Upvote (1) ]" in out
    assert "✅ **1** 👍 Will analog compute ever ship?" in out
