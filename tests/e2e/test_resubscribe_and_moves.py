"""Issue 12, items 3-6, as members and organizers see them, through the local Discord.

3. Subscribing again after an undeliverable (DMs closed) or sent reminder sends it, and the
   engine does not then look every second at a reminder it can never send.
4. A talk moved after its reminder went out: the notice tells the truth, and a new reminder
   comes before the new time.
5. A 2,000-character title (valid in a program file) does not break the reminder DM; a refusal
   other than "DMs closed" is shown as what it is.
6. A deleted announcement channel (404, 10003) is reported once, not once per post.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from bot.clock import Clock, ManualClock, RehearsalClock
from bot.db.models import BotEvent, Delivery, Subscription
from bot.delivery.engine import DeliveryEngine
from bot.local import LocalDiscord
from bot.settings import Settings
from bot.simulator import SimUser
from tests.conftest import HAET_FILE
from tests.e2e.conftest import FAST_LIMITS
from tests.e2e.helpers import at, edt, settle
from tests.e2e.test_organizers import organizer

PAYVAND = "keynote-melika-payvand"
KELLER = "keynote-alexander-keller"
PAYVAND_TITLE = (
    "Brain-inspired hardware and algorithm co-design for low power online training on the edge"
)
REFUSED_DM = "it could not be delivered, because Discord refused the message."
CLOSED_DMS = "it could not be delivered, because your DMs are closed."
#: A sent reminder's line in /remind list ("✅ **Title**: sent at 08:50, for the ...").
SENT = "**: sent "
#: Subscribing inside the lead (after 08:50 for 10 min before 09:00): sent at once.
SENDING_NOW = "so I'm sending your reminder now."
#: The longest title a program file may give (bot/program/model.py).
LONG_TITLE = ("Brain-inspired hardware and algorithm co-design, " * 41)[:1999] + "!"
assert len(LONG_TITLE) == 2000


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> Clock:
    """08:30 on a manual clock; ``parametrize("clock", [moment], indirect=True)`` gives a
    real-speed rehearsal from ``moment`` instead (to see what the engine does in real time)."""
    moment = getattr(request, "param", None)
    if moment is not None:
        return RehearsalClock(moment, speed=1.0)
    return ManualClock(edt("08:30"))


@pytest.fixture
def program_copy(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """The organizer's copy of the HAET program; ``parametrize("program_copy", [title],
    indirect=True)`` gives Payvand's keynote that title."""
    text = HAET_FILE.read_text(encoding="utf-8")
    title = getattr(request, "param", None)
    if title is not None:
        assert f"  title: {PAYVAND_TITLE}\n" in text
        text = text.replace(f"  title: {PAYVAND_TITLE}\n", f"  title: '{title}'\n")
    copy = tmp_path / "program.yaml"
    copy.write_text(text, encoding="utf-8")
    return copy


@pytest.fixture
def settings(database_url: str, program_copy: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        program_file=program_copy,
        discord_token="sim-token",
        claim_lease_seconds=0.5,
    )


def reminder_dms(user: SimUser) -> list[dict]:
    return [m for m in user.dms if m["content"].startswith("⏰")]


def moved_dms(user: SimUser) -> list[dict]:
    return [m for m in user.dms if m["content"].startswith("📅")]


def engine_of(local: LocalDiscord) -> DeliveryEngine:
    assert local.services is not None and local.services.engine is not None
    return local.services.engine


def payvand_times(start: str, end: str) -> str:
    return (
        f"  start: '2022-07-23T{start}:00-04:00'\n  end: '2022-07-23T{end}:00-04:00'\n"
        "  people:\n  - Melika Payvand"
    )


def move_payvand(program_copy: Path, now: tuple[str, str], to: tuple[str, str]) -> None:
    """The organizer edits the file: Payvand's keynote, now at ``now``, runs ``to`` (EDT)."""
    text = program_copy.read_text(encoding="utf-8")
    assert payvand_times(*now) in text
    program_copy.write_text(text.replace(payvand_times(*now), payvand_times(*to)), encoding="utf-8")


async def remind_list(user: SimUser) -> str:
    answer = await user.slash("remind list")
    assert answer.ephemeral
    return answer.text()


def assert_not_looking_every_second(local: LocalDiscord, clock: Clock) -> None:
    """Nothing is left to send: the engine has no due time (the old engine looked again one
    second later, for ever, at a reminder it could never send)."""
    next_due = engine_of(local).stats.next_due
    assert next_due is None, f"the engine will look again at {next_due} (now {clock.now()})"


