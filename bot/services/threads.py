"""A discussion thread per paper: one forum post (or thread) per chosen program entry.

Idempotent and resumable. DiscussionThread rows map (server, entry) to the thread made for it
and what the bot last wrote there; a ThreadSetup row says which channel and kinds, and stays
``running`` until every entry has its thread, so a start finishes what a killed process left.
Discord has no idempotency key for creating a thread: before creating one, the bot looks for
a thread it made for that entry and did not record (its own active threads in the channel,
with the entry's marker in the starter's footer) and adopts it. The thread is recorded right
after it is made.

Only one process works on a server's threads at a time: it claims the ThreadSetup row (a
lease, renewed while it works, as the delivery engine claims a send), and another process
finds it busy (``ThreadsBusy``) until the claim is released or, after a kill, its lease ends.

The Discord side is behind ``ThreadsApi``, which ``bot/discord_threads.py`` implements with
discord.py; this module never imports discord.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db.models import DiscussionThread, ThreadSetup
from bot.errors import UserFacingError
from bot.services.program import ProgramService, Talk, Workshop

log = logging.getLogger(__name__)

#: Discord's limits (https://discord.com/developers/docs/resources/channel).
MAX_ACTIVE_THREADS = 1000  # per server; archived threads do not count
MAX_FORUM_TAGS = 20
TAG_NAME_MAX = 20
THREAD_NAME_MAX = 100
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
FIELD_VALUE_MAX = 1024
#: The starter's abstract is trimmed: the PDF has the rest, the thread is for talking.
ABSTRACT_MAX = 1000
#: The kinds that get threads unless the organizer names others.
DEFAULT_KINDS = ("poster",)
#: The starter's footer carries this and the entry id: how a thread made by a process that
#: was killed before recording it is recognised and adopted.
MARKER = "entry:"

CANCELLED_NOTE = "❌ This entry was cancelled: the thread is closed. Thank you for the discussion."


@dataclass(frozen=True, slots=True)
class ThreadSpec:
    """What the bot writes for an entry: the thread's name and tags, and the starter."""

    name: str
    title: str
    description: str
    fields: tuple[tuple[str, str], ...]
    footer: str
    url: str | None = None

    def digest(self) -> str:
        return starter_digest(self.title, self.description, self.fields, self.footer)


def starter_digest(
    title: str, description: str, fields: Iterable[tuple[str, str]], footer: str
) -> str:
    data = [title, description, [list(f) for f in fields], footer]
    return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ListedThread:
    id: int
    parent_id: int
    owner_id: int
    name: str
    tag_ids: tuple[int, ...] = ()
    archived: bool = False
    locked: bool = False


@dataclass(frozen=True, slots=True)
class Starter:
    """A starter message as Discord holds it now (the bot's digest of it, and its marker)."""

    digest: str
    marker: str | None


@dataclass(frozen=True, slots=True)
class Tag:
    id: int
    name: str


class ThreadsForbidden(Exception):
    """Discord refused for want of a permission (50013)."""


class ThreadsLimit(Exception):
    """Discord refused for one of its limits (e.g. 160006, the server's active threads)."""


class ThreadsBusy(UserFacingError):
    """Another process of the bot holds this server's set-up (it is making the threads now,
    or was killed doing so less than a lease ago)."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or "Another instance of the bot is making this server's discussion threads right "
            "now (or was stopped doing so less than a minute ago, and one will finish them). "
            "Look again in a minute: `/setup show`."
        )


class ThreadsApi(Protocol):
    """A server's threads in Discord."""

    bot_id: int

    async def channel_kind(self, channel_id: int) -> str:
        """``forum`` or ``text``."""
        ...

    async def forum_tags(self, channel_id: int) -> list[Tag]: ...

    async def set_forum_tags(self, channel_id: int, names: Sequence[str]) -> list[Tag]:
        """Add ``names`` to the forum's tags (ThreadsForbidden without Manage Channels)."""
        ...

    async def active_threads(self) -> list[ListedThread]: ...

    async def fetch_thread(self, thread_id: int) -> ListedThread | None:
        """None when the thread is gone."""
        ...

    async def starter(self, channel_id: int, message_id: int) -> Starter | None:
        """None when the message is gone."""
        ...

    async def create(
        self, channel_id: int, kind: str, spec: ThreadSpec, tag_ids: Sequence[int]
    ) -> int:
        """The new thread's id (its starter message has the same id)."""
        ...

    async def edit_starter(self, channel_id: int, message_id: int, spec: ThreadSpec) -> None: ...

    async def edit_thread(
        self, thread_id: int, *, name: str | None = None, tag_ids: Sequence[int] | None = None
    ) -> None: ...

    async def close(self, thread_id: int, note: str) -> None:
        """Post ``note``, then lock (when allowed) and archive the thread."""
        ...

    async def add_member(self, thread_id: int, user_id: int) -> None: ...


