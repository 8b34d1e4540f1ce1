"""/agenda through the local Discord: the reminded talks in order, clashes, and agenda.ics."""

from __future__ import annotations

import pytest
from icalendar import Calendar

from bot.clock import ManualClock
from bot.local import LocalDiscord
from tests.e2e.helpers import edt
from tests.e2e.test_organizers import settle

PAYVAND = "keynote-melika-payvand"
KELLER = "keynote-alexander-keller"
POSTER_A = "poster-a-28nm-8-bit-floating-point-cnn-training"
POSTER_B = "poster-cut-inner-layers-a-structured-pruning-strategy"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(edt("08:30"))


async def test_agenda_of_three_reminders_attaches_an_ics_with_the_same_three_instants(
    local: LocalDiscord, clock: ManualClock
) -> None:
    alice = local.sim.add_user("alice")
    for entry in ("panel", KELLER, PAYVAND):
        await alice.slash("remind talk", title=entry)
    # A sent reminder stays in the agenda (the talk is still to come).
    clock.set(edt("08:50"))
    await settle(local)
    await local.sim.wait_for_message(dm_of=alice, predicate=lambda m: m["content"].startswith("⏰"))

    answer = await alice.slash("agenda")
    assert answer.ephemeral
    [embed] = answer.embeds
    assert embed["title"] == "Your agenda for HAET 2022"
    description = embed["description"]
    order = [description.index(t) for t in ("Brain-inspired", "How Computer Graphics", "**Panel**")]
    assert order == sorted(order)
    assert "overlaps" not in description  # back to back is not a clash

    blob = answer.attachments["agenda.ics"]
    assert blob.startswith(b"BEGIN:VCALENDAR\r\n")
    events = list(Calendar.from_ical(blob).walk("VEVENT"))
    assert local.services is not None
    by_id = local.services.program.snapshot.by_id
    assert sorted(e["DTSTART"].dt for e in events) == sorted(
        by_id[i].start for i in (PAYVAND, KELLER, "panel")
    )
    assert {str(e["UID"]) for e in events} == {
        f"{i}@haet-2022.workshop-bot" for i in (PAYVAND, KELLER, "panel")
    }


async def test_agenda_flags_overlapping_talks(local: LocalDiscord) -> None:
    alice = local.sim.add_user("alice")
    await alice.slash("remind talk", title=POSTER_A)
    await alice.slash("remind talk", title=POSTER_B)
    await alice.slash("remind talk", title="poster-session-i")
    description = (await alice.slash("agenda")).embeds[0]["description"]
    assert description.count("⚠ overlaps with") == 2
    # A poster does not clash with its own session, only with the other poster.
    assert "⚠ overlaps with “Cut Inner Layers" in description
    assert "⚠ overlaps with “A 28nm 8-bit" in description
    assert "overlaps with “Poster session I" not in description


async def test_an_empty_agenda_says_how_to_fill_it(local: LocalDiscord) -> None:
    bob = local.sim.add_user("bob")
    answer = await bob.slash("agenda")
    assert answer.ephemeral and answer.attachments == {}
    assert "Your agenda is empty" in (answer.content or "")
