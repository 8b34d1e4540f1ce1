"""The bot and a local Discord in one process: for the playground, end-to-end tests and bench.

Builds through the same composition root as production (``bot.app``); only the Discord
endpoint differs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Self

from bot.app import EXTENSIONS, Services, build_bot, build_services, point_discord_at
from bot.client import WorkshopBot
from bot.clock import Clock
from bot.nettrace import NonLoopbackRequest, loopback_only_trace
from bot.settings import Settings
from bot.simulator import DiscordSimulator

log = logging.getLogger(__name__)

__all__ = ["LocalDiscord", "NonLoopbackRequest", "loopback_only_trace"]


class LocalDiscord:
    """``async with LocalDiscord(settings) as local:`` gives ``local.sim`` and ``local.bot``."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock | None = None,
        *,
        simulator: DiscordSimulator | None = None,
        extensions: Sequence[str] = EXTENSIONS,
        ready_timeout: float = 10.0,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.sim = simulator or DiscordSimulator()
        self.extensions = tuple(extensions)
        self.ready_timeout = ready_timeout
        self._owns_sim = simulator is None
        self.bot: WorkshopBot | None = None
        self.services: Services | None = None
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        if self._owns_sim:
            await self.sim.start()
        point_discord_at(self.sim.api_base, self.sim.gateway_url)
        await self.start_bot()

    async def start_bot(self) -> WorkshopBot:
        """(Re)start the bot alone, as a restart of the bot process would."""
        self.services = await build_services(self.settings, self.clock)
        bot = build_bot(
            self.services,
            extensions=self.extensions,
            dev_guild_id=self.sim.guild_id,
            http_trace=loopback_only_trace(),
            guild_ready_timeout=0.05,
        )
        self.bot = bot
        self.task = asyncio.create_task(bot.start(self.sim.token), name="workshop-bot")
        ready = asyncio.create_task(bot.wait_until_ready())
        done, _ = await asyncio.wait(
            {self.task, ready}, timeout=self.ready_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
            if self.task.done():
                self.task.result()  # re-raises why the bot died
            raise TimeoutError(f"the bot was not ready within {self.ready_timeout} s")
        return bot

    async def stop_bot(self) -> None:
        if self.bot is not None:
            await self.bot.close()
        if self.task is not None:
            try:
                await asyncio.wait_for(self.task, 10)
            finally:
                self.task = None
        self.bot = None

    async def stop(self) -> None:
        try:
            await self.stop_bot()
        finally:
            if self._owns_sim:
                await self.sim.stop()

    def bot_alive(self) -> bool:
        return self.task is not None and not self.task.done()
