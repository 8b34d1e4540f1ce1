"""The people service without Discord (real database): links, claim codes, the speaker role."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.db.models import ClaimCode, Subscription
from bot.errors import UserFacingError
from bot.program.files import load_program
from bot.program.loader import load_program as load_into_db
from bot.services.people import (
    CODE_ALPHABET,
    WRONG_GUESSES,
    PeopleService,
    hash_code,
    new_code,
    normalize_code,
)
from bot.services.program import ProgramService
from bot.services.reminders import ReminderService
from tests.conftest import HAET_FILE
from tests.e2e.helpers import edt

FLASH = "poster-flashattention-fast-and-memory-efficient-exact"
GUILD = 1
PAYVAND = "keynote-melika-payvand"


@pytest.fixture
async def service(sessions: async_sessionmaker[AsyncSession]) -> PeopleService:
    clock = ManualClock(edt("09:10"))
    await load_into_db(sessions, load_program(HAET_FILE), clock.now())
    program = ProgramService(sessions)
    await program.refresh()
    return PeopleService(sessions, clock, program, ReminderService(sessions, clock, program))


def test_codes_are_unambiguous_and_forgive_dashes_and_case() -> None:
    code = new_code()
    assert len(normalize_code(code)) == 10 and code[5] == "-"
    assert set(normalize_code(code)) <= set(CODE_ALPHABET)
    assert not set("01IOL") & set(CODE_ALPHABET)
    assert hash_code(code.lower().replace("-", " ")) == hash_code(code)


async def test_people_autocomplete_and_resolve_forgive_case_and_accents(
    service: PeopleService,
) -> None:
    assert "Tri Dao" in service.people()
    assert service.complete("tri")[0] == "Tri Dao"
    assert "Tri Dao" in service.complete("dao")
    assert service.resolve("tri dao") == "Tri Dao"
    with pytest.raises(UserFacingError, match="Nobody in the program"):
        service.resolve("Nobody Here")


async def test_link_is_one_member_per_person_and_a_member_may_be_several(
    service: PeopleService,
) -> None:
    made = await service.link(GUILD, 10, "tri dao", by=99)
    assert made.person == "Tri Dao" and not made.already and made.talks
    # An organizer's link is an invitation: nothing is shown until the member accepts.
    assert made.pending
    assert await service.people_of(GUILD, 10) == []
    assert await service.members_for(GUILD, ["Tri Dao"]) == {}
    assert not await service.is_speaker(GUILD, 10, FLASH)
    assert (await service.link(GUILD, 10, "Tri Dao", by=99)).already
    with pytest.raises(UserFacingError, match="already linked to <@10>"):
        await service.link(GUILD, 11, "Tri Dao", by=99)
    await service.link(GUILD, 10, "Melika Payvand", by=99)
    assert await service.invitations(GUILD, 10) == ["Melika Payvand", "Tri Dao"]
    accepted = await service.accept(GUILD, 10)
    assert [r.person for r in accepted] == ["Melika Payvand", "Tri Dao"]
    assert await service.invitations(GUILD, 10) == [] and await service.accept(GUILD, 10) == []
    assert await service.people_of(GUILD, 10) == ["Melika Payvand", "Tri Dao"]
    assert await service.members_for(GUILD, ["Tri Dao", "Daniel Y Fu"]) == {"Tri Dao": 10}
    assert await service.members_for(2, ["Tri Dao"]) == {}  # another server: not linked
    assert await service.is_speaker(GUILD, 10, PAYVAND)
    assert not await service.is_speaker(GUILD, 11, PAYVAND)

    # A member removes only their own link; an organizer removes any.
    with pytest.raises(UserFacingError, match="You are not linked"):
        await service.unlink(GUILD, "Tri Dao", user_id=11)
    gone = await service.unlink(GUILD, "tri dao", user_id=10)
    assert gone.person == "Tri Dao"
    await service.link(GUILD, 11, "Tri Dao", by=99)
    assert (await service.unlink(GUILD, "Tri Dao")).user_id == 11
    assert await service.unlink_all(GUILD, 10) == ["Melika Payvand"]
    assert await service.links(GUILD) == []


async def test_claim_codes_are_stored_hashed_work_once_and_skip_linked_people(
    service: PeopleService, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await service.link(GUILD, 10, "Melika Payvand", by=99)
    issued = await service.make_codes()
    people = {c.person for c in issued}
    assert "Tri Dao" in people and "Melika Payvand" not in people
    assert len(people) == len(issued) == len(service.people()) - 1
    async with sessions() as s:
        stored = set(await s.scalars(select(ClaimCode.code_hash)))
    codes = {c.person: c.code for c in issued}
    assert normalize_code(codes["Tri Dao"]) not in str(stored)
    assert hash_code(codes["Tri Dao"]) in stored

    result = await service.redeem(GUILD, 20, codes["Tri Dao"].lower())
    assert result.person == "Tri Dao" and result.talks
    assert await service.members_for(GUILD, ["Tri Dao"]) == {"Tri Dao": 20}
    with pytest.raises(UserFacingError, match="You already used that code"):
        await service.redeem(GUILD, 20, codes["Tri Dao"])
    with pytest.raises(UserFacingError, match="already used"):
        await service.redeem(GUILD, 21, codes["Tri Dao"])

    # A new code for a person replaces their unused one.
    [again] = await service.make_codes(["daniel y fu"])
    with pytest.raises(UserFacingError, match="not one I know"):
        await service.redeem(GUILD, 22, codes["Daniel Y Fu"])
    assert (await service.redeem(GUILD, 22, again.code)).person == "Daniel Y Fu"


async def test_a_code_redeemed_twice_at_once_links_one_member(service: PeopleService) -> None:
    [issued] = await service.make_codes(["Tri Dao"])
    results = await asyncio.gather(
        service.redeem(GUILD, 30, issued.code),
        service.redeem(GUILD, 31, issued.code),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert len(await service.links(GUILD)) == 1


async def test_wrong_guesses_are_rate_limited_per_member(service: PeopleService) -> None:
    [issued] = await service.make_codes(["Tri Dao"])
    for _ in range(WRONG_GUESSES):
        with pytest.raises(UserFacingError, match="not one I know"):
            await service.redeem(GUILD, 40, "AAAAA-AAAAA")
    with pytest.raises(UserFacingError, match="Too many wrong codes"):
        await service.redeem(GUILD, 40, issued.code)  # even the right one, for now
    assert (await service.redeem(GUILD, 41, issued.code)).person == "Tri Dao"


async def test_speaker_role_is_set_changed_and_cleared(service: PeopleService) -> None:
    assert await service.speaker_role(GUILD) is None
    await service.set_speaker_role(GUILD, 500, by=99)
    await service.set_speaker_role(GUILD, 501, by=99)
    assert await service.speaker_role(GUILD) == 501
    await service.set_speaker_role(GUILD, None, by=99)
    assert await service.speaker_role(GUILD) is None


async def test_author_reminders_are_made_on_link_and_stopped_on_unlink(
    service: PeopleService, sessions: async_sessionmaker[AsyncSession]
) -> None:
    flash = "poster-flashattention-fast-and-memory-efficient-exact"
    await service.link(GUILD, 10, "Tri Dao", by=99)
    await service.accept(GUILD, 10)
    made = await service.remind_author(GUILD, 10, "Tri Dao")
    assert [t.id for t in made.talks] == [flash] and not made.sending_now
    assert (await service.remind_author(GUILD, 10, "Tri Dao")).talks == []  # one is enough
    talk = service._program.snapshot.by_id[flash]
    assert await service.presenting(10, [talk]) == [talk]
    assert await service.presenting(11, [talk]) == []

    # A second name on the same poster keeps the reminder when the first goes.
    await service.link(GUILD, 10, "Daniel Y Fu", by=99)
    await service.accept(GUILD, 10)
    await service.unlink(GUILD, "Tri Dao")
    async with sessions() as s:
        state = await s.scalar(select(Subscription.state).where(Subscription.user_id == 10))
    assert state == "active"
    await service.unlink_all(GUILD, 10)
    async with sessions() as s:
        state = await s.scalar(select(Subscription.state).where(Subscription.user_id == 10))
    assert state == "cancelled"
