"""The composition root: settings -> logging -> engine -> services -> Bot. Nothing else builds."""

from __future__ import annotations

import asyncio
import functools
import io
import logging
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import discord
import yarl
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.client import WorkshopBot
from bot.clock import Clock, RehearsalClock, SystemClock
from bot.db import migrate
from bot.db.session import create_engine, create_sessionmaker
from bot.delivery.engine import DeliveryEngine
from bot.delivery.outbox import DiscordOutbox, pace_every_request
from bot.delivery.pacer import Pacer
from bot.errors import ProgramError
from bot.logs import configure_logging
from bot.reloading import (
    ProgramFollower,
    ProgramReloader,
    WouldCancelMost,
    current_entry_ids,
    would_cancel_most,
)
from bot.services.announcements import AnnouncementTargets
from bot.services.events import EventSync
from bot.services.guild_config import CustomAnnouncements, GuildConfigService
from bot.services.people import PeopleService
from bot.services.program import ProgramService
from bot.services.questions import QuestionService
from bot.services.reminders import ReminderService
from bot.services.schedule import ScheduleService
from bot.services.search import SearchService
from bot.services.status import StatusService
from bot.services.threads import ThreadSync
from bot.settings import Settings
from bot.ui.reminders import CardExtras, make_card_extras

log = logging.getLogger(__name__)

EXTENSIONS: tuple[str, ...] = (
    "cogs.meta",
    "cogs.schedule",
    "cogs.search",
    "cogs.reminders",
    "cogs.organizers",
    "cogs.setup",
    "cogs.announce",
    "cogs.agenda",
    "cogs.status",
    "cogs.questions",
    "cogs.people",
)


@dataclass
class Services:
    """Everything the cogs and timers need, built once and handed down."""

    settings: Settings
    clock: Clock
    db: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    program: ProgramService
    schedule: ScheduleService
    search: SearchService
    reminders: ReminderService
    targets: AnnouncementTargets
    card_extras: CardExtras | None
    guild_config: GuildConfigService
    events: EventSync
    status: StatusService
    questions: QuestionService
    people: PeopleService
    threads: ThreadSync
    started: float = field(default_factory=time.monotonic)
    # Made with the bot (they send through it): see build_bot.
    outbox: DiscordOutbox | None = None
    engine: DeliveryEngine | None = None
    reloader: ProgramReloader | None = None
    custom_announcements: CustomAnnouncements | None = None
    follower: ProgramFollower | None = None

    @property
    def database_backend(self) -> str:
        return self.db.dialect.name

    async def close(self) -> None:
        if self.follower is not None:
            await self.follower.stop()
        if self.engine is not None:
            await self.engine.stop()
        await self.db.dispose()


def make_clock(settings: Settings) -> Clock:
    if settings.simulate_start is not None:
        return RehearsalClock(settings.simulate_start, settings.speed)
    if settings.speed != 1.0:
        # A faster clock needs a start; start the rehearsal from now.
        return RehearsalClock(SystemClock().now(), settings.speed)
    return SystemClock()


