"""REST route handlers: each takes the simulator and a parsed request and returns a reply."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import threads
from .core import EPHEMERAL, LOADING, ApiError, Upload, invalid_form
from .models import ChannelType, InteractionRecord, Perm, SimChannel, SimMessage
from .validation import Issue, callback_issues, message_issues

if TYPE_CHECKING:
    from .server import DiscordSimulator


@dataclass
class Call:
    """One parsed API request."""

    method: str
    path: str  # below /api/v10
    template: str
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    uploads: list[Upload] = field(default_factory=list)

    def int_param(self, name: str) -> int:
        value = self.params[name]
        if not value.isdigit():
            raise invalid_form(name, "NUMBER_TYPE_COERCE", f'Value "{value}" is not snowflake.')
        return int(value)

    def json_object(self) -> dict[str, Any]:
        if not isinstance(self.body, dict):
            raise ApiError(400, 50109, "The request body contains invalid JSON.")
        return self.body


@dataclass
class Reply:
    status: int = 200
    body: Any = None

    @classmethod
    def empty(cls) -> Reply:
        return cls(204, None)


Handler = Callable[["DiscordSimulator", Call], Awaitable[Reply]]


@dataclass
class Route:
    method: str
    template: str
    handler: Handler
    auth: str  # "bot" (Authorization: Bot <token>, global limit) or "token" (interaction token)
    regex: re.Pattern[str]


ROUTES: list[Route] = []


def route(method: str, template: str, *, auth: str = "bot") -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        regex = "^" + re.sub(r"\\\{([a-z_]+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
        ROUTES.append(Route(method, template, handler, auth, re.compile(regex)))
        # Literal segments before parameters: /messages/pins/... before /messages/{message_id}.
        ROUTES.sort(key=lambda r: r.template.count("{"))
        return handler

    return register


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    for candidate in ROUTES:
        if candidate.method != method:
            continue
        found = candidate.regex.match(path)
        if found:
            return candidate, found.groupdict()
    return None


def check_limits(sim: DiscordSimulator, call: Call, issues: list[Issue]) -> None:
    """Record Discord-limit violations; answer 400 Invalid Form Body like Discord when rejecting."""
    if not issues:
        return
    for pointer, message in issues:
        sim.violations.append(
            f"{call.method} /api/v10{call.path} limit {pointer or '/'}: {message}"
        )
    if sim.reject_invalid:
        errors: dict[str, Any] = {}
        for pointer, message in issues:
            if message == "Cannot send an empty message":
                raise ApiError(400, 50006, "Cannot send an empty message")
            # Discord nests errors by field path: {"embeds": {"0": {"title": {"_errors": [...]}}}}.
            node = errors
            for key in [k for k in pointer.split("/") if k]:
                node = node.setdefault(key, {})
            node.setdefault("_errors", []).append(
                {"code": "BASE_TYPE_MAX_LENGTH", "message": message}
            )
        raise ApiError(400, 50035, "Invalid Form Body", errors)


# -- identity and gateway ------------------------------------------------------------------------


@route("GET", "/users/@me")
async def get_me(sim: DiscordSimulator, call: Call) -> Reply:
    user = sim.state.bot.user_payload()
    user.update(mfa_enabled=False, locale="en-US", verified=True, email=None, premium_type=0)
    return Reply(200, user)


@route("GET", "/users/{user_id}")
async def get_user(sim: DiscordSimulator, call: Call) -> Reply:
    member = sim.state.members.get(call.int_param("user_id"))
    if member is None:
        raise ApiError(404, 10013, "Unknown User")
    return Reply(200, member.user_payload())


@route("GET", "/oauth2/applications/@me")
async def get_application(sim: DiscordSimulator, call: Call) -> Reply:
    state = sim.state
    return Reply(
        200,
        {
            "id": str(state.application_id),
            "name": state.bot.username,
            "icon": None,
            "description": "Simulated application",
            "type": None,
            "bot": state.bot.user_payload(),
            "bot_public": False,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": 0,
            "flags_new": "0",
            "redirect_uris": [],
            # Must be null: otherwise discord.py warns interactions go to an HTTP endpoint.
            "interactions_endpoint_url": None,
            "role_connections_verification_url": None,
            "owner": state.owner.user_payload(),
            "approximate_guild_count": 1,
            "approximate_user_install_count": 0,
            "approximate_user_authorization_count": 0,
            "explicit_content_filter": 0,
            "team": None,
            "eligible_oauth2_scopes": [],
            "tags": [],
        },
    )


@route("GET", "/gateway")
async def get_gateway(sim: DiscordSimulator, call: Call) -> Reply:
    return Reply(200, {"url": sim.gateway_url.rstrip("/")})


@route("GET", "/gateway/bot")
async def get_gateway_bot(sim: DiscordSimulator, call: Call) -> Reply:
    return Reply(
        200,
        {
            "url": sim.gateway_url.rstrip("/"),
            "shards": 1,
            "session_start_limit": {
                "total": 1000,
                "remaining": 999,
                "reset_after": 0,
                "max_concurrency": 1,
            },
        },
    )


# -- application commands ------------------------------------------------------------------------


def _check_app(sim: DiscordSimulator, call: Call) -> int | None:
    if call.int_param("application_id") != sim.state.application_id:
        raise ApiError(403, 50001, "Missing Access")
    if "guild_id" in call.params:
        if call.int_param("guild_id") != sim.state.guild.id:
            raise ApiError(403, 50001, "Missing Access")
        return sim.state.guild.id
    return None


def _command_pool(sim: DiscordSimulator, guild_id: int | None) -> list[dict[str, Any]]:
    return sim.state.guild_commands if guild_id is not None else sim.state.global_commands


@route("GET", "/applications/{application_id}/commands")
@route("GET", "/applications/{application_id}/guilds/{guild_id}/commands")
async def list_commands(sim: DiscordSimulator, call: Call) -> Reply:
    return Reply(200, list(_command_pool(sim, _check_app(sim, call))))


@route("PUT", "/applications/{application_id}/commands")
@route("PUT", "/applications/{application_id}/guilds/{guild_id}/commands")
async def put_commands(sim: DiscordSimulator, call: Call) -> Reply:
    guild_id = _check_app(sim, call)
    if not isinstance(call.body, list):
        raise ApiError(400, 50035, "Invalid Form Body")
    if len(call.body) > 100:
        raise ApiError(400, 30032, "Maximum number of application commands reached (100)")
    stored = sim.state.store_commands(call.body, guild_id=guild_id)
    pool = _command_pool(sim, guild_id)
    pool[:] = stored
    sim.notify()
    return Reply(200, stored)


@route("POST", "/applications/{application_id}/commands")
@route("POST", "/applications/{application_id}/guilds/{guild_id}/commands")
async def create_command(sim: DiscordSimulator, call: Call) -> Reply:
    guild_id = _check_app(sim, call)
    [command] = sim.state.store_commands([call.json_object()], guild_id=guild_id)
    pool = _command_pool(sim, guild_id)
    existing = [c for c in pool if c["id"] != command["id"]]
    created = len(existing) == len(pool)
    pool[:] = [*existing, command]
    sim.notify()
    # Discord answers 201 for a new command and 200 when it overwrote one of the same name.
    return Reply(201 if created else 200, command)


def _find_command(sim: DiscordSimulator, call: Call) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    pool = _command_pool(sim, _check_app(sim, call))
    for command in pool:
        if command["id"] == call.params["command_id"]:
            return pool, command
    raise ApiError(404, 10063, "Unknown application command")


@route("GET", "/applications/{application_id}/commands/{command_id}")
@route("GET", "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}")
async def get_command(sim: DiscordSimulator, call: Call) -> Reply:
    return Reply(200, _find_command(sim, call)[1])


@route("PATCH", "/applications/{application_id}/commands/{command_id}")
@route("PATCH", "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}")
async def edit_command(sim: DiscordSimulator, call: Call) -> Reply:
    pool, command = _find_command(sim, call)
    [updated] = sim.state.store_commands(
        [{**command, **call.json_object()}], guild_id=_check_app(sim, call)
    )
    pool[pool.index(command)] = updated
    sim.notify()
    return Reply(200, updated)


@route("DELETE", "/applications/{application_id}/commands/{command_id}")
@route("DELETE", "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}")
async def delete_command(sim: DiscordSimulator, call: Call) -> Reply:
    pool, command = _find_command(sim, call)
    pool.remove(command)
    return Reply.empty()


# -- channels and messages -----------------------------------------------------------------------


@route("POST", "/users/@me/channels")
async def create_dm(sim: DiscordSimulator, call: Call) -> Reply:
    body = call.json_object()
    member = sim.state.members.get(int(body.get("recipient_id") or 0))
    if member is None:
        raise invalid_form("recipient_id", "INVALID_USER", "Unknown user")
    # Creating the DM always works; only posting into it fails when the user closed DMs.
    return Reply(200, sim.state.channel_payload(sim.state.dm_channel_for(member)))


@route("GET", "/channels/{channel_id}")
async def get_channel(sim: DiscordSimulator, call: Call) -> Reply:
    return Reply(
        200, sim.state.channel_payload(sim.state.get_channel_or_404(call.int_param("channel_id")))
    )


def _bot_can_post(sim: DiscordSimulator, channel: SimChannel, *, files: bool) -> None:
    state = sim.state
    if channel.is_dm:
        recipient = state.members[channel.recipient_id or 0]
        if not recipient.dms_open or recipient.bot:
            raise ApiError(403, 50007, "Cannot send messages to this user")
        return
    if channel.is_forum:
        raise ApiError(400, 40058, "Cannot send messages in a forum channel")
    # In a thread Send Messages in Threads is what counts, not Send Messages.
    send = Perm.SEND_MESSAGES_IN_THREADS if channel.is_thread else Perm.SEND_MESSAGES
    needed = Perm.VIEW_CHANNEL | send | (Perm.ATTACH_FILES if files else 0)
    state.require(state.bot, channel, needed)


@route("POST", "/channels/{channel_id}/messages")
async def create_message(sim: DiscordSimulator, call: Call) -> Reply:
    state = sim.state
    channel = state.get_channel_or_404(call.int_param("channel_id"))
    body = call.json_object()
    _bot_can_post(sim, channel, files=bool(call.uploads))
    check_limits(sim, call, message_issues(body, creating=True, has_files=bool(call.uploads)))
    if channel.is_thread:
        threads.before_post(state, channel, state.bot)
    message = state.create_message(channel, state.bot, body, call.uploads)
    return Reply(200, message.data)


@route("GET", "/channels/{channel_id}/messages")
async def list_messages(sim: DiscordSimulator, call: Call) -> Reply:
    state = sim.state
    channel = state.get_channel_or_404(call.int_param("channel_id"))
    if not channel.is_dm:
        state.require(state.bot, channel, Perm.VIEW_CHANNEL | Perm.READ_MESSAGE_HISTORY)
    limit = max(1, min(int(call.query.get("limit", 50)), 100))
    messages = state.channel_messages(channel)
    if "before" in call.query:
        messages = [m for m in messages if m.id < int(call.query["before"])]
    if "after" in call.query:
        messages = [m for m in messages if m.id > int(call.query["after"])][:limit]
    # Discord returns newest first.
    return Reply(200, [m.data for m in reversed(messages[-limit:])])


def _own_message(sim: DiscordSimulator, call: Call) -> tuple[SimChannel, SimMessage]:
    state = sim.state
    channel = state.get_channel_or_404(call.int_param("channel_id"))
    message = state.get_message_or_404(channel.id, call.int_param("message_id"))
    if message.ephemeral_for is not None:
        raise ApiError(404, 10008, "Unknown Message")
    return channel, message


@route("GET", "/channels/{channel_id}/messages/{message_id}")
async def get_message(sim: DiscordSimulator, call: Call) -> Reply:
    return Reply(200, _own_message(sim, call)[1].data)


@route("PATCH", "/channels/{channel_id}/messages/{message_id}")
async def edit_message(sim: DiscordSimulator, call: Call) -> Reply:
    state = sim.state
    _, message = _own_message(sim, call)
    if int(message.data["author"]["id"]) != state.bot.id:
        raise ApiError(403, 50005, "Cannot edit a message authored by another user")
    channel = state.channels[message.channel_id]
    if channel.thread is not None and channel.thread.archived:
        raise threads.archived_error()
    body = call.json_object()
    check_limits(sim, call, message_issues(body, creating=False))
    state.edit_message(message, body, call.uploads)
    return Reply(200, message.data)


@route("DELETE", "/channels/{channel_id}/messages/{message_id}")
async def delete_message(sim: DiscordSimulator, call: Call) -> Reply:
    state = sim.state
    channel, message = _own_message(sim, call)
    if int(message.data["author"]["id"]) != state.bot.id and not channel.is_dm:
        state.require(state.bot, channel, Perm.MANAGE_MESSAGES)
    state.delete_message(message)
    return Reply.empty()


def _pin(sim: DiscordSimulator, call: Call, pinned: bool) -> Reply:
    state = sim.state
    channel, message = _own_message(sim, call)
    if channel.thread is not None and channel.thread.archived:
        raise threads.archived_error()
    # Since 23 February 2026 only Pin Messages lets a bot pin: Manage Messages no longer does.
    if not channel.is_dm:
        state.require(state.bot, channel, Perm.PIN_MESSAGES)
    state.pin(channel, message, pinned)
    return Reply.empty()


@route("PUT", "/channels/{channel_id}/pins/{message_id}")
@route("PUT", "/channels/{channel_id}/messages/pins/{message_id}")
async def pin_message(sim: DiscordSimulator, call: Call) -> Reply:
    return _pin(sim, call, True)


@route("DELETE", "/channels/{channel_id}/pins/{message_id}")
@route("DELETE", "/channels/{channel_id}/messages/pins/{message_id}")
async def unpin_message(sim: DiscordSimulator, call: Call) -> Reply:
    return _pin(sim, call, False)


@route("GET", "/channels/{channel_id}/pins")
async def list_pins_legacy(sim: DiscordSimulator, call: Call) -> Reply:
    channel = sim.state.get_channel_or_404(call.int_param("channel_id"))
    return Reply(200, [sim.state.messages[p.message_id].data for p in reversed(channel.pins)])


@route("GET", "/channels/{channel_id}/messages/pins")
async def list_pins(sim: DiscordSimulator, call: Call) -> Reply:
    channel = sim.state.get_channel_or_404(call.int_param("channel_id"))
    items = [
        {"pinned_at": p.pinned_at, "message": sim.state.messages[p.message_id].data}
        for p in reversed(channel.pins)
    ]
    return Reply(200, {"items": items, "has_more": False})


# -- threads and forum channels ------------------------------------------------------------------


def _created(sim: DiscordSimulator, thread: SimChannel) -> Reply:
    return Reply(201, sim.state.thread_payload(thread))


def _thread_options(body: dict[str, Any], parent: SimChannel) -> dict[str, Any]:
    return {
        "name": threads.check_name(body.get("name")),
        "auto_archive_duration": threads.check_archive_duration(
            body.get("auto_archive_duration"), parent.default_auto_archive_duration
        ),
        "rate_limit_per_user": int(body.get("rate_limit_per_user") or 0),
    }


def _forum_post(sim: DiscordSimulator, call: Call, forum: SimChannel) -> Reply:
    state = sim.state
    body = call.json_object()
    state.require(
        state.bot,
        forum,
        Perm.VIEW_CHANNEL | Perm.SEND_MESSAGES | (Perm.ATTACH_FILES if call.uploads else 0),
    )
    options = _thread_options(body, forum)
    message = body.get("message")
    if not isinstance(message, dict):
        raise invalid_form("message", "BASE_TYPE_REQUIRED", "This field is required")
    issues = message_issues(message, creating=True, has_files=bool(call.uploads))
    check_limits(sim, call, [(f"/message{p}", m) for p, m in issues])
    tags = threads.checked_tags(state, forum, body.get("applied_tags"), state.bot, [])
    if forum.flags & threads.REQUIRE_TAG and not tags:
        raise ApiError(400, 40067, "A tag is required to create a forum post in this channel")
    thread_id = state.ids.next()
    thread = threads.new_thread(
        state,
        forum,
        state.bot,
        kind=ChannelType.PUBLIC_THREAD,  # forum posts are always public threads
        applied_tags=tags,
        thread_id=thread_id,
        **options,
    )
    # The starter message has the thread's id (Discord's rule for forum posts).
    starter = state.create_message(thread, state.bot, message, call.uploads, message_id=thread_id)
    reply = sim.state.thread_payload(thread)
    reply["message"] = starter.data
    return Reply(201, reply)


@route("POST", "/channels/{channel_id}/threads")
async def start_thread(sim: DiscordSimulator, call: Call) -> Reply:
    state = sim.state
    parent = state.get_channel_or_404(call.int_param("channel_id"))
    if parent.is_forum:
        return _forum_post(sim, call, parent)
    if parent.type not in (ChannelType.GUILD_TEXT, ChannelType.GUILD_ANNOUNCEMENT):
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    body = call.json_object()
    announcement = parent.type == ChannelType.GUILD_ANNOUNCEMENT
    # API v10 makes a private thread unless told otherwise.
    kind = int(body.get("type") or ChannelType.PRIVATE_THREAD)
    allowed = (
        (ChannelType.ANNOUNCEMENT_THREAD,)
        if announcement
        else (ChannelType.PUBLIC_THREAD, ChannelType.PRIVATE_THREAD)
    )
    if kind not in allowed:
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    private = kind == ChannelType.PRIVATE_THREAD
    create = Perm.CREATE_PRIVATE_THREADS if private else Perm.CREATE_PUBLIC_THREADS
    state.require(state.bot, parent, Perm.VIEW_CHANNEL | create)
    thread = threads.new_thread(
        state,
        parent,
        state.bot,
        kind=kind,
        invitable=bool(body.get("invitable", True)),
        **_thread_options(body, parent),
    )
    if not private:
        threads.thread_created_notice(state, parent, thread)
    return _created(sim, thread)


@route("POST", "/channels/{channel_id}/messages/{message_id}/threads")
async def start_thread_from_message(sim: DiscordSimulator, call: Call) -> Reply:
    state = sim.state
    parent, message = _own_message(sim, call)
    if parent.type not in (ChannelType.GUILD_TEXT, ChannelType.GUILD_ANNOUNCEMENT):
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    state.require(state.bot, parent, Perm.VIEW_CHANNEL | Perm.CREATE_PUBLIC_THREADS)
    if message.id in state.channels:
        raise ApiError(400, 160004, "A thread has already been created for this message")
    kind = (
        ChannelType.ANNOUNCEMENT_THREAD
        if parent.type == ChannelType.GUILD_ANNOUNCEMENT
        else ChannelType.PUBLIC_THREAD
    )
    # The thread takes the message's id.
    thread = threads.new_thread(
        state,
        parent,
        state.bot,
        kind=kind,
        thread_id=message.id,
        **_thread_options(call.json_object(), parent),
    )
    threads.mark_message_threaded(state, message.data, thread)
    return _created(sim, thread)


@route("PATCH", "/channels/{channel_id}")
async def edit_channel(sim: DiscordSimulator, call: Call) -> Reply:
    state = sim.state
    channel = state.get_channel_or_404(call.int_param("channel_id"))
    body = call.json_object()
    if channel.is_thread:
        threads.edit_thread(state, channel, state.bot, body)
        return Reply(200, state.thread_payload(channel))
    if channel.is_dm:
        raise ApiError(403, 50003, "Cannot execute action on a DM channel")
    state.require(state.bot, channel, Perm.VIEW_CHANNEL | Perm.MANAGE_CHANNELS)
    unsupported = sorted(set(body) - {"available_tags", "default_auto_archive_duration", "flags"})
    if unsupported:
        sim.problem(f"PATCH /channels/{channel.id}: fields {unsupported} are not simulated")
    if "default_auto_archive_duration" in body:
        channel.default_auto_archive_duration = threads.check_archive_duration(
            body["default_auto_archive_duration"], channel.default_auto_archive_duration
        )
    if body.get("flags") is not None:
        channel.flags = int(body["flags"])
    if "available_tags" in body:
        if not channel.is_forum:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        threads.set_available_tags(state, channel, body["available_tags"])
    else:
        state.emit("CHANNEL_UPDATE", state.channel_payload(channel))
    return Reply(200, state.channel_payload(channel))


def _thread(sim: DiscordSimulator, call: Call) -> SimChannel:
    channel = sim.state.get_channel_or_404(call.int_param("channel_id"))
    if not channel.is_thread:
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    return channel


def _thread_member_target(sim: DiscordSimulator, call: Call) -> Any:
    state = sim.state
    if "user_id" not in call.params:
        return state.bot
    member = state.members.get(call.int_param("user_id"))
    if member is None or not member.in_guild:
        raise ApiError(404, 10007, "Unknown Member")
    return member


@route("PUT", "/channels/{channel_id}/thread-members/@me")
@route("PUT", "/channels/{channel_id}/thread-members/{user_id}")
async def add_thread_member(sim: DiscordSimulator, call: Call) -> Reply:
    state = sim.state
    thread = _thread(sim, call)
    member = _thread_member_target(sim, call)
    state.require(state.bot, thread, Perm.VIEW_CHANNEL | Perm.SEND_MESSAGES_IN_THREADS)
    meta = thread.thread
    assert meta is not None
    if meta.locked and not threads.can_manage_threads(state, state.bot, thread):
        raise threads.locked_error()
    threads.add_member(state, thread, member)
    return Reply.empty()


@route("DELETE", "/channels/{channel_id}/thread-members/@me")
@route("DELETE", "/channels/{channel_id}/thread-members/{user_id}")
async def remove_thread_member(sim: DiscordSimulator, call: Call) -> Reply:
    state = sim.state
    thread = _thread(sim, call)
    member = _thread_member_target(sim, call)
    meta = thread.thread
    assert meta is not None
    if member.id != state.bot.id:
        # Removing someone else: Manage Threads, or owning the (private) thread.
        own_private = thread.type == ChannelType.PRIVATE_THREAD and meta.owner_id == state.bot.id
        if not (threads.can_manage_threads(state, state.bot, thread) or own_private):
            raise ApiError(403, 50013, "Missing Permissions")
    threads.remove_member(state, thread, member)
    return Reply.empty()


def _thread_member_payload(
    sim: DiscordSimulator, thread: SimChannel, user_id: int, with_member: bool
) -> dict[str, Any]:
    data = sim.state.thread_member_payload(thread, user_id)
    member = sim.state.members.get(user_id)
    if with_member and member is not None and member.in_guild:
        data["member"] = member.member_payload()
    return data


@route("GET", "/channels/{channel_id}/thread-members/{user_id}")
async def get_thread_member(sim: DiscordSimulator, call: Call) -> Reply:
    thread = _thread(sim, call)
    user_id = call.int_param("user_id")
    assert thread.thread is not None
    if user_id not in thread.thread.members:
        raise ApiError(404, 10007, "Unknown Member")
    with_member = call.query.get("with_member", "").lower() in ("1", "true")
    return Reply(200, _thread_member_payload(sim, thread, user_id, with_member))


@route("GET", "/channels/{channel_id}/thread-members")
async def list_thread_members(sim: DiscordSimulator, call: Call) -> Reply:
    thread = _thread(sim, call)
    assert thread.thread is not None
    with_member = call.query.get("with_member", "").lower() in ("1", "true")
    ids = sorted(thread.thread.members)
    if with_member:
        # Discord pages only when members are included.
        after = int(call.query.get("after") or 0)
        limit = max(1, min(int(call.query.get("limit", 100)), 100))
        ids = [i for i in ids if i > after][:limit]
    return Reply(200, [_thread_member_payload(sim, thread, i, with_member) for i in ids])


@route("GET", "/guilds/{guild_id}/threads/active")
async def list_active_threads(sim: DiscordSimulator, call: Call) -> Reply:
    _guild(sim, call)
    state = sim.state
    active = state.active_threads()
    members = [
        state.thread_member_payload(t, state.bot.id)
        for t in active
        if t.thread is not None and state.bot.id in t.thread.members
    ]
    return Reply(
        200,
        {
            "threads": [state.thread_payload(t) for t in active],
            "members": members,
            "has_more": False,
        },
    )


# -- guild ---------------------------------------------------------------------------------------


def _guild(sim: DiscordSimulator, call: Call) -> None:
    if call.int_param("guild_id") != sim.state.guild.id:
        raise ApiError(404, 10004, "Unknown Guild")


@route("GET", "/guilds/{guild_id}")
async def get_guild(sim: DiscordSimulator, call: Call) -> Reply:
    _guild(sim, call)
    data = sim.state.guild_payload()
    if call.query.get("with_counts", "").lower() in ("1", "true"):
        data.update(
            approximate_member_count=len(sim.state.guild_members()), approximate_presence_count=0
        )
    return Reply(200, data)


@route("GET", "/guilds/{guild_id}/channels")
async def get_guild_channels(sim: DiscordSimulator, call: Call) -> Reply:
    _guild(sim, call)
    state = sim.state
    return Reply(200, [state.channel_payload(state.channels[c]) for c in state.guild.channel_ids])


@route("GET", "/guilds/{guild_id}/roles")
async def get_roles(sim: DiscordSimulator, call: Call) -> Reply:
    _guild(sim, call)
    return Reply(200, [r.to_payload() for r in sim.state.guild.roles.values()])


@route("GET", "/guilds/{guild_id}/members/{user_id}")
async def get_member(sim: DiscordSimulator, call: Call) -> Reply:
    _guild(sim, call)
    member = sim.state.members.get(call.int_param("user_id"))
    if member is None or not member.in_guild:
        raise ApiError(404, 10007, "Unknown Member")
    return Reply(200, member.member_payload())


@route("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}")
@route("DELETE", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}")
async def member_role(sim: DiscordSimulator, call: Call) -> Reply:
    """Give or take a role: Manage Roles, and only roles below the bot's highest."""
    _guild(sim, call)
    state = sim.state
    member = state.members.get(call.int_param("user_id"))
    if member is None or not member.in_guild:
        raise ApiError(404, 10007, "Unknown Member")
    role = state.guild.roles.get(call.int_param("role_id"))
    if role is None:
        raise ApiError(404, 10011, "Unknown Role")
    state.require_guild(state.bot, Perm.MANAGE_ROLES)
    top = max(
        (state.guild.roles[r].position for r in state.bot.role_ids if r in state.guild.roles),
        default=0,
    )
    if role.managed or role.id == state.guild.id or role.position >= top:
        raise ApiError(403, 50013, "Missing Permissions")
    if call.method == "PUT" and role.id not in member.role_ids:
        member.role_ids.append(role.id)
    elif call.method == "DELETE" and role.id in member.role_ids:
        member.role_ids.remove(role.id)
    else:
        return Reply.empty()
    state.emit("GUILD_MEMBER_UPDATE", {**member.member_payload(), "guild_id": str(state.guild.id)})
    return Reply.empty()


