"""A server's threads through discord.py's HTTP client: what ``ThreadSync`` needs.

Every request goes through the bot's one pacer (``pace_every_request``), like every other.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal

import discord
from discord.http import handle_message_parameters

from bot.delivery.outbox import nonce_for
from bot.services.threads import (
    ListedThread,
    Starter,
    Tag,
    ThreadsForbidden,
    ThreadsLimit,
    ThreadSpec,
    marker_of,
    starter_digest,
)

log = logging.getLogger(__name__)

MISSING_PERMISSIONS = 50013
LIMIT_CODES = {160006, 30033}  # active threads per server; thread participants
FORUM = 15
ARCHIVE_AFTER: Literal[10080] = 10080  # a week of quiet: the longest Discord offers


def spec_embed(spec: ThreadSpec) -> discord.Embed:
    embed = discord.Embed(title=spec.title, description=spec.description or None)
    for name, value in spec.fields:
        embed.add_field(name=name, value=value, inline=False)
    embed.set_footer(text=spec.footer)
    return embed


def _listed(data: Any) -> ListedThread:
    meta = data.get("thread_metadata") or {}
    return ListedThread(
        id=int(data["id"]),
        parent_id=int(data.get("parent_id") or 0),
        owner_id=int(data.get("owner_id") or 0),
        name=str(data.get("name") or ""),
        tag_ids=tuple(int(t) for t in data.get("applied_tags") or ()),
        archived=bool(meta.get("archived")),
        locked=bool(meta.get("locked")),
    )


class DiscordThreadsApi:
    def __init__(self, http: discord.http.HTTPClient, guild_id: int, bot_id: int) -> None:
        self._http = http
        self._guild_id = guild_id
        self.bot_id = bot_id

    async def channel_kind(self, channel_id: int) -> str:
        data = await self._http.get_channel(channel_id)
        return "forum" if int(data["type"]) == FORUM else "text"

    async def forum_tags(self, channel_id: int) -> list[Tag]:
        data: Any = await self._http.get_channel(channel_id)
        return [Tag(int(t["id"]), str(t["name"])) for t in data.get("available_tags") or ()]

    async def set_forum_tags(self, channel_id: int, names: Sequence[str]) -> list[Tag]:
        data: Any = await self._http.get_channel(channel_id)
        tags = [
            {k: t[k] for k in ("id", "name", "moderated", "emoji_id", "emoji_name") if k in t}
            for t in data.get("available_tags") or ()
        ]
        tags += [{"name": name, "moderated": False} for name in names]
        try:
            edited: Any = await self._http.edit_channel(
                channel_id, available_tags=tags, reason="discussion threads: session tags"
            )
        except discord.Forbidden as exc:
            if exc.code == MISSING_PERMISSIONS:
                raise ThreadsForbidden(str(exc)) from None
            raise
        return [Tag(int(t["id"]), str(t["name"])) for t in edited.get("available_tags") or ()]

    async def active_threads(self) -> list[ListedThread]:
        data: Any = await self._http.get_active_threads(self._guild_id)
        return [_listed(t) for t in data.get("threads") or ()]

    async def fetch_thread(self, thread_id: int) -> ListedThread | None:
        try:
            return _listed(await self._http.get_channel(thread_id))
        except discord.NotFound:
            return None

    async def starter(self, channel_id: int, message_id: int) -> Starter | None:
        try:
            data: Any = await self._http.get_message(channel_id, message_id)
        except discord.NotFound:
            return None
        embeds = data.get("embeds") or []
        if not embeds:
            return Starter(starter_digest("", "", (), ""), None)
        embed = embeds[0]
        footer = str((embed.get("footer") or {}).get("text") or "")
        fields = [(str(f["name"]), str(f["value"])) for f in embed.get("fields") or ()]
        digest = starter_digest(
            str(embed.get("title") or ""), str(embed.get("description") or ""), fields, footer
        )
        return Starter(digest, marker_of(footer))

    async def create(
        self, channel_id: int, kind: str, spec: ThreadSpec, tag_ids: Sequence[int]
    ) -> int:
        embed = spec_embed(spec)
        try:
            if kind == "forum":
                payload: dict[str, Any] = {
                    "name": spec.name,
                    "auto_archive_duration": ARCHIVE_AFTER,
                }
                if tag_ids:
                    payload["applied_tags"] = [str(t) for t in tag_ids]
                with handle_message_parameters(
                    embed=embed,
                    allowed_mentions=discord.AllowedMentions.none(),
                    channel_payload=payload,
                ) as params:
                    data: Any = await self._http.start_thread_in_forum(
                        channel_id, params=params, reason="discussion thread"
                    )
                return int(data["id"])
            # A text channel: the starter is a message there, and the thread starts from it.
            # Its nonce is the entry's in this channel: a run killed between the two (or a
            # thread start that failed) leaves a message that the next run's send gets back
            # from Discord instead of a second copy (Discord keeps nonces for some minutes).
            with handle_message_parameters(
                embed=embed,
                allowed_mentions=discord.AllowedMentions.none(),
                nonce=nonce_for(f"thread-starter:{channel_id}:{marker_of(spec.footer)}"),
            ) as params:
                message: Any = await self._http.send_message(channel_id, params=params)
            thread: Any = await self._http.start_thread_with_message(
                channel_id,
                message["id"],
                name=spec.name,
                auto_archive_duration=ARCHIVE_AFTER,
                reason="discussion thread",
            )
            return int(thread["id"])
        except discord.HTTPException as exc:
            if exc.code in LIMIT_CODES:
                raise ThreadsLimit(exc.text or str(exc)) from None
            if exc.code == MISSING_PERMISSIONS:
                raise ThreadsForbidden(str(exc)) from None
            raise

    async def edit_starter(self, channel_id: int, message_id: int, spec: ThreadSpec) -> None:
        with handle_message_parameters(
            embed=spec_embed(spec), allowed_mentions=discord.AllowedMentions.none()
        ) as params:
            await self._http.edit_message(channel_id, message_id, params=params)

    async def edit_thread(
        self, thread_id: int, *, name: str | None = None, tag_ids: Sequence[int] | None = None
    ) -> None:
        options: dict[str, Any] = {}
        if name is not None:
            options["name"] = name
        if tag_ids is not None:
            options["applied_tags"] = [str(t) for t in tag_ids]
        if options:
            await self._http.edit_channel(thread_id, reason="the program changed", **options)

    async def close(self, thread_id: int, note: str) -> None:
        thread = await self.fetch_thread(thread_id)
        if thread is None:
            return
        if thread.archived:
            await self._http.edit_channel(thread_id, archived=False)
        with handle_message_parameters(
            content=note, allowed_mentions=discord.AllowedMentions.none()
        ) as params:
            await self._http.send_message(thread_id, params=params)
        try:
            await self._http.edit_channel(
                thread_id, locked=True, archived=True, reason="the entry was cancelled"
            )
        except discord.Forbidden as exc:
            if exc.code != MISSING_PERMISSIONS:
                raise
            # Locking needs Manage Threads; its owner may still archive it.
            log.info("cannot lock thread %s (no Manage Threads): archived only", thread_id)
            await self._http.edit_channel(thread_id, archived=True)

    async def add_member(self, thread_id: int, user_id: int) -> None:
        try:
            await self._http.add_user_to_thread(thread_id, user_id)
        except discord.HTTPException as exc:
            # Not a member of the server, an archived thread: the thread stays open to them.
            log.info("could not add %s to thread %s: %s", user_id, thread_id, exc)