# -- 3: subscribing again after an undeliverable or sent reminder -------------------------------


async def test_subscribing_again_after_opening_dms_sends_the_reminder(
    local: LocalDiscord, clock: ManualClock
) -> None:
    bob = local.sim.add_user("bob", dms_open=False)
    first = await bob.slash("remind talk", title=PAYVAND)
    assert "I couldn't send you a DM" in first.text()

    await at(local, clock, edt("08:50"))
    assert bob.dms == []
    listing = await remind_list(bob)
    assert CLOSED_DMS in listing and PAYVAND_TITLE in listing

    # Bob opens his DMs and asks again, with the same lead (so the same due time, 08:50).
    local.sim.faults.close_dms(bob, closed=False)
    clock.set(edt("08:50") + timedelta(seconds=20))
    again = await bob.slash("remind talk", title=PAYVAND)
    assert f"Reminder set for “{PAYVAND_TITLE}”" in again.text() and SENDING_NOW in again.text()
    await settle(local)
    [dm] = reminder_dms(bob)
    assert f"**{PAYVAND_TITLE}**" in dm["content"] and "09:00 EDT" in dm["content"]
    assert "Sent late" not in dm["content"]
    listing = await remind_list(bob)
    assert SENT in listing and "could not be delivered" not in listing
    assert_not_looking_every_second(local, clock)
    status = (await organizer(local.sim).slash("status")).text()
    assert "Next due: nothing scheduled" in status
    assert "Reminders: 0 pending · 1 sent · 0 not delivered (DMs closed)" in status

    # Later passes send nothing more.
    await at(local, clock, edt("08:55"))
    await at(local, clock, edt("09:20"))
    assert len(reminder_dms(bob)) == 1


async def test_subscribing_again_after_a_sent_reminder_sends_another(
    local: LocalDiscord, clock: ManualClock
) -> None:
    alice = local.sim.add_user("alice")
    await alice.slash("remind talk", title=PAYVAND)
    await at(local, clock, edt("08:50"))
    assert len(reminder_dms(alice)) == 1
    assert SENT in await remind_list(alice)

    clock.set(edt("08:50") + timedelta(seconds=30))
    again = await alice.slash("remind talk", title=PAYVAND)
    assert f"Reminder set for “{PAYVAND_TITLE}”" in again.text() and SENDING_NOW in again.text()
    await settle(local)
    # What she was promised arrives: a second reminder, once.
    assert len(reminder_dms(alice)) == 2
    assert SENT in await remind_list(alice)
    assert_not_looking_every_second(local, clock)
    await at(local, clock, edt("08:55"))
    assert len(reminder_dms(alice)) == 2


async def test_a_reminder_left_active_with_a_final_delivery_is_settled_not_polled(
    local: LocalDiscord, clock: ManualClock
) -> None:
    """What the version before the fix left in the database when a member subscribed again
    after DMs closed: an active subscription whose delivery (same key) is final. The engine
    shows it as undeliverable instead of looking at it every second for ever."""
    assert local.services is not None
    bob = local.sim.add_user("bob")
    due = edt("08:50")
    async with local.services.sessions() as s, s.begin():
        sub_id = (
            await s.execute(
                insert(Subscription)
                .values(
                    user_id=bob.id,
                    entry_id=PAYVAND,
                    minutes_before=10,
                    due_at=due,
                    state="active",
                    created_at=edt("08:00"),
                )
                .returning(Subscription.id)
            )
        ).scalar_one()
        await s.execute(
            insert(Delivery).values(
                key=f"reminder:{sub_id}:{due.astimezone(UTC):%Y%m%dT%H%M%SZ}",
                kind="reminder",
                due_at=due,
                state="failed",
                attempts=1,
                error="the user does not accept DMs (50007)",
            )
        )
    await at(local, clock, edt("08:50") + timedelta(seconds=10))
    assert bob.dms == []
    assert CLOSED_DMS in await remind_list(bob)
    assert_not_looking_every_second(local, clock)

    # Asking again now works as for anyone.
    clock.set(edt("08:51"))
    await bob.slash("remind talk", title=PAYVAND)
    await settle(local)
    assert len(reminder_dms(bob)) == 1
    assert SENT in await remind_list(bob)