async def build_services(settings: Settings, clock: Clock | None = None) -> Services:
    """Connect, migrate, load the program file (idempotently) and read it into memory."""
    from bot.program.loader import load_program as load_into_db

    clock = clock or make_clock(settings)
    engine = create_engine(settings.database_url)
    sessions = create_sessionmaker(engine)
    program_service = ProgramService(sessions)
    reminders = ReminderService(sessions, clock, program_service)
    follower = ProgramFollower(settings, sessions, clock)
    problem: str | None = None
    try:
        program = None
        try:
            # In this thread: nothing else runs yet (see the search index below).
            program = await follower.read(in_thread=False)
        except ProgramError as exc:
            if not follower.follows:
                raise  # a file with an error: the organizer fixes it before the bot starts
            problem = str(exc)
            log.warning("program source: %s; serving what the database holds", exc)
        if program is None and problem is None:
            log.warning(
                "program %s not found; serving what the database holds", settings.program_file
            )
        # One process at a time: N processes started at once on a fresh database would
        # otherwise all create the tables and insert the program (unique violations).
        async with migrate.startup_lock(engine):
            await migrate.upgrade(engine)
            if program is not None and follower.follows:
                try:
                    would_cancel_most(await current_entry_ids(sessions), program)
                except WouldCancelMost as exc:
                    problem, program = str(exc), None
                    log.warning("program source: %s", exc)
            if program is not None:
                # Subscribers of entries the file moved or cancelled are queued their notices
                # by the load itself; the engine sends them once the bot can.
                await load_into_db(sessions, program, clock.now())
            await program_service.refresh()
            if program_service.loaded:
                await reminders.apply_kind_subscriptions()
        if problem is not None:
            if follower.fetcher is not None:
                follower.fetcher.forget()
            await follower.problem(problem)
    except BaseException:
        await engine.dispose()
        raise
    search = SearchService(lambda: program_service.snapshot)
    schedule = ScheduleService(lambda: program_service.snapshot)
    if program_service.loaded:
        # Built now rather than during someone's first command. In this thread: nothing else
        # runs yet, and a worker thread's malloc arena would keep ~20 MB after the build.
        search.index()
        schedule.now(clock.now())
    people = PeopleService(sessions, clock, program_service, reminders)
    return Services(
        settings=settings,
        clock=clock,
        db=engine,
        sessions=sessions,
        program=program_service,
        schedule=schedule,
        search=search,
        reminders=reminders,
        targets=AnnouncementTargets(sessions, settings),
        card_extras=make_card_extras(reminders, clock),
        guild_config=GuildConfigService(sessions, clock, settings),
        events=EventSync(sessions, clock, program_service),
        status=StatusService(sessions),
        # Members linked to an entry's people may mark its questions answered.
        questions=QuestionService(sessions, clock, program_service, speakers=people),
        people=people,
        threads=ThreadSync(
            sessions,
            clock,
            program_service,
            members=people.members_for,
            lease_seconds=settings.claim_lease_seconds,
        ),
        follower=follower,
    )


def point_discord_at(api_base: str, gateway_url: str) -> None:
    """Aim discord.py's REST and gateway at a Discord-compatible server (class attributes)."""
    discord.http.Route.BASE = api_base.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def build_bot(
    services: Services,
    *,
    extensions: Sequence[str] = EXTENSIONS,
    dev_guild_id: int | None = None,
    **options: Any,
) -> WorkshopBot:
    bot = WorkshopBot(
        services,
        extensions=extensions,
        dev_guild_id=dev_guild_id if dev_guild_id is not None else services.settings.dev_guild_id,
        **options,
    )
    # Every request the bot makes waits on one pacer: members' first, then the engine's.
    pace_every_request(bot.http, Pacer(services.settings.delivery_rate))
    services.outbox = DiscordOutbox(
        bot,
        services.sessions,
        services.program,
        services.targets,
        services.clock,
        send_timeout=services.settings.send_timeout_seconds,
    )
    services.outbox.presenting = services.people.presenting
    services.outbox.threads = services.threads.links
    services.engine = DeliveryEngine(
        services.sessions,
        services.clock,
        services.program,
        services.targets,
        services.outbox,
        services.schedule,
        rate=services.settings.delivery_rate,
        lease_seconds=services.settings.claim_lease_seconds,
    )
    services.custom_announcements = CustomAnnouncements(
        services.sessions, services.clock, services.engine
    )
    services.reloader = ProgramReloader(
        services.sessions,
        services.clock,
        services.program,
        services.reminders,
        services.search,
        services.engine,
    )
    if services.follower is not None:
        services.follower.reloader = services.reloader
        services.follower.engine = services.engine
    bot.on_close(services.close)
    return bot


def _install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, functools.partial(_request_stop, stop, sig))
        except (NotImplementedError, RuntimeError):
            pass
    try:
        loop.add_signal_handler(signal.SIGUSR1, _log_tasks)
    except (NotImplementedError, RuntimeError, AttributeError):
        pass


def _log_tasks() -> None:
    """``kill -USR1 PID``: log what every task of a bot that seems stuck is waiting on."""
    out = io.StringIO()
    tasks = sorted(asyncio.all_tasks(), key=lambda t: t.get_name())
    for task in tasks:
        out.write(f"--- {task.get_name()}\n")
        task.print_stack(limit=12, file=out)
    log.warning("%d tasks, on SIGUSR1:\n%s", len(tasks), out.getvalue())


