"""Faults during the workshop day, through the local Discord, and what the bot does about them.

Each test injects one failure while something is due — server errors and 429s through a burst
of reminders, the gateway dropped mid-burst, an announcement channel that refuses posts, a
database that refuses writes — and checks afterwards that every due message arrived exactly
once, that organizers heard about it the way they should, and that nothing crashed (the
``local`` fixture fails a test on an ERROR record, a request Discord would refuse, or a dead bot).

docs/reliability.md has the table of failures, what the bot does, and the test that proves it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import Clock, ManualClock, RehearsalClock
from bot.db.models import BotEvent, Delivery, DMChannel, Subscription
from bot.local import LocalDiscord
from bot.settings import Settings
from bot.simulator import DiscordSimulator, SimUser
from bot.tree import DATABASE_UNAVAILABLE
from tests.conftest import HAET_FILE
from tests.e2e.conftest import FAST_LIMITS, ErrorRecords
from tests.e2e.helpers import at
from tests.e2e.test_announce import write
from tests.e2e.test_faults import about_answers, eventually
from tests.e2e.test_organizers import organizer

PAYVAND = "keynote-melika-payvand"
KELLER = "keynote-alexander-keller"
CHANNEL_MESSAGES = "POST /channels/{channel_id}/messages"


def edt(hhmm: str, day: int = 23) -> datetime:
    return datetime.fromisoformat(f"2022-07-{day}T{hhmm}-04:00")


#: Payvand's keynote starts at 09:00: 10-minute reminders are due at 08:50.
DUE = edt("08:50:00")
#: Real seconds between the bot's start and the reminders' due time in the burst tests.
BURST_LEAD = 15


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> Clock:
    """A manual clock at 08:30; ``parametrize("clock", ["burst"], indirect=True)`` gives a
    real-speed rehearsal shortly before 08:50, for bursts paced (and retried) in real time."""
    if getattr(request, "param", None) == "burst":
        return RehearsalClock(DUE - timedelta(seconds=BURST_LEAD), speed=1.0)
    return ManualClock(edt("08:30:00"))


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        program_file=HAET_FILE,
        discord_token="sim-token",
        # Short: a claim left behind would be taken over (and its message re-sent) within a test.
        claim_lease_seconds=0.5,
    )


def reminders(user: SimUser) -> int:
    return sum(m["content"].startswith("⏰") for m in user.dms)


def delivered(users: list[SimUser]) -> int:
    return sum(reminders(u) > 0 for u in users)


async def subscribers(local: LocalDiscord, count: int, entry_id: str = PAYVAND) -> list[SimUser]:
    """``count`` attendees subscribed (10 min before) earlier in the week: their DM channels
    are known, so each reminder is one request."""
    assert local.services is not None
    sim, services = local.sim, local.services
    users = [sim.add_user(f"fan{i}") for i in range(count)]
    talk = services.program.snapshot.by_id[entry_id]
    week_before = talk.start - timedelta(days=7)
    async with services.sessions() as s, s.begin():
        await s.execute(
            insert(DMChannel), [{"user_id": u.id, "channel_id": u.dm_channel.id} for u in users]
        )
        await s.execute(
            insert(Subscription),
            [
                {
                    "user_id": u.id,
                    "entry_id": entry_id,
                    "minutes_before": 10,
                    "due_at": talk.start - timedelta(minutes=10),
                    "state": "active",
                    "created_at": week_before,
                }
                for u in users
            ],
        )
    assert local.services.engine is not None
    local.services.engine.poke()
    return users


async def all_delivered_once(local: LocalDiscord, users: list[SimUser], timeout: float) -> None:
    await local.sim.wait_until(
        lambda: delivered(users) == len(users), timeout, f"{len(users)} reminders"
    )
    # Past the claim lease: a claim left behind would have been taken over and re-sent by now.
    await asyncio.sleep(1.0)
    counts = [reminders(u) for u in users]
    assert min(counts) == 1, "a reminder was lost"
    assert max(counts) == 1, f"{sum(counts) - len(users)} reminder(s) sent twice"


# -- server errors and rate limits through a burst -------------------------------------------------

BURST = 300
#: "10 % of requests answered 500 for a minute": the minute is shortened to the burst's length
#: (the bot's answer to a 500 does not depend on how long the fault lasts, only on its rate).
FAULT_SECONDS = 12.0


@pytest.mark.slow
@pytest.mark.parametrize("rate_limits", [FAST_LIMITS])
@pytest.mark.parametrize("clock", ["burst"], indirect=True)
async def test_ten_percent_server_errors_through_a_burst_lose_and_double_nothing(
    local: LocalDiscord,
) -> None:
    services, sim = local.services, local.sim
    assert services is not None and services.custom_announcements is not None
    engine = services.engine
    assert engine is not None
    olga = organizer(sim)
    users = await subscribers(local, BURST)
    # An organizer's announcement due at the same moment goes through the same engine.
    await services.custom_announcements.schedule(
        sim.guild_id,
        sim.channel_id("announcements"),
        "Keynote in 10 minutes!",
        due_at=DUE,
        by=olga.id,
    )
    assert services.clock.now() < DUE - timedelta(seconds=8), "setup ran into the burst"
    # discord.py retries a 500 itself (after 1 s, 3 s, ...); a 503 it hands back at once, so
    # those three become the engine's own retries.
    retried_by_discord_py = sim.faults.fail_requests(500, probability=0.10, duration=FAULT_SECONDS)
    retried_by_the_engine = sim.faults.fail_requests(503, count=3, route=CHANNEL_MESSAGES)

    await all_delivered_once(local, users, timeout=60)
    await sim.wait_for_message("announcements")
    assert [m["content"] for m in sim.messages("announcements")] == ["Keynote in 10 minutes!"]
    assert retried_by_discord_py.hits >= 2 and retried_by_the_engine.hits == 3
    assert sim.stats.server_errors == retried_by_discord_py.hits + retried_by_the_engine.hits
    assert engine.stats.retried == 3
    assert engine.stats.sent == BURST + 1
    await about_answers(olga)


@pytest.mark.slow
@pytest.mark.parametrize("rate_limits", [FAST_LIMITS])
@pytest.mark.parametrize("clock", ["burst"], indirect=True)
async def test_a_run_of_429s_global_and_per_route_mid_burst_loses_nothing(
    local: LocalDiscord,
) -> None:
    assert local.services is not None and local.services.engine is not None
    sim = local.sim
    users = await subscribers(local, 200)
    await sim.wait_until(lambda: delivered(users) >= 20, BURST_LEAD + 10, "the burst to start")
    global_limit = sim.faults.rate_limit(count=3, retry_after=0.3, global_=True)
    # A run on the messages route long enough that, with four sends in flight sharing it,
    # some request meets five 429s in a row, after which discord.py gives up on it (HTTP 429)
    # and the engine must try it again, not drop it.
    route_limit = sim.faults.rate_limit(count=24, retry_after=0.05, route=CHANNEL_MESSAGES)

    await all_delivered_once(local, users, timeout=60)
    assert global_limit.hits == 3 and route_limit.hits == 24
    assert sim.stats.global_rate_limited == 3
    assert local.services.engine.stats.retried >= 1
    await about_answers(sim.add_user("alice"))


@pytest.mark.slow
@pytest.mark.parametrize("rate_limits", [FAST_LIMITS])
@pytest.mark.parametrize("clock", ["burst"], indirect=True)
async def test_the_gateway_dropped_mid_burst_is_resumed_and_loses_nothing(
    local: LocalDiscord,
) -> None:
    assert local.bot is not None
    sim = local.sim
    users = await subscribers(local, 200)
    identifies = sim.stats.identifies
    await sim.wait_until(lambda: delivered(users) >= 40, BURST_LEAD + 10, "the burst to start")
    await sim.drop_gateway(wait=False)
    assert delivered(users) < len(users), "the burst was over before the drop: proves nothing"
    # Happens while the bot is away: the RESUME must replay it.
    sim.faults.deny_send("reminders")
    await sim.wait_until(lambda: sim.stats.resumes == 1, 10, "the bot to resume")

    await all_delivered_once(local, users, timeout=60)
    assert sim.stats.identifies == identifies  # resumed, not a new session
    channel = local.bot.get_channel(sim.channel_id("reminders"))
    assert channel is not None and hasattr(channel, "permissions_for")
    await eventually(
        lambda: not channel.permissions_for(channel.guild.me).send_messages,  # type: ignore[union-attr]
        2.0,
        "the replayed CHANNEL_UPDATE",
    )
    await about_answers(sim.add_user("alice"))


# -- the announcement channel refuses posts (50013) -----------------------------------------------


async def test_a_forbidden_announcement_channel_is_reported_once_not_per_post(
    local: LocalDiscord, clock: Clock
) -> None:
    sim = local.sim
    olga = organizer(sim)
    alice = sim.add_user("alice")
    await olga.slash("setup channel", kind="default", options={"channel": "announcements"})
    await alice.slash("remind talk", title=PAYVAND)
    await alice.slash("remind talk", title=KELLER)
    sim.faults.deny_send("announcements")

    # Opening (08:45), Payvand (09:00) and Keller (09:30) all start: three refused posts.
    for moment in ("08:45:00", "08:50:00", "09:00:00", "09:20:00", "09:30:00"):
        await at(local, clock, edt(moment))
    assert [m for m in sim.messages("announcements") if m["author"]["bot"]] == []
    assert reminders(alice) == 2  # DMs do not need the channel: both reminders, once each

    told = [m for m in olga.dms if "can't post announcements" in m["content"]]
    assert len(told) == 1, olga.dms
    assert f"<#{sim.channel_id('announcements')}>" in told[0]["content"]
    assert local.services is not None
    async with local.services.sessions() as s:
        problems = (await s.scalars(select(BotEvent.message))).all()
        failed = (
            await s.scalars(
                select(Delivery.key).where(
                    Delivery.kind == "announcement", Delivery.state == "failed"
                )
            )
        ).all()
    assert len(problems) == 1 and len(failed) == 3
    status = (await olga.slash("status")).text()
    assert status.count("I may not post in #announcements (missing permissions)") == 1
    assert "· 3 failed" in status

    # Permission given back: the next session start is posted, and nobody is told again.
    sim.faults.deny_send("announcements", denied=False)
    await at(local, clock, edt("10:00:00"))
    posted = await sim.wait_for_message("announcements")
    assert posted["embeds"][0]["title"].startswith("Poster session I")
    assert len([m for m in olga.dms if "can't post announcements" in m["content"]]) == 1


# -- the database refuses writes ------------------------------------------------------------------


class ReadOnlyDatabase:
    """Makes the bot's own database refuse writes, the way the database itself refuses them.

    Each connection is switched as it leaves the pool: SQLite's ``PRAGMA query_only`` ("attempt
    to write a readonly database", what a read-only file gives; chmod proves nothing when the
    tests run as root) and PostgreSQL's ``default_transaction_read_only`` (SQLSTATE 25006, what
    a standby or a full disk's safety switch gives).
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.on = False
        event.listen(engine.sync_engine, "checkout", self._checkout)

    def _checkout(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        cursor = dbapi_connection.cursor()
        if self.engine.dialect.name == "sqlite":
            cursor.execute(f"PRAGMA query_only = {int(self.on)}")
        else:
            cursor.execute(
                f"SET SESSION default_transaction_read_only = {'on' if self.on else 'off'}"
            )
            dbapi_connection.commit()
        cursor.close()

    def remove(self) -> None:
        event.remove(self.engine.sync_engine, "checkout", self._checkout)


@pytest.fixture
def read_only(local: LocalDiscord) -> Iterator[ReadOnlyDatabase]:
    assert local.services is not None
    switch = ReadOnlyDatabase(local.services.db)
    yield switch
    switch.remove()


@pytest.fixture
def expected_errors(error_log: ErrorRecords, sim: DiscordSimulator) -> Iterator[ErrorRecords]:
    """The engine's ERROR about the outage is expected: it must not fail waiting interactions."""
    error_log.sim = None
    yield error_log
    error_log.sim = sim


async def subscription_state(local: LocalDiscord, user: SimUser, entry_id: str) -> str | None:
    assert local.services is not None
    async with local.services.sessions() as s:
        return await s.scalar(
            select(Subscription.state).where(
                Subscription.user_id == user.id, Subscription.entry_id == entry_id
            )
        )


async def test_a_read_only_database_answers_clearly_loses_nothing_and_recovers(
    local: LocalDiscord,
    clock: Clock,
    read_only: ReadOnlyDatabase,
    expected_errors: ErrorRecords,
) -> None:
    sim = local.sim
    olga = organizer(sim)
    alice = sim.add_user("alice")
    carol = sim.add_user("carol")
    await alice.slash("remind talk", title=PAYVAND)
    card = await carol.slash("schedule talk", title=KELLER)

    read_only.on = True
    # Every command that writes says so, in words, and changes nothing.
    assert DATABASE_UNAVAILABLE in (await carol.slash("remind talk", title=KELLER)).text()
    assert DATABASE_UNAVAILABLE in (await card.click("Remind me")).text()
    assert (await alice.slash("remind off")).content == DATABASE_UNAVAILABLE
    assert (await olga.slash("setup lead", minutes=5)).content == DATABASE_UNAVAILABLE
    opened = await olga.slash("announce now", options={"channel": "announcements"})
    assert (await write(opened, "Lunch!")).content == DATABASE_UNAVAILABLE
    # What only reads still works.
    assert "Brain-inspired" in (await alice.slash("remind list")).text()
    assert (await olga.slash("schedule now")).embeds

    # The reminder falls due: the engine cannot claim it, says so once, and keeps trying.
    await at(local, clock, edt("08:50:00"))
    await at(local, clock, edt("08:50:20"))
    assert reminders(alice) == 0
    [outage] = expected_errors.take()
    assert outage.getMessage() == "delivery pass failed; trying again in 5 s"
    status = (await olga.slash("status")).text()
    assert "readonly database" in status or "read-only transaction" in status, status

    read_only.on = False
    await at(local, clock, edt("08:50:40"))
    await sim.wait_for_message(dm_of=alice, predicate=lambda m: m["content"].startswith("⏰"))
    assert await subscription_state(local, alice, PAYVAND) == "sent"
    # Nothing was lost, nothing half-written: the refused changes simply did not happen.
    assert await subscription_state(local, carol, KELLER) is None
    assert "when: at the start" in (await olga.slash("setup show")).text()
    assert sim.messages("announcements") == []
    again = await carol.slash("remind talk", title=KELLER)
    assert "I'll remind you of" in again.text()
    await at(local, clock, edt("09:20:00"))
    assert reminders(carol) == 1 and reminders(alice) == 1
    assert not expected_errors.take()


@pytest.mark.slow
async def test_a_database_turning_read_only_between_send_and_record_sends_once(
    local: LocalDiscord,
    clock: Clock,
    read_only: ReadOnlyDatabase,
    expected_errors: ErrorRecords,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worst moment: the DM is out, then the database refuses to record it. The engine
    holds the outcome and writes it first when it can (its own 5 s retry, no poke), instead of
    taking its stale claim over and sending the reminder again."""
    assert local.services is not None and local.services.outbox is not None
    outbox = local.services.outbox
    alice = local.sim.add_user("alice")
    await alice.slash("remind talk", title=PAYVAND)
    send = outbox.send_reminders

    async def send_then_refuse_writes(*args: Any, **kwargs: Any) -> Any:
        result = await send(*args, **kwargs)
        read_only.on = True
        return result

    monkeypatch.setattr(outbox, "send_reminders", send_then_refuse_writes)
    await at(local, clock, edt("08:50:00"))
    assert reminders(alice) == 1
    [outage] = expected_errors.take()
    assert outage.getMessage() == "delivery pass failed; trying again in 5 s"
    monkeypatch.setattr(outbox, "send_reminders", send)
    await asyncio.sleep(1.0)  # the 0.5 s claim lease is over: taking it over would re-send
    read_only.on = False

    async def recorded() -> bool:
        return await subscription_state(local, alice, PAYVAND) == "sent"

    deadline = asyncio.get_running_loop().time() + 8
    while not await recorded():
        assert asyncio.get_running_loop().time() < deadline, "the held outcome was never written"
        await asyncio.sleep(0.1)
    await at(local, clock, edt("08:55:00"))
    assert reminders(alice) == 1
    listing = await alice.slash("remind list")
    assert "**: sent at " in listing.text()
