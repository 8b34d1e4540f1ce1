"""Threads and forum channels: Discord's rules for creating, editing, joining and tagging them."""

from __future__ import annotations

from typing import Any

from .core import ApiError, SimMember, SimState, invalid_form
from .models import ChannelType, Perm, SimChannel, ThreadState, iso_now

ARCHIVE_DURATIONS = (60, 1440, 4320, 10080)  # minutes
MAX_ACTIVE_THREADS = 1000  # per guild; archived threads do not count
MAX_FORUM_TAGS = 20
MAX_APPLIED_TAGS = 5
MAX_TAG_NAME = 20
REQUIRE_TAG = 1 << 4  # forum channel flag: a post needs at least one tag
HAS_THREAD = 1 << 5  # message flag: a thread was started from this message


def archived_error() -> ApiError:
    return ApiError(400, 50083, "Operation cannot be performed on an archived thread")


def locked_error() -> ApiError:
    return ApiError(403, 160005, "Thread is locked")


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not 1 <= len(name) <= 100:
        raise invalid_form("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
    return name


def check_archive_duration(value: Any, default: int) -> int:
    if value is None:
        return default
    if value not in ARCHIVE_DURATIONS:
        raise invalid_form(
            "auto_archive_duration",
            "BASE_TYPE_CHOICES",
            f"Value must be one of {set(ARCHIVE_DURATIONS)}.",
        )
    return int(value)


def check_room_for_active_thread(state: SimState) -> None:
    if len(state.active_threads()) >= MAX_ACTIVE_THREADS:
        raise ApiError(400, 160006, "Maximum number of active threads reached")


def can_manage_threads(state: SimState, member: SimMember, channel: SimChannel) -> bool:
    return bool(state.permissions_in(member, channel) & Perm.MANAGE_THREADS)


def checked_tags(
    state: SimState, forum: SimChannel, raw: Any, member: SimMember, previous: list[int]
) -> list[int]:
    """The tag ids of ``raw`` after Discord's checks: at most 5, all of ``forum``'s tags, and
    moderated ones only added or removed by a member with Manage Threads."""
    if raw is None:
        return []
    ids = [int(t) for t in raw]
    if len(ids) > MAX_APPLIED_TAGS:
        raise invalid_form(
            "applied_tags",
            "BASE_TYPE_MAX_LENGTH",
            f"Must be {MAX_APPLIED_TAGS} or fewer in length.",
        )
    known = {int(t["id"]): t for t in forum.available_tags}
    unknown = [t for t in ids if t not in known]
    if unknown:
        # Discord refuses tags of another forum (the exact field error is not documented).
        raise invalid_form(
            "applied_tags", "BASE_TYPE_CHOICES", f"Unknown tag {unknown[0]} for this channel."
        )
    changed = set(ids) ^ set(previous)
    if any(known[t]["moderated"] for t in changed if t in known) and not can_manage_threads(
        state, member, forum
    ):
        raise ApiError(403, 50013, "Missing Permissions")
    return list(dict.fromkeys(ids))


def set_available_tags(state: SimState, forum: SimChannel, raw: Any) -> None:
    """Replace a forum's tags as ``PATCH /channels/{forum}`` does: kept ids stay, new tags get
    ids, and tags left out are removed from the forum's threads."""
    if not isinstance(raw, list):
        raise invalid_form("available_tags", "BASE_TYPE_REQUIRED", "This field is required")
    if len(raw) > MAX_FORUM_TAGS:
        raise invalid_form(
            "available_tags",
            "BASE_TYPE_MAX_LENGTH",
            f"Must be {MAX_FORUM_TAGS} or fewer in length.",
        )
    old = {int(t["id"]): t for t in forum.available_tags}
    tags: list[dict[str, Any]] = []
    names: set[str] = set()
    for i, item in enumerate(raw):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not 1 <= len(name) <= MAX_TAG_NAME:
            raise ApiError(
                400,
                50035,
                "Invalid Form Body",
                {
                    "available_tags": {
                        str(i): {
                            "name": {
                                "_errors": [
                                    {
                                        "code": "BASE_TYPE_BAD_LENGTH",
                                        "message": f"Must be between 1 and {MAX_TAG_NAME} in "
                                        "length.",
                                    }
                                ]
                            }
                        }
                    }
                },
            )
        if name.lower() in names:
            raise ApiError(400, 40061, "Tag names must be unique")
        names.add(name.lower())
        tag_id = int(item["id"]) if item.get("id") and int(item["id"]) in old else state.ids.next()
        tags.append(
            {
                "id": str(tag_id),
                "name": name,
                "moderated": bool(item.get("moderated") or False),
                "emoji_id": None if not item.get("emoji_id") else str(item["emoji_id"]),
                "emoji_name": item.get("emoji_name") or None,
            }
        )
    forum.available_tags = tags
    kept = {int(t["id"]) for t in tags}
    state.emit("CHANNEL_UPDATE", state.channel_payload(forum))
    for thread in state.threads_of(forum):
        assert thread.thread is not None
        if any(t not in kept for t in thread.thread.applied_tags):
            thread.thread.applied_tags = [t for t in thread.thread.applied_tags if t in kept]
            state.emit("THREAD_UPDATE", state.thread_payload(thread))


def new_thread(
    state: SimState,
    parent: SimChannel,
    owner: SimMember,
    *,
    name: str,
    kind: int,
    auto_archive_duration: int,
    rate_limit_per_user: int = 0,
    applied_tags: list[int] | None = None,
    thread_id: int | None = None,
    invitable: bool = True,
) -> SimChannel:
    """A new active thread under ``parent`` (its owner joined); THREAD_CREATE is dispatched."""
    check_room_for_active_thread(state)
    now = iso_now()
    thread = SimChannel(
        id=state.ids.next() if thread_id is None else thread_id,
        type=kind,
        name=name,
        guild_id=parent.guild_id,
        rate_limit_per_user=rate_limit_per_user,
        thread=ThreadState(
            parent_id=parent.id,
            owner_id=owner.id,
            auto_archive_duration=auto_archive_duration,
            create_timestamp=now,
            archive_timestamp=now,
            applied_tags=list(applied_tags or []),
            members={owner.id: now},
            invitable=invitable,
        ),
    )
    state.channels[thread.id] = thread
    if parent.is_forum:
        parent.last_message_id = thread.id  # a forum's last_message_id is its newest post
    state.emit("THREAD_CREATE", {**state.thread_payload(thread), "newly_created": True})
    return thread


def thread_created_notice(state: SimState, parent: SimChannel, thread: SimChannel) -> None:
    """The "started a thread" system message (type 18) Discord posts in the parent channel."""
    assert thread.thread is not None
    owner = state.members[thread.thread.owner_id]
    message = state.create_message(parent, owner, {"content": thread.name}, message_type=18)
    message.data["message_reference"] = {
        "type": 0,
        "channel_id": str(thread.id),
        "guild_id": str(parent.guild_id),
    }


def mark_message_threaded(
    state: SimState, message_data: dict[str, Any], thread: SimChannel
) -> None:
    """A message a thread was started from carries the thread and the HAS_THREAD flag."""
    message_data["flags"] = int(message_data.get("flags") or 0) | HAS_THREAD
    message_data["thread"] = state.thread_payload(thread)
    state.emit("MESSAGE_UPDATE", message_data)


def before_post(state: SimState, thread: SimChannel, author: SimMember) -> None:
    """Discord's rules for a message in a thread: a locked one takes posts only from members
    with Manage Threads; an archived one is unarchived by the post."""
    meta = thread.thread
    assert meta is not None
    if meta.locked and not can_manage_threads(state, author, thread):
        raise locked_error()
    if meta.archived:
        check_room_for_active_thread(state)
        meta.archived = False
        meta.archive_timestamp = iso_now()
        state.emit("THREAD_UPDATE", state.thread_payload(thread))
    # Posting in a thread joins it.
    add_member(state, thread, author)


THREAD_EDIT_FIELDS = (
    "name",
    "archived",
    "locked",
    "invitable",
    "auto_archive_duration",
    "rate_limit_per_user",
    "flags",
    "applied_tags",
)


def edit_thread(
    state: SimState, thread: SimChannel, editor: SimMember, body: dict[str, Any]
) -> None:
    """``PATCH /channels/{thread}``: Discord's permission and state rules, then THREAD_UPDATE."""
    meta = thread.thread
    assert meta is not None
    parent = state.channels[meta.parent_id]
    manage = can_manage_threads(state, editor, thread)
    owner = meta.owner_id == editor.id
    changes = {k: body[k] for k in THREAD_EDIT_FIELDS if body.get(k) is not None}
    archived = bool(changes.get("archived", meta.archived))
    locked = bool(changes.get("locked", meta.locked))
    # An archived thread can only be edited by unarchiving it in the same request.
    if meta.archived and archived:
        raise archived_error()
    if locked != meta.locked and not manage:
        raise ApiError(403, 50013, "Missing Permissions")
    if meta.locked and not manage:
        # Only Manage Threads edits (or unarchives) a locked thread.
        raise ApiError(403, 50013, "Missing Permissions")
    only_unarchive = set(changes) <= {"archived"} and not archived
    if not (manage or owner or only_unarchive):
        raise ApiError(403, 50013, "Missing Permissions")
    if only_unarchive and not state.permissions_in(editor, thread) & Perm.SEND_MESSAGES:
        raise ApiError(403, 50013, "Missing Permissions")
    if "name" in changes:
        check_name(changes["name"])
    duration = check_archive_duration(
        changes.get("auto_archive_duration"), meta.auto_archive_duration
    )
    tags = meta.applied_tags
    if "applied_tags" in changes:
        if not parent.is_forum:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        tags = checked_tags(state, parent, changes["applied_tags"], editor, meta.applied_tags)
    if "invitable" in changes and thread.type != ChannelType.PRIVATE_THREAD:
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    if meta.archived and not archived:
        check_room_for_active_thread(state)
    if "name" in changes:
        thread.name = changes["name"]
    if archived != meta.archived:
        meta.archive_timestamp = iso_now()
    meta.archived, meta.locked = archived, locked
    meta.auto_archive_duration = duration
    meta.applied_tags = tags
    if "invitable" in changes:
        meta.invitable = bool(changes["invitable"])
    if "rate_limit_per_user" in changes:
        thread.rate_limit_per_user = int(changes["rate_limit_per_user"])
    if "flags" in changes:
        meta.flags = int(changes["flags"])
    state.emit("THREAD_UPDATE", state.thread_payload(thread))


def add_member(state: SimState, thread: SimChannel, member: SimMember) -> None:
    meta = thread.thread
    assert meta is not None
    if meta.archived:
        raise archived_error()
    if member.id in meta.members:
        return
    meta.members[member.id] = iso_now()
    added = {**state.thread_member_payload(thread, member.id)}
    if member.in_guild:
        added["member"] = member.member_payload()
    state.emit(
        "THREAD_MEMBERS_UPDATE",
        {
            "id": str(thread.id),
            "guild_id": str(thread.guild_id),
            "member_count": len(meta.members),
            "added_members": [added],
        },
    )


def remove_member(state: SimState, thread: SimChannel, member: SimMember) -> None:
    meta = thread.thread
    assert meta is not None
    if meta.archived:
        raise archived_error()
    if meta.members.pop(member.id, None) is None:
        return
    state.emit(
        "THREAD_MEMBERS_UPDATE",
        {
            "id": str(thread.id),
            "guild_id": str(thread.guild_id),
            "member_count": len(meta.members),
            "removed_member_ids": [str(member.id)],
        },
    )
