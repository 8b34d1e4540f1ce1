"""Reminder buttons that survive restarts: "Remind me", "Stop reminding me", "Stop these reminders".

They are dynamic items (their state lives in the custom id), so a click on a card or DM sent
before a restart still works. The reminders extension plugs its handlers in at load time.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, ClassVar, Protocol

import discord

from bot.clock import Clock
from bot.errors import UserFacingError
from bot.services.program import Talk
from bot.services.reminders import ReminderService
from bot.tree import APOLOGY, expected_answer, reply_ephemeral

CUSTOM_ID_MAX = 100

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def answer_failures(interaction: discord.Interaction, what: str) -> AsyncIterator[None]:
    """Dynamic items bypass the tree's error handler: give users the same answers here."""
    try:
        yield
    except Exception as exc:
        text = expected_answer(interaction, exc, what)
        if text is not None:
            await reply_ephemeral(interaction, text)
            return
        log.exception(
            "%s failed (user %s, guild %s)", what, interaction.user.id, interaction.guild_id
        )
        await reply_ephemeral(interaction, APOLOGY)


class ReminderActions(Protocol):
    async def toggle(self, interaction: discord.Interaction, token: str, on: bool) -> None: ...

    async def stop_all(self, interaction: discord.Interaction) -> None: ...


def entry_token(entry_id: str) -> str:
    """The entry id, or a short hash of it when the id would overflow a custom id."""
    if len(entry_id) <= 80:
        return entry_id
    return "#" + hashlib.sha1(entry_id.encode()).hexdigest()[:20]


class _Handlers:
    actions: ClassVar[ReminderActions | None] = None


def _actions() -> ReminderActions:
    if _Handlers.actions is None:
        raise UserFacingError("Reminders are not available right now; try again in a minute.")
    return _Handlers.actions


def set_actions(actions: ReminderActions | None) -> None:
    _Handlers.actions = actions


class RemindButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"remind:(?P<on>on|off):(?P<token>[#a-z0-9._-]{1,90})",
):
    def __init__(self, token: str, *, on: bool) -> None:
        self.token = token
        self.on = on
        super().__init__(
            discord.ui.Button(
                label="Remind me" if on else "Stop reminding me",
                style=discord.ButtonStyle.success if on else discord.ButtonStyle.secondary,
                custom_id=f"remind:{'on' if on else 'off'}:{token}",
                emoji="⏰" if on else None,
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> RemindButton:
        return cls(match["token"], on=match["on"] == "on")

    async def callback(self, interaction: discord.Interaction) -> None:
        async with answer_failures(interaction, "Remind me button"):
            await _actions().toggle(interaction, self.token, self.on)


class StopRemindersButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"reminders:off"
):
    def __init__(self) -> None:
        super().__init__(
            discord.ui.Button(
                label="Stop these reminders",
                style=discord.ButtonStyle.danger,
                custom_id="reminders:off",
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> StopRemindersButton:
        return cls()

    async def callback(self, interaction: discord.Interaction) -> None:
        async with answer_failures(interaction, "Stop these reminders button"):
            await _actions().stop_all(interaction)


CardExtras = Callable[[Talk, int], Awaitable[list[discord.ui.Item[Any]]]]


def make_card_extras(reminders: ReminderService, clock: Clock) -> CardExtras:
    """The talk card's reminder button: "Remind me" or "Stop reminding me" for this user."""

    async def card_extras(talk: Talk, user_id: int) -> list[discord.ui.Item[Any]]:
        if talk.cancelled or clock.now() >= talk.start:
            return []
        subscribed = await reminders.is_subscribed(user_id, talk.id)
        return [RemindButton(entry_token(talk.id), on=not subscribed)]

    return card_extras
