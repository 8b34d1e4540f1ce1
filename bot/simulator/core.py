"""The simulated guild's state and the Discord rules applied to it (payloads, mentions, messages)."""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .models import (
    EVERYONE_PERMISSIONS,
    ORGANIZER_PERMISSIONS,
    InteractionRecord,
    Perm,
    SimAttachment,
    SimChannel,
    SimMessage,
    SimPin,
    SimRole,
    Snowflakes,
    apply_overwrites,
    compute_base_permissions,
    iso_now,
)

USER_MENTION = re.compile(r"<@!?(\d+)>")
ROLE_MENTION = re.compile(r"<@&(\d+)>")
EVERYONE_MENTION = re.compile(r"@(?:everyone|here)\b")

# Message flags Discord lets a bot set on a message it sends (others are ignored, not errors).
SETTABLE_FLAGS = (1 << 2) | (1 << 6) | (1 << 12) | (1 << 15)
EPHEMERAL = 1 << 6
LOADING = 1 << 7


def _component_nodes(components: list[Any]) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    for component in components:
        if isinstance(component, dict):
            nodes.append(component)
            nodes += _component_nodes(component.get("components") or [])
            nodes += _component_nodes(
                [component[k] for k in ("component", "accessory") if k in component]
            )
    return nodes


# Defaults Discord fills in when it stores components (its answers always carry them).
COMPONENT_DEFAULTS: dict[int, dict[str, Any]] = {
    3: {"min_values": 1, "max_values": 1},
    5: {"min_values": 1, "max_values": 1},
    6: {"min_values": 1, "max_values": 1},
    7: {"min_values": 1, "max_values": 1},
    8: {"min_values": 1, "max_values": 1},
    11: {"description": None, "spoiler": False},
    14: {"spacing": 1, "divider": True},
    17: {"accent_color": None, "spoiler": False},
}


def normalize_components(components: list[Any] | None) -> list[dict[str, Any]]:
    """Components as Discord echoes them: nulls dropped, defaults filled, every one with an id."""

    def no_nulls(value: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in value.items() if v is not None}

    def clean(component: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = no_nulls(component)
        # A unicode emoji is sent as {"id": null, "name": "⏰"}; Discord echoes it without id.
        if isinstance(out.get("emoji"), dict):
            out["emoji"] = no_nulls(out["emoji"])
        for key, default in COMPONENT_DEFAULTS.get(int(out.get("type", 0)), {}).items():
            out.setdefault(key, default)
        if "components" in out:
            out["components"] = [clean(c) for c in out["components"] if isinstance(c, dict)]
        for key in ("component", "accessory"):
            if isinstance(out.get(key), dict):
                out[key] = clean(out[key])
        if "options" in out:
            out["options"] = [no_nulls(o) for o in out["options"]]
            for option in out["options"]:
                if isinstance(option.get("emoji"), dict):
                    option["emoji"] = no_nulls(option["emoji"])
        return out

    cleaned = [clean(c) for c in components or [] if isinstance(c, dict)]
    used = {c["id"] for c in _component_nodes(cleaned) if isinstance(c.get("id"), int)}
    next_id = 1
    for node in _component_nodes(cleaned):
        if not isinstance(node.get("id"), int):
            while next_id in used:
                next_id += 1
            node["id"] = next_id
            used.add(next_id)
    return cleaned


class ApiError(Exception):
    """A Discord JSON error answer: raised by state methods and route handlers."""

    def __init__(
        self, status: int, code: int, message: str, errors: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            data["errors"] = self.errors
        return data


def invalid_form(field: str, code: str, message: str) -> ApiError:
    """Discord's 400 Invalid Form Body (50035) with one field error."""
    return ApiError(
        400, 50035, "Invalid Form Body", {field: {"_errors": [{"code": code, "message": message}]}}
    )


@dataclass
class Upload:
    """A file part of a multipart request (``files[n]``)."""

    index: int
    filename: str
    data: bytes
    content_type: str | None = None


@dataclass
class SimMember:
    """A guild member (or the bot); the test-facing :class:`SimUser` wraps one."""

    id: int
    username: str
    global_name: str | None
    role_ids: list[int]
    joined_at: str
    bot: bool = False
    dms_open: bool = True
    dm_channel_id: int | None = None
    in_guild: bool = True

    def user_payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "avatar_decoration_data": None,
            "banner": None,
            "accent_color": None,
            "public_flags": 0,
            "flags": 0,
            "primary_guild": None,
            "collectibles": None,
        }
        if self.bot:
            data["bot"] = True
        return data

    def member_payload(self, *, with_user: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "roles": [str(r) for r in self.role_ids],
            "joined_at": self.joined_at,
            "nick": None,
            "avatar": None,
            "banner": None,
            "premium_since": None,
            "communication_disabled_until": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
        }
        if with_user:
            data["user"] = self.user_payload()
        return data


@dataclass
class SimGuild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, SimRole] = field(default_factory=dict)
    channel_ids: list[int] = field(default_factory=list)

    @property
    def everyone(self) -> SimRole:
        return self.roles[self.id]