# -- scheduled events ----------------------------------------------------------------------------


def _parse_time(value: Any, name: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise invalid_form(name, "DATE_TIME_TYPE_PARSE", "Could not parse date") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _event_errors(sim: DiscordSimulator, event: dict[str, Any], *, creating: bool) -> None:
    """Cross-field rules the spec cannot express, enforced as Discord does."""
    errors: dict[str, Any] = {}

    def error(name: str, code: str, message: str) -> None:
        errors[name] = {"_errors": [{"code": code, "message": message}]}

    start = _parse_time(event["scheduled_start_time"], "scheduled_start_time")
    end = (
        _parse_time(event["scheduled_end_time"], "scheduled_end_time")
        if event.get("scheduled_end_time")
        else None
    )
    if creating and sim.check_event_times and start < sim.now():
        error(
            "scheduled_start_time",
            "GUILD_SCHEDULED_EVENT_SCHEDULED_START_TIME_IN_PAST",
            "Cannot schedule event in the past.",
        )
    if end is not None and end <= start:
        error(
            "scheduled_end_time",
            "GUILD_SCHEDULED_EVENT_END_BEFORE_START",
            "Cannot schedule event to end before starting.",
        )
    if event.get("entity_type") == 3:
        if end is None:
            error(
                "scheduled_end_time",
                "GUILD_SCHEDULED_EVENT_REQUIRED_FIELD",
                "External events require an end time.",
            )
        if not (event.get("entity_metadata") or {}).get("location"):
            error(
                "entity_metadata",
                "GUILD_SCHEDULED_EVENT_REQUIRED_FIELD",
                "External events require a location.",
            )
        if event.get("channel_id") is not None:
            error(
                "channel_id",
                "GUILD_SCHEDULED_EVENT_INVALID_FIELD",
                "External events cannot have a channel.",
            )
    elif event.get("entity_type") in (1, 2):
        channel = sim.state.channels.get(int(event.get("channel_id") or 0))
        if channel is None or channel.type not in (2, 13):
            error(
                "channel_id",
                "GUILD_SCHEDULED_EVENT_INVALID_CHANNEL",
                "Voice and stage events need a voice or stage channel.",
            )
    if errors:
        raise ApiError(400, 50035, "Invalid Form Body", errors)


def _event_or_404(sim: DiscordSimulator, call: Call) -> dict[str, Any]:
    _guild(sim, call)
    event = sim.state.scheduled_events.get(call.int_param("guild_scheduled_event_id"))
    if event is None:
        raise ApiError(404, 10070, "Unknown Guild Scheduled Event")
    return event


EVENT_FIELDS = (
    "name",
    "description",
    "scheduled_start_time",
    "scheduled_end_time",
    "privacy_level",
    "entity_type",
    "channel_id",
    "entity_metadata",
    "status",
)


@route("GET", "/guilds/{guild_id}/scheduled-events")
async def list_events(sim: DiscordSimulator, call: Call) -> Reply:
    _guild(sim, call)
    return Reply(200, list(sim.state.scheduled_events.values()))


def _require_event_rights(sim: DiscordSimulator, event: dict[str, Any]) -> None:
    """Editing or deleting: Manage Events for any event, Create Events for one's own."""
    state = sim.state
    perms = state.base_permissions(state.bot)
    own = event["creator_id"] == str(state.bot.id)
    if not perms & Perm.MANAGE_EVENTS and not (own and perms & Perm.CREATE_EVENTS):
        raise ApiError(403, 50013, "Missing Permissions")


@route("POST", "/guilds/{guild_id}/scheduled-events")
async def create_event(sim: DiscordSimulator, call: Call) -> Reply:
    _guild(sim, call)
    state = sim.state
    # Since 23 February 2026 a bot needs Create Events to create one: Manage Events alone no
    # longer does.
    state.require_guild(state.bot, Perm.CREATE_EVENTS)
    body = call.json_object()
    event: dict[str, Any] = {
        "id": str(state.ids.next()),
        "guild_id": str(state.guild.id),
        "name": body.get("name"),
        "description": body.get("description"),
        "channel_id": None if body.get("channel_id") is None else str(body["channel_id"]),
        "creator_id": str(state.bot.id),
        "creator": state.bot.user_payload(),
        "image": None,
        "scheduled_start_time": body.get("scheduled_start_time"),
        "scheduled_end_time": body.get("scheduled_end_time"),
        "status": 1,
        "entity_type": body.get("entity_type"),
        "entity_id": None,
        "entity_metadata": body.get("entity_metadata"),
        "privacy_level": body.get("privacy_level", 2),
        "recurrence_rule": body.get("recurrence_rule"),
        "guild_scheduled_event_exceptions": [],
        "user_count": 0,
    }
    _event_errors(sim, event, creating=True)
    state.scheduled_events[int(event["id"])] = event
    state.emit("GUILD_SCHEDULED_EVENT_CREATE", event)
    return Reply(200, event)


@route("GET", "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}")
async def get_event(sim: DiscordSimulator, call: Call) -> Reply:
    return Reply(200, _event_or_404(sim, call))


# Status changes Discord allows: scheduled -> active/canceled, active -> completed.
STATUS_MOVES = {1: {1, 2, 4}, 2: {2, 3}, 3: {3}, 4: {4}}


@route("PATCH", "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}")
async def edit_event(sim: DiscordSimulator, call: Call) -> Reply:
    event = _event_or_404(sim, call)
    _require_event_rights(sim, event)
    body = call.json_object()
    updated = dict(event)
    for key in EVENT_FIELDS:
        if key in body:
            updated[key] = body[key]
    if updated.get("channel_id") is not None:
        updated["channel_id"] = str(updated["channel_id"])
    if int(updated["status"]) not in STATUS_MOVES[int(event["status"])]:
        raise invalid_form(
            "status", "GUILD_SCHEDULED_EVENT_INVALID_STATUS_TRANSITION", "Invalid status transition"
        )
    _event_errors(sim, updated, creating=False)
    event.clear()
    event.update(updated)
    sim.state.emit("GUILD_SCHEDULED_EVENT_UPDATE", event)
    return Reply(200, event)


@route("DELETE", "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}")
async def delete_event(sim: DiscordSimulator, call: Call) -> Reply:
    event = _event_or_404(sim, call)
    _require_event_rights(sim, event)
    del sim.state.scheduled_events[int(event["id"])]
    sim.state.emit("GUILD_SCHEDULED_EVENT_DELETE", event)
    return Reply.empty()


# -- interactions ---------------------------------------------------------------------------------

# Which callback types Discord accepts for each interaction type.
ALLOWED_CALLBACKS = {1: {1}, 2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 4: {8}, 5: {4, 5, 6, 7}}


def _interaction(sim: DiscordSimulator, call: Call) -> InteractionRecord:
    record = sim.state.interactions.get(call.int_param("interaction_id"))
    if record is None or record.token != call.params["interaction_token"]:
        raise ApiError(404, 10062, "Unknown interaction")
    return record


def _check_callback(sim: DiscordSimulator, record: InteractionRecord, kind: int) -> None:
    """Refuse what Discord refuses: a second answer, a late one, or a type that does not fit."""
    if record.response_type is not None:
        sim.problem(f"interaction {record.id} acknowledged twice (callback type {kind})")
        raise ApiError(400, 40060, "Interaction has already been acknowledged.")
    elapsed = time.monotonic() - record.created_at
    if elapsed > sim.interaction_deadline:
        sim.problem(
            f"interaction {record.id} answered after {elapsed:.2f}s "
            f"(Discord allows {sim.interaction_deadline}s)"
        )
        raise ApiError(404, 10062, "Unknown interaction")
    # A modal submit can only update a message when the modal was opened from a component.
    updates_nothing = kind in (6, 7) and record.type == 5 and record.source_message_id is None
    if kind not in ALLOWED_CALLBACKS.get(record.type, set()) or updates_nothing:
        sim.problem(f"interaction {record.id} (type {record.type}) answered with callback {kind}")
        raise invalid_form(
            "type", "INTERACTION_RESPONSE_TYPE_INVALID", "Invalid interaction response type"
        )


def _apply_callback(
    sim: DiscordSimulator, record: InteractionRecord, kind: int, data: dict[str, Any], call: Call
) -> SimMessage | None:
    """The message a callback creates or updates (types 4, 5 create; 6, 7 target the clicked one)."""
    state = sim.state
    channel = state.channels[record.channel_id]
    options: dict[str, Any] = {
        "message_type": 20 if record.type == 2 else 0,
        "webhook_id": state.application_id,
        "interaction": record,
        "ephemeral_for": record.user_id if int(data.get("flags") or 0) & EPHEMERAL else None,
    }
    message: SimMessage | None = None
    if kind == 4:
        message = state.create_message(channel, state.bot, data, call.uploads, **options)
        record.original_message_id = message.id
    elif kind == 5:
        # The "thinking" message exists at once; edits and the first followup fill it in.
        body = {"flags": data.get("flags", 0)}
        message = state.create_message(channel, state.bot, body, loading=True, **options)
        record.original_message_id = message.id
    elif kind in (6, 7):
        record.original_message_id = record.source_message_id
        message = state.messages.get(record.source_message_id or 0)
        if kind == 7 and message is not None:
            state.edit_message(message, data, call.uploads)
    return message


@route("POST", "/interactions/{interaction_id}/{interaction_token}/callback", auth="token")
async def interaction_callback(sim: DiscordSimulator, call: Call) -> Reply:
    record = _interaction(sim, call)
    body = call.json_object()
    kind = int(body.get("type", 0))
    _check_callback(sim, record, kind)
    check_limits(sim, call, callback_issues(body))
    data = body.get("data") or {}
    record.responded_at = time.monotonic()
    record.response_type = kind
    record.response_data = data
    message = _apply_callback(sim, record, kind, data, call)
    if kind not in (5, 6):
        record.completed_at = record.responded_at
    sim.notify()
    if call.query.get("with_response", "").lower() not in ("1", "true"):
        return Reply.empty()  # what Discord answers without ?with_response (discord.py asks)
    interaction: dict[str, Any] = {"id": str(record.id), "type": record.type}
    if record.original_message_id is not None:
        interaction["response_message_id"] = str(record.original_message_id)
        interaction["response_message_loading"] = kind == 5
        interaction["response_message_ephemeral"] = bool(
            message is not None and message.data["flags"] & EPHEMERAL
        )
    reply: dict[str, Any] = {"interaction": interaction}
    if kind in (4, 7) and message is not None:
        reply["resource"] = {"type": kind, "message": message.data}
    return Reply(200, reply)


def _webhook_interaction(sim: DiscordSimulator, call: Call) -> InteractionRecord:
    record = sim.state.interactions_by_token.get(call.params["webhook_token"])
    if record is None or call.params["webhook_id"] != str(sim.state.application_id):
        raise ApiError(404, 10015, "Unknown Webhook")
    if record.response_type is None:
        sim.problem(
            f"interaction {record.id}: webhook used before the interaction was acknowledged"
        )
        raise ApiError(404, 10015, "Unknown Webhook")
    if time.monotonic() - record.created_at > 15 * 60:
        raise ApiError(401, 50027, "Invalid Webhook Token")
    return record


def _webhook_message(sim: DiscordSimulator, call: Call, record: InteractionRecord) -> SimMessage:
    ref = call.params.get("message_id", "@original")
    mid = record.original_message_id if ref == "@original" else int(ref) if ref.isdigit() else None
    if mid is None or (mid != record.original_message_id and mid not in record.followup_ids):
        raise ApiError(404, 10008, "Unknown Message")
    message = sim.state.messages.get(mid)
    if message is None or message.deleted:
        raise ApiError(404, 10008, "Unknown Message")
    return message


def _complete(sim: DiscordSimulator, record: InteractionRecord) -> None:
    if record.completed_at is None:
        record.completed_at = time.monotonic()
    sim.notify()


@route("POST", "/webhooks/{webhook_id}/{webhook_token}", auth="token")
async def followup(sim: DiscordSimulator, call: Call) -> Reply:
    state = sim.state
    record = _webhook_interaction(sim, call)
    body = call.json_object()
    check_limits(sim, call, message_issues(body, creating=True, has_files=bool(call.uploads)))
    original = state.messages.get(record.original_message_id or 0)
    if record.response_type == 5 and original is not None and original.data["flags"] & LOADING:
        # After a deferred (thinking) response the first followup replaces the thinking message,
        # keeping its ephemerality whatever the followup's flags say.
        message = state.edit_message(original, {**body, "flags": None}, call.uploads)
    else:
        ephemeral_for = record.user_id if int(body.get("flags") or 0) & EPHEMERAL else None
        message = state.create_message(
            state.channels[record.channel_id],
            state.bot,
            body,
            call.uploads,
            message_type=20 if record.type == 2 else 0,
            webhook_id=state.application_id,
            interaction=record,
            ephemeral_for=ephemeral_for,
            followup_of=record.original_message_id,
        )
        record.followup_ids.append(message.id)
    _complete(sim, record)
    if call.query.get("wait", "").lower() in ("1", "true"):
        return Reply(200, message.data)
    return Reply.empty()


@route("GET", "/webhooks/{webhook_id}/{webhook_token}/messages/@original", auth="token")
@route("GET", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", auth="token")
async def get_webhook_message(sim: DiscordSimulator, call: Call) -> Reply:
    record = _webhook_interaction(sim, call)
    return Reply(200, _webhook_message(sim, call, record).data)


@route("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/@original", auth="token")
@route("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", auth="token")
async def edit_webhook_message(sim: DiscordSimulator, call: Call) -> Reply:
    record = _webhook_interaction(sim, call)
    message = _webhook_message(sim, call, record)
    body = call.json_object()
    check_limits(sim, call, message_issues(body, creating=False))
    sim.state.edit_message(message, body, call.uploads)
    record.edits += 1
    _complete(sim, record)
    return Reply(200, message.data)


@route("DELETE", "/webhooks/{webhook_id}/{webhook_token}/messages/@original", auth="token")
@route("DELETE", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", auth="token")
async def delete_webhook_message(sim: DiscordSimulator, call: Call) -> Reply:
    record = _webhook_interaction(sim, call)
    message = _webhook_message(sim, call, record)
    sim.state.delete_message(message)
    _complete(sim, record)
    return Reply.empty()
