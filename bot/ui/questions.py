"""Questions for speakers on Discord: the public post with its upvote button, the /questions list.

Every control is a dynamic item whose custom id carries what it acts on (a question id, or
the question ids as a menu's values), so a post made before a restart still counts votes.
Members' text is shown inert: markdown escaped, mentions defused, and every send passes
``allowed_mentions=none`` as well.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Protocol

import discord

from bot.errors import UserFacingError
from bot.services.program import Talk
from bot.services.questions import QuestionView
from bot.ui.cards import md
from bot.ui.reminders import answer_failures
from bot.ui.text import (
    EMBED_DESCRIPTION_MAX,
    EMBED_TITLE_MAX,
    SELECT_LABEL_MAX,
    SELECT_OPTIONS_MAX,
    defuse_mentions,
    trim,
)

NO_PINGS = discord.AllowedMentions.none()


class QuestionActions(Protocol):
    """What the controls do; the questions extension implements it."""

    async def vote(self, interaction: discord.Interaction, question_id: int) -> None: ...

    async def moderate(
        self, interaction: discord.Interaction, action: str, question_id: int
    ) -> None: ...


class _Handlers:
    actions: ClassVar[QuestionActions | None] = None


def _actions() -> QuestionActions:
    if _Handlers.actions is None:
        raise UserFacingError("Questions are not available right now; try again in a minute.")
    return _Handlers.actions


def set_actions(actions: QuestionActions | None) -> None:
    _Handlers.actions = actions


def inert(text: str) -> str:
    """A member's text shown literally: no markdown, no mention that could ping or render."""
    return md(defuse_mentions(text))


def title_of(talk: Talk | None, limit: int = 200) -> str:
    return md(trim(talk.title, limit)) if talk is not None else "a talk no longer in the program"


def post_text(question: QuestionView, talk: Talk | None) -> str:
    """The public post: "❓ Question for *Title* from @member: …" and its count."""
    head = f"❓ Question for *{title_of(talk)}* from <@{question.author_id}>:"
    if question.removed:
        return f"{head}\n*(withdrawn or removed)*"
    state = " · ✅ answered" if question.answered else ""
    return f"{head}\n> {inert(question.text)}\n👍 {question.votes}{state}"


class UpvoteButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"ask:vote:(?P<id>[0-9]{1,19})"
):
    def __init__(self, question_id: int, votes: int = 0) -> None:
        self.question_id = question_id
        super().__init__(
            discord.ui.Button(
                label=f"Upvote ({votes})",
                emoji="👍",
                style=discord.ButtonStyle.primary,
                custom_id=f"ask:vote:{question_id}",
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> UpvoteButton:
        return cls(int(match["id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        async with answer_failures(interaction, "Upvote button"):
            await _actions().vote(interaction, self.question_id)


def post_view(question: QuestionView) -> discord.ui.View | None:
    if question.removed:
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(UpvoteButton(question.id, question.votes))
    return view


#: The /questions menus: what each does, and its placeholder.
ACTIONS: dict[str, str] = {
    "answer": "Mark answered…",
    "reopen": "Mark not answered…",
    "remove": "Remove a question…",
    "withdraw": "Withdraw my question…",
}


class QuestionSelect(
    discord.ui.DynamicItem[discord.ui.Select[Any]],
    template=r"ask:(?P<action>answer|reopen|remove|withdraw)",
):
    """A /questions menu; its values are question ids, so it needs no state of its own."""

    def __init__(self, action: str, questions: Sequence[QuestionView] = ()) -> None:
        self.action = action
        super().__init__(
            discord.ui.Select(
                custom_id=f"ask:{action}",
                placeholder=ACTIONS[action],
                options=[
                    discord.SelectOption(
                        label=trim(f"{q.votes} 👍 · {q.text}", SELECT_LABEL_MAX),
                        value=str(q.id),
                    )
                    for q in questions[:SELECT_OPTIONS_MAX]
                ],
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> QuestionSelect:
        return cls(match["action"])

    async def callback(self, interaction: discord.Interaction) -> None:
        async with answer_failures(interaction, f"/questions {self.action} menu"):
            await _actions().moderate(interaction, self.action, int(self.item.values[0]))


DYNAMIC_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (UpvoteButton, QuestionSelect)

#: Room left in the list's description for "…and N more".
_MORE_ROOM = 60


def _line(q: QuestionView, rank: int) -> str:
    link = (
        f" [↗](https://discord.com/channels/{q.guild_id}/{q.channel_id}/{q.message_id})"
        if q.channel_id and q.message_id
        else ""
    )
    mark = "✅ " if q.answered else f"{rank}. "
    return f"{mark}**{q.votes}** 👍 {inert(trim(q.text, 300))} — <@{q.author_id}>{link}"


def listing(
    talk: Talk,
    questions: Sequence[QuestionView],
    *,
    viewer_id: int,
    moderator: bool,
) -> tuple[discord.Embed, discord.ui.View | None]:
    """The /questions answer: open questions by votes, then the answered, and the menus the
    viewer may use (the chair's: answered, reopen, remove; an author's: withdraw)."""
    open_ = [q for q in questions if not q.answered]
    answered = [q for q in questions if q.answered]
    lines: list[str] = []
    size = 0
    shown = 0
    for rank, q in enumerate(open_ + answered, start=1):
        line = _line(q, rank)
        if size + len(line) + 2 > EMBED_DESCRIPTION_MAX - _MORE_ROOM:
            break
        if rank == len(open_) + 1 and lines:
            lines.append("")  # a blank line before the answered ones
        lines.append(line)
        size += len(line) + 1
        shown += 1
    if shown < len(questions):
        lines.append(f"…and {len(questions) - shown} more.")
    embed = discord.Embed(
        title=trim(f"Questions for {talk.title}", EMBED_TITLE_MAX),
        description="\n".join(lines).strip() or "No questions yet. Ask one with `/ask`.",
        colour=discord.Colour.blurple(),
    )
    embed.set_footer(text=f"{len(open_)} open · {len(answered)} answered · sorted by votes")
    view = discord.ui.View(timeout=None)
    if moderator:
        if open_:
            view.add_item(QuestionSelect("answer", open_))
        if answered:
            view.add_item(QuestionSelect("reopen", answered))
        if questions:
            view.add_item(QuestionSelect("remove", questions))
    else:
        mine = [q for q in questions if q.author_id == viewer_id]
        if mine:
            view.add_item(QuestionSelect("withdraw", mine))
    return embed, (view if view.children else None)
