"""The bot survives every fault kind the local Discord injects.

Each test drives the real bot (real discord.py, real database) through a fault with /about and
checks that users still get the right answer, that the log stays ERROR-free where the fault is
expected (the ``local`` fixture fails the test otherwise), and that the bot is alive afterwards.

Timings follow discord.py 2.7: a 5xx is retried after 1 s, 3 s, 5 s, ... (so one failure per
request keeps an interaction inside Discord's 3 s deadline), a 429 after the body's retry_after,
and an IDENTIFY after a non-resumable session costs 5 s (``before_identify_hook``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import discord
import pytest

from bot import __version__
from bot.local import LocalDiscord
from bot.simulator import DiscordSimulator
from bot.simulator.users import InteractionResult, InteractionTimeout, SimUser
from tests.e2e.conftest import ErrorRecords

CALLBACK = "POST /interactions/{interaction_id}/{interaction_token}/callback"
CHANNEL_MESSAGES = "POST /channels/{channel_id}/messages"
GET_USER = "GET /users/{user_id}"


async def about_answers(user: SimUser) -> InteractionResult:
    """Run /about and check the user got the real answer (not an apology)."""
    result = await user.slash("about")
    assert result.ephemeral
    assert result.embeds, f"/about answered without its embed: {result.text()}"
    assert result.embeds[0]["title"] == f"workshop-bot {__version__}"
    return result


async def schedule_now_answers(user: SimUser) -> InteractionResult:
    """A second harmless command: /schedule now at the default moment (09:05 EDT, first talk)."""
    result = await user.slash("schedule now")
    assert result.ephemeral
    assert result.embeds, f"/schedule now answered without its embed: {result.text()}"
    assert "Brain-inspired hardware and algorithm co-design" in result.embeds[0]["description"]
    return result


def text_channel(local: LocalDiscord, name: str) -> discord.TextChannel:
    assert local.bot is not None
    channel = local.bot.get_channel(local.sim.channel_id(name))
    assert isinstance(channel, discord.TextChannel)
    return channel


async def eventually(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``predicate`` (for state the simulator is not notified of: logs, problems, caches)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        await asyncio.sleep(0.02)


async def wait_for_errors(error_log: ErrorRecords, count: int, timeout: float) -> None:
    await eventually(lambda: len(error_log.records) >= count, timeout, f"{count} ERROR record(s)")


def last_interaction_answered(sim: DiscordSimulator) -> bool:
    record = max(sim.state.interactions.values(), key=lambda r: r.created_at)
    return record.response_type is not None


# -- 5xx ------------------------------------------------------------------------------------------


@pytest.mark.slow  # a fault test: 4-12 s of real waiting (run by CI)
async def test_random_server_errors_on_every_route_cost_no_answer(local: LocalDiscord) -> None:
    sim, bot = local.sim, local.bot
    assert bot is not None
    alice = sim.add_user("alice")
    # Seeded (the simulator's seed 0): a handful of 500s, never twice in a row on one request.
    fault = sim.faults.fail_requests(500, probability=0.1, duration=60)
    for _ in range(20):
        await about_answers(alice)
        await schedule_now_answers(alice)
        # A REST route in the mix: discord.py's HTTP client retries its 5xx too.
        user = await bot.fetch_user(alice.id)
        assert user.id == alice.id
    fault.cancel()
    assert fault.hits >= 1, "the fault never fired: the test proves nothing"
    assert sim.stats.server_errors == fault.hits
    assert sim.stats.interactions == 40
    assert local.bot_alive()


async def test_a_failed_callback_is_retried_within_the_deadline(local: LocalDiscord) -> None:
    sim = local.sim
    alice = sim.add_user("alice")
    sim.faults.fail_requests(500, count=1, route=CALLBACK)
    result = await about_answers(alice)
    assert result.latency is not None and 1.0 <= result.latency < sim.interaction_deadline
    sim.faults.fail_requests(502, count=1, route=CALLBACK)
    await schedule_now_answers(alice)
    assert sim.stats.server_errors == 2
    assert sim.stats.requests[CALLBACK] == 4  # two answers, each sent twice
    await about_answers(alice)  # and without faults, at once
    assert local.bot_alive()


async def test_a_failed_channel_post_is_retried(local: LocalDiscord) -> None:
    sim = local.sim
    alice = sim.add_user("alice")
    sim.faults.fail_requests(500, count=1, route=CHANNEL_MESSAGES)
    message = await text_channel(local, "announcements").send("Coffee break until 10:30")
    assert [m["content"] for m in sim.messages("announcements")] == ["Coffee break until 10:30"]
    assert message.content == "Coffee break until 10:30"
    assert sim.stats.requests[CHANNEL_MESSAGES] == 2 and sim.stats.server_errors == 1
    await about_answers(alice)
    assert local.bot_alive()


@pytest.mark.slow  # a fault test: 4 s of real waiting past the deadline (run by CI)
async def test_callback_down_past_the_deadline_logs_one_error_and_the_bot_carries_on(
    local: LocalDiscord, error_log: ErrorRecords
) -> None:
    sim = local.sim
    alice = sim.add_user("alice")
    # Failing for 2 s: discord.py retries at 1 s and 4 s, and the 4 s answer is too late.
    sim.faults.fail_requests(500, duration=2.0, route=CALLBACK)
    error_log.sim = None  # the ERROR is expected: let the user's wait run out instead
    try:
        with pytest.raises(InteractionTimeout):
            await alice.slash("about", timeout=sim.interaction_deadline + 0.5)
        await wait_for_errors(error_log, 1, timeout=3.0)
    finally:
        error_log.sim = sim
    assert not last_interaction_answered(sim)  # the user saw "The application did not respond"
    [record] = error_log.take()
    assert record.getMessage() == f"command /about failed (user {alice.id}, guild {sim.guild_id})"
    assert record.exc_info is not None
    # Discord refused the late answer, and then the late apology: both are what we provoked.
    await eventually(lambda: len(sim.problems) == 2, 2.0, "the late apology")
    assert all("answered after" in p for p in sim.problems)
    sim.problems.clear()
    assert local.bot_alive()
    await about_answers(alice)


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # 25 s: one backend will do
async def test_callback_failing_beyond_discord_py_retries_logs_one_error(
    local: LocalDiscord, error_log: ErrorRecords
) -> None:
    """Five 500s in a row: discord.py gives up after 1+3+5+7+9 = 25 s with DiscordServerError."""
    sim = local.sim
    alice = sim.add_user("alice")
    fault = sim.faults.fail_requests(500, count=5, route=CALLBACK)
    error_log.sim = None
    try:
        with pytest.raises(InteractionTimeout):
            await alice.slash("about")
        await wait_for_errors(error_log, 1, timeout=30.0)
    finally:
        error_log.sim = sim
    assert fault.hits == 5
    [record] = error_log.take()
    assert record.getMessage() == f"command /about failed (user {alice.id}, guild {sim.guild_id})"
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], discord.app_commands.CommandInvokeError)
    assert isinstance(record.exc_info[1].original, discord.DiscordServerError)
    assert not last_interaction_answered(sim)
    # The apology came 25 s late: Discord refused it (a problem we provoked).
    await eventually(lambda: bool(sim.problems), 2.0, "the late apology")
    assert all("answered after" in p for p in sim.problems)
    sim.problems.clear()
    assert local.bot_alive()
    await about_answers(alice)


# -- 429 ------------------------------------------------------------------------------------------


async def test_global_rate_limit_delays_answers_but_loses_none(local: LocalDiscord) -> None:
    sim, bot = local.sim, local.bot
    assert bot is not None
    alice = sim.add_user("alice")
    sim.faults.rate_limit(count=3, retry_after=0.2, global_=True)
    result = await about_answers(alice)
    assert result.latency is not None and result.latency >= 3 * 0.2
    assert sim.stats.rate_limited == 3 and sim.stats.global_rate_limited == 3
    assert sim.stats.rate_limited_by_route[CALLBACK] == 3
    # The REST client honours a global 429 as well (it holds every route until it is over).
    sim.faults.rate_limit(count=1, retry_after=0.2, global_=True)
    started = time.monotonic()
    assert (await bot.fetch_user(alice.id)).id == alice.id
    assert time.monotonic() - started >= 0.2
    assert sim.stats.rate_limited == 4 and sim.stats.global_rate_limited == 4
    await about_answers(alice)
    assert local.bot_alive()


async def test_route_rate_limits_delay_answers_but_lose_none(local: LocalDiscord) -> None:
    sim = local.sim
    alice = sim.add_user("alice")
    sim.faults.rate_limit(count=2, retry_after=0.2, route=CALLBACK)
    result = await about_answers(alice)
    assert result.latency is not None and result.latency >= 2 * 0.2
    sim.faults.rate_limit(count=2, retry_after=0.2, route=CHANNEL_MESSAGES)
    started = time.monotonic()
    await text_channel(local, "announcements").send("Poster session in hall B")
    assert time.monotonic() - started >= 2 * 0.2
    assert [m["content"] for m in sim.messages("announcements")] == ["Poster session in hall B"]
    assert sim.stats.rate_limited == 4 and sim.stats.global_rate_limited == 0
    assert sim.stats.rate_limited_by_route[CALLBACK] == 2
    assert sim.stats.rate_limited_by_route[CHANNEL_MESSAGES] == 2
    await about_answers(alice)
    assert local.bot_alive()


# -- gateway --------------------------------------------------------------------------------------


async def test_gateway_drop_is_resumed(local: LocalDiscord) -> None:
    sim = local.sim
    alice = sim.add_user("alice")
    await about_answers(alice)
    identifies = sim.stats.identifies
    await sim.drop_gateway()  # waits for the bot to come back
    assert sim.stats.resumes == 1
    assert sim.stats.identifies == identifies  # resumed, not a new session
    await about_answers(alice)
    await sim.drop_gateway()
    assert sim.stats.resumes == 2
    await schedule_now_answers(alice)
    assert local.bot_alive()


async def test_events_missed_while_disconnected_are_replayed_on_resume(
    local: LocalDiscord,
) -> None:
    sim = local.sim
    await sim.drop_gateway(wait=False)
    # Emitted while the bot is away: the RESUME must replay it.
    sim.faults.deny_send("announcements")
    await sim.wait_until(lambda: sim.stats.resumes == 1, 5.0, "the bot to resume")
    channel = text_channel(local, "announcements")

    def bot_knows() -> bool:
        return not channel.permissions_for(channel.guild.me).send_messages

    await eventually(bot_knows, 2.0, "the bot to see the replayed CHANNEL_UPDATE")
    await about_answers(sim.add_user("alice"))


async def test_reconnect_request_is_resumed(local: LocalDiscord) -> None:
    sim = local.sim
    alice = sim.add_user("alice")
    identifies = sim.stats.identifies
    await sim.request_reconnect()
    await sim.wait_until(lambda: sim.stats.resumes == 1, 5.0, "the bot to resume")
    assert sim.stats.identifies == identifies
    await about_answers(alice)
    assert local.bot_alive()


async def test_resumable_invalid_session_is_resumed(local: LocalDiscord) -> None:
    sim = local.sim
    alice = sim.add_user("alice")
    identifies = sim.stats.identifies
    await sim.invalidate_session(resumable=True)
    await sim.wait_until(lambda: sim.stats.resumes == 1, 5.0, "the bot to resume")
    assert sim.stats.identifies == identifies
    await about_answers(alice)
    assert local.bot_alive()


@pytest.mark.slow
async def test_non_resumable_invalid_session_identifies_again(local: LocalDiscord) -> None:
    """discord.py waits 5 s before a fresh IDENTIFY (``Client.before_identify_hook``)."""
    sim = local.sim
    alice = sim.add_user("alice")
    identifies = sim.stats.identifies
    await sim.invalidate_session(resumable=False)
    await sim.wait_until(lambda: sim.stats.identifies == identifies + 1, 8.0, "a new IDENTIFY")
    await sim.wait_for_bot()
    assert sim.stats.resumes == 0
    await about_answers(alice)
    assert local.bot_alive()


# -- refused by the user or the channel (plumbing until a feature sends DMs or posts) ----------


async def test_plumbing_dm_to_a_user_with_closed_dms_raises_50007(local: LocalDiscord) -> None:
    sim, bot = local.sim, local.bot
    assert bot is not None
    alice = sim.add_user("alice")
    sim.faults.close_dms(alice)
    user = await bot.fetch_user(alice.id)
    with pytest.raises(discord.Forbidden) as refused:
        await user.send("Your talk starts in 5 minutes")
    assert refused.value.status == 403 and refused.value.code == 50007
    assert alice.dms == []
    assert local.bot_alive()
    await about_answers(alice)
    sim.faults.close_dms(alice, closed=False)
    await user.send("DMs open again")
    assert [m["content"] for m in alice.dms] == ["DMs open again"]


async def test_plumbing_post_without_send_permission_raises_50013(local: LocalDiscord) -> None:
    sim = local.sim
    alice = sim.add_user("alice")
    sim.faults.deny_send("announcements")
    channel = text_channel(local, "announcements")
    with pytest.raises(discord.Forbidden) as refused:
        await channel.send("Lunch is served")
    assert refused.value.status == 403 and refused.value.code == 50013
    assert sim.messages("announcements") == []
    assert local.bot_alive()
    await about_answers(alice)
    sim.faults.deny_send("announcements", denied=False)
    await channel.send("Lunch is served")
    assert [m["content"] for m in sim.messages("announcements")] == ["Lunch is served"]