@pytest.mark.slow  # waits out real leases or seconds (run by CI)
@pytest.mark.parametrize("clock", [edt("08:49") + timedelta(seconds=58)], indirect=True)
async def test_after_subscribing_again_the_engine_does_not_run_a_pass_every_second(
    local: LocalDiscord, clock: RehearsalClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real time: the member's closed DMs refuse the 08:50 reminder; they open them and ask
    again; the reminder goes, and the engine then rests (the old one ran a pass every second)."""
    engine = engine_of(local)
    passes: list[float] = []
    process_due = engine.process_due

    async def counted() -> datetime | None:
        passes.append(time.monotonic())
        return await process_due()

    monkeypatch.setattr(engine, "process_due", counted)
    bob = local.sim.add_user("bob", dms_open=False)
    await bob.slash("remind talk", title=PAYVAND)

    async def state() -> str | None:
        assert local.services is not None
        async with local.services.sessions() as s:
            return await s.scalar(select(Subscription.state).where(Subscription.user_id == bob.id))

    deadline = time.monotonic() + 5
    while await state() != "undeliverable":
        assert time.monotonic() < deadline, "the 08:50 reminder was never tried"
        await asyncio.sleep(0.05)
    local.sim.faults.close_dms(bob, closed=False)
    again = await bob.slash("remind talk", title=PAYVAND)
    assert SENDING_NOW in again.text()  # 08:50 or after: inside the 10 min lead
    await settle(local)  # the pass the subscription asked for (it sends the reminder)

    rested_from = time.monotonic()
    await asyncio.sleep(2.5)
    later = [t for t in passes if t > rested_from]
    assert later == [], f"{len(later)} delivery passes in 2.5 s with nothing left to send"
    assert len(reminder_dms(bob)) == 1
    assert engine.stats.next_due is None


# -- 4: a talk moved after its reminder was sent ------------------------------------------------


async def test_a_talk_moved_after_its_reminder_was_sent_reminds_again_before_the_new_time(
    local: LocalDiscord, clock: ManualClock, program_copy: Path
) -> None:
    sim = local.sim
    olga = organizer(sim)
    alice = sim.add_user("alice")  # 10 min before: sent at 08:50
    carol = sim.add_user("carol")  # 5 min before: still to come when the talk moves
    await alice.slash("remind talk", title=PAYVAND)
    await carol.slash("remind talk", title=PAYVAND, minutes_before=5)
    await at(local, clock, edt("08:50"))
    assert len(reminder_dms(alice)) == 1 and reminder_dms(carol) == []

    # The engine at rest when the reload starts: a pass falling between the load's commit and
    # the program's refresh is test_a_pass_between_the_load_and_the_program_refresh_...'s case.
    await at(local, clock, edt("08:52"))
    move_payvand(program_copy, ("09:00", "09:30"), ("09:30", "10:00"))
    answer = await olga.slash("program reload")
    assert "Program reloaded: 0 added, 1 updated (1 moved)" in answer.text()
    await settle(local)

    [told_alice] = moved_dms(alice)
    assert "has moved: it now starts" in told_alice["content"]
    assert "09:30 EDT" in told_alice["content"]
    assert (
        "You had your reminder already; I'll remind you again 10 min before the new time."
        in told_alice["content"]
    )
    assert "moves with it" not in told_alice["content"]
    [told_carol] = moved_dms(carol)
    assert "09:30 EDT" in told_carol["content"]
    assert "Your reminder moves with it." in told_carol["content"]
    assert "You had your reminder already" not in told_carol["content"]
    listing = await remind_list(alice)
    assert "⏰" in listing and SENT not in listing

    # Nothing at the old times; each gets one reminder before the new start.
    await at(local, clock, edt("08:55"))
    await at(local, clock, edt("09:19") + timedelta(seconds=59))
    assert len(reminder_dms(alice)) == 1 and reminder_dms(carol) == []
    await at(local, clock, edt("09:20"))
    assert len(reminder_dms(alice)) == 2
    assert "09:30 EDT" in reminder_dms(alice)[1]["content"]
    assert "Sent late" not in reminder_dms(alice)[1]["content"]
    await at(local, clock, edt("09:25"))
    [carols] = reminder_dms(carol)
    assert "09:30 EDT" in carols["content"]
    await at(local, clock, edt("09:40"))
    assert len(reminder_dms(alice)) == 2 and len(reminder_dms(carol)) == 1
    assert len(moved_dms(alice)) == 1 and len(moved_dms(carol)) == 1
    assert SENT in await remind_list(alice)


#: Five DMs to one member within a few real seconds: Discord's per-channel limit (5 per 5 s)
#: would make discord.py wait it out; the workshop's hours pass in a second here.
@pytest.mark.parametrize("rate_limits", [FAST_LIMITS])
async def test_moved_twice_after_the_reminder_tells_the_truth_each_time_and_reminds_once_more(
    local: LocalDiscord, clock: ManualClock, program_copy: Path
) -> None:
    assert local.services is not None and local.services.reloader is not None
    reloader = local.services.reloader
    alice = local.sim.add_user("alice")
    await alice.slash("remind talk", title=PAYVAND)
    await at(local, clock, edt("08:50"))
    assert len(reminder_dms(alice)) == 1

    # Moved to 09:30 (her reminder re-armed for 09:20), then again to 10:15 before 09:20.
    await at(local, clock, edt("08:52"))
    move_payvand(program_copy, ("09:00", "09:30"), ("09:30", "10:00"))
    await reloader.reload(program_copy)
    await settle(local)
    await at(local, clock, edt("09:00"))
    move_payvand(program_copy, ("09:30", "10:00"), ("10:15", "10:45"))
    report = await reloader.reload(program_copy)
    assert len(report.moved) == 1
    await settle(local)

    first, second = moved_dms(alice)
    assert "09:30 EDT" in first["content"]
    assert "You had your reminder already; I'll remind you again" in first["content"]
    assert "10:15 EDT" in second["content"]
    assert "Your reminder moves with it." in second["content"]

    await at(local, clock, edt("09:20"))
    assert len(reminder_dms(alice)) == 1
    await at(local, clock, edt("10:05"))
    assert len(reminder_dms(alice)) == 2
    assert "10:15 EDT" in reminder_dms(alice)[1]["content"]
    await at(local, clock, edt("10:30"))
    assert len(reminder_dms(alice)) == 2 and len(moved_dms(alice)) == 2


# -- 5: a 2,000-character title; refusals told as what they are ---------------------------------


@pytest.mark.parametrize("program_copy", [LONG_TITLE], indirect=True)
async def test_a_2000_character_title_is_reminded_and_announced(
    local: LocalDiscord, clock: ManualClock
) -> None:
    sim = local.sim
    olga = organizer(sim)
    await olga.slash("setup channel", kind="default", options={"channel": "announcements"})
    alice = sim.add_user("alice")
    answer = await alice.slash("remind talk", title=PAYVAND)
    assert answer.ephemeral and LONG_TITLE[:100] in answer.text()

    await at(local, clock, edt("08:50"))
    [dm] = reminder_dms(alice)
    assert len(dm["content"]) <= 2000
    assert LONG_TITLE[:250] in dm["content"]
    assert "09:00 EDT" in dm["content"]
    assert dm["embeds"] == []  # short: the card is a button away
    listing = await remind_list(alice)
    assert SENT in listing and "could not be delivered" not in listing

    await at(local, clock, edt("09:00"))
    post = await sim.wait_for_message(
        "announcements",
        predicate=lambda m: bool(m["embeds"]) and "co-design" in m["embeds"][0]["title"],
    )
    assert len(post["content"]) <= 2000
    assert not sim.violations


async def test_a_dm_refused_for_another_reason_than_closed_dms_is_shown_as_refused(
    local: LocalDiscord, clock: ManualClock
) -> None:
    sim = local.sim
    alice = sim.add_user("alice")
    bob = sim.add_user("bob", dms_open=False)
    await alice.slash("remind talk", title=PAYVAND)
    await bob.slash("remind talk", title=PAYVAND, minutes_before=5)
    # Alice's reminder is refused once for a reason that is not her privacy settings.
    sim.faults.fail_requests(
        403,
        count=1,
        route="POST /channels/{channel_id}/messages",
        code=50278,
        message="Cannot send messages to this user due to having no mutual guilds",
    )
    await at(local, clock, edt("08:50"))
    assert reminder_dms(alice) == []
    alices = await remind_list(alice)
    assert REFUSED_DM in alices and "DMs are closed" not in alices

    # Bob's, at 08:55, meets his closed DMs: told as such. Alice's is not tried again.
    await at(local, clock, edt("08:55"))
    assert bob.dms == [] and reminder_dms(alice) == []
    bobs = await remind_list(bob)
    assert CLOSED_DMS in bobs and "refused" not in bobs
    assert REFUSED_DM in await remind_list(alice)
    assert_not_looking_every_second(local, clock)


# -- 6: a deleted announcement channel ----------------------------------------------------------


async def test_a_deleted_announcement_channel_is_reported_once_not_per_post(
    local: LocalDiscord, clock: ManualClock
) -> None:
    sim = local.sim
    assert local.bot is not None and local.services is not None
    olga = organizer(sim)
    alice = sim.add_user("alice")
    await olga.slash("setup channel", kind="default", options={"channel": "announcements"})
    await alice.slash("remind talk", title=PAYVAND)
    await alice.slash("remind talk", title=KELLER)
    gone_id = sim.channel_id("announcements")
    deleted = asyncio.ensure_future(local.bot.wait_for("guild_channel_delete", timeout=2))
    sim.delete_channel("announcements")
    await deleted

    # Opening (08:45), Payvand (09:00) and Keller (09:30) start: three posts, each refused.
    for moment in ("08:45", "08:50", "09:00", "09:20", "09:30"):
        await at(local, clock, edt(moment))
    assert sim.messages("announcements") == []
    assert len(reminder_dms(alice)) == 2  # DMs do not need the channel

    told = [m for m in olga.dms if f"<#{gone_id}>" in m["content"]]
    assert len(told) == 1, olga.dms
    assert "no longer exists" in told[0]["content"]
    assert "/setup channel" in told[0]["content"]
    status = await olga.slash("status")
    raw = json.dumps(status.embeds, ensure_ascii=False)
    assert raw.count(f"The channel <#{gone_id}> no longer exists") == 1, raw
    text = status.text()
    assert "The channel #deleted-channel no longer exists" in text
    assert "I may not post" not in text
    assert "· 3 failed" in text
    async with local.services.sessions() as s:
        notes = (await s.scalars(select(BotEvent.message))).all()
    assert len(notes) == 1

    # Another channel picked: the next session start is posted there, nobody is told again.
    await olga.slash("setup channel", kind="default", options={"channel": "general"})
    await at(local, clock, edt("10:00"))
    posted = await sim.wait_for_message("general", predicate=lambda m: bool(m["embeds"]))
    assert posted["embeds"][0]["title"].startswith("Poster session I")
    assert len([m for m in olga.dms if f"<#{gone_id}>" in m["content"]]) == 1
    next_due = engine_of(local).stats.next_due
    assert next_due is None or next_due > clock.now()
    # The note was about the channel given up: /status no longer shows it.
    assert "no longer exists" not in (await olga.slash("status")).text()


@pytest.mark.parametrize("rate_limits", [FAST_LIMITS])
async def test_a_move_undone_and_made_again_is_told_each_time(
    local: LocalDiscord, clock: ManualClock, program_copy: Path
) -> None:
    """09:00 -> 09:30 (a mistake), back to 09:00, then 09:30 for real: each notice tells the
    time as it then is; the last one must not be lost because an earlier one said 09:30."""
    assert local.services is not None and local.services.reloader is not None
    reloader = local.services.reloader
    alice = local.sim.add_user("alice")
    await alice.slash("remind talk", title=PAYVAND)
    for when, move in (
        (edt("08:31"), (("09:00", "09:30"), ("09:30", "10:00"))),
        (edt("08:32"), (("09:30", "10:00"), ("09:00", "09:30"))),
        (edt("08:33"), (("09:00", "09:30"), ("09:30", "10:00"))),
    ):
        await at(local, clock, when)
        move_payvand(program_copy, *move)
        await reloader.reload(program_copy)
        await settle(local)
    told = [m["content"] for m in moved_dms(alice)]
    assert len(told) == 3, told
    assert ["09:30 EDT" in t for t in told] == [True, False, True]
    await at(local, clock, edt("08:50"))
    assert reminder_dms(alice) == []
    await at(local, clock, edt("09:20"))
    [dm] = reminder_dms(alice)
    assert "09:30 EDT" in dm["content"]


@pytest.mark.parametrize("rate_limits", [FAST_LIMITS])
async def test_a_talk_cancelled_again_after_subscribing_again_is_told_again(
    local: LocalDiscord, clock: ManualClock, program_copy: Path
) -> None:
    """Cancelled (she is told), put back (she subscribes again), cancelled again: the second
    cancellation must reach her too."""
    assert local.services is not None and local.services.reloader is not None
    reloader = local.services.reloader
    original = program_copy.read_text(encoding="utf-8")
    block = (
        f"- id: {PAYVAND}\n  kind: keynote\n  title: {PAYVAND_TITLE}\n"
        f"{payvand_times('09:00', '09:30')}\n"
    )
    assert block in original
    alice = local.sim.add_user("alice")
    await alice.slash("remind talk", title=PAYVAND)

    await at(local, clock, edt("08:31"))
    program_copy.write_text(original.replace(block, ""), encoding="utf-8")
    await reloader.reload(program_copy)
    await settle(local)
    await at(local, clock, edt("08:32"))
    program_copy.write_text(original, encoding="utf-8")
    await reloader.reload(program_copy)
    again = await alice.slash("remind talk", title=PAYVAND)
    assert "I'll remind you of" in again.text()
    await at(local, clock, edt("08:33"))
    program_copy.write_text(original.replace(block, ""), encoding="utf-8")
    await reloader.reload(program_copy)
    await settle(local)

    told = [m["content"] for m in alice.dms if m["content"].startswith("❌")]
    assert len(told) == 2, told
    await at(local, clock, edt("08:50"))
    assert reminder_dms(alice) == []


async def test_a_pass_between_the_load_and_the_program_refresh_tells_the_new_time(
    local: LocalDiscord, clock: ManualClock, program_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A talk moved earlier after its reminder went: the new reminder is due at once. A pass
    that falls while the reload is still refreshing the program (any due send, any command's
    poke, on a busy day) must not tell the member the old time."""
    assert local.services is not None and local.services.reloader is not None
    engine = engine_of(local)
    program = local.services.program
    alice = local.sim.add_user("alice")
    await alice.slash("remind talk", title=PAYVAND)
    await at(local, clock, edt("08:50"))
    await at(local, clock, edt("08:52"))
    before = len(alice.dms)

    refresh = program.refresh

    async def refresh_after_a_pass() -> object:
        # A pass that happens to run right after the load's commit, given all the time it
        # needs to send before the program in memory is refreshed.
        engine.poke()
        await asyncio.sleep(0.5)
        return await refresh()

    monkeypatch.setattr(program, "refresh", refresh_after_a_pass)
    move_payvand(program_copy, ("09:00", "09:30"), ("08:55", "09:25"))
    await local.services.reloader.reload(program_copy)
    await settle(local)

    after = [m["content"] for m in alice.dms[before:]]
    assert any(t.startswith("📅") and "08:55 EDT" in t for t in after), after
    assert any(t.startswith("⏰") and "08:55 EDT" in t for t in after), after
    assert not any("09:00 EDT" in t for t in after), after


@pytest.mark.parametrize("rate_limits", [FAST_LIMITS])
async def test_a_second_process_does_not_announce_a_moved_talk_at_its_old_time(
    local: LocalDiscord, clock: ManualClock, program_copy: Path, settings: Settings
) -> None:
    from bot.app import build_bot, build_services
    from bot.local import loopback_only_trace

    sim = local.sim
    olga = organizer(sim)
    await olga.slash("setup channel", kind="default", options={"channel": "announcements"})
    # A delivery-only process on the same database, as docs/reliability.md describes.
    services = await build_services(settings.model_copy(update={"gateway": False}), clock)
    other = build_bot(services, http_trace=loopback_only_trace())
    await other.login(sim.token)
    try:
        await at(local, clock, edt("08:40"))
        move_payvand(program_copy, ("09:00", "09:30"), ("09:30", "10:00"))
        answer = await olga.slash("program reload")
        assert "1 moved" in answer.text()

        def payvand_posts() -> list[dict]:
            return [
                m
                for m in sim.messages("announcements")
                if m["embeds"] and m["embeds"][0]["title"].startswith("Brain-inspired")
            ]

        assert services.engine is not None
        for moment in ("08:45", "09:00", "09:15", "09:30", "09:45"):
            clock.set(edt(moment))
            await settle(local)
            await services.engine.wait_idle()
            if moment < "09:30":
                posted = [p["content"] for p in payvand_posts()]
                assert posted == [], f"announced at {moment} though it now starts 09:30: {posted}"
        [post] = payvand_posts()
        assert "09:30 EDT" in json.dumps(post["embeds"], ensure_ascii=False)
    finally:
        await other.close()
