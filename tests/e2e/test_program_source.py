"""The program follows its source: a URL served by a local HTTP server, version after version.

The bot fetches the URL at start and every PROGRAM_REFRESH_SECONDS (a conditional GET), and
applies a change as /program reload does: subscribers are told, the schedule-changes channel
gets one post per change, Discord events follow. A version that fails, does not validate, or
would cancel most of the program keeps the last good one, and organizers are told once.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.clock import ManualClock
from bot.local import LocalDiscord
from bot.program.files import dump_program, load_program
from bot.program.model import Entry, Program
from bot.settings import Settings
from bot.simulator import DiscordSimulator
from tests.conftest import HAET_FILE
from tests.e2e.helpers import edt, settle
from tests.e2e.test_organizers import organizer

PAYVAND = "keynote-melika-payvand"
CORPORA = Path(__file__).resolve().parent.parent / "fixtures" / "corpora"


class ProgramServer:
    """Serves one version of a schedule at a time, with an ETag, answering 304 when asked
    with the current one; or an error status, when told to."""

    def __init__(self) -> None:
        self.body = b""
        self.content_type = "application/yaml"
        self.status = 200
        self.requests = 0
        self.conditional = 0  # requests that carried If-None-Match
        self.not_modified = 0
        self.url = ""
        self._runner: web.AppRunner | None = None

    def serve(self, text: str, content_type: str = "application/yaml") -> None:
        self.body, self.content_type, self.status = text.encode(), content_type, 200

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        if self.status != 200:
            return web.Response(status=self.status, text="down for maintenance")
        asked = request.headers.get("If-None-Match")
        if asked is not None:
            self.conditional += 1
            if asked == self.etag:
                self.not_modified += 1
                return web.Response(status=304, headers={"ETag": self.etag})
        return web.Response(
            body=self.body, content_type=self.content_type, headers={"ETag": self.etag}
        )

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/schedule/export", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/schedule/export?token=s3cret"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def changed(program: Program, change: Callable[[list[Entry]], list[Entry]]) -> str:
    return dump_program(
        program.model_copy(update={"entries": tuple(change(list(program.entries)))})
    )


def moved(entries: list[Entry], entry_id: str, to: datetime) -> list[Entry]:
    out = []
    for e in entries:
        if e.id == entry_id:
            e = e.model_copy(update={"start": to, "end": to + (e.end - e.start)})
        out.append(e)
    return out


@pytest.fixture
async def server() -> AsyncIterator[ProgramServer]:
    served = ProgramServer()
    served.serve(HAET_FILE.read_text(encoding="utf-8"))
    await served.start()
    try:
        yield served
    finally:
        await served.stop()


@pytest.fixture
def clock() -> ManualClock:
    # The day before: Discord takes scheduled events only in the future.
    return ManualClock(edt("12:00", day=22))


@pytest.fixture
def sim_now(clock: ManualClock) -> Callable[[], datetime]:
    return clock.now


@pytest.fixture
def settings(database_url: str, server: ProgramServer) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        program_file=server.url,
        program_refresh_seconds=1,
        discord_token="sim-token",
    )


async def eventually(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Until ``predicate`` holds (polled: the HTTP server's counters are not the simulator's
    events, which its own waits are woken by)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)


def posts(sim: DiscordSimulator, channel: str = "general") -> list[str]:
    return [m["content"] for m in sim.messages(channel) if m["author"]["id"] == str(sim.bot_id)]


def dms_with(user: Any, words: str) -> list[str]:
    return [m["content"] for m in user.dms if words in m["content"]]


async def status_text(user: Any) -> str:
    answer = await user.slash("status")
    return "\n".join(f"{f['name']}: {f['value']}" for f in answer.embeds[0]["fields"])


@pytest.mark.slow  # a fault test: 4-12 s of real waiting (run by CI)
async def test_the_program_follows_its_url_and_keeps_the_last_good_version(
    local: LocalDiscord, server: ProgramServer, clock: ManualClock
) -> None:
    sim = local.sim
    services = local.services
    assert services is not None and services.follower is not None
    program = load_program(HAET_FILE)
    assert services.program.snapshot.by_id[PAYVAND].start == edt("09:00")

    olga = organizer(sim)
    await olga.slash("setup changes", options={"channel": "general"})
    assert "3 created" not in (await olga.slash("setup events sync")).text()
    events_before = {e["name"]: e for e in sim.scheduled_events}
    assert len(events_before) == 9
    bob = sim.add_user("bob")
    await bob.slash("remind talk", title=PAYVAND)

    # Version 2: Payvand's keynote moves to 16:00, the panel is cancelled, a talk is added.
    new_talk = Entry(
        id="lightning-talks",
        kind="talk",
        title="Lightning talks: <@&1> @everyone on efficient training",
        people=("Ada Lovelace",),
        start=edt("16:30"),
        end=edt("16:45"),
    )
    v2 = changed(
        program,
        lambda es: [e for e in moved(es, PAYVAND, edt("16:00")) if e.id != "panel"] + [new_talk],
    )
    server.serve(v2)
    told = await sim.wait_for_message(dm_of=bob, predicate=lambda m: "has moved" in m["content"])
    assert "<t:" in told["content"] and "Your reminder moves with it" in told["content"]
    await sim.wait_until(lambda: len(posts(sim)) >= 3, 10, "three change posts")
    await settle(local)
    changes = posts(sim)
    assert len(changes) == 3, changes
    [move] = [p for p in changes if p.startswith("🕑 Moved:")]
    assert "Brain-inspired hardware" in move
    assert f"<t:{int(edt('16:00').timestamp())}:F>" in move  # every reader's own time
    assert "16:00 EDT" in move and f"<t:{int(edt('09:00').timestamp())}:f>" in move
    [cancel] = [p for p in changes if p.startswith("❌ Cancelled:")]
    assert "Panel" in cancel or "panel" in cancel
    [new] = [p for p in changes if p.startswith("🆕 New:")]
    assert "Lightning talks" in new
    # Imported text pings nobody: mentions are escaped or not allowed.
    for message in sim.messages("general"):
        if message["content"] in changes:
            assert message["mention_everyone"] is False and message["mention_roles"] == []
    # Discord events followed without /setup events sync: Payvand's moved, the panel's gone.
    events = {e["name"]: e for e in sim.scheduled_events}
    [payvand_event] = [e for n, e in events.items() if "Brain-inspired" in n]
    assert datetime.fromisoformat(payvand_event["scheduled_start_time"]) == edt("16:00")
    assert not any(n.startswith("Panel") for n in events)
    assert services.program.snapshot.by_id[PAYVAND].start == edt("16:00")

    # Unchanged: conditional GETs answered 304, nothing posted or told again.
    asked = server.not_modified
    await eventually(lambda: server.not_modified >= asked + 2, 10, "two 304 answers")
    assert len(posts(sim)) == 3 and len(dms_with(bob, "has moved")) == 1

    # Version 3 does not validate: kept, told once (one DM to whoever configured the server).
    server.serve(v2.replace("kind: keynote", "kind: 'key note!'", 1))
    dm = await sim.wait_for_message(
        dm_of=olga, predicate=lambda m: "could not be applied" in m["content"]
    )
    assert "kind" in dm["content"] and "s3cret" not in dm["content"]
    seen = server.requests
    await eventually(lambda: server.requests >= seen + 3, 10, "three more fetches")
    assert len(dms_with(olga, "could not be applied")) == 1
    assert services.program.snapshot.by_id[PAYVAND].start == edt("16:00")
    status = await status_text(olga)
    assert "Kept the last good program" in status and "s3cret" not in status
    assert re.search(r"/schedule/export:\d+, entries\[1\]\.kind: kind 'key note!'", status)

    # Version 4 would cancel most of the program (a truncated export): kept, told once.
    server.serve(changed(program, lambda es: es[:5]))
    await sim.wait_for_message(dm_of=olga, predicate=lambda m: "would cancel" in m["content"])
    assert len(services.program.snapshot.talks) == len(program.entries)  # 37: v2's
    # The server is down: kept, told once.
    server.status = 503
    await sim.wait_for_message(dm_of=olga, predicate=lambda m: "HTTP 503" in m["content"])
    seen = server.requests
    await eventually(lambda: server.requests >= seen + 2, 10, "two more fetches")
    assert len(dms_with(olga, "HTTP 503")) == 1
    assert len(posts(sim)) == 3  # nothing was applied meanwhile

    # It comes back with a real change: applied, and the problem is gone from /status.
    server.serve(changed(program, lambda es: moved(es, PAYVAND, edt("16:15"))))
    follower = services.follower
    await eventually(
        lambda: (
            services.program.snapshot.by_id[PAYVAND].start == edt("16:15")
            and follower.state.problem is None
        ),
        10,
        "version 5 applied",
    )
    await settle(local)
    status = await status_text(olga)
    assert "Kept the last good program" not in status
    assert "last change applied" in status and "s3cret" not in status
    assert len(dms_with(bob, "has moved")) == 2
    assert clock.now() == edt("12:00", day=22)


async def test_a_pretalx_export_at_a_url_is_the_program(
    database_url: str, server: ProgramServer, tmp_path: Path
) -> None:
    """A frab/pretalx JSON export is told apart from a program file by its content."""
    from bot.app import build_services

    server.serve(
        (CORPORA / "pretalx-democon.schedule.json").read_text(encoding="utf-8"),
        "application/json",
    )
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        program_file=server.url,
    )
    services = await build_services(settings, ManualClock(edt("12:00")))
    try:
        snapshot = services.program.snapshot
        assert snapshot.workshop.name  # from the export, not "pretalx"
        assert len(snapshot.talks) > 5
        assert services.follower is not None and services.follower.follows
        assert server.requests == 1
        assert services.follower.fetcher is not None and services.follower.fetcher.etag
    finally:
        await services.close()


async def test_a_source_down_at_start_serves_what_the_database_holds(
    database_url: str, server: ProgramServer
) -> None:
    from bot.app import build_services

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        program_file=server.url,
    )
    services = await build_services(settings, ManualClock(edt("12:00")))
    await services.close()
    server.status = 500
    services = await build_services(settings, ManualClock(edt("12:00")))
    try:
        assert services.program.snapshot.by_id[PAYVAND].start == edt("09:00")
        assert services.follower is not None
        assert "HTTP 500" in (services.follower.state.problem or "")
        assert "s3cret" not in (services.follower.state.problem or "")
    finally:
        await services.close()
    # Cancelling most of the program at start is refused too.
    server.serve(changed(load_program(HAET_FILE), lambda es: es[:3]))
    services = await build_services(settings, ManualClock(edt("12:00") + timedelta(hours=1)))
    try:
        assert len(services.program.snapshot.talks) == 37
        assert "would cancel" in (services.follower.state.problem or "")  # type: ignore[union-attr]
    finally:
        await services.close()
