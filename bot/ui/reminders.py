"""Reminder buttons that survive restarts: the card's "Remind me", and the reminder DM's controls.

They are dynamic items (their state lives in the custom id), so a click on a card or DM sent
before a restart still works. The reminders extension plugs its handlers in at load time.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, ClassVar, Protocol

import discord

from bot.clock import Clock
from bot.errors import UserFacingError
from bot.program.model import kind_label
from bot.services.program import Talk
from bot.services.reminders import ReminderService
from bot.tree import APOLOGY, expected_answer, reply_ephemeral
from bot.ui.text import BUTTON_LABEL_MAX, SELECT_LABEL_MAX, SELECT_OPTIONS_MAX, trim

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
    """What the buttons do; the reminders extension implements it."""

    async def toggle(self, interaction: discord.Interaction, token: str, on: bool) -> None: ...

    async def show_card(self, interaction: discord.Interaction, token: str) -> None: ...

    async def stop_talks(self, interaction: discord.Interaction, tokens: Sequence[str]) -> None: ...

    async def stop_kind(self, interaction: discord.Interaction, token: str) -> None: ...

    async def ask_stop_all(self, interaction: discord.Interaction) -> None: ...

    async def stop_all(self, interaction: discord.Interaction, *, confirmed: bool) -> None: ...


def entry_token(entry_id: str) -> str:
    """The entry id, or a short hash of it when the id would overflow a custom id."""
    if len(entry_id) <= 80:
        return entry_id
    return "#" + hashlib.sha1(entry_id.encode()).hexdigest()[:20]


def kind_token(kind: str) -> str:
    """The kind, or a short hash of it when it has characters a custom id template refuses."""
    if re.fullmatch(r"[a-z0-9._-]{1,40}", kind):
        return kind
    return "#" + hashlib.sha1(kind.encode()).hexdigest()[:20]


def every(kind: str) -> str:
    """How a kind subscription is named to people: "every keynote", "every poster session"."""
    return f"every {kind_label(kind).lower()}"


class _Handlers:
    actions: ClassVar[ReminderActions | None] = None


def _actions() -> ReminderActions:
    if _Handlers.actions is None:
        raise UserFacingError("Reminders are not available right now; try again in a minute.")
    return _Handlers.actions


def set_actions(actions: ReminderActions | None) -> None:
    _Handlers.actions = actions


_TOKEN = r"[#a-z0-9._-]{1,90}"


class RemindButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=rf"remind:(?P<on>on|off):(?P<token>{_TOKEN})",
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


# -- the reminder DM ------------------------------------------------------------------------------


class DetailsButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=rf"rdm:card:(?P<token>{_TOKEN})"
):
    """Opens the full card of a talk the reminder DM is about."""

    def __init__(self, token: str, label: str = "Details", *, row: int | None = None) -> None:
        self.token = token
        super().__init__(
            discord.ui.Button(
                label=trim(label, BUTTON_LABEL_MAX),
                style=discord.ButtonStyle.primary,
                custom_id=f"rdm:card:{token}",
                row=row,
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> DetailsButton:
        return cls(match["token"])

    async def callback(self, interaction: discord.Interaction) -> None:
        async with answer_failures(interaction, "Details button"):
            await _actions().show_card(interaction, self.token)


def _options(talks: Sequence[Talk]) -> list[discord.SelectOption]:
    return [
        discord.SelectOption(
            label=trim(talk.title, SELECT_LABEL_MAX),
            value=entry_token(talk.id),
            description=trim(talk.kind_label, SELECT_LABEL_MAX),
        )
        for talk in talks[:SELECT_OPTIONS_MAX]
    ]


class DetailsSelect(discord.ui.DynamicItem[discord.ui.Select[Any]], template=r"rdm:cards"):
    """For a DM about many talks: the menu that opens one's card (the values are entry tokens)."""

    def __init__(self, talks: Sequence[Talk] = (), *, row: int | None = None) -> None:
        super().__init__(
            discord.ui.Select(
                custom_id="rdm:cards",
                placeholder="Details of a talk",
                options=_options(talks),
                row=row,
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> DetailsSelect:
        return cls()

    async def callback(self, interaction: discord.Interaction) -> None:
        async with answer_failures(interaction, "Details menu"):
            await _actions().show_card(interaction, self.item.values[0])


class StopTalkButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=rf"rdm:stop:(?P<token>{_TOKEN})"
):
    """Stops the reminder of the one talk the DM is about (nothing else)."""

    def __init__(self, token: str, *, row: int | None = None) -> None:
        self.token = token
        super().__init__(
            discord.ui.Button(
                label="Stop this reminder",
                style=discord.ButtonStyle.secondary,
                custom_id=f"rdm:stop:{token}",
                row=row,
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> StopTalkButton:
        return cls(match["token"])

    async def callback(self, interaction: discord.Interaction) -> None:
        async with answer_failures(interaction, "Stop this reminder button"):
            await _actions().stop_talks(interaction, [self.token])


class StopTalksSelect(discord.ui.DynamicItem[discord.ui.Select[Any]], template=r"rdm:stops"):
    """For a DM about several talks: which of their reminders to stop."""

    def __init__(self, talks: Sequence[Talk] = (), *, row: int | None = None) -> None:
        options = _options(talks)
        super().__init__(
            discord.ui.Select(
                custom_id="rdm:stops",
                placeholder="Stop reminders for…",
                options=options,
                min_values=1,
                max_values=max(1, len(options)),
                row=row,
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> StopTalksSelect:
        return cls()

    async def callback(self, interaction: discord.Interaction) -> None:
        async with answer_failures(interaction, "Stop reminders menu"):
            await _actions().stop_talks(interaction, list(self.item.values))


class StopKindButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=rf"rdm:kind:(?P<token>{_TOKEN})"
):
    """Stops the "every <kind>" subscription a reminder came from."""

    def __init__(self, token: str, label: str = "Stop", *, row: int | None = None) -> None:
        self.token = token
        super().__init__(
            discord.ui.Button(
                label=trim(label, BUTTON_LABEL_MAX),
                style=discord.ButtonStyle.secondary,
                custom_id=f"rdm:kind:{token}",
                row=row,
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> StopKindButton:
        return cls(match["token"])

    async def callback(self, interaction: discord.Interaction) -> None:
        async with answer_failures(interaction, "Stop every-kind button"):
            await _actions().stop_kind(interaction, self.token)


class StopAllButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"rdm:all"):
    """ "Stop all…": asks first, saying how many reminders and subscriptions that is."""

    def __init__(self, *, row: int | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label="Stop all…",
                style=discord.ButtonStyle.danger,
                custom_id="rdm:all",
                row=row,
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> StopAllButton:
        return cls()

    async def callback(self, interaction: discord.Interaction) -> None:
        async with answer_failures(interaction, "Stop all button"):
            await _actions().ask_stop_all(interaction)


class StopAllAnswer(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"rdm:all:(?P<answer>yes|no)"
):
    """The confirmation's "Confirm" and "Keep them"."""

    def __init__(self, *, confirm: bool) -> None:
        self.confirm = confirm
        super().__init__(
            discord.ui.Button(
                label="Confirm" if confirm else "Keep them",
                style=discord.ButtonStyle.danger if confirm else discord.ButtonStyle.secondary,
                custom_id=f"rdm:all:{'yes' if confirm else 'no'}",
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> StopAllAnswer:
        return cls(confirm=match["answer"] == "yes")

    async def callback(self, interaction: discord.Interaction) -> None:
        async with answer_failures(interaction, "Stop all confirmation"):
            await _actions().stop_all(interaction, confirmed=self.confirm)


def stop_all_confirmation() -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(StopAllAnswer(confirm=True))
    view.add_item(StopAllAnswer(confirm=False))
    return view


class StopRemindersButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"reminders:off"
):
    """The button of reminder DMs sent by older versions: now "Stop all…", asked first."""

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
            await _actions().ask_stop_all(interaction)


#: Every dynamic item the reminders extension registers.
DYNAMIC_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (
    RemindButton,
    DetailsButton,
    DetailsSelect,
    StopTalkButton,
    StopTalksSelect,
    StopKindButton,
    StopAllButton,
    StopAllAnswer,
    StopRemindersButton,
)

#: Above this many talks, a DM opens their cards from a menu rather than one button each.
DETAILS_BUTTONS_MAX = 4


def reminder_dm_view(items: Sequence[tuple[Talk, str | None]]) -> discord.ui.View:
    """The controls of a reminder DM about ``items``: (talk, kind of the "every <kind>"
    subscription the reminder came from, or None), in the order the DM lists them.

    "Details" per talk (a menu beyond four), "Stop this reminder" (a menu for several),
    "Stop 'every <kind>'" per subscription the reminders came from, and "Stop all…" (asked).
    Every item is dynamic, so the DM's controls work after a restart.
    """
    talks: list[Talk] = []
    kinds: list[str] = []
    for talk, via_kind in items:
        if all(t.id != talk.id for t in talks):
            talks.append(talk)
        if via_kind and via_kind not in kinds:
            kinds.append(via_kind)
    view = discord.ui.View(timeout=None)
    if len(talks) == 1:
        token = entry_token(talks[0].id)
        view.add_item(DetailsButton(token, row=0))
        view.add_item(StopTalkButton(token, row=0))
        row = 1
    elif talks:
        if len(talks) <= DETAILS_BUTTONS_MAX:
            for talk in talks:
                view.add_item(DetailsButton(entry_token(talk.id), f"Details: {talk.title}", row=0))
        else:
            view.add_item(DetailsSelect(talks, row=0))
        view.add_item(StopTalksSelect(talks, row=1))
        row = 2
    else:
        row = 0
    # Room for eight "every" buttons and "Stop all…" in the rows left (five per row).
    for index, kind in enumerate(kinds[:8]):
        view.add_item(
            StopKindButton(kind_token(kind), f"Stop '{every(kind)}'", row=row + index // 5)
        )
    view.add_item(StopAllButton(row=row + len(kinds[:8]) // 5))
    return view


CardExtras = Callable[[Talk, int], Awaitable[list[discord.ui.Item[Any]]]]


def make_card_extras(reminders: ReminderService, clock: Clock) -> CardExtras:
    """The talk card's reminder button: "Remind me" or "Stop reminding me" for this user."""

    async def card_extras(talk: Talk, user_id: int) -> list[discord.ui.Item[Any]]:
        if talk.cancelled or clock.now() >= talk.start:
            return []
        subscribed = await reminders.is_subscribed(user_id, talk.id)
        return [RemindButton(entry_token(talk.id), on=not subscribed)]

    return card_extras