def _request_stop(stop: asyncio.Event, sig: signal.Signals) -> None:
    log.info("received %s, shutting down", sig.name)
    stop.set()


def _settings_with(simulate_start: datetime | None, speed: float | None) -> Settings:
    overrides: dict[str, Any] = {}
    if simulate_start is not None:
        overrides["simulate_start"] = simulate_start
    if speed is not None:
        overrides["speed"] = speed
    return Settings(**overrides)


async def _run_bot(settings: Settings) -> None:
    assert settings.discord_token is not None
    point_discord_at(settings.discord_api_base, settings.discord_gateway_url)
    services = await build_services(settings)
    bot = build_bot(services, freeze_gc=True)
    stop = asyncio.Event()
    _install_signal_handlers(stop)
    token = settings.discord_token.get_secret_value()
    # Leaving this block awaits bot.close() in full (timers, database), signal or not.
    async with bot:
        if not settings.gateway:
            # Delivery only: login runs setup_hook, which starts the timers; no gateway.
            await bot.login(token)
            log.info("delivery-only process (GATEWAY=false): not connecting to the gateway")
            await stop.wait()
            return
        runner = asyncio.create_task(bot.start(token))
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if runner in done:
            runner.result()  # a login failure or crash propagates
    await runner


def run(simulate_start: datetime | None = None, speed: float | None = None) -> int:
    settings = _settings_with(simulate_start, speed)
    token = settings.discord_token.get_secret_value() if settings.discord_token else None
    configure_logging(settings.log_level, secrets=[token] if token else [])
    if not token:
        print(
            "No DISCORD_TOKEN is set, so here is the local playground: the bot against a local\n"
            "Discord in your terminal. To connect to real Discord, put DISCORD_TOKEN in .env\n"
            "(see .env.example and docs/organizers.md)."
        )
        return playground(simulate_start=simulate_start, speed=speed, settings=settings)
    try:
        asyncio.run(_run_bot(settings))
    except discord.LoginFailure:
        log.error("Discord refused the token: check DISCORD_TOKEN")
        return 1
    return 0


def playground(
    simulate_start: datetime | None = None,
    speed: float | None = None,
    settings: Settings | None = None,
) -> int:
    from bot.playground import run_playground

    settings = settings or _settings_with(simulate_start, speed)
    return run_playground(settings)


def sync_global() -> int:
    settings = Settings()
    if settings.discord_token is None:
        print("error: DISCORD_TOKEN is not set", flush=True)
        return 1
    configure_logging(settings.log_level, secrets=[settings.discord_token.get_secret_value()])
    point_discord_at(settings.discord_api_base, settings.discord_gateway_url)

    async def _sync() -> int:
        services = await build_services(settings)
        bot = build_bot(services, dev_guild_id=None)
        async with bot:
            assert settings.discord_token is not None
            # login() runs setup_hook, which loads the extensions (no dev guild: no guild sync).
            await bot.login(settings.discord_token.get_secret_value())
            synced = await bot.tree.sync()
            print(f"synced {len(synced)} global commands (Discord may take a while to show them)")
        return 0

    return asyncio.run(_sync())


# Permissions the bot needs, and no more: view channels, send messages, embed links, attach
# files, read message history (for jump links), pin messages (the live board), create events
# (Discord scheduled events; it edits and deletes only its own). Since 23 February 2026 Discord
# no longer lets Manage Messages pin or Manage Events create, so those two are not asked for.
INVITE_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    embed_links=True,
    attach_files=True,
    read_message_history=True,
    pin_messages=True,
    mention_everyone=False,
    create_events=True,
)


def print_invite_url() -> int:
    settings = Settings()
    if settings.discord_token is None:
        print("error: set DISCORD_TOKEN first: the application id is read from Discord")
        return 1
    point_discord_at(settings.discord_api_base, settings.discord_gateway_url)

    async def _app_id() -> int:
        client = discord.Client(intents=discord.Intents.none())
        async with client:
            assert settings.discord_token is not None
            await client.login(settings.discord_token.get_secret_value())
            info = await client.application_info()
            return info.id

    app_id = asyncio.run(_app_id())
    print(
        discord.utils.oauth_url(
            app_id, permissions=INVITE_PERMISSIONS, scopes=("bot", "applications.commands")
        )
    )
    return 0
