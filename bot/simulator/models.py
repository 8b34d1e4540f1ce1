"""Plain state of the simulated Discord: ids, permissions, guild, channels, messages, interactions."""

from __future__ import annotations

import datetime as dt
import itertools
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# Discord's epoch (2015-01-01) in ms: snowflakes made from it give discord.py sane created_at values.
DISCORD_EPOCH_MS = 1_420_070_400_000


class Snowflakes:
    """Strictly increasing, time-based snowflake ids (one generator per simulator)."""

    def __init__(self) -> None:
        self._last = 0
        self._counter = itertools.count()

    def next(self) -> int:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        value = (ms << 22) | (next(self._counter) & 0xFFF)
        # Ids made within one millisecond must still increase: message order is id order.
        if value <= self._last:
            value = self._last + 1
        self._last = value
        return value


def iso_now() -> str:
    """Discord's timestamp format (ISO 8601 with microseconds and +00:00)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def new_token(prefix: str) -> str:
    return f"{prefix}.{secrets.token_urlsafe(24)}"


class Perm:
    """Permission bits the simulator checks or hands out (Discord's bit positions)."""

    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    CHANGE_NICKNAME = 1 << 26
    MANAGE_ROLES = 1 << 28
    USE_APPLICATION_COMMANDS = 1 << 31
    MANAGE_EVENTS = 1 << 33
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    CREATE_PRIVATE_THREADS = 1 << 36
    SEND_MESSAGES_IN_THREADS = 1 << 38
    CREATE_EVENTS = 1 << 44
    PIN_MESSAGES = 1 << 51
    ALL = (1 << 52) - 1


EVERYONE_PERMISSIONS = (
    Perm.CREATE_INSTANT_INVITE
    | Perm.ADD_REACTIONS
    | Perm.VIEW_CHANNEL
    | Perm.SEND_MESSAGES
    | Perm.EMBED_LINKS
    | Perm.ATTACH_FILES
    | Perm.READ_MESSAGE_HISTORY
    | Perm.USE_EXTERNAL_EMOJIS
    | Perm.CHANGE_NICKNAME
    | Perm.USE_APPLICATION_COMMANDS
    | Perm.CREATE_PUBLIC_THREADS
    | Perm.CREATE_PRIVATE_THREADS
    | Perm.SEND_MESSAGES_IN_THREADS
)
ORGANIZER_PERMISSIONS = (
    EVERYONE_PERMISSIONS
    | Perm.MANAGE_GUILD
    | Perm.MANAGE_MESSAGES
    | Perm.MANAGE_EVENTS
    | Perm.CREATE_EVENTS
    | Perm.MENTION_EVERYONE
    | Perm.MANAGE_ROLES
    | Perm.PIN_MESSAGES
)
BOT_PERMISSIONS = (
    EVERYONE_PERMISSIONS
    | Perm.MANAGE_MESSAGES
    | Perm.MENTION_EVERYONE
    | Perm.MANAGE_EVENTS
    | Perm.CREATE_EVENTS
    | Perm.PIN_MESSAGES
)


@dataclass
class SimRole:
    id: int
    name: str
    permissions: int
    position: int
    mentionable: bool = False
    managed: bool = False
    bot_id: int | None = None
    color: int = 0

    def to_payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": self.color,
            "colors": {
                "primary_color": self.color,
                "secondary_color": None,
                "tertiary_color": None,
            },
            "hoist": False,
            "managed": self.managed,
            "mentionable": self.mentionable,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": str(self.bot_id)}
        return data


@dataclass
class SimPin:
    message_id: int
    pinned_at: str


class ChannelType:
    """Discord's channel types the simulator serves."""

    GUILD_TEXT = 0
    DM = 1
    GUILD_CATEGORY = 4
    GUILD_ANNOUNCEMENT = 5
    ANNOUNCEMENT_THREAD = 10
    PUBLIC_THREAD = 11
    PRIVATE_THREAD = 12
    GUILD_FORUM = 15
    THREADS = (10, 11, 12)


@dataclass
class ThreadState:
    """What makes a channel a thread: its parent, owner, metadata, members and tags."""

    parent_id: int
    owner_id: int
    auto_archive_duration: int
    create_timestamp: str
    archive_timestamp: str
    archived: bool = False
    locked: bool = False
    invitable: bool = True
    applied_tags: list[int] = field(default_factory=list)
    members: dict[int, str] = field(default_factory=dict)  # user id -> join timestamp
    message_count: int = 0  # not counting a forum post's starter message, as on Discord
    total_message_sent: int = 0
    flags: int = 0


@dataclass
class SimChannel:
    id: int
    type: int  # ChannelType: 0 guild text, 1 DM, 4 category, 10-12 threads, 15 forum
    name: str | None = None
    guild_id: int | None = None
    position: int = 0
    topic: str | None = None
    recipient_id: int | None = None  # DM channels: the human on the other side
    overwrites: list[dict[str, Any]] = field(default_factory=list)
    message_ids: list[int] = field(default_factory=list)
    pins: list[SimPin] = field(default_factory=list)
    last_message_id: int | None = None
    deleted: bool = False  # deleted by an admin: every request to it answers 404 (10003)
    rate_limit_per_user: int = 0
    # Forum channels: their tags ({id, name, moderated, emoji_id, emoji_name}) and defaults.
    available_tags: list[dict[str, Any]] = field(default_factory=list)
    default_auto_archive_duration: int = 1440
    flags: int = 0
    thread: ThreadState | None = None  # set for threads (types 10, 11, 12)

    @property
    def is_dm(self) -> bool:
        return self.type == 1

    @property
    def is_forum(self) -> bool:
        return self.type == ChannelType.GUILD_FORUM

    @property
    def is_thread(self) -> bool:
        return self.thread is not None

    @property
    def is_active_thread(self) -> bool:
        return self.thread is not None and not self.thread.archived and not self.deleted


@dataclass
class SimAttachment:
    id: int
    filename: str
    data: bytes
    content_type: str
    description: str | None = None


@dataclass
class SimMessage:
    """One message as served (``data`` is the full Discord message object) plus its files."""

    data: dict[str, Any]
    attachments: list[SimAttachment] = field(default_factory=list)
    ephemeral_for: int | None = None  # user id that alone sees an ephemeral message
    interaction_id: int | None = None
    deleted: bool = False

    @property
    def id(self) -> int:
        return int(self.data["id"])

    @property
    def channel_id(self) -> int:
        return int(self.data["channel_id"])

    @property
    def content(self) -> str:
        return str(self.data.get("content") or "")

    @property
    def files(self) -> dict[str, bytes]:
        return {a.filename: a.data for a in self.attachments}


@dataclass
class InteractionRecord:
    """Server-side life of one interaction: what was sent, how and when the bot answered."""

    id: int
    token: str
    type: int
    user_id: int
    channel_id: int
    guild_id: int | None
    payload: dict[str, Any]
    created_at: float  # time.monotonic() when INTERACTION_CREATE was dispatched
    source_message_id: int | None = None  # component interactions: the message clicked
    opened_by: int | None = None  # modal submits: the interaction that opened the modal
    responded_at: float | None = None
    completed_at: float | None = None
    response_type: int | None = None
    response_data: dict[str, Any] | None = None
    original_message_id: int | None = None  # what @original refers to
    followup_ids: list[int] = field(default_factory=list)
    edits: int = 0


@dataclass
class Stats:
    """Counters a test or benchmark can assert on."""

    requests: Counter[str] = field(default_factory=Counter)  # "METHOD /template" -> count
    rate_limited: int = 0  # every 429 answered (real limits and injected faults)
    rate_limited_by_route: Counter[str] = field(default_factory=Counter)
    global_rate_limited: int = 0
    server_errors: int = 0  # every 5xx answered
    invalid_requests: int = 0  # 401, 403 and 429: what Cloudflare bans on
    identifies: int = 0
    resumes: int = 0
    interactions: int = 0
    gateway_dispatches: Counter[str] = field(default_factory=Counter)

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())


