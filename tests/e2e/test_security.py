"""Security through the local Discord: organizer-only in every path, buttons that act for whoever
clicks them, the token kept out of logs and answers, and no mention parsed from stored text.

The simulator lets any user send any interaction (a replayed modal, a button on someone else's
message, a command Discord would hide): what a modified client can send, the bot must refuse.
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.db.models import Delivery, GuildConfig, ScheduledAnnouncement, Subscription
from bot.local import LocalDiscord
from bot.program.files import dump_program, load_program
from bot.settings import Settings
from bot.simulator import DiscordSimulator
from bot.simulator import users as sim_users
from tests.conftest import HAET_FILE
from tests.e2e.helpers import at, edt, settle
from tests.e2e.test_announce import schedule, text_input, write
from tests.e2e.test_organizers import organizer

PAYVAND = "keynote-melika-payvand"
KELLER = "keynote-alexander-keller"
REFUSAL = "Only the workshop's organizers can do that."
NOT_IN_DMS = "Organizer commands only work in the workshop's server."


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(edt("08:30"))


async def count(local: LocalDiscord, model: Any, *where: Any) -> int:
    assert local.services is not None
    async with local.services.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def bot_posts(local: LocalDiscord, channel: str) -> list[dict[str, Any]]:
    return [m for m in local.sim.messages(channel) if m["author"]["bot"]]


# -- organizer commands: refused server-side in every path -----------------------------------------

#: Every organizer command with arguments that would change something if it were obeyed.
ORGANIZER_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("setup channel", {"kind": "default", "options": {"channel": "announcements"}}),
    ("setup board", {"options": {"channel": "reminders"}}),
    ("setup changes", {"options": {"channel": "reminders"}}),
    ("setup organizer-role", {"role": "mallory permissions"}),
    ("setup mention-role", {"role": "Organizer"}),
    ("setup breaks", {"announce": True}),
    ("setup lead", {"minutes": 5}),
    ("setup show", {}),
    ("setup events sync", {}),
    ("setup posters", {"options": {"channel": "reminders"}}),
    ("setup events kinds", {"kinds": "keynote"}),
    ("announce now", {"options": {"channel": "announcements"}}),
    ("announce at", {"when": "11:00", "options": {"channel": "announcements"}}),
    ("announce list", {}),
    ("announce cancel", {"announcement": 1}),
    ("status", {}),
    ("program reload", {}),
    ("people link", {"member": "mallory", "person": "Tri Dao"}),
    ("people unlink", {"person": "Tri Dao"}),
    ("people list", {}),
    ("people role", {"role": "mallory permissions"}),
]


def organizer_commands(local: LocalDiscord) -> set[str]:
    """Every synced (sub)command hidden behind Manage Server, by its qualified name."""
    names: set[str] = set()

    def walk(prefix: str, options: list[dict[str, Any]]) -> None:
        subs = [o for o in options if o["type"] in (1, 2)]
        if not subs:
            names.add(prefix)
        for sub in subs:
            walk(f"{prefix} {sub['name']}", sub.get("options", []))

    for command in local.sim.commands():
        if command.get("default_member_permissions") is not None:
            walk(command["name"], command.get("options", []))
    return names


@pytest.mark.usefixtures("visible_to_all")
async def test_every_organizer_command_is_refused_to_a_member_server_side(
    local: LocalDiscord,
) -> None:
    assert organizer_commands(local) == {name for name, _ in ORGANIZER_CALLS}, (
        "a new organizer command: add it to ORGANIZER_CALLS"
    )
    olga = organizer(local.sim)
    await schedule(local, olga, "11:00", "Posters up!", channel="announcements")
    # A personal role with no special permissions: she tries to make it the organizer role.
    mallory = local.sim.add_user("mallory", permissions=0x400 | 0x800)
    for name, args in ORGANIZER_CALLS:
        answer = await mallory.slash(name, **args)
        assert answer.ephemeral, name
        assert answer.modal is None, name
        assert answer.content == REFUSAL, name
    await settle(local)
    assert await count(local, GuildConfig) == 0  # nothing configured
    assert await count(local, ScheduledAnnouncement) == 1
    assert await count(local, Delivery, Delivery.state == "cancelled") == 0
    assert bot_posts(local, "announcements") == []


@pytest.mark.usefixtures("visible_to_all")
async def test_organizer_autocomplete_tells_a_member_nothing(local: LocalDiscord) -> None:
    olga = organizer(local.sim)
    await schedule(local, olga, "11:00", "Secret: the best paper award goes to…")
    mine = await olga.autocomplete("announce cancel", focused="announcement", announcement="")
    assert [c["value"] for c in mine] == [1]
    mallory = local.sim.add_user("mallory")
    # The pending announcements' text must not leak through the choices.
    choices = await mallory.autocomplete("announce cancel", focused="announcement", announcement="")
    assert choices == []
    assert await mallory.autocomplete("setup channel", focused="kind", kind="") == []


async def test_a_modal_submitted_by_someone_else_posts_nothing(local: LocalDiscord) -> None:
    sim = local.sim
    olga = organizer(sim)
    otto = organizer(sim, "otto")
    mallory = sim.add_user("mallory")

    opened = await olga.slash("announce now", options={"channel": "announcements"})
    field = text_input(opened)["custom_id"]
    replayed = await mallory.submit_modal(opened, {field: "Free pizza in room 3 @everyone"})
    assert replayed.ephemeral and replayed.content == REFUSAL
    # Another organizer replaying it is refused too: the form is olga's.
    other = await otto.submit_modal(opened, {field: "Free pizza in room 3"})
    assert other.ephemeral and "belongs to another organizer" in (other.content or "")

    timed = await olga.slash("announce at", when="11:00", options={"channel": "announcements"})
    replayed = await mallory.submit_modal(timed, {text_input(timed)["custom_id"]: "Cancelled!"})
    assert replayed.content == REFUSAL and replayed.components == []

    await settle(local)
    assert bot_posts(local, "announcements") == []
    assert await count(local, ScheduledAnnouncement) == 0
    # Olga's own form still works.
    mine = await write(opened, "Lunch is served.")
    assert "Posting announcement #1" in mine.text()


@pytest.mark.usefixtures("visible_to_all")
async def test_an_organizer_demoted_after_opening_the_form_is_refused_at_submit(
    local: LocalDiscord,
) -> None:
    sim = local.sim
    olga = organizer(sim)
    hana = sim.add_user("hana", permissions=0x400 | 0x800)
    await olga.slash("setup organizer-role", role="hana permissions")
    opened = await hana.slash("announce at", when="11:00", options={"channel": "announcements"})
    confirm = await write(opened, "Posters up!")
    assert "Post this in <#" in (confirm.content or "")
    await olga.slash("setup organizer-role")  # hana is not an organizer any more
    pressed = await confirm.click("Schedule it")
    assert pressed.content == REFUSAL
    late = await hana.slash("announce now", options={"channel": "announcements"})
    assert late.content == REFUSAL
    assert await count(local, ScheduledAnnouncement) == 0


async def test_a_confirmation_pressed_by_a_member_schedules_nothing(local: LocalDiscord) -> None:
    olga = organizer(local.sim)
    mallory = local.sim.add_user("mallory")
    opened = await olga.slash("announce at", when="11:00", options={"channel": "announcements"})
    confirm = await write(opened, "Posters up!")
    for label in ("Schedule it", "Cancel"):
        pressed = await mallory.click(confirm, label)
        assert pressed.ephemeral
        assert pressed.content == "Only the organizer who wrote this announcement can schedule it."
    assert await count(local, ScheduledAnnouncement) == 0
    done = await confirm.click("Schedule it")
    assert "Scheduled: announcement #1" in (done.content or "")


@pytest.mark.usefixtures("visible_to_all")
async def test_organizer_commands_in_a_dm_are_refused(local: LocalDiscord) -> None:
    assert local.bot is not None
    await local.bot.tree.sync()  # global commands: the only ones a DM could reach
    olga = organizer(local.sim)
    mallory = local.sim.add_user("mallory")
    for user in (olga, mallory):
        for name in ("status", "setup show", "announce list", "program reload"):
            answer = await user.slash(name, dm=True)
            assert answer.content == NOT_IN_DMS, (user, name)
        opened = await user.slash("announce now", dm=True)
        assert opened.modal is None and opened.content == NOT_IN_DMS


# -- buttons act on the clicker's own data -------------------------------------------------------


async def test_pages_and_their_share_button_belong_to_who_asked(local: LocalDiscord) -> None:
    alice = local.sim.add_user("alice")
    mallory = local.sim.add_user("mallory")
    await alice.slash("remind talk", title=PAYVAND)
    listing = await alice.slash("remind list")
    shared = await mallory.click(listing, "Share in channel")
    assert shared.ephemeral
    assert shared.content == "These pages belong to someone else: run the command yourself."
    assert not [m for m in local.sim.messages("general") if m["author"]["bot"]]

    day = await alice.slash("schedule day")
    turned = await mallory.click(day, "Next")
    assert "belong to someone else" in (turned.content or "")
    assert day.embeds[0]["footer"]["text"].startswith("Page 1/")
    mine = await alice.click(listing, "Share in channel")
    assert not mine.ephemeral and mine.content == "Shared by alice"


async def test_stop_these_reminders_stops_only_the_clickers_own(
    local: LocalDiscord, clock: ManualClock
) -> None:
    sim = local.sim
    alice = sim.add_user("alice")
    mallory = sim.add_user("mallory")
    await alice.slash("remind talk", title=PAYVAND)
    await alice.slash("remind talk", title=KELLER)
    await mallory.slash("remind talk", title=KELLER)
    await at(local, clock, edt("08:50"))
    dm = await sim.wait_for_message(dm_of=alice, predicate=lambda m: m["content"].startswith("⏰"))

    pressed = await mallory.click(dm, "Stop all…")
    assert pressed.content == "Stop 1 reminder?"  # hers, counted; asked first
    confirmed = await pressed.click("Confirm")
    assert confirmed.content == "Stopped 1 reminder."
    active = Subscription.state == "active"
    assert await count(local, Subscription, Subscription.user_id == mallory.id, active) == 0
    assert await count(local, Subscription, Subscription.user_id == alice.id, active) == 1
    await at(local, clock, edt("09:20"))
    assert sum(m["content"].startswith("⏰") for m in alice.dms) == 2
    assert not [m for m in mallory.dms if m["content"].startswith("⏰")]


async def test_remind_me_on_someone_elses_card_subscribes_the_clicker(local: LocalDiscord) -> None:
    alice = local.sim.add_user("alice")
    mallory = local.sim.add_user("mallory")
    card = await alice.slash("schedule talk", title=PAYVAND)
    pressed = await mallory.click(card, "Remind me")
    assert "I'll remind you of" in pressed.text()
    assert await count(local, Subscription, Subscription.user_id == mallory.id) == 1
    assert await count(local, Subscription, Subscription.user_id == alice.id) == 0


# -- mentions are never parsed from stored text ----------------------------------------------------


@pytest.fixture
def hostile_program(tmp_path: Path, sim: DiscordSimulator) -> Path:
    """HAET with a keynote whose title and abstract try to ping everyone, a role and a user."""
    ping = f"@everyone @here <@&{sim.role_id('Organizer')}> <@{sim.state.owner.id}>"
    program = load_program(HAET_FILE)
    entries = tuple(
        e.model_copy(
            update={"title": f"Brain-inspired hardware {ping}", "abstract": f"Come along {ping}"}
        )
        if e.id == "keynote-melika-payvand"
        else e
        for e in program.entries
    )
    text = dump_program(program.model_copy(update={"entries": entries}))
    assert ping in text
    path = tmp_path / "program.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def settings(database_url: str, sim: DiscordSimulator, hostile_program: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        program_file=hostile_program,
        discord_token="sim-token",
        announce_channel_id=sim.channel_id("announcements"),
    )


def assert_pings_nobody(message: dict[str, Any], roles: list[str] | None = None) -> None:
    assert message["mention_everyone"] is False, message["content"]
    assert message["mentions"] == [], message["content"]
    assert message["mention_roles"] == (roles or []), message["content"]


async def test_mentions_in_program_text_ping_nobody(
    local: LocalDiscord, clock: ManualClock
) -> None:
    sim = local.sim
    alice = sim.add_user("alice")
    shouter = sim.add_user("@everyone")
    await alice.slash("remind talk", title=PAYVAND)
    await at(local, clock, edt("08:50"))
    dm = await sim.wait_for_message(dm_of=alice, predicate=lambda m: m["content"].startswith("⏰"))
    assert "@everyone" in dm["content"]
    assert_pings_nobody(dm)

    await at(local, clock, edt("09:00"))
    post = await sim.wait_for_message(
        "announcements", predicate=lambda m: "Brain-inspired" in m["content"]
    )
    assert "@everyone" in post["content"] and "<@&" in post["content"]
    assert_pings_nobody(post)

    for user in (alice, shouter):
        card = await user.slash("schedule talk", title=PAYVAND)
        assert card.message is not None and "@everyone" in card.embeds[0]["title"]
        assert_pings_nobody(card.message)
        shared = await card.click("Share in channel")
        assert shared.message is not None and not shared.ephemeral
        assert_pings_nobody(shared.message)
    found = await alice.slash("search", query="@everyone")
    assert found.message is not None
    assert_pings_nobody(found.message)


async def test_only_the_configured_role_is_pinged_whatever_the_title_says(
    local: LocalDiscord, clock: ManualClock
) -> None:
    sim = local.sim
    olga = organizer(sim)
    helpers = sim.state.add_role("Helpers", 0, mentionable=True)
    sim.state.emit(
        "GUILD_ROLE_CREATE", {"guild_id": str(sim.guild_id), "role": helpers.to_payload()}
    )
    await sim.gateway.drain()
    await olga.slash("setup channel", kind="default", options={"channel": "announcements"})
    await olga.slash("setup mention-role", role="Helpers")
    await at(local, clock, edt("09:00"))
    post = await sim.wait_for_message(
        "announcements", predicate=lambda m: "Brain-inspired" in m["content"]
    )
    assert post["content"].startswith(f"<@&{helpers.id}> ")
    assert_pings_nobody(post, roles=[str(helpers.id)])


# -- the token: never in logs, errors or /status -------------------------------------------------


def token_shaped() -> str:
    """A random string shaped like a bot token: base64(id).timestamp.hmac, 72 characters."""
    user_id = str(secrets.randbelow(9 * 10**18) + 10**18).encode()
    head = base64.b64encode(user_id).decode().rstrip("=")
    token = f"{head}.{secrets.token_urlsafe(6)[:6]}.{secrets.token_urlsafe(38)[:38]}"
    assert len(token) == 72
    return token


@pytest.fixture
async def token_sim(error_log: object) -> AsyncIterator[DiscordSimulator]:
    async with DiscordSimulator(token=token_shaped()) as simulator:
        yield simulator


def run_bot(sim: DiscordSimulator, database_url: str, token: str, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DISCORD_TOKEN": token,
        "DISCORD_API_BASE": sim.api_base,
        "DISCORD_GATEWAY_URL": sim.gateway_url,
        "DEV_GUILD_ID": str(sim.guild_id),
        "DATABASE_URL": database_url,
        "PROGRAM_FILE": str(HAET_FILE),
        "LOG_LEVEL": "DEBUG",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--simulate-start", "2022-07-23T09:05-04:00"],
            env=env,
            cwd=log.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def exit_code(proc: subprocess.Popen, timeout: float) -> int:
    """Wait for the process without blocking the loop the simulator answers it from."""
    deadline = asyncio.get_running_loop().time() + timeout
    while proc.poll() is None:
        if asyncio.get_running_loop().time() > deadline:
            proc.kill()
            raise AssertionError(f"the bot did not exit within {timeout} s")
        await asyncio.sleep(0.05)
    return proc.returncode


async def stop(proc: subprocess.Popen) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    return await exit_code(proc, 20)


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_token_never_appears_in_logs_errors_or_status(
    token_sim: DiscordSimulator, database_url: str, tmp_path: Path
) -> None:
    sim, token = token_sim, token_sim.token
    log = tmp_path / "bot.log"
    proc = run_bot(sim, database_url, token, log)
    try:
        await sim.wait_for_bot(timeout=30)
        await sim.wait_until(lambda: bool(sim.commands()), 10, "the commands to be synced")
        olga = organizer(sim)
        status = await olga.slash("status")
        # A command that fails: an ERROR with a traceback goes to the log.
        sim.faults.fail_requests(500, duration=2.0, route=CALLBACK)
        with pytest.raises(sim_users.InteractionTimeout):
            await olga.slash("about", timeout=sim.interaction_deadline + 0.5)
        await wait_for_text(log, "command /about failed", 10)
        sim.problems.clear()  # the late answers we provoked
        sim.faults.clear()
        await olga.slash("remind talk", title=PAYVAND)
    finally:
        assert await stop(proc) == 0
    # A wrong token: the bot says so and stops, without printing either.
    wrong = token_shaped()
    bad_log = tmp_path / "bad.log"
    assert await exit_code(run_bot(sim, database_url, wrong, bad_log), 30) == 1
    assert "Discord refused the token" in bad_log.read_text()

    text = log.read_text()
    assert " DEBUG " in text and "Traceback" in text  # the log really was verbose
    for leaked in (token, token.split(".")[-1]):
        assert leaked not in text
        assert leaked not in bad_log.read_text()
        assert leaked not in status.text()
        assert leaked not in str(status.embeds)
        for message in sim.state.messages.values():
            assert leaked not in str(message.data)
    for leaked in (wrong, wrong.split(".")[-1]):
        assert leaked not in bad_log.read_text()


CALLBACK = "POST /interactions/{interaction_id}/{interaction_token}/callback"


async def wait_for_text(log: Path, text: str, timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while text not in log.read_text():
        assert asyncio.get_running_loop().time() < deadline, f"{text!r} never logged"
        await asyncio.sleep(0.05)


def test_the_log_filter_redacts_the_token_wherever_a_record_carries_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Belt and braces behind "never log it": configure_logging's filter, at DEBUG."""
    import logging

    from bot.logs import configure_logging

    token = token_shaped()
    root = logging.getLogger()
    saved = root.handlers[:], root.level, logging.getLogger("discord").level
    try:
        configure_logging("DEBUG", secrets=[token])
        log = logging.getLogger("bot.test")
        log.debug("Authorization: Bot %s", token)
        logging.getLogger("discord.http").warning(f"failed with {token}")
        try:
            raise RuntimeError(f"token was {token}")
        except RuntimeError:
            log.exception("and in a traceback")
    finally:
        root.handlers[:], level, discord_level = saved
        root.setLevel(level)
        logging.getLogger("discord").setLevel(discord_level)
    err = capsys.readouterr().err
    assert err.count("[token]") == 3, err
    assert token not in err and token.split(".")[-1] not in err