class SimState:
    """Everything the simulated Discord knows, with the rules that real Discord applies."""

    def __init__(
        self,
        *,
        guild_name: str,
        channels: Iterable[str],
        bot_name: str,
        bot_permissions: int,
        base_url: Callable[[], str],
    ) -> None:
        self.ids = Snowflakes()
        self._base_url = base_url
        self.application_id = self.ids.next()
        # Discord gives a bot user the application's id.
        self.bot = SimMember(
            id=self.application_id,
            username=bot_name,
            global_name=None,
            role_ids=[],
            joined_at=iso_now(),
            bot=True,
        )
        owner_id = self.ids.next()
        self.owner = SimMember(
            id=owner_id,
            username="guild-owner",
            global_name="Guild Owner",
            role_ids=[],
            joined_at=iso_now(),
        )
        self.guild = SimGuild(id=self.ids.next(), name=guild_name, owner_id=owner_id)
        gid = self.guild.id
        self.guild.roles[gid] = SimRole(
            id=gid, name="@everyone", permissions=EVERYONE_PERMISSIONS, position=0
        )
        organizer = SimRole(
            id=self.ids.next(),
            name="Organizer",
            permissions=ORGANIZER_PERMISSIONS,
            position=1,
            mentionable=True,
            color=0x3498DB,
        )
        self.guild.roles[organizer.id] = organizer
        bot_role = SimRole(
            id=self.ids.next(),
            name=bot_name,
            permissions=bot_permissions,
            position=2,
            managed=True,
            bot_id=self.bot.id,
        )
        self.guild.roles[bot_role.id] = bot_role
        self.bot.role_ids = [bot_role.id]
        self.bot_role_id = bot_role.id
        self.members: dict[int, SimMember] = {self.bot.id: self.bot, owner_id: self.owner}
        self.channels: dict[int, SimChannel] = {}
        for position, name in enumerate(channels):
            channel = SimChannel(
                id=self.ids.next(), type=0, name=name, guild_id=gid, position=position
            )
            self.channels[channel.id] = channel
            self.guild.channel_ids.append(channel.id)
        self.messages: dict[int, SimMessage] = {}
        self.interactions: dict[int, InteractionRecord] = {}
        self.interactions_by_token: dict[str, InteractionRecord] = {}
        self.global_commands: list[dict[str, Any]] = []
        self.guild_commands: list[dict[str, Any]] = []
        self.command_ids: dict[tuple[str, int, int | None], int] = {}
        self.scheduled_events: dict[int, dict[str, Any]] = {}
        self.nonces: dict[tuple[int, str], int] = {}
        # Every uploaded file by attachment id: the simulator serves them like Discord's CDN.
        self.uploads: dict[int, SimAttachment] = {}
        # Observers of every change: the gateway (dispatches) and waiters (tests awaiting state).
        self.listeners: list[Callable[[str, dict[str, Any]], None]] = []

    # -- events ---------------------------------------------------------------------------------

    def emit(self, event: str, data: dict[str, Any]) -> None:
        for listener in list(self.listeners):
            listener(event, data)

    # -- lookups --------------------------------------------------------------------------------

    def channel(self, ref: str | int | SimChannel) -> SimChannel:
        if isinstance(ref, SimChannel):
            return ref
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            found = self.channels.get(int(ref))
            if found is not None:
                return found
        name = str(ref).lstrip("#")
        named = [c for c in self.channels.values() if c.name == name and not c.is_dm]
        # A live channel first, a channel before a thread of the same name; a deleted one is
        # still found (its messages stay inspectable).
        named.sort(key=lambda c: (c.deleted, c.is_thread))
        if named:
            return named[0]
        raise KeyError(f"no channel {ref!r} in the simulated guild")

    def role(self, ref: str | int) -> SimRole:
        if isinstance(ref, int) or ref.isdigit():
            return self.guild.roles[int(ref)]
        name = ref.lstrip("@")
        for role in self.guild.roles.values():
            if role.name == name:
                return role
        raise KeyError(f"no role {ref!r} in the simulated guild")

    def member_by_name(self, name: str) -> SimMember:
        for member in self.members.values():
            if name in (member.username, member.global_name):
                return member
        raise KeyError(f"no member {name!r}")

    def get_channel_or_404(self, channel_id: int) -> SimChannel:
        channel = self.channels.get(channel_id)
        if channel is None or channel.deleted:
            raise ApiError(404, 10003, "Unknown Channel")
        return channel

    def get_message_or_404(self, channel_id: int, message_id: int) -> SimMessage:
        message = self.messages.get(message_id)
        if message is None or message.deleted or message.channel_id != channel_id:
            raise ApiError(404, 10008, "Unknown Message")
        return message

    # -- members and permissions ----------------------------------------------------------------

    def add_member(
        self, name: str, *, role_ids: list[int], dms_open: bool = True, bot: bool = False
    ) -> SimMember:
        member = SimMember(
            id=self.ids.next(),
            username=name.lower().replace(" ", "_"),
            global_name=name,
            role_ids=role_ids,
            joined_at=iso_now(),
            dms_open=dms_open,
            bot=bot,
        )
        self.members[member.id] = member
        return member

    def add_role(self, name: str, permissions: int, *, mentionable: bool = False) -> SimRole:
        position = max(r.position for r in self.guild.roles.values()) + 1
        role = SimRole(
            id=self.ids.next(),
            name=name,
            permissions=permissions,
            position=position,
            mentionable=mentionable,
        )
        self.guild.roles[role.id] = role
        return role

    def base_permissions(self, member: SimMember) -> int:
        roles = [self.guild.roles[r] for r in member.role_ids if r in self.guild.roles]
        return compute_base_permissions(
            self.guild.everyone, roles, is_owner=member.id == self.guild.owner_id
        )

    def permissions_in(self, member: SimMember, channel: SimChannel) -> int:
        if channel.thread is not None:
            # A thread has no overwrites of its own: its parent's apply.
            channel = self.channels[channel.thread.parent_id]
        if channel.is_dm:
            # What Discord reports for DMs: everything a participant can do there.
            return (
                Perm.VIEW_CHANNEL
                | Perm.SEND_MESSAGES
                | Perm.EMBED_LINKS
                | Perm.ATTACH_FILES
                | Perm.READ_MESSAGE_HISTORY
                | Perm.ADD_REACTIONS
                | Perm.USE_APPLICATION_COMMANDS
                | Perm.PIN_MESSAGES
            )
        return apply_overwrites(
            self.base_permissions(member),
            channel.overwrites,
            guild_id=self.guild.id,
            role_ids=set(member.role_ids),
            member_id=member.id,
        )

    def require(self, member: SimMember, channel: SimChannel, perms: int) -> None:
        if self.permissions_in(member, channel) & perms != perms:
            raise ApiError(403, 50013, "Missing Permissions")

    def require_guild(self, member: SimMember, perms: int) -> None:
        if self.base_permissions(member) & perms == 0:
            raise ApiError(403, 50013, "Missing Permissions")

    def set_bot_send(self, channel: SimChannel, allow: bool) -> None:
        channel.overwrites = [o for o in channel.overwrites if int(o["id"]) != self.bot.id]
        if not allow:
            channel.overwrites.append(
                {"id": str(self.bot.id), "type": 1, "allow": "0", "deny": str(Perm.SEND_MESSAGES)}
            )
        self.emit("CHANNEL_UPDATE", self.channel_payload(channel))

    def delete_channel(self, channel: SimChannel) -> None:
        """An admin deletes a guild channel: it leaves the guild (CHANNEL_DELETE is dispatched)
        and every later request to it answers 404 with code 10003 "Unknown Channel"."""
        if channel.is_dm:
            raise ValueError("DM channels are not deleted by admins")
        if channel.deleted:
            return
        channel.deleted = True
        if channel.id in self.guild.channel_ids:
            self.guild.channel_ids.remove(channel.id)
        if channel.thread is not None:
            self.emit(
                "THREAD_DELETE",
                {
                    "id": str(channel.id),
                    "guild_id": str(channel.guild_id),
                    "parent_id": str(channel.thread.parent_id),
                    "type": channel.type,
                },
            )
            return
        self.emit("CHANNEL_DELETE", self.channel_payload(channel))
        # Discord deletes a channel's threads with it (discord.py drops them on CHANNEL_DELETE).
        for thread in self.threads_of(channel):
            thread.deleted = True

    # -- payloads -------------------------------------------------------------------------------

    def threads_of(self, parent: SimChannel) -> list[SimChannel]:
        """Live threads whose parent is ``parent`` (active and archived), oldest first."""
        return [
            c
            for c in self.channels.values()
            if c.thread is not None and c.thread.parent_id == parent.id and not c.deleted
        ]

    def active_threads(self) -> list[SimChannel]:
        return [c for c in self.channels.values() if c.is_active_thread]

    def thread_member_payload(self, thread: SimChannel, user_id: int) -> dict[str, Any]:
        assert thread.thread is not None
        return {
            "id": str(thread.id),
            "user_id": str(user_id),
            "join_timestamp": thread.thread.members[user_id],
            "flags": 0,
        }

    def thread_payload(self, channel: SimChannel) -> dict[str, Any]:
        """A thread channel as Discord serves it (``member`` when the bot has joined)."""
        meta = channel.thread
        assert meta is not None
        data: dict[str, Any] = {
            "id": str(channel.id),
            "type": channel.type,
            "guild_id": str(channel.guild_id),
            "parent_id": str(meta.parent_id),
            "owner_id": str(meta.owner_id),
            "name": channel.name,
            "last_message_id": str(channel.last_message_id) if channel.last_message_id else None,
            "rate_limit_per_user": channel.rate_limit_per_user,
            "flags": meta.flags,
            "message_count": meta.message_count,
            "member_count": len(meta.members),
            "total_message_sent": meta.total_message_sent,
            "thread_metadata": {
                "archived": meta.archived,
                "archive_timestamp": meta.archive_timestamp,
                "auto_archive_duration": meta.auto_archive_duration,
                "locked": meta.locked,
                "create_timestamp": meta.create_timestamp,
            },
            "applied_tags": [str(t) for t in meta.applied_tags],
        }
        if channel.type == 12:
            data["thread_metadata"]["invitable"] = meta.invitable
        if self.bot.id in meta.members:
            data["member"] = self.thread_member_payload(channel, self.bot.id)
        if channel.pins:
            data["last_pin_timestamp"] = channel.pins[-1].pinned_at
        return data

    def channel_payload(self, channel: SimChannel) -> dict[str, Any]:
        if channel.thread is not None:
            return self.thread_payload(channel)
        if channel.is_dm:
            recipient = self.members[channel.recipient_id or 0]
            return {
                "id": str(channel.id),
                "type": 1,
                "flags": 0,
                "last_message_id": str(channel.last_message_id)
                if channel.last_message_id
                else None,
                "recipients": [recipient.user_payload()],
            }
        data: dict[str, Any] = {
            "id": str(channel.id),
            "type": channel.type,
            "guild_id": str(channel.guild_id),
            "name": channel.name,
            "position": channel.position,
            "flags": channel.flags,
            "parent_id": None,
            "topic": channel.topic,
            "nsfw": False,
            "rate_limit_per_user": channel.rate_limit_per_user,
            "last_message_id": str(channel.last_message_id) if channel.last_message_id else None,
            "permission_overwrites": [dict(o, id=str(o["id"])) for o in channel.overwrites],
        }
        if channel.pins:
            data["last_pin_timestamp"] = channel.pins[-1].pinned_at
        if channel.type in (0, 5, 15):
            data["default_auto_archive_duration"] = channel.default_auto_archive_duration
            data["default_thread_rate_limit_per_user"] = 0
        if channel.is_forum:
            data.update(
                available_tags=[dict(t) for t in channel.available_tags],
                default_reaction_emoji=None,
                default_sort_order=None,
                default_forum_layout=0,
            )
        return data

    def guild_payload(self) -> dict[str, Any]:
        g = self.guild
        return {
            "id": str(g.id),
            "name": g.name,
            "icon": None,
            "description": None,
            "home_header": None,
            "splash": None,
            "discovery_splash": None,
            "features": [],
            "banner": None,
            "owner_id": str(g.owner_id),
            "application_id": None,
            "region": "europe",
            "afk_channel_id": None,
            "afk_timeout": 300,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "widget_enabled": False,
            "widget_channel_id": None,
            "verification_level": 0,
            "roles": [r.to_payload() for r in g.roles.values()],
            "default_message_notifications": 1,
            "mfa_level": 0,
            "explicit_content_filter": 0,
            "max_presences": None,
            "max_members": 500000,
            "max_stage_video_channel_users": 50,
            "max_video_channel_users": 25,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "rules_channel_id": None,
            "safety_alerts_channel_id": None,
            "public_updates_channel_id": None,
            "premium_progress_bar_enabled": False,
            "nsfw": False,
            "nsfw_level": 0,
            "emojis": [],
            "stickers": [],
            "incidents_data": None,
        }

    def guild_members(self) -> list[SimMember]:
        return [m for m in self.members.values() if m.in_guild]

    def guild_create_payload(self, *, with_members: bool) -> dict[str, Any]:
        data = self.guild_payload()
        members = self.guild_members()
        data.update(
            {
                "unavailable": False,
                "large": False,
                "lazy": True,
                "joined_at": self.bot.joined_at,
                # discord.py counts a guild as chunked when member_count == len(members).
                "member_count": len(members),
                "members": [m.member_payload() for m in members]
                if with_members
                else [self.bot.member_payload()],
                "channels": [
                    self.channel_payload(self.channels[c]) for c in self.guild.channel_ids
                ],
                # Active threads the bot can see, as Discord sends them on connect.
                "threads": [self.thread_payload(t) for t in self.active_threads()],
                "presences": [],
                "voice_states": [],
                "stage_instances": [],
                "guild_scheduled_events": list(self.scheduled_events.values()),
                "soundboard_sounds": [],
            }
        )
        return data

    def mention_member_payload(self, member: SimMember) -> dict[str, Any]:
        data = member.user_payload()
        if member.in_guild:
            data["member"] = member.member_payload(with_user=False)
        return data

    # -- DMs ------------------------------------------------------------------------------------

    def dm_channel_for(self, member: SimMember) -> SimChannel:
        if member.dm_channel_id is not None:
            return self.channels[member.dm_channel_id]
        channel = SimChannel(id=self.ids.next(), type=1, recipient_id=member.id)
        self.channels[channel.id] = channel
        member.dm_channel_id = channel.id
        return channel

    # -- messages -------------------------------------------------------------------------------

    def attachment_url(self, channel_id: int, attachment: SimAttachment) -> str:
        return f"{self._base_url()}/attachments/{channel_id}/{attachment.id}/{attachment.filename}"

    def attachment_payload(self, channel_id: int, attachment: SimAttachment) -> dict[str, Any]:
        url = self.attachment_url(channel_id, attachment)
        data: dict[str, Any] = {
            "id": str(attachment.id),
            "filename": attachment.filename,
            "size": len(attachment.data),
            "url": url,
            "proxy_url": url,
            "content_type": attachment.content_type,
        }
        if attachment.description:
            data["description"] = attachment.description
        return data

    def compute_mentions(
        self, content: str, allowed: dict[str, Any] | None, author: SimMember, channel: SimChannel
    ) -> tuple[bool, list[dict[str, Any]], list[str]]:
        """What Discord stores as mention_everyone, mentions and mention_roles for a message."""
        # No allowed_mentions means Discord parses everything.
        parse = (
            {"users", "roles", "everyone"} if allowed is None else set(allowed.get("parse") or [])
        )
        explicit_users = {int(u) for u in (allowed or {}).get("users") or []}
        explicit_roles = {int(r) for r in (allowed or {}).get("roles") or []}
        can_everyone = channel.is_dm or bool(
            self.permissions_in(author, channel) & Perm.MENTION_EVERYONE
        )

        mentions: list[dict[str, Any]] = []
        seen: set[int] = set()
        for match in USER_MENTION.finditer(content):
            uid = int(match.group(1))
            member = self.members.get(uid)
            if member is None or uid in seen:
                continue
            if "users" in parse or uid in explicit_users:
                seen.add(uid)
                mentions.append(self.mention_member_payload(member))

        roles: list[str] = []
        if not channel.is_dm:
            for match in ROLE_MENTION.finditer(content):
                rid = int(match.group(1))
                role = self.guild.roles.get(rid)
                if role is None or str(rid) in roles:
                    continue
                if ("roles" in parse or rid in explicit_roles) and (
                    role.mentionable or can_everyone
                ):
                    roles.append(str(rid))

        everyone = (
            not channel.is_dm
            and "everyone" in parse
            and can_everyone
            and EVERYONE_MENTION.search(content) is not None
        )
        return everyone, mentions, roles

    def _attachments_from(
        self,
        body: dict[str, Any],
        uploads: list[Upload],
        existing: list[SimAttachment],
    ) -> list[SimAttachment]:
        by_index = {u.index: u for u in uploads}
        result: list[SimAttachment] = []
        declared = body.get("attachments")
        if declared is None:
            # Without an attachments list every uploaded file is attached, keeping old ones.
            result = list(existing)
            declared = [{"id": u.index} for u in uploads]
        old = {a.id: a for a in existing}
        for item in declared:
            ref = int(item.get("id", -1))
            if ref in old:
                result.append(old[ref])
                continue
            upload = by_index.get(ref)
            if upload is None:
                raise invalid_form(
                    "attachments", "ATTACHMENT_NOT_FOUND", f"No file for attachment {ref}"
                )
            filename = item.get("filename") or upload.filename
            attachment = SimAttachment(
                id=self.ids.next(),
                filename=filename,
                data=upload.data,
                content_type=upload.content_type
                if upload.content_type and upload.content_type != "application/octet-stream"
                else (mimetypes.guess_type(filename)[0] or "application/octet-stream"),
                description=item.get("description"),
            )
            self.uploads[attachment.id] = attachment
            result.append(attachment)
        return result

    @staticmethod
    def _embeds(raw: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
        embeds = []
        for embed in raw or []:
            # Discord stores bot embeds as "rich" and echoes them with that type.
            embeds.append({"type": "rich", **{k: v for k, v in embed.items() if v is not None}})
        return embeds

    def create_message(
        self,
        channel: SimChannel,
        author: SimMember,
        body: dict[str, Any],
        uploads: list[Upload] | None = None,
        *,
        message_type: int = 0,
        webhook_id: int | None = None,
        interaction: InteractionRecord | None = None,
        ephemeral_for: int | None = None,
        loading: bool = False,
        followup_of: int | None = None,
        message_id: int | None = None,
    ) -> SimMessage:
        nonce = body.get("nonce")
        if nonce is not None and body.get("enforce_nonce"):
            # enforce_nonce: a retried send returns the message already created.
            previous = self.nonces.get((channel.id, str(nonce)))
            if previous is not None and previous in self.messages:
                return self.messages[previous]
        # A forum post's starter message takes the thread's id (Discord's rule).
        message_id = self.ids.next() if message_id is None else message_id
        content = body.get("content") or ""
        flags = int(body.get("flags") or 0) & SETTABLE_FLAGS
        if ephemeral_for is None:
            flags &= ~EPHEMERAL
        if loading:
            flags |= LOADING
        everyone, mentions, mention_roles = self.compute_mentions(
            content, body.get("allowed_mentions"), author, channel
        )
        attachments = self._attachments_from(body, uploads or [], [])
        data: dict[str, Any] = {
            "id": str(message_id),
            "channel_id": str(channel.id),
            "type": message_type,
            "content": content,
            "author": author.user_payload(),
            "embeds": self._embeds(body.get("embeds")),
            "components": normalize_components(body.get("components")),
            "attachments": [self.attachment_payload(channel.id, a) for a in attachments],
            "mentions": mentions,
            "mention_roles": mention_roles,
            "mention_everyone": everyone,
            "mention_channels": [],
            "pinned": False,
            "tts": bool(body.get("tts", False)),
            "timestamp": iso_now(),
            "edited_timestamp": None,
            "flags": flags,
            "stickers": [],
            "sticker_items": [],
        }
        if nonce is not None:
            data["nonce"] = nonce
        if webhook_id is not None:
            data["webhook_id"] = str(webhook_id)
            data["application_id"] = str(self.application_id)
        if interaction is not None:
            self._add_interaction_fields(data, interaction, followup_of)
        self._add_reply_fields(data, body, channel)
        message = SimMessage(
            data=data,
            attachments=attachments,
            ephemeral_for=ephemeral_for,
            interaction_id=interaction.id if interaction else None,
        )
        self.messages[message_id] = message
        channel.message_ids.append(message_id)
        if ephemeral_for is None:
            channel.last_message_id = message_id
            if channel.thread is not None and message_id != channel.id:
                channel.thread.message_count += 1
                channel.thread.total_message_sent += 1
        if nonce is not None:
            self.nonces[(channel.id, str(nonce))] = message_id
        if ephemeral_for is None:
            self.emit("MESSAGE_CREATE", data)
        else:
            self.emit("SIM_EPHEMERAL_CREATE", data)
        return message

    def _add_interaction_fields(
        self, data: dict[str, Any], interaction: InteractionRecord, followup_of: int | None
    ) -> None:
        data["interaction_metadata"] = self.interaction_metadata(interaction)
        if interaction.type == 2:
            # The deprecated "interaction" object Discord still sends for command answers.
            data["interaction"] = {
                "id": str(interaction.id),
                "type": 2,
                "name": interaction.payload["data"]["name"],
                "user": self.members[interaction.user_id].user_payload(),
            }
        if followup_of is not None:
            data["interaction_metadata"]["original_response_message_id"] = str(followup_of)

    def _add_reply_fields(
        self, data: dict[str, Any], body: dict[str, Any], channel: SimChannel
    ) -> None:
        reference = body.get("message_reference")
        if not reference or not reference.get("message_id"):
            return
        referenced = self.messages.get(int(reference["message_id"]))
        if referenced is None:
            return
        data["type"] = 19
        data["message_reference"] = {
            "type": 0,
            "message_id": str(referenced.id),
            "channel_id": str(referenced.channel_id),
        }
        if channel.guild_id:
            data["message_reference"]["guild_id"] = str(channel.guild_id)
        data["referenced_message"] = dict(referenced.data)

    def interaction_metadata(self, record: InteractionRecord) -> dict[str, Any]:
        """A message's ``interaction_metadata`` for the interaction that produced it."""
        user = self.members[record.user_id]
        data: dict[str, Any] = {
            "id": str(record.id),
            "type": record.type,
            "user": user.user_payload(),
            "authorizing_integration_owners": {"0": str(self.guild.id)},
        }
        if record.type == 3 and record.source_message_id is not None:
            data["interacted_message_id"] = str(record.source_message_id)
        if record.type == 5:
            opener = self.interactions.get(record.opened_by or 0)
            if opener is not None:
                data["triggering_interaction_metadata"] = self.interaction_metadata(opener)
        return data

    def edit_message(
        self,
        message: SimMessage,
        body: dict[str, Any],
        uploads: list[Upload] | None = None,
        *,
        editor: SimMember | None = None,
    ) -> SimMessage:
        data = message.data
        channel = self.channels[message.channel_id]
        author = editor or self.members.get(int(data["author"]["id"]), self.bot)
        if "content" in body:
            data["content"] = body["content"] or ""
        if "embeds" in body:
            data["embeds"] = self._embeds(body["embeds"])
        if "components" in body:
            data["components"] = normalize_components(body["components"])
        if body.get("flags") is not None:
            keep = data["flags"] & ~(SETTABLE_FLAGS & ~EPHEMERAL)
            data["flags"] = keep | (int(body["flags"]) & SETTABLE_FLAGS & ~EPHEMERAL)
        if "attachments" in body or uploads:
            message.attachments = self._attachments_from(body, uploads or [], message.attachments)
            data["attachments"] = [
                self.attachment_payload(channel.id, a) for a in message.attachments
            ]
        if "content" in body or "allowed_mentions" in body:
            everyone, mentions, roles = self.compute_mentions(
                data["content"], body.get("allowed_mentions"), author, channel
            )
            data.update(mention_everyone=everyone, mentions=mentions, mention_roles=roles)
        data["flags"] &= ~LOADING
        data["edited_timestamp"] = iso_now()
        if message.ephemeral_for is None:
            self.emit("MESSAGE_UPDATE", data)
        else:
            self.emit("SIM_EPHEMERAL_UPDATE", data)
        return message

    def delete_message(self, message: SimMessage) -> None:
        message.deleted = True
        channel = self.channels[message.channel_id]
        if channel.thread is not None and message.id != channel.id:
            channel.thread.message_count = max(channel.thread.message_count - 1, 0)
        channel.pins = [p for p in channel.pins if p.message_id != message.id]
        event: dict[str, Any] = {"id": str(message.id), "channel_id": str(channel.id)}
        if channel.guild_id is not None:
            event["guild_id"] = str(channel.guild_id)
        self.emit(
            "MESSAGE_DELETE" if message.ephemeral_for is None else "SIM_EPHEMERAL_DELETE", event
        )

    def pin(self, channel: SimChannel, message: SimMessage, pinned: bool) -> None:
        if message.ephemeral_for is not None:
            raise ApiError(400, 50021, "Cannot execute action on a system message")
        already = any(p.message_id == message.id for p in channel.pins)
        if pinned and not already:
            if len(channel.pins) >= 250:
                raise ApiError(400, 30003, "Maximum number of pins reached (250)")
            channel.pins.append(SimPin(message.id, iso_now()))
        elif not pinned:
            channel.pins = [p for p in channel.pins if p.message_id != message.id]
        message.data["pinned"] = pinned
        event: dict[str, Any] = {
            "channel_id": str(channel.id),
            "last_pin_timestamp": channel.pins[-1].pinned_at if channel.pins else None,
        }
        if channel.guild_id is not None:
            event["guild_id"] = str(channel.guild_id)
        self.emit("CHANNEL_PINS_UPDATE", event)
        self.emit("MESSAGE_UPDATE", message.data)

    def channel_messages(
        self, channel: SimChannel, *, viewer: int | None = None
    ) -> list[SimMessage]:
        """Live messages of a channel, oldest first; ephemeral ones only for their viewer."""
        result = []
        for mid in channel.message_ids:
            message = self.messages[mid]
            if message.deleted:
                continue
            if message.ephemeral_for is not None and message.ephemeral_for != viewer:
                continue
            result.append(message)
        return result

    # -- application commands -------------------------------------------------------------------

    def store_commands(
        self, commands: list[dict[str, Any]], *, guild_id: int | None
    ) -> list[dict[str, Any]]:
        stored = []
        for raw in commands:
            cmd_type = int(raw.get("type") or 1)
            key = (raw["name"], cmd_type, guild_id)
            # Discord keeps a command's id across re-syncs of the same name and type.
            cmd_id = self.command_ids.setdefault(key, self.ids.next())
            command: dict[str, Any] = {
                "id": str(cmd_id),
                "application_id": str(self.application_id),
                "version": str(self.ids.next()),
                "type": cmd_type,
                "name": raw["name"],
                "description": raw.get("description") or "",
                "default_member_permissions": None
                if raw.get("default_member_permissions") is None
                else str(raw["default_member_permissions"]),
                "dm_permission": raw.get("dm_permission", True),
                "nsfw": bool(raw.get("nsfw", False)),
            }
            for optional in (
                "contexts",
                "integration_types",
                "name_localizations",
                "description_localizations",
            ):
                if raw.get(optional) is not None:
                    command[optional] = raw[optional]
            if raw.get("options"):
                command["options"] = raw["options"]
            if guild_id is not None:
                command["guild_id"] = str(guild_id)
            stored.append(command)
        return stored
