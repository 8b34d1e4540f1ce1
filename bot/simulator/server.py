"""DiscordSimulator: a local Discord (REST + gateway on 127.0.0.1) that real discord.py talks to."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import math
import re
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, Self

from aiohttp import BodyPartReader, hdrs, web

from . import threads as thread_rules
from .core import ApiError, SimState, Upload
from .faults import Faults
from .gateway import Gateway
from .models import (
    BOT_PERMISSIONS,
    ChannelType,
    InteractionRecord,
    SimChannel,
    SimMessage,
    Stats,
    iso_now,
    new_token,
)
from .ratelimit import RateLimitConfig, RateLimiter, Verdict
from .routes import Call, Reply, Route, match
from .users import (
    InteractionResult,
    InteractionTimeout,
    SimulatorError,
    SimUser,
    interaction_payload,
)
from .validation import SpecValidator, spec_template

_log = logging.getLogger(__name__)

API_PREFIX = re.compile(r"^/api/v(\d+)")
DEFAULT_CHANNELS = ("general", "announcements", "reminders", "organizers")
FILE_PART = re.compile(r"^files\[(\d+)\]$")
REASONS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def _json(status: int, body: Any, headers: Mapping[str, str] | None = None) -> web.Response:
    # Exactly "application/json": discord.py only decodes JSON when the header is exactly that,
    # and web.json_response would add "; charset=utf-8".
    out = {"Content-Type": "application/json", "Via": "1.1 google", **(headers or {})}
    return web.Response(status=status, body=json.dumps(body).encode(), headers=out)


class DiscordSimulator:
    """A local Discord with one application, one guild and simulated users.

    Use as ``async with DiscordSimulator() as sim:``; point discord.py at ``sim.api_base`` and
    ``sim.gateway_url``; drive it with ``sim.add_user(...)``; assert on ``sim.violations``,
    ``sim.problems`` and ``sim.stats``.
    """

    def __init__(
        self,
        *,
        token: str = "sim-token",
        validate: bool = True,
        strict: bool = False,
        rate_limits: bool = True,
        rate_limit_config: RateLimitConfig | None = None,
        guild_name: str = "Workshop",
        channels: Iterable[str] = DEFAULT_CHANNELS,
        heartbeat_interval: float = 41.25,
        bot_name: str = "WorkshopBot",
        bot_permissions: int = BOT_PERMISSIONS,
        reject_invalid: bool = True,
        interaction_deadline: float = 3.0,
        interaction_timeout: float = 5.0,
        check_event_times: bool = True,
        now: Callable[[], dt.datetime] | None = None,
        seed: int | None = 0,
    ) -> None:
        self.token = token
        self.validate = validate
        self.rate_limits = rate_limits
        self.reject_invalid = reject_invalid
        self.interaction_deadline = interaction_deadline
        self.interaction_timeout = interaction_timeout
        self.check_event_times = check_event_times
        # What Discord believes "now" is when it refuses events in the past: tests running the
        # bot on an injected clock pass that clock here.
        self.now: Callable[[], dt.datetime] = now or (lambda: dt.datetime.now(dt.UTC))
        self.stats = Stats()
        self.violations: list[str] = []
        self.problems: list[str] = []
        self.validator = SpecValidator(strict=strict)
        self.limiter = RateLimiter(rate_limit_config or RateLimitConfig())
        self.state = SimState(
            guild_name=guild_name,
            channels=channels,
            bot_name=bot_name,
            bot_permissions=bot_permissions,
            base_url=lambda: self.base_url,
        )
        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []
        self.users: dict[str, SimUser] = {}
        self.gateway = Gateway(
            self.state,
            self.stats,
            token=lambda: self.token,
            url=lambda: self.gateway_url,
            heartbeat_interval=heartbeat_interval,
            problem=self.problem,
            notify=self.notify,
        )
        self.faults = Faults(self.state, self.drop_gateway, seed=seed)
        self.state.listeners.append(lambda _event, _data: self.notify())

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> Self:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for _, future in self._waiters:
            if not future.done():
                future.cancel()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise SimulatorError("the simulator is not started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    # -- world ----------------------------------------------------------------------------------

    @property
    def application_id(self) -> int:
        return self.state.application_id

    @property
    def bot_id(self) -> int:
        return self.state.bot.id

    @property
    def guild_id(self) -> int:
        return self.state.guild.id

    def channel(self, ref: str | int) -> SimChannel:
        return self.state.channel(ref)

    def channel_id(self, ref: str | int) -> int:
        return self.state.channel(ref).id

    def role_id(self, name: str) -> int:
        return self.state.role(name).id

    def add_user(
        self,
        name: str,
        *,
        roles: Iterable[str] = (),
        permissions: int | None = None,
        dms_open: bool = True,
    ) -> SimUser:
        """A new guild member; ``permissions`` gives them a personal role with exactly those bits."""
        state = self.state
        role_ids = [state.role(r).id for r in roles]
        if permissions is not None:
            role = state.add_role(f"{name} permissions", permissions)
            role_ids.append(role.id)
            state.emit(
                "GUILD_ROLE_CREATE", {"guild_id": str(state.guild.id), "role": role.to_payload()}
            )
        member = state.add_member(name, role_ids=role_ids, dms_open=dms_open)
        state.emit("GUILD_MEMBER_ADD", {**member.member_payload(), "guild_id": str(state.guild.id)})
        user = SimUser(member=member, sim=self)
        self.users[name] = user
        return user

    def set_channel_permissions(
        self, channel: str | int | SimChannel, allow_bot_send: bool
    ) -> None:
        """Grant or deny the bot Send Messages in ``channel`` (denied: posts answer 50013)."""
        self.state.set_bot_send(self.state.channel(channel), allow=allow_bot_send)

    def delete_channel(self, channel: str | int | SimChannel) -> None:
        """Delete ``channel`` as an admin would: discord.py is told (CHANNEL_DELETE), and every
        later request to it (a post, an edit, a pin) answers 404 with code 10003."""
        self.state.delete_channel(self.state.channel(channel))

    def set_bot_permissions(self, permissions: int) -> None:
        """Give the bot's role exactly ``permissions`` server-wide (as an admin editing it)."""
        state = self.state
        role = state.guild.roles[state.bot_role_id]
        role.permissions = permissions
        state.emit(
            "GUILD_ROLE_UPDATE", {"guild_id": str(state.guild.id), "role": role.to_payload()}
        )

    # -- channels, forums and threads -------------------------------------------------------------

    def add_channel(self, name: str, *, kind: int = ChannelType.GUILD_TEXT) -> SimChannel:
        """A new guild channel (text by default), announced to the bot with CHANNEL_CREATE."""
        state = self.state
        channel = SimChannel(
            id=state.ids.next(),
            type=kind,
            name=name,
            guild_id=state.guild.id,
            position=len(state.guild.channel_ids),
        )
        state.channels[channel.id] = channel
        state.guild.channel_ids.append(channel.id)
        state.emit("CHANNEL_CREATE", state.channel_payload(channel))
        return channel

    def add_forum(
        self,
        name: str,
        *,
        tags: Iterable[str | Mapping[str, Any]] = (),
        default_auto_archive_duration: int = 1440,
        require_tag: bool = False,
    ) -> SimChannel:
        """A forum channel (type 15) as an admin would make it, with ``tags`` given by name or
        as ``{"name", "moderated", "emoji_name"}``; each tag gets an id."""
        forum = SimChannel(
            id=self.state.ids.next(),
            type=ChannelType.GUILD_FORUM,
            name=name,
            guild_id=self.state.guild.id,
            position=len(self.state.guild.channel_ids),
            default_auto_archive_duration=default_auto_archive_duration,
            flags=thread_rules.REQUIRE_TAG if require_tag else 0,
        )
        forum.available_tags = [
            {
                "id": str(self.state.ids.next()),
                "name": tag if isinstance(tag, str) else tag["name"],
                "moderated": False if isinstance(tag, str) else bool(tag.get("moderated")),
                "emoji_id": None,
                "emoji_name": None if isinstance(tag, str) else tag.get("emoji_name"),
            }
            for tag in tags
        ]
        self.state.channels[forum.id] = forum
        self.state.guild.channel_ids.append(forum.id)
        self.state.emit("CHANNEL_CREATE", self.state.channel_payload(forum))
        return forum

    def tags(self, forum: str | int | SimChannel) -> list[dict[str, Any]]:
        """A forum's ``available_tags`` as Discord serves them."""
        return [dict(t) for t in self.state.channel(forum).available_tags]

    def tag_id(self, forum: str | int | SimChannel, name: str) -> int:
        for tag in self.state.channel(forum).available_tags:
            if tag["name"] == name:
                return int(tag["id"])
        raise KeyError(f"no tag {name!r} in #{self.state.channel(forum).name}")

    def threads(
        self, parent: str | int | SimChannel, *, archived: bool | None = None
    ) -> list[SimChannel]:
        """Threads (forum posts) of a channel, oldest first; ``archived`` filters by state."""
        found = self.state.threads_of(self.state.channel(parent))
        if archived is not None:
            found = [t for t in found if t.thread is not None and t.thread.archived == archived]
        return found

    def thread(self, ref: str | int | SimChannel, *, parent: str | int | None = None) -> SimChannel:
        """A thread by id or name (within ``parent`` when given)."""
        if isinstance(ref, SimChannel) or isinstance(ref, int) or str(ref).isdigit():
            found = self.state.channel(ref)
            if not found.is_thread:
                raise KeyError(f"channel {ref!r} is not a thread")
            return found
        pool = (
            self.state.threads_of(self.state.channel(parent))
            if parent is not None
            else [c for c in self.state.channels.values() if c.is_thread and not c.deleted]
        )
        for candidate in pool:
            if candidate.name == ref:
                return candidate
        raise KeyError(f"no thread {ref!r}")

    def thread_payload(self, thread: str | int | SimChannel) -> dict[str, Any]:
        """A thread as ``GET /channels/{id}`` answers it."""
        return self.state.thread_payload(self.thread(thread))

    def thread_members(self, thread: str | int | SimChannel) -> list[int]:
        """User ids of a thread's members, in joining order."""
        meta = self.thread(thread).thread
        assert meta is not None
        return list(meta.members)

    def add_thread(
        self,
        parent: str | int | SimChannel,
        name: str,
        *,
        owner: SimUser | None = None,
        archived: bool = False,
        kind: int = ChannelType.PUBLIC_THREAD,
    ) -> SimChannel:
        """A thread someone else (by default the guild owner) started, e.g. to fill the guild up
        to Discord's 1,000 active threads; THREAD_CREATE is dispatched as for any new thread."""
        state = self.state
        target = state.channel(parent)
        thread = thread_rules.new_thread(
            state,
            target,
            owner.member if owner is not None else state.owner,
            name=thread_rules.check_name(name),
            kind=kind,
            auto_archive_duration=target.default_auto_archive_duration,
        )
        if archived:
            self.archive_thread(thread)
        return thread

    def archive_thread(
        self, thread: str | int | SimChannel, *, archived: bool = True, locked: bool | None = None
    ) -> None:
        """Archive (or lock) a thread as Discord's inactivity timer or a moderator would."""
        target = self.thread(thread)
        meta = target.thread
        assert meta is not None
        meta.archived = archived
        meta.archive_timestamp = iso_now()
        if locked is not None:
            meta.locked = locked
        self.state.emit("THREAD_UPDATE", self.state.thread_payload(target))

    def set_bot_overwrite(
        self, channel: str | int | SimChannel, *, allow: int = 0, deny: int = 0
    ) -> None:
        """Set the bot's member overwrite in ``channel`` (threads follow their parent's)."""
        state = self.state
        target = state.channel(channel)
        target.overwrites = [o for o in target.overwrites if int(o["id"]) != state.bot.id]
        if allow or deny:
            target.overwrites.append(
                {"id": str(state.bot.id), "type": 1, "allow": str(allow), "deny": str(deny)}
            )
        state.emit("CHANNEL_UPDATE", state.channel_payload(target))

    def names(self) -> dict[str, str]:
        """Display names of users, roles and channels by id (for render_message)."""
        state = self.state
        names = {str(m.id): m.global_name or m.username for m in state.members.values()}
        names.update({str(r.id): r.name.lstrip("@") for r in state.guild.roles.values()})
        names.update({str(c.id): c.name for c in state.channels.values() if c.name})
        # What Discord's client shows for a mention of a channel that no longer exists.
        names.update({str(c.id): "deleted-channel" for c in state.channels.values() if c.deleted})
        return names

    def commands(self, *, guild: bool = True) -> list[dict[str, Any]]:
        """Application commands as last synced (guild or global)."""
        return list(self.state.guild_commands if guild else self.state.global_commands)

    def messages(
        self, channel: str | int | SimChannel, *, viewer: SimUser | None = None
    ) -> list[dict[str, Any]]:
        """Messages of a channel, oldest first (ephemeral ones only with their ``viewer``)."""
        target = self.state.channel(channel)
        return [
            m.data
            for m in self.state.channel_messages(
                target, viewer=None if viewer is None else viewer.id
            )
        ]

    def message(self, message_id: int | str) -> SimMessage:
        return self.state.messages[int(message_id)]

    def attachments(self, message: int | str | Mapping[str, Any]) -> dict[str, bytes]:
        """Files of a message by filename."""
        mid = message["id"] if isinstance(message, Mapping) else message
        return self.state.messages[int(mid)].files

    def pins(self, channel: str | int) -> list[dict[str, Any]]:
        target = self.state.channel(channel)
        return [self.state.messages[p.message_id].data for p in target.pins]

    @property
    def scheduled_events(self) -> list[dict[str, Any]]:
        return list(self.state.scheduled_events.values())

    # -- waiting --------------------------------------------------------------------------------

    def notify(self) -> None:
        """Re-check every waiter (called on each state change)."""
        for predicate, future in list(self._waiters):
            if future.done():
                continue
            try:
                if predicate():
                    future.set_result(None)
            except Exception as exc:  # a test's predicate failing is the test's error
                future.set_exception(exc)

    def fail_waiters(self, error: BaseException) -> None:
        """Make every pending wait raise ``error`` (e.g. from a handler that saw the bot crash)."""
        for _, future in list(self._waiters):
            if not future.done():
                future.set_exception(error)

    async def wait_until(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        if predicate():
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (predicate, future)
        self._waiters.append(entry)
        try:
            await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise InteractionTimeout(f"timed out after {timeout}s waiting for {what}") from None
        finally:
            self._waiters.remove(entry)

    async def wait_for_message(
        self,
        channel: str | int | SimChannel | None = None,
        *,
        dm_of: SimUser | None = None,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        timeout: float = 5.0,
        after: int | Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The oldest message (existing or future) in a channel or DM that matches ``predicate``.

        ``after`` (a message or id) skips messages up to it, to wait for a *new* one.
        """
        state = self.state
        if dm_of is not None:
            target = state.dm_channel_for(dm_of.member)
        elif channel is not None:
            target = state.channel(channel)
        else:
            raise SimulatorError("wait_for_message needs channel= or dm_of=")
        floor = int(after["id"]) if isinstance(after, Mapping) else int(after or 0)
        found: list[dict[str, Any]] = []

        def check() -> bool:
            for message in state.channel_messages(target):
                if message.id > floor and (predicate is None or predicate(message.data)):
                    found.append(message.data)
                    return True
            return False

        where = f"DM of {dm_of.name}" if dm_of is not None else f"#{target.name}"
        await self.wait_until(check, timeout, f"a message in {where}")
        return found[0]

    async def wait_for_bot(self, timeout: float = 5.0) -> None:
        """Until a bot session has identified (READY and GUILD_CREATE sent)."""
        await self.wait_until(
            lambda: bool(self.gateway.live_sessions()), timeout, "the bot to IDENTIFY"
        )

    # -- gateway faults -------------------------------------------------------------------------

    async def drop_gateway(
        self, *, code: int = 4000, wait: bool = True, timeout: float = 5.0
    ) -> None:
        """Close the bot's socket with a resumable code; by default wait for its RESUME."""
        before = self.stats.resumes + self.stats.identifies
        closed = await self.gateway.drop(code)
        if wait and closed:
            await self.wait_until(
                lambda: self.stats.resumes + self.stats.identifies > before,
                timeout,
                "the bot to reconnect",
            )

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT (discord.py closes and resumes)."""
        await self.gateway.send_op(7, None)

    async def invalidate_session(self, *, resumable: bool = False) -> None:
        """Send op 9 INVALID_SESSION (not resumable: discord.py identifies again)."""
        await self.gateway.send_op(9, resumable)

    # -- interactions ---------------------------------------------------------------------------

    async def interact(
        self,
        user: SimUser,
        kind: int,
        channel: SimChannel,
        data: dict[str, Any],
        *,
        source: SimMessage | None = None,
        opened_by: InteractionRecord | None = None,
        timeout: float | None = None,
        wait: bool = True,
    ) -> InteractionResult:
        """Dispatch INTERACTION_CREATE and wait for the bot's answer (and a deferred one's end)."""
        if not self.gateway.live_sessions():
            raise SimulatorError("no bot session: start the bot and wait for READY first")
        state = self.state
        record = InteractionRecord(
            id=state.ids.next(),
            token=new_token("aW50ZXJhY3Rpb24"),
            type=kind,
            user_id=user.id,
            channel_id=channel.id,
            guild_id=None if channel.is_dm else state.guild.id,
            payload={},
            created_at=time.monotonic(),
            source_message_id=None if source is None else source.id,
            opened_by=None if opened_by is None else opened_by.id,
        )
        record.payload = interaction_payload(state, record, user.member, channel, data, source)
        state.interactions[record.id] = record
        state.interactions_by_token[record.token] = record
        self.stats.interactions += 1
        result = InteractionResult(self, record, user)
        timeout = self.interaction_timeout if timeout is None else timeout
        what = _describe(kind, data)
        record.created_at = time.monotonic()
        await self.gateway.dispatch("INTERACTION_CREATE", record.payload)
        await self.wait_until(
            lambda: record.response_type is not None, timeout, f"the bot to answer {what}"
        )
        if wait and record.response_type in (5, 6):
            await self.wait_until(
                lambda: record.completed_at is not None,
                timeout,
                f"the bot to finish its deferred answer to {what} (pass wait=False for silent acks)",
            )
        return result

    # -- reporting ------------------------------------------------------------------------------

    def problem(self, text: str) -> None:
        _log.warning("simulator problem: %s", text)
        self.problems.append(text)

    def assert_clean(self) -> None:
        """Raise AssertionError listing spec violations and protocol problems, if any."""
        if self.violations or self.problems:
            lines = [
                *(f"violation: {v}" for v in self.violations),
                *(f"problem: {p}" for p in self.problems),
            ]
            raise AssertionError("simulated Discord saw bad traffic:\n" + "\n".join(lines))

    # -- HTTP plumbing --------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.path == "/" and request.headers.get(hdrs.UPGRADE, "").lower() == "websocket":
            return await self.gateway.handle(request)
        if request.method == "GET" and request.path.startswith("/attachments/"):
            return self._serve_attachment(request)
        prefix = API_PREFIX.match(request.path)
        if prefix is None:
            self.problem(f"request outside the API: {request.method} {request.path}")
            return _json(404, {"message": "404: Not Found", "code": 0})
        path = request.path[prefix.end() :] or "/"
        found = match(request.method, path)
        if found is None:
            known = spec_template(path)
            why = "in Discord's spec but not simulated" if known else "not a Discord route"
            self.problem(f"unknown route {request.method} {path} ({why})")
            return _json(404, {"message": "404: Not Found", "code": 0})
        route, params = found
        key = f"{request.method} {route.template}"
        self.stats.requests[key] += 1
        try:
            body, uploads = await self._read_body(request)
        except ApiError as exc:
            return self._finish(route, path, Reply(exc.status, exc.body()), {})
        if route.auth == "bot" and request.headers.get(hdrs.AUTHORIZATION) != f"Bot {self.token}":
            self.stats.invalid_requests += 1
            return _json(401, {"message": "401: Unauthorized", "code": 0})
        slow = self.faults.pick(request.method, route.template, ("hang", "error_after"))
        if slow is not None and slow.kind == "hang":
            self.notify()  # a test may be waiting for the request to be in flight
            await asyncio.sleep(slow.delay)
            if not slow.serve:
                self.stats.server_errors += 1
                reason = REASONS.get(slow.status, "Server Error")
                return _json(slow.status, {"message": f"{slow.status}: {reason}", "code": 0})
        refused = self._faults_and_limits(route, params, key)
        if isinstance(refused, web.Response):
            return refused
        if self.validate and body is not None:
            self.violations.extend(
                self.validator.validate_request(
                    request.method, route.template, f"/api/v10{path}", body
                )
            )
        call = Call(
            request.method, path, route.template, params, dict(request.query), body, uploads
        )
        try:
            reply = await route.handler(self, call)
        except ApiError as exc:
            reply = Reply(exc.status, exc.body())
        except Exception:
            self.problem(f"simulator crashed on {request.method} {path}:\n{traceback.format_exc()}")
            reply = Reply(500, {"message": "500: Internal Server Error", "code": 0})
        if slow is not None and slow.kind == "error_after":
            self.stats.server_errors += 1
            reason = REASONS.get(slow.status, "Server Error")
            return _json(slow.status, {"message": f"{slow.status}: {reason}", "code": 0})
        return self._finish(route, path, reply, refused)

    def _faults_and_limits(
        self, route: Route, params: dict[str, str], key: str
    ) -> web.Response | dict[str, str]:
        """A refusal (injected fault or exceeded limit), or the rate-limit headers to send."""
        fault = self.faults.pick(route.method, route.template)
        if fault is not None and fault.kind == "ratelimit":
            _, rule = self.limiter.config.rule_for(route.method, route.template)
            verdict = Verdict(
                allowed=False, retry_after=fault.retry_after, is_global=fault.is_global
            )
            if fault.is_global:
                verdict.headers = {"X-RateLimit-Global": "true", "X-RateLimit-Scope": "global"}
            else:
                verdict.headers = {
                    "X-RateLimit-Limit": str(rule.limit),
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": f"{time.time() + fault.retry_after:.3f}",
                    "X-RateLimit-Reset-After": f"{fault.retry_after:.3f}",
                    "X-RateLimit-Bucket": "injected-fault",
                    "X-RateLimit-Scope": "user",
                }
            return self._too_many(verdict, key)
        if fault is not None:
            self.stats.server_errors += 1
            reason = REASONS.get(fault.status, "Server Error")
            text = fault.message or f"{fault.status}: {reason}"
            return _json(fault.status, {"message": text, "code": fault.code})
        if not self.rate_limits:
            return {}
        if route.auth == "bot":
            # Interaction callbacks and interaction webhooks are exempt from the global limit.
            verdict = self.limiter.check_global(self.token)
            if not verdict.allowed:
                return self._too_many(verdict, key)
        if route.auth == "token" and route.template.endswith("/callback"):
            # One answer per interaction anyway: Discord puts callbacks in no shared bucket.
            return {}
        major = ":".join(
            params[p]
            for p in ("channel_id", "guild_id", "webhook_id", "webhook_token")
            if p in params
        )
        verdict = self.limiter.check_route(route.method, route.template, major)
        if not verdict.allowed:
            if route.auth == "bot":
                self.limiter.uncount_global(self.token)
            return self._too_many(verdict, key)
        return verdict.headers

    def _too_many(self, verdict: Verdict, key: str) -> web.Response:
        self.stats.rate_limited += 1
        self.stats.rate_limited_by_route[key] += 1
        self.stats.invalid_requests += 1
        if verdict.is_global:
            self.stats.global_rate_limited += 1
        headers = {**verdict.headers, "Retry-After": str(max(1, math.ceil(verdict.retry_after)))}
        body = {
            "message": "You are being rate limited.",
            "retry_after": verdict.retry_after,
            "global": verdict.is_global,
            "code": 0,
        }
        return _json(429, body, headers)

    def _finish(
        self, route: Route, path: str, reply: Reply, headers: Mapping[str, str]
    ) -> web.Response:
        if reply.status >= 500:
            self.stats.server_errors += 1
        if reply.status in (401, 403, 429):
            self.stats.invalid_requests += 1
        if self.validate and reply.body is not None:
            self.violations.extend(
                self.validator.validate_response(
                    route.method, route.template, f"/api/v10{path}", reply.status, reply.body
                )
            )
        if reply.body is None:
            return web.Response(status=reply.status, headers={"Via": "1.1 google", **headers})
        return _json(reply.status, reply.body, headers)

    async def _read_body(self, request: web.Request) -> tuple[Any, list[Upload]]:
        if request.content_type == "multipart/form-data":
            return await self._read_multipart(request)
        raw = await request.read()
        if not raw:
            return None, []
        try:
            return json.loads(raw), []
        except ValueError as exc:
            raise ApiError(400, 50109, "The request body contains invalid JSON.") from exc

    async def _read_multipart(self, request: web.Request) -> tuple[Any, list[Upload]]:
        # discord.py sends files as multipart: a payload_json part plus files[n] parts.
        reader = await request.multipart()
        body: Any = None
        uploads: list[Upload] = []
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader):
                continue
            name = part.name or ""
            if name == "payload_json":
                try:
                    body = json.loads(await part.text())
                except ValueError as exc:
                    raise ApiError(400, 50109, "The request body contains invalid JSON.") from exc
                continue
            index = FILE_PART.match(name)
            if index is None:
                self.problem(f"multipart part {name!r} is neither payload_json nor files[n]")
                continue
            data = bytes(await part.read(decode=False))
            uploads.append(
                Upload(
                    int(index.group(1)),
                    part.filename or name,
                    data,
                    part.headers.get(hdrs.CONTENT_TYPE),
                )
            )
        return body, uploads

    def _serve_attachment(self, request: web.Request) -> web.StreamResponse:
        parts = request.path.split("/")
        attachment = (
            self.state.uploads.get(int(parts[3])) if len(parts) > 4 and parts[3].isdigit() else None
        )
        if attachment is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=attachment.data, headers={"Content-Type": attachment.content_type})


def _describe(kind: int, data: Mapping[str, Any]) -> str:
    if kind in (2, 4):
        names = [str(data.get("name"))]
        options = data.get("options") or []
        while options and options[0].get("type") in (1, 2):
            names.append(options[0]["name"])
            options = options[0].get("options") or []
        return ("autocomplete of " if kind == 4 else "") + "/" + " ".join(names)
    if kind == 3:
        return f"component {data.get('custom_id')!r}"
    if kind == 5:
        return f"modal {data.get('custom_id')!r}"
    return f"interaction type {kind}"
