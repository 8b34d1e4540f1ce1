"""The Bot subclass: minimal intents, extensions loaded and commands synced in setup_hook."""

from __future__ import annotations

import gc
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from bot.tree import WorkshopTree

if TYPE_CHECKING:
    from bot.app import Services

log = logging.getLogger(__name__)


def minimal_intents() -> discord.Intents:
    """Guilds only: no members, presences or message content (all privileged), no messages."""
    intents = discord.Intents.none()
    intents.guilds = True
    return intents


class WorkshopBot(commands.Bot):
    def __init__(
        self,
        services: Services,
        *,
        extensions: Sequence[str],
        dev_guild_id: int | None = None,
        freeze_gc: bool = False,
        **options: Any,
    ) -> None:
        # The bot never joins voice: discord.py's warnings about voice libraries are noise.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=minimal_intents(),
            tree_cls=WorkshopTree,
            help_command=None,
            allowed_mentions=discord.AllowedMentions.none(),
            **options,
        )
        self.services = services
        self._extensions_to_load = tuple(extensions)
        self._dev_guild_id = dev_guild_id
        # Only for a process that runs one bot (not tests that start hundreds in a row).
        self._freeze_gc = freeze_gc
        self._on_close: list[Callable[[], Awaitable[None]]] = []

    async def setup_hook(self) -> None:
        for name in self._extensions_to_load:
            await self.load_extension(name)
        if self._dev_guild_id is not None:
            guild = discord.Object(id=self._dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("synced %d commands to guild %s", len(synced), self._dev_guild_id)
        if self.services.engine is not None:
            # Timers are rebuilt from the database on every start.
            await self.services.engine.start()
        if self.services.follower is not None and self.services.settings.gateway:
            # A program URL is fetched again every few minutes (by the gateway process only).
            self.services.follower.start()
        # A program file edited while the bot was down: loading it at start queued the same
        # notices as /program reload (in the load's transaction); the engine sends them.
        if self._freeze_gc:
            # Everything built so far lives as long as the process: keep the garbage collector
            # from walking it on every full collection (60-80 ms pauses at 10,000 entries).
            gc.collect()
            gc.freeze()

    def on_close(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run ``callback`` when the bot closes (after discord.py's own cleanup)."""
        self._on_close.append(callback)

    async def close(self) -> None:
        # Timers first: a send in progress finishes while Discord's session is still open.
        if self.services.engine is not None:
            await self.services.engine.stop()
        try:
            await super().close()
        finally:
            for callback in reversed(self._on_close):
                try:
                    await callback()
                except Exception:
                    log.exception("cleanup step failed during shutdown")
            self._on_close.clear()
