"""Questions for speakers: members ask (/ask), others upvote, the chair sees them by votes.

A member may not upvote their own question (asking it already says they want it answered,
and counts are "how many others want this"). A vote is a toggle: a second click takes it
back, but a click within ``DOUBLE_CLICK`` of the member's last change to that vote is a
double click and changes nothing, so two clicks at once count once.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db.models import Question, QuestionVote
from bot.errors import UserFacingError
from bot.services.program import ProgramService, Talk

log = logging.getLogger(__name__)

#: The longest question kept (after whitespace is collapsed): a question, not an essay.
QUESTION_MAX = 500
#: Questions are taken until this long after the entry ends (the Q&A may run over).
OPEN_AFTER_END = timedelta(hours=1)
#: A second click on the upvote button within this long of the last is a double click.
DOUBLE_CLICK = timedelta(seconds=2)
#: Open questions one member may have on one entry (a flood is not a Q&A).
OPEN_PER_MEMBER = 5
#: Kinds nobody speaks at.
NO_QUESTIONS = frozenset({"break"})


class SpeakerLinks(Protocol):
    """Which members are an entry's speakers (they may mark its questions answered).

    Linking Discord members to the program's people is not built yet: ``NoSpeakerLinks``
    says no to everyone, so only organizers moderate until a real implementation is passed
    to ``QuestionService``.
    """

    async def is_speaker(self, guild_id: int, user_id: int, entry_id: str) -> bool: ...


class NoSpeakerLinks:
    async def is_speaker(self, guild_id: int, user_id: int, entry_id: str) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class QuestionView:
    """A question as the lists and the public post show it."""

    id: int
    guild_id: int
    entry_id: str
    author_id: int
    text: str
    created_at: datetime
    votes: int
    channel_id: int | None = None
    message_id: int | None = None
    answered_at: datetime | None = None
    answered_by: int | None = None
    removed: bool = False

    @property
    def answered(self) -> bool:
        return self.answered_at is not None


@dataclass(frozen=True, slots=True)
class VoteResult:
    question: QuestionView
    voted: bool  # whether the member's upvote counts now
    changed: bool  # False: a double click (or a concurrent one) changed nothing


def clean_question(text: str) -> str:
    """One line: control and invisible characters dropped, whitespace runs made one space."""
    visible = "".join(
        " " if c in "\n\r\t" else c
        for c in text
        if unicodedata.category(c)[0] != "C" or c in "\n\r\t"
    )
    return " ".join(visible.split())


def _view(q: Question, votes: int) -> QuestionView:
    return QuestionView(
        id=q.id,
        guild_id=q.guild_id,
        entry_id=q.entry_id,
        author_id=q.author_id,
        text=q.text,
        created_at=q.created_at,
        votes=votes,
        channel_id=q.channel_id,
        message_id=q.message_id,
        answered_at=q.answered_at,
        answered_by=q.answered_by,
        removed=q.removed_at is not None,
    )


class QuestionService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        program: ProgramService,
        speakers: SpeakerLinks | None = None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._program = program
        self.speakers: SpeakerLinks = speakers or NoSpeakerLinks()

    # -- entries ---------------------------------------------------------------------------------

    def accepts(self, talk: Talk) -> bool:
        """Whether ``talk`` takes questions now (for autocomplete: no error, just no)."""
        return (
            not talk.cancelled
            and talk.kind not in NO_QUESTIONS
            and self._clock.now() <= talk.end + OPEN_AFTER_END
        )

    def entry(self, entry_id: str) -> Talk:
        """The entry a question is asked about, refused when it takes none."""
        talk = self._program.snapshot.by_id.get(entry_id)
        if talk is None:
            raise UserFacingError("I don't know that talk: pick one from the suggestions.")
        if talk.cancelled:
            raise UserFacingError(f"“{talk.title}” was cancelled: it takes no questions.")
        if talk.kind in NO_QUESTIONS:
            raise UserFacingError(f"“{talk.title}” is a {talk.kind_label.lower()}: nobody to ask.")
        if self._clock.now() > talk.end + OPEN_AFTER_END:
            raise UserFacingError(f"“{talk.title}” is over: it takes no more questions.")
        return talk

    # -- asking ----------------------------------------------------------------------------------

    async def ask(self, guild_id: int, user_id: int, entry_id: str, text: str) -> QuestionView:
        talk = self.entry(entry_id)
        cleaned = clean_question(text)
        if not cleaned:
            raise UserFacingError("Your question is empty: write it after `question:`.")
        if len(cleaned) > QUESTION_MAX:
            raise UserFacingError(
                f"Your question is {len(cleaned)} characters long; keep it to {QUESTION_MAX}."
            )
        now = self._clock.now()
        async with self._sessions() as s, s.begin():
            mine = (
                await s.scalars(
                    select(Question.text).where(
                        Question.guild_id == guild_id,
                        Question.entry_id == talk.id,
                        Question.author_id == user_id,
                        Question.removed_at.is_(None),
                        Question.answered_at.is_(None),
                    )
                )
            ).all()
            if any(t.casefold() == cleaned.casefold() for t in mine):
                raise UserFacingError(f"You already asked that about “{talk.title}”.")
            if len(mine) >= OPEN_PER_MEMBER:
                raise UserFacingError(
                    f"You have {len(mine)} open questions about “{talk.title}”, the most I "
                    "take from one person: wait until some are answered, or withdraw one "
                    "in `/questions`."
                )
            row = Question(
                guild_id=guild_id,
                entry_id=talk.id,
                author_id=user_id,
                text=cleaned,
                created_at=now,
            )
            s.add(row)
            await s.flush()
            return _view(row, 0)

    async def attach_post(self, question_id: int, channel_id: int, message_id: int) -> None:
        """Where the question's public post (with its upvote button) is."""
        async with self._sessions() as s, s.begin():
            await s.execute(
                update(Question)
                .where(Question.id == question_id)
                .values(channel_id=channel_id, message_id=message_id)
            )

    # -- reading ---------------------------------------------------------------------------------

    async def _count(self, s: AsyncSession, question_id: int) -> int:
        n = await s.scalar(
            select(func.count())
            .select_from(QuestionVote)
            .where(QuestionVote.question_id == question_id, QuestionVote.active.is_(True))
        )
        return int(n or 0)

    async def get(self, question_id: int, guild_id: int | None = None) -> QuestionView:
        async with self._sessions() as s:
            row = await s.get(Question, question_id)
            if row is None or (guild_id is not None and row.guild_id != guild_id):
                raise UserFacingError("That question no longer exists.")
            return _view(row, await self._count(s, question_id))

    async def list(self, guild_id: int, entry_id: str) -> list[QuestionView]:
        """An entry's questions (removed ones left out): open ones first, by votes then age;
        then the answered ones, most recently answered first."""
        votes = (
            select(QuestionVote.question_id, func.count().label("n"))
            .where(QuestionVote.active.is_(True))
            .group_by(QuestionVote.question_id)
            .subquery()
        )
        async with self._sessions() as s:
            rows = (
                await s.execute(
                    select(Question, func.coalesce(votes.c.n, 0))
                    .outerjoin(votes, votes.c.question_id == Question.id)
                    .where(
                        and_(
                            Question.guild_id == guild_id,
                            Question.entry_id == entry_id,
                            Question.removed_at.is_(None),
                        )
                    )
                )
            ).all()
        views = [_view(q, int(n)) for q, n in rows]
        open_ = sorted(
            (v for v in views if not v.answered), key=lambda v: (-v.votes, v.created_at, v.id)
        )
        answered = sorted(
            (v for v in views if v.answered),
            key=lambda v: (v.answered_at or v.created_at, v.id),
            reverse=True,
        )
        return open_ + answered

    # -- voting ----------------------------------------------------------------------------------

    async def toggle_vote(self, question_id: int, user_id: int, guild_id: int) -> VoteResult:
        """Upvote, or take the upvote back; a double click changes nothing."""
        for attempt in (1, 2):
            try:
                return await self._toggle(question_id, user_id, guild_id)
            except IntegrityError:
                # The same member's other click inserted the vote first: now it is there,
                # fresh, and the retry sees a double click.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _toggle(self, question_id: int, user_id: int, guild_id: int) -> VoteResult:
        now = self._clock.now()
        async with self._sessions() as s, s.begin():
            q = await s.get(Question, question_id)
            if q is None or q.guild_id != guild_id or q.removed_at is not None:
                raise UserFacingError("That question was withdrawn or removed.")
            if q.author_id == user_id:
                raise UserFacingError(
                    "That's your own question: asking it already counts. "
                    "Upvotes show how many others want it answered."
                )
            vote = await s.scalar(
                select(QuestionVote).where(
                    QuestionVote.question_id == question_id, QuestionVote.user_id == user_id
                )
            )
            if vote is None:
                s.add(
                    QuestionVote(
                        question_id=question_id, user_id=user_id, active=True, changed_at=now
                    )
                )
                await s.flush()
                voted, changed = True, True
            elif now - vote.changed_at < DOUBLE_CLICK:
                voted, changed = vote.active, False
            else:
                flipped = await s.execute(
                    update(QuestionVote)
                    .where(QuestionVote.id == vote.id, QuestionVote.active.is_(vote.active))
                    .values(active=not vote.active, changed_at=now)
                    .execution_options(synchronize_session=False)
                )
                # Not flipped: a concurrent click of the same member flipped it first; either
                # way the vote is now the other way round.
                changed = flipped.rowcount == 1  # type: ignore[attr-defined]
                voted = not vote.active
            return VoteResult(_view(q, await self._count(s, question_id)), voted, changed)

    # -- moderating ------------------------------------------------------------------------------

    async def may_moderate(
        self, guild_id: int, user_id: int, entry_id: str, *, organizer: bool
    ) -> bool:
        """Organizers (the session chair), and the entry's linked speakers once linked."""
        return organizer or await self.speakers.is_speaker(guild_id, user_id, entry_id)

    async def mark_answered(
        self,
        question_id: int,
        by: int,
        guild_id: int,
        *,
        organizer: bool,
        answered: bool = True,
    ) -> QuestionView:
        """Mark a question answered (or open again); only for those who may moderate it."""
        async with self._sessions() as s, s.begin():
            q = await s.get(Question, question_id, with_for_update=True)
            if q is None or q.guild_id != guild_id or q.removed_at is not None:
                raise UserFacingError("That question was withdrawn or removed.")
            if not await self.may_moderate(guild_id, by, q.entry_id, organizer=organizer):
                raise UserFacingError(
                    "Only the session chair (the organizers) or the speaker can do that."
                )
            if answered and q.answered_at is None:
                q.answered_at = self._clock.now()
                q.answered_by = by
            elif not answered:
                q.answered_at = None
                q.answered_by = None
            await s.flush()
            return _view(q, await self._count(s, question_id))

    async def remove(
        self, question_id: int, by: int, guild_id: int, *, organizer: bool
    ) -> QuestionView:
        """Withdraw (the author) or remove (who may moderate) a question: it leaves the lists."""
        async with self._sessions() as s, s.begin():
            q = await s.get(Question, question_id, with_for_update=True)
            if q is None or q.guild_id != guild_id:
                raise UserFacingError("That question no longer exists.")
            if q.author_id != by and not await self.may_moderate(
                guild_id, by, q.entry_id, organizer=organizer
            ):
                raise UserFacingError("Only its author or the organizers can remove a question.")
            if q.removed_at is None:
                q.removed_at = self._clock.now()
                q.removed_by = by
            await s.flush()
            return _view(q, await self._count(s, question_id))
