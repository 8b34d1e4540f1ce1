"""The program's people and the members shown as them: links, one-time claim codes, speaker role.

A person (as the program spells the name) is one member in a server; a member may be several
people (spelling variants). Organizers link members (/people link); authors link themselves by
redeeming a claim code sent to them by e-mail (/claim); a member removes their own links
(/unclaim). Only a code's SHA-256 is stored, so the database never holds a usable code.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db.models import ClaimCode, PersonLink, SpeakerRole
from bot.errors import UserFacingError
from bot.services.program import ProgramService, Talk
from bot.services.reminders import DEFAULT_LEAD, ReminderService
from bot.services.search import normalize

log = logging.getLogger(__name__)

#: Letters and digits nobody misreads in an e-mail: no 0/O, 1/I/L.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
#: 10 characters of 31: about 50 bits, shown as two groups of five (ABCDE-FGHJK).
CODE_LENGTH = 10
#: Wrong codes one member may try within ``GUESS_WINDOW`` before /claim waits.
WRONG_GUESSES = 5
GUESS_WINDOW = timedelta(minutes=15)
#: Names autocomplete offers (Discord shows at most 25).
COMPLETE_LIMIT = 25


def normalize_code(code: str) -> str:
    """What was typed, without case, spaces or dashes: ``"abcde-fghjk"`` -> ``"ABCDEFGHJK"``."""
    return "".join(c for c in code.upper() if c.isalnum())


def hash_code(code: str) -> str:
    return hashlib.sha256(normalize_code(code).encode()).hexdigest()


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    half = CODE_LENGTH // 2
    return f"{raw[:half]}-{raw[half:]}"


@dataclass(frozen=True, slots=True)
class Link:
    person: str
    user_id: int
    linked_by: int
    via: str


#: ``via`` of an organizer's link the member has not accepted yet: shown nowhere.
PENDING = "pending"


@dataclass(frozen=True, slots=True)
class LinkResult:
    person: str
    talks: list[Talk]
    already: bool  # the member was already linked to this person: nothing changed
    pending: bool = False  # an organizer's invitation the member has not accepted yet


@dataclass(frozen=True, slots=True)
class IssuedCode:
    person: str
    code: str
    talks: list[Talk]


@dataclass(frozen=True, slots=True)
class AuthorReminders:
    talks: list[Talk]  # the talks a reminder was set up for now
    sending_now: bool  # one of them starts within the lead: its DM is due now


class PeopleService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        program: ProgramService,
        reminders: ReminderService | None = None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._program = program
        self._reminders = reminders
        # Wrong /claim codes per member (in this process): guessing stays slow.
        self._wrong: defaultdict[int, list[datetime]] = defaultdict(list)
        #: Called after a new link (server, member, the person's talks): the Discord edge
        #: adds the member to their papers' discussion threads.
        self.on_link: list[Callable[[int, int, Sequence[Talk]], Awaitable[None]]] = []

    async def _linked(self, guild_id: int, user_id: int, result: LinkResult) -> LinkResult:
        if not result.already:
            for hook in list(self.on_link):
                try:
                    await hook(guild_id, user_id, result.talks)
                except Exception:
                    log.exception("a hook after linking %s failed", user_id)
        return result

    # -- the program's people --------------------------------------------------------------------

    def people(self) -> list[str]:
        """Everyone the program names on an entry, in program order, once each."""
        seen: dict[str, None] = {}
        for talk in self._program.snapshot.talks:
            for name in talk.people:
                seen.setdefault(name, None)
        return list(seen)

    def resolve(self, name: str) -> str:
        """The program's spelling of ``name`` (case and accents forgiven), or a refusal."""
        wanted = normalize(name)
        for person in self.people():
            if normalize(person) == wanted:
                return person
        raise UserFacingError(f"Nobody in the program is called “{name[:100]}”: pick a suggestion.")

    def complete(self, current: str, among: Iterable[str] | None = None) -> list[str]:
        """Names starting with (then containing) what was typed, for autocomplete."""
        names = list(among) if among is not None else self.people()
        typed = normalize(current)
        if not typed:
            return names[:COMPLETE_LIMIT]
        starts, contains = [], []
        for name in names:
            folded = normalize(name)
            if folded.startswith(typed) or any(w.startswith(typed) for w in folded.split()):
                starts.append(name)
            elif typed in folded:
                contains.append(name)
        return (starts + contains)[:COMPLETE_LIMIT]

    def talks_of(self, people: Iterable[str]) -> list[Talk]:
        names = set(people)
        return [t for t in self._program.snapshot.talks if names.intersection(t.people)]

    # -- links -----------------------------------------------------------------------------------

    async def link(
        self, guild_id: int, user_id: int, person: str, *, by: int, via: str = PENDING
    ) -> LinkResult:
        """Invite ``user_id`` to be shown as ``person`` (an organizer's link is shown once the
        member accepts it: nothing about a member is shown that they did not agree to);
        refused when another member already is, or is invited."""
        person = self.resolve(person)
        async with self._sessions() as s, s.begin():
            existing = await s.scalar(
                select(PersonLink).where(
                    PersonLink.guild_id == guild_id, PersonLink.person == person
                )
            )
            if existing is not None:
                if existing.user_id != user_id:
                    raise UserFacingError(
                        f"{person} is already linked to <@{existing.user_id}>: "
                        "unlink them first (`/people unlink`)."
                    )
                return LinkResult(
                    person,
                    self.talks_of([person]),
                    already=True,
                    pending=existing.via == PENDING,
                )
            s.add(
                PersonLink(
                    guild_id=guild_id,
                    user_id=user_id,
                    person=person,
                    linked_by=by,
                    via=via,
                    created_at=self._clock.now(),
                )
            )
            try:
                await s.flush()
            except IntegrityError:
                # Someone linked the same person at the same moment: theirs stands.
                raise UserFacingError(f"{person} was just linked by someone else.") from None
        log.info("guild %s: member %s linked to %r by %s (%s)", guild_id, user_id, person, by, via)
        result = LinkResult(person, self.talks_of([person]), already=False, pending=via == PENDING)
        if result.pending:
            return result  # nothing follows until the member accepts
        return await self._linked(guild_id, user_id, result)

    async def invitations(self, guild_id: int, user_id: int) -> list[str]:
        """The names organizers invited the member to be shown as, not accepted yet."""
        async with self._sessions() as s:
            rows = await s.scalars(
                select(PersonLink.person)
                .where(
                    PersonLink.guild_id == guild_id,
                    PersonLink.user_id == user_id,
                    PersonLink.via == PENDING,
                )
                .order_by(PersonLink.person)
            )
            return list(rows)

    async def accept(self, guild_id: int, user_id: int) -> list[LinkResult]:
        """The member accepts every invitation they have: from now on they are shown."""
        async with self._sessions() as s, s.begin():
            rows = (
                await s.scalars(
                    select(PersonLink).where(
                        PersonLink.guild_id == guild_id,
                        PersonLink.user_id == user_id,
                        PersonLink.via == PENDING,
                    )
                )
            ).all()
            for row in rows:
                row.via = "organizer"
            names = sorted(r.person for r in rows)
        results = []
        for name in names:
            log.info("guild %s: member %s accepted being shown as %r", guild_id, user_id, name)
            result = LinkResult(name, self.talks_of([name]), already=False)
            results.append(await self._linked(guild_id, user_id, result))
        return results

    async def unlink(self, guild_id: int, person: str, *, user_id: int | None = None) -> Link:
        """Remove the link of ``person`` (only the member's own when ``user_id`` is given)."""
        async with self._sessions() as s, s.begin():
            query = select(PersonLink).where(PersonLink.guild_id == guild_id)
            rows = (await s.scalars(query)).all()
            wanted = normalize(person)
            row = next((r for r in rows if normalize(r.person) == wanted), None)
            if row is None or (user_id is not None and row.user_id != user_id):
                mine = "You are not" if user_id is not None else "Nobody is"
                raise UserFacingError(f"{mine} linked to “{person[:100]}”.")
            await s.delete(row)
            link = Link(row.person, row.user_id, row.linked_by, row.via)
            reminded = list(row.reminded or [])
        log.info("guild %s: member %s unlinked from %r", guild_id, link.user_id, link.person)
        await self._stop_reminders(guild_id, link.user_id, reminded)
        return link

    async def unlink_all(self, guild_id: int, user_id: int) -> list[str]:
        """Remove every link of a member; the names they were shown as."""
        async with self._sessions() as s, s.begin():
            rows = (
                await s.scalars(
                    select(PersonLink).where(
                        PersonLink.guild_id == guild_id, PersonLink.user_id == user_id
                    )
                )
            ).all()
            for row in rows:
                await s.delete(row)
            reminded = [e for r in rows for e in (r.reminded or [])]
        await self._stop_reminders(guild_id, user_id, reminded)
        return [r.person for r in rows]

    async def links(self, guild_id: int) -> list[Link]:
        async with self._sessions() as s:
            rows = await s.scalars(
                select(PersonLink)
                .where(PersonLink.guild_id == guild_id)
                .order_by(PersonLink.person)
            )
            return [Link(r.person, r.user_id, r.linked_by, r.via) for r in rows]

    async def people_of(self, guild_id: int, user_id: int) -> list[str]:
        """The names a member is shown as (invitations not accepted yet left out)."""
        async with self._sessions() as s:
            rows = await s.scalars(
                select(PersonLink.person)
                .where(
                    PersonLink.guild_id == guild_id,
                    PersonLink.user_id == user_id,
                    PersonLink.via != PENDING,
                )
                .order_by(PersonLink.person)
            )
            return list(rows)

    async def members_for(self, guild_id: int | None, names: Sequence[str]) -> dict[str, int]:
        """Which of ``names`` are linked members here: name -> user id (empty outside a server)."""
        if guild_id is None or not names:
            return {}
        async with self._sessions() as s:
            rows = await s.execute(
                select(PersonLink.person, PersonLink.user_id).where(
                    PersonLink.guild_id == guild_id,
                    PersonLink.person.in_(list(names)),
                    PersonLink.via != PENDING,
                )
            )
            return {person: user_id for person, user_id in rows}

    async def is_speaker(self, guild_id: int, user_id: int, entry_id: str) -> bool:
        """Whether the member is linked to one of the entry's people (for QuestionService)."""
        talk = self._program.snapshot.by_id.get(entry_id)
        if talk is None or not talk.people:
            return False
        return user_id in (await self.members_for(guild_id, talk.people)).values()

    # -- the author's reminder -------------------------------------------------------------------

    async def remind_author(self, guild_id: int, user_id: int, person: str) -> AuthorReminders:
        """A reminder DM before each of the person's talks still to come (a poster's is its
        session's start), through the ordinary reminders: sent once, by the delivery engine.
        Talks the member already has a reminder for keep theirs."""
        if self._reminders is None:
            return AuthorReminders([], False)
        now = self._clock.now()
        made: list[Talk] = []
        sending_now = False
        for talk in self.talks_of([person]):
            if talk.cancelled or talk.start <= now:
                continue
            try:
                result = await self._reminders.subscribe(user_id, talk.id, DEFAULT_LEAD, guild_id)
            except UserFacingError:
                continue  # has one already, or at the cap: theirs stands
            made.append(talk)
            sending_now = sending_now or result.sending_now
        if made:
            async with self._sessions() as s, s.begin():
                row = await s.scalar(
                    select(PersonLink).where(
                        PersonLink.guild_id == guild_id,
                        PersonLink.person == person,
                        PersonLink.user_id == user_id,
                    )
                )
                if row is not None:
                    row.reminded = [*(row.reminded or []), *(t.id for t in made)]
        return AuthorReminders(made, sending_now)

    async def _stop_reminders(self, guild_id: int, user_id: int, entry_ids: list[str]) -> None:
        """Stop the reminders a removed link made; one the member's other names still need
        passes to the link of such a name (so that removing it later stops it)."""
        if self._reminders is None or not entry_ids:
            return
        async with self._sessions() as s, s.begin():
            rows = (
                await s.scalars(
                    select(PersonLink).where(
                        PersonLink.guild_id == guild_id, PersonLink.user_id == user_id
                    )
                )
            ).all()
            gone = []
            for entry_id in entry_ids:
                talk = self._program.snapshot.by_id.get(entry_id)
                heir = next((r for r in rows if talk is not None and r.person in talk.people), None)
                if heir is None:
                    gone.append(entry_id)
                elif entry_id not in (heir.reminded or []):
                    heir.reminded = [*(heir.reminded or []), entry_id]
        if gone:
            await self._reminders.stop(user_id, gone)

    async def presenting(self, user_id: int, talks: Sequence[Talk]) -> list[Talk]:
        """Which of ``talks`` the member is linked to (in any server), for the reminder DM."""
        async with self._sessions() as s:
            names = set(
                await s.scalars(
                    select(PersonLink.person).where(
                        PersonLink.user_id == user_id, PersonLink.via != PENDING
                    )
                )
            )
        return [t for t in talks if names.intersection(t.people)]

    # -- claim codes -----------------------------------------------------------------------------

    async def make_codes(self, names: Sequence[str] | None = None) -> list[IssuedCode]:
        """A new one-time code for each named person (default: everyone not linked anywhere).

        A person's earlier unredeemed codes stop working: only the newest e-mail counts.
        """
        if names:
            people = list(dict.fromkeys(self.resolve(n) for n in names))
        else:
            people = self.people()
        now = self._clock.now()
        issued: list[IssuedCode] = []
        async with self._sessions() as s, s.begin():
            if not names:
                linked = set(await s.scalars(select(PersonLink.person)))
                people = [p for p in people if p not in linked]
            if people:
                await s.execute(
                    delete(ClaimCode).where(
                        ClaimCode.person.in_(people), ClaimCode.redeemed_at.is_(None)
                    )
                )
            for person in people:
                code = new_code()
                s.add(ClaimCode(person=person, code_hash=hash_code(code), created_at=now))
                issued.append(IssuedCode(person, code, self.talks_of([person])))
        log.info("made %d claim codes", len(issued))
        return issued

    async def redeem(self, guild_id: int, user_id: int, code: str) -> LinkResult:
        """Link the member to the code's person; a code works once."""
        now = self._clock.now()
        recent = [t for t in self._wrong[user_id] if now - t < GUESS_WINDOW]
        self._wrong[user_id] = recent
        if len(recent) >= WRONG_GUESSES:
            wait = int((recent[0] + GUESS_WINDOW - now).total_seconds() // 60) + 1
            raise UserFacingError(
                f"Too many wrong codes: try again in {wait} min, or ask an organizer."
            )
        digest = hash_code(code)
        async with self._sessions() as s, s.begin():
            row = await s.scalar(select(ClaimCode).where(ClaimCode.code_hash == digest))
            # The lookup is by the hash of the guess; compare in constant time all the same.
            if row is None or not hmac.compare_digest(row.code_hash, digest):
                self._wrong[user_id].append(now)
                raise UserFacingError(
                    "That code is not one I know. Check it against the e-mail "
                    "(letters and digits; dashes and spaces don't matter)."
                )
            if row.redeemed_at is not None:
                if row.redeemed_by == user_id and row.redeemed_guild_id == guild_id:
                    raise UserFacingError(
                        f"You already used that code: you are shown as {row.person}."
                    )
                raise UserFacingError(
                    "That code was already used. If it was not you, ask an organizer."
                )
            # Conditional, so that two members redeeming one code at once cannot both win.
            taken = await s.execute(
                update(ClaimCode)
                .where(ClaimCode.id == row.id, ClaimCode.redeemed_at.is_(None))
                .values(redeemed_at=now, redeemed_by=user_id, redeemed_guild_id=guild_id)
            )
            if getattr(taken, "rowcount", 1) != 1:
                raise UserFacingError(
                    "That code was already used. If it was not you, ask an organizer."
                )
            person = row.person
            # Linked in the same unit of work: a refused link leaves the code unused.
            result = await self._link_in(s, guild_id, user_id, person, now)
        log.info("guild %s: member %s claimed %r with a code", guild_id, user_id, person)
        return await self._linked(guild_id, user_id, result)

    async def _link_in(
        self, s: AsyncSession, guild_id: int, user_id: int, person: str, now: datetime
    ) -> LinkResult:
        existing = await s.scalar(
            select(PersonLink).where(PersonLink.guild_id == guild_id, PersonLink.person == person)
        )
        if existing is not None:
            if existing.user_id != user_id:
                raise UserFacingError(
                    f"{person} is already linked to another member: ask an organizer."
                )
            if existing.via == PENDING:  # the code is the member's own word: accepted
                existing.via = "code"
                return LinkResult(person, self.talks_of([person]), already=False)
            return LinkResult(person, self.talks_of([person]), already=True)
        s.add(
            PersonLink(
                guild_id=guild_id,
                user_id=user_id,
                person=person,
                linked_by=user_id,
                via="code",
                created_at=now,
            )
        )
        await s.flush()
        return LinkResult(person, self.talks_of([person]), already=False)

    # -- the speaker role ------------------------------------------------------------------------

    async def speaker_role(self, guild_id: int | None) -> int | None:
        if guild_id is None:
            return None
        async with self._sessions() as s:
            row = await s.get(SpeakerRole, guild_id)
            return row.role_id if row is not None else None

    async def set_speaker_role(self, guild_id: int, role_id: int | None, *, by: int) -> None:
        async with self._sessions() as s, s.begin():
            row = await s.get(SpeakerRole, guild_id)
            if role_id is None:
                if row is not None:
                    await s.delete(row)
                return
            if row is None:
                s.add(
                    SpeakerRole(
                        guild_id=guild_id, role_id=role_id, set_by=by, updated_at=self._clock.now()
                    )
                )
            else:
                row.role_id, row.set_by, row.updated_at = role_id, by, self._clock.now()