Progress = Callable[[int, int], Awaitable[None]]
Members = Callable[[int, Sequence[str]], Awaitable[dict[str, int]]]


@dataclass
class ThreadReport:
    created: int = 0
    adopted: int = 0
    updated: int = 0
    unchanged: int = 0
    closed: int = 0
    kept_edits: int = 0
    members_added: int = 0
    untagged: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{self.created} created"]
        if self.adopted:
            parts.append(f"{self.adopted} found from an interrupted run")
        parts += [f"{self.updated} updated", f"{self.unchanged} unchanged"]
        if self.closed:
            parts.append(f"{self.closed} closed (cancelled)")
        if self.kept_edits:
            parts.append(f"{self.kept_edits} kept as an organizer edited them")
        if self.members_added:
            parts.append(f"{self.members_added} authors added to their threads")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class SetupInfo:
    guild_id: int
    channel_id: int
    kinds: tuple[str, ...]
    state: str
    requested_by: int
    note: str | None
    run: int = 0
    updated_at: datetime | None = None


@dataclass(slots=True)
class _Claim:
    token: str
    lost: bool = False


def cut(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def tag_name(session: Talk) -> str:
    """A session's tag: its title up to a colon (``Poster session I``), at most 20 characters."""
    head = session.title.split(":", 1)[0].strip() or session.title
    return cut(head, TAG_NAME_MAX)


def thread_url(guild_id: int, thread_id: int) -> str:
    return f"https://discord.com/channels/{guild_id}/{thread_id}"


#: entry ids (and a server, or None for any) -> each entry's thread URL.
ThreadLinks = Callable[[Iterable[str], "int | None"], Awaitable[dict[str, str]]]

DISCUSS = "Discuss"


def discussed(talk: Talk, links: dict[str, str]) -> Talk:
    """``talk`` with its thread first among its links (as ``Discuss``), when it has one: every
    listing that shows a talk's links (and degrades them to fit) shows it with them."""
    url = links.get(talk.id)
    if url is None:
        return talk
    return replace(talk, links=((DISCUSS, url), *talk.links))


def thread_spec(talk: Talk, workshop: Workshop, session: Talk | None) -> ThreadSpec:
    """The starter: title, authors, a trimmed abstract, when, and the links (PDF, poster,
    video); the footer carries the marker that lets a lost thread be found again."""
    fields: list[tuple[str, str]] = []
    if talk.people:
        label = "Authors" if len(talk.people) > 1 else "Author"
        if talk.kind in ("keynote", "talk", "presentation"):
            label = "Speaker" if len(talk.people) == 1 else "Speakers"
        fields.append((label, cut(", ".join(talk.people), FIELD_VALUE_MAX)))
    stamp = int(talk.start.timestamp())
    when = f"<t:{stamp}:F> (<t:{stamp}:R>)"
    if session is not None:
        when += f"\n{cut(session.title, 200)}"
    fields.append(("When", when))
    links = [
        f"[{cut(' '.join(title.split()).replace('[', '(').replace(']', ')'), 40)}](<{url}>)"
        for title, url in talk.links
        if url.lower().startswith(("https://", "http://")) and len(url) <= 400
    ]
    if links:
        value = ""
        for link in links:
            piece = (" · " if value else "") + link
            if len(value) + len(piece) > FIELD_VALUE_MAX:
                break
            value += piece
        fields.append(("Links", value))
    return ThreadSpec(
        name=cut(" ".join(talk.title.split()), THREAD_NAME_MAX),
        title=cut(talk.title, EMBED_TITLE_MAX),
        description=cut(talk.abstract, ABSTRACT_MAX) if talk.abstract else "",
        fields=tuple(fields),
        footer=f"{talk.kind_label} · {workshop.acronym} · {MARKER}{talk.id}",
    )


def marker_of(footer: str | None) -> str | None:
    """The entry id a starter's footer names, if any."""
    if not footer or MARKER not in footer:
        return None
    return footer.rsplit(MARKER, 1)[1].strip() or None


class ThreadSync:
    """Creates, edits and closes a server's discussion threads to match the program."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        program: ProgramService,
        members: Members | None = None,
        *,
        lease_seconds: float = 60.0,
        worker_id: str | None = None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._program = program
        self._members = members
        self._locks: dict[int, asyncio.Lock] = {}
        self.lease = timedelta(seconds=lease_seconds)
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._claim_numbers = itertools.count(1)
        # Leases are on real time (a rehearsal's clock may run fast, or differ per process).
        self._utcnow: Callable[[], datetime] = lambda: datetime.now(UTC)

    # -- configuration ---------------------------------------------------------------------------

    def _free(self) -> object:
        """Set-ups no process holds: never claimed, released, or a lease that ran out."""
        return ThreadSetup.claimed_by.is_(None) | (
            ThreadSetup.claimed_at < self._utcnow() - self.lease
        )

    async def configure(
        self, guild_id: int, channel_id: int, kinds: Sequence[str], *, by: int
    ) -> SetupInfo:
        """Set the channel and kinds and mark the set-up ``running`` (a new run); ThreadsBusy
        while another process holds it (its threads would follow the old settings)."""
        values = {
            "channel_id": channel_id,
            "kinds": list(kinds),
            "state": "running",
            "requested_by": by,
            "note": None,
            "updated_at": self._clock.now(),
        }
        async with self._sessions() as s, s.begin():
            result = await s.execute(
                update(ThreadSetup)
                .where(ThreadSetup.guild_id == guild_id, self._free())  # type: ignore[arg-type]
                .values(run=ThreadSetup.run + 1, **values)
            )
            changed = bool(result.rowcount)  # type: ignore[attr-defined]
        if not changed:
            try:
                async with self._sessions() as s, s.begin():
                    s.add(ThreadSetup(guild_id=guild_id, run=1, **values))
            except IntegrityError:
                raise ThreadsBusy() from None  # it exists, and another process holds it
        info = await self.setup_of(guild_id)
        assert info is not None
        return info

    # -- the claim -------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _claimed(self, guild_id: int) -> AsyncIterator[_Claim]:
        """Hold the set-up's claim, renewed every quarter lease; released at the end (a kill
        leaves it to run out). ThreadsBusy when another process holds it."""
        claim = _Claim(f"{self.worker_id}:{next(self._claim_numbers)}")
        async with self._sessions() as s, s.begin():
            result = await s.execute(
                update(ThreadSetup)
                .where(ThreadSetup.guild_id == guild_id, self._free())  # type: ignore[arg-type]
                .values(claimed_by=claim.token, claimed_at=self._utcnow())
            )
            taken = bool(result.rowcount)  # type: ignore[attr-defined]
        if not taken:
            if await self.setup_of(guild_id) is None:
                raise UserFacingError("No channel is set for discussion threads: `/setup posters`.")
            raise ThreadsBusy()
        renewing = asyncio.create_task(self._renew(claim), name=f"threads-claim-{guild_id}")
        try:
            yield claim
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            try:
                async with self._sessions() as s, s.begin():
                    await s.execute(
                        update(ThreadSetup)
                        .where(ThreadSetup.claimed_by == claim.token)
                        .values(claimed_by=None, claimed_at=None)
                    )
            except Exception as exc:  # its lease runs out instead
                log.warning("could not release the threads claim of %s: %s", guild_id, exc)

    async def _renew(self, claim: _Claim) -> None:
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 4)
            try:
                async with self._sessions() as s, s.begin():
                    result = await s.execute(
                        update(ThreadSetup)
                        .where(ThreadSetup.claimed_by == claim.token)
                        .values(claimed_at=self._utcnow())
                    )
                    held = bool(result.rowcount)  # type: ignore[attr-defined]
            except Exception as exc:
                log.warning("could not renew the threads claim %s: %s", claim.token, exc)
                continue
            if not held:
                # Held up longer than a lease: another process may have taken over.
                log.warning("threads claim %s was taken over: stopping", claim.token)
                claim.lost = True
                return

    async def setup_of(self, guild_id: int) -> SetupInfo | None:
        async with self._sessions() as s:
            row = await s.get(ThreadSetup, guild_id)
            return self._info(row) if row is not None else None

    async def setups(self) -> list[SetupInfo]:
        async with self._sessions() as s:
            return [self._info(r) for r in (await s.scalars(select(ThreadSetup))).all()]

    async def _finish(self, guild_id: int, claim: _Claim, state: str, note: str | None) -> None:
        """Record how the run ended, where this run still holds the claim."""
        async with self._sessions() as s, s.begin():
            await s.execute(
                update(ThreadSetup)
                .where(ThreadSetup.guild_id == guild_id, ThreadSetup.claimed_by == claim.token)
                .values(state=state, note=note, updated_at=self._clock.now())
            )

    @staticmethod
    def _info(row: ThreadSetup) -> SetupInfo:
        return SetupInfo(
            row.guild_id,
            row.channel_id,
            tuple(row.kinds or ()),
            row.state,
            row.requested_by,
            row.note,
            row.run or 0,
            row.updated_at,
        )

    # -- what links there --------------------------------------------------------------------------

    async def links(self, entry_ids: Iterable[str], guild_id: int | None = None) -> dict[str, str]:
        """entry id -> its thread's URL (in ``guild_id``, or any server when None)."""
        wanted = list(dict.fromkeys(entry_ids))
        if not wanted:
            return {}
        query = select(DiscussionThread).where(
            DiscussionThread.entry_id.in_(wanted), DiscussionThread.state == "open"
        )
        if guild_id is not None:
            query = query.where(DiscussionThread.guild_id == guild_id)
        async with self._sessions() as s:
            rows = (await s.scalars(query.order_by(DiscussionThread.guild_id))).all()
        found: dict[str, str] = {}
        for row in rows:
            found.setdefault(row.entry_id, thread_url(row.guild_id, row.thread_id))
        return found

    async def rows(self, guild_id: int) -> dict[str, DiscussionThread]:
        async with self._sessions() as s:
            return {
                r.entry_id: r
                for r in (
                    await s.scalars(
                        select(DiscussionThread).where(DiscussionThread.guild_id == guild_id)
                    )
                ).all()
            }

    # -- the sync ----------------------------------------------------------------------------------

    def chosen(self, kinds: Sequence[str]) -> list[Talk]:
        """The entries of ``kinds`` (not cancelled), in program order."""
        wanted = set(kinds)
        return [t for t in self._program.snapshot.talks if t.kind in wanted]

    async def sync(
        self, guild_id: int, api: ThreadsApi, progress: Progress | None = None
    ) -> ThreadReport:
        """Bring the server's threads in step with the program: one run per server at once, in
        this process (a lock) and across processes (the set-up's claim; ThreadsBusy)."""
        lock = self._locks.setdefault(guild_id, asyncio.Lock())
        async with lock, self._claimed(guild_id) as claim:
            # Read under the claim: what the last /setup posters wrote.
            setup = await self.setup_of(guild_id)
            assert setup is not None
            try:
                report = await self._sync(setup, api, progress, claim)
            except ThreadsBusy:
                raise
            except UserFacingError as exc:
                await self._finish(guild_id, claim, "blocked", str(exc))
                raise
            await self._finish(guild_id, claim, "done", "; ".join(report.notes) or None)
            log.info("threads of guild %s: %s", guild_id, report.summary())
            return report

    async def _sync(
        self, setup: SetupInfo, api: ThreadsApi, progress: Progress | None, claim: _Claim
    ) -> ThreadReport:
        snapshot = self._program.snapshot
        guild_id, channel_id = setup.guild_id, setup.channel_id
        kind = await api.channel_kind(channel_id)
        chosen = self.chosen(setup.kinds)
        rows = await self.rows(guild_id)
        report = ThreadReport()

        listed = await api.active_threads()
        recorded = {r.thread_id for r in rows.values()}
        to_make = [t for t in chosen if t.id not in rows]
        # Ours in this channel and not recorded: made by a run killed before recording them.
        orphans = [
            t
            for t in listed
            if t.parent_id == channel_id and t.owner_id == api.bot_id and t.id not in recorded
        ]
        need = len(to_make) - len(orphans)
        if need > 0 and len(listed) + need > MAX_ACTIVE_THREADS:
            raise UserFacingError(
                f"That needs {need} new threads, and this server already has {len(listed)} "
                f"active ones: Discord allows at most {MAX_ACTIVE_THREADS} active threads per "
                "server. Nothing was created. Archive some threads, or choose fewer kinds "
                "(`/setup posters kinds:`), and run it again."
            )

        tags = await self._tags(channel_id, kind, chosen, api, report)

        def tags_for(talk: Talk) -> list[int]:
            session = snapshot.by_id.get(talk.session_id) if talk.session_id else None
            if session is None:
                return []
            found = tags.get(tag_name(session))
            return [found] if found is not None else []

        # Adopting: one starter read per orphan whose name matches an entry still to make.
        by_name: dict[str, list[ListedThread]] = {}
        for orphan in orphans:
            by_name.setdefault(orphan.name, []).append(orphan)

        done = 0
        total = len(to_make)
        if progress is not None and total:
            await progress(0, total)
        for talk in to_make:
            if claim.lost:
                raise ThreadsBusy("Another instance of the bot took over these threads.")
            session = snapshot.by_id.get(talk.session_id) if talk.session_id else None
            spec = thread_spec(talk, snapshot.workshop, session)
            wanted_tags = tags_for(talk)
            adopted = None
            for candidate in by_name.get(spec.name, []):
                message_channel = candidate.id if kind == "forum" else channel_id
                starter = await api.starter(message_channel, candidate.id)
                if starter is not None and starter.marker == talk.id:
                    adopted = candidate
                    by_name[spec.name].remove(candidate)
                    break
            if adopted is not None:
                thread_id = adopted.id
                report.adopted += 1
                # What a killed run made is what it would have written: recorded as ours.
                await self._remember(guild_id, talk.id, channel_id, thread_id, spec, wanted_tags)
            else:
                try:
                    thread_id = await api.create(channel_id, kind, spec, wanted_tags)
                except ThreadsLimit as exc:
                    raise UserFacingError(
                        f"Discord refused to create more threads ({exc}): {done} of {total} "
                        "were made. Archive some threads and run `/setup posters` again."
                    ) from None
                except ThreadsForbidden:
                    raise UserFacingError(
                        f"Discord refused: I'm missing a permission in <#{channel_id}> to make "
                        f"threads ({done} of {total} were made). Grant it and run "
                        "`/setup posters` again."
                    ) from None
                # Recorded at once: a kill from here on costs nothing.
                await self._remember(guild_id, talk.id, channel_id, thread_id, spec, wanted_tags)
                report.created += 1
            report.members_added += await self._add_authors(guild_id, thread_id, talk, api)
            done += 1
            if progress is not None and (done % 5 == 0 or done == total):
                await progress(done, total)

        chosen_ids = {t.id for t in chosen}
        for entry_id, row in rows.items():
            entry = snapshot.by_id.get(entry_id)
            if entry_id not in chosen_ids or entry is None or entry.cancelled:
                if row.state == "open":
                    await self._close(row, api, report)
                continue
            if row.state != "open":
                continue  # cancelled once and back in the program: left closed (an organizer reopens it)
            await self._follow(row, entry, kind, tags_for(entry), api, report)
        return report

    async def _tags(
        self,
        channel_id: int,
        kind: str,
        chosen: Sequence[Talk],
        api: ThreadsApi,
        report: ThreadReport,
    ) -> dict[str, int]:
        """One forum tag per session of the chosen entries (name -> id), made when missing and
        allowed; sessions left without a tag are named in the report."""
        if kind != "forum":
            return {}
        snapshot = self._program.snapshot
        wanted: list[str] = []
        for talk in chosen:
            session = snapshot.by_id.get(talk.session_id) if talk.session_id else None
            if session is not None and tag_name(session) not in wanted:
                wanted.append(tag_name(session))
        if not wanted:
            return {}
        existing = await api.forum_tags(channel_id)
        have = {t.name.casefold(): t for t in existing}
        missing = [name for name in wanted if name.casefold() not in have]
        room = MAX_FORUM_TAGS - len(existing)
        if missing:
            adding = missing[: max(room, 0)]
            if len(adding) < len(missing):
                report.notes.append(
                    f"a forum has at most {MAX_FORUM_TAGS} tags: "
                    f"{len(missing) - len(adding)} sessions have no tag"
                )
            if adding:
                try:
                    existing = await api.set_forum_tags(channel_id, adding)
                except ThreadsForbidden:
                    report.notes.append(
                        "I can't add tags to the forum without **Manage Channels**: posts are "
                        f"untagged (add the tags {', '.join(adding)} yourself, or grant it, "
                        "and run `/setup posters` again to tag new posts)"
                    )
            have = {t.name.casefold(): t for t in existing}
        found = {name: have[name.casefold()].id for name in wanted if name.casefold() in have}
        report.untagged = [name for name in wanted if name not in found]
        return found

    async def _follow(
        self,
        row: DiscussionThread,
        talk: Talk,
        kind: str,
        tag_ids: list[int],
        api: ThreadsApi,
        report: ThreadReport,
    ) -> None:
        """Edit what the program changed, keeping what an organizer changed themselves."""
        snapshot = self._program.snapshot
        session = snapshot.by_id.get(talk.session_id) if talk.session_id else None
        spec = thread_spec(talk, snapshot.workshop, session)
        if (
            row.state == "open"
            and row.digest == spec.digest()
            and row.name == spec.name
            and sorted(row.tag_ids or []) == sorted(tag_ids)
        ):
            report.unchanged += 1
            return
        thread = await api.fetch_thread(row.thread_id)
        if thread is None:
            log.info("thread %s of %s is gone: not recreated", row.thread_id, row.entry_id)
            report.notes.append(f"the thread of “{cut(talk.title, 60)}” was deleted in Discord")
            return
        message_channel = row.thread_id if kind == "forum" else row.channel_id
        digest, name, tags = row.digest, row.name, list(row.tag_ids or [])
        kept = False
        if digest != spec.digest():
            starter = await api.starter(message_channel, row.message_id)
            if starter is not None and starter.digest == row.digest:
                await api.edit_starter(message_channel, row.message_id, spec)
                digest = spec.digest()
            else:
                kept = True
        edit_name = spec.name if name != spec.name else None
        edit_tags = tag_ids if sorted(tags) != sorted(tag_ids) else None
        if edit_name is not None and thread.name != row.name:
            edit_name, kept = None, True  # renamed by an organizer: their name stays
        if edit_tags is not None and sorted(thread.tag_ids) != sorted(row.tag_ids or []):
            edit_tags, kept = None, True
        if edit_name is not None or edit_tags is not None:
            await api.edit_thread(row.thread_id, name=edit_name, tag_ids=edit_tags)
            name = edit_name if edit_name is not None else name
            tags = list(edit_tags) if edit_tags is not None else tags
        async with self._sessions() as s, s.begin():
            stored = await s.get(DiscussionThread, row.id)
            if stored is not None:
                stored.digest, stored.name, stored.tag_ids = digest, name, tags
                if kept:
                    # What the organizer made of it is what the bot compares with from now on.
                    stored.digest, stored.name = spec.digest(), spec.name
                    stored.tag_ids = tag_ids
                stored.updated_at = self._clock.now()
        if kept:
            report.kept_edits += 1
        else:
            report.updated += 1

    async def _close(self, row: DiscussionThread, api: ThreadsApi, report: ThreadReport) -> None:
        await api.close(row.thread_id, CANCELLED_NOTE)
        async with self._sessions() as s, s.begin():
            stored = await s.get(DiscussionThread, row.id)
            if stored is not None:
                stored.state = "closed"
                stored.updated_at = self._clock.now()
        report.closed += 1

    async def _remember(
        self,
        guild_id: int,
        entry_id: str,
        channel_id: int,
        thread_id: int,
        spec: ThreadSpec,
        tag_ids: Sequence[int],
    ) -> None:
        async with self._sessions() as s, s.begin():
            s.add(
                DiscussionThread(
                    guild_id=guild_id,
                    entry_id=entry_id,
                    channel_id=channel_id,
                    thread_id=thread_id,
                    message_id=thread_id,
                    digest=spec.digest(),
                    name=spec.name,
                    tag_ids=list(tag_ids),
                    state="open",
                    updated_at=self._clock.now(),
                )
            )

    # -- authors -----------------------------------------------------------------------------------

    async def _add_authors(self, guild_id: int, thread_id: int, talk: Talk, api: ThreadsApi) -> int:
        if self._members is None or not talk.people:
            return 0
        linked = await self._members(guild_id, talk.people)
        for user_id in dict.fromkeys(linked.values()):
            await api.add_member(thread_id, user_id)
        return len(set(linked.values()))

    async def add_author(
        self, guild_id: int, user_id: int, talks: Sequence[Talk], api: ThreadsApi
    ) -> int:
        """A member just linked to a person: added to the threads of that person's entries."""
        rows = await self.rows(guild_id)
        added = 0
        for talk in talks:
            row = rows.get(talk.id)
            if row is None or row.state != "open":
                continue
            await api.add_member(row.thread_id, user_id)
            added += 1
        return added