def compute_base_permissions(
    everyone: SimRole, roles: list[SimRole], *, is_owner: bool = False
) -> int:
    if is_owner:
        return Perm.ALL
    perms = everyone.permissions
    for role in roles:
        perms |= role.permissions
    return Perm.ALL if perms & Perm.ADMINISTRATOR else perms


def apply_overwrites(
    base: int,
    overwrites: list[dict[str, Any]],
    *,
    guild_id: int,
    role_ids: set[int],
    member_id: int,
) -> int:
    """Discord's overwrite order: @everyone, then all member roles together, then the member."""
    if base & Perm.ADMINISTRATOR:
        return Perm.ALL
    perms = base
    by_id = {int(o["id"]): o for o in overwrites}
    everyone = by_id.get(guild_id)
    if everyone is not None:
        perms = (perms & ~int(everyone["deny"])) | int(everyone["allow"])
    allow = deny = 0
    for role_id in role_ids:
        ow = by_id.get(role_id)
        if ow is not None and ow.get("type", 0) == 0:
            allow |= int(ow["allow"])
            deny |= int(ow["deny"])
    perms = (perms & ~deny) | allow
    mine = by_id.get(member_id)
    if mine is not None and mine.get("type") == 1:
        perms = (perms & ~int(mine["deny"])) | int(mine["allow"])
    return perms
