"""SQLAlchemy models: the program, and everything users and organizers keep in the bot."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes in and out, stored as UTC (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        from datetime import UTC

        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        from datetime import UTC

        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ProgramInfo(Base):
    """The loaded program's workshop (one row): name, zone, organizers, and when it was loaded."""

    __tablename__ = "program_info"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    acronym: Mapped[str] = mapped_column(String(40))
    venue: Mapped[str] = mapped_column(String(300), default="")
    timezone: Mapped[str] = mapped_column(String(64))
    day: Mapped[str] = mapped_column(String(10))  # ISO date of the workshop day
    description: Mapped[str] = mapped_column(Text, default="")
    links: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    organizers: Mapped[list[dict[str, str | None]]] = mapped_column(JSON, default=list)
    source_sha256: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProgramEntry(Base):
    """One program entry. Rows are never deleted: an entry gone from the file is cancelled,
    so the reminders and deliveries that reference it survive and can tell their users."""

    __tablename__ = "entries"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    title: Mapped[str] = mapped_column(Text)
    people: Mapped[list[str]] = mapped_column(JSON, default=list)
    abstract: Mapped[str] = mapped_column(Text, default="")
    start_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    session_id: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    room: Mapped[str | None] = mapped_column(String(200), nullable=True)
    links: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class GuildConfig(Base):
    """Per-server configuration (set with /setup)."""

    __tablename__ = "guild_config"

    guild_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    default_channel_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    kind_channels: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    board_channel_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    board_message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    organizer_role_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    mention_role_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    announce_breaks: Mapped[bool] = mapped_column(Boolean, default=False)
    lead_minutes: Mapped[int] = mapped_column(Integer, default=0)
    event_kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    # One short post per program change ("moved: …", "cancelled: …", "new: …") goes here.
    changes_channel_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    configured_by: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Subscription(Base):
    """A user's reminder for one talk."""

    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("user_id", "entry_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    guild_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    entry_id: Mapped[str] = mapped_column(ForeignKey("entries.id"), index=True)
    minutes_before: Mapped[int] = mapped_column(Integer, default=10)
    # Denormalized (entry start - lead) so the due query is one indexed range scan.
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # active | sent | undeliverable (DMs closed, 50007) | failed (Discord refused it otherwise)
    # | missed | cancelled
    state: Mapped[str] = mapped_column(String(20), default="active", index=True)
    via_kind: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Bumped when a finished reminder (sent, undeliverable, failed, missed) is subscribed
    # again: the delivery key includes it, so the new reminder is a new send, not the old one.
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    entry: Mapped[ProgramEntry] = relationship(lazy="raise")


class KindSubscription(Base):
    """A user's standing wish to be reminded of every entry of a kind, present and future."""

    __tablename__ = "kind_subscriptions"
    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    guild_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    kind: Mapped[str] = mapped_column(String(40))
    minutes_before: Mapped[int] = mapped_column(Integer, default=10)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Delivery(Base):
    """Every message the bot sends on a timer, under a unique key, before and after sending.

    ``key`` is e.g. ``reminder:<subscription id>:<due iso>`` or ``announce:<guild>:<entry>:<start iso>``.
    state: pending -> claimed -> sent | failed | skipped | retry | cancelled. A claimed row whose claimant died is
    the single message that may have been in flight.
    """

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # reminder | announcement | custom | notice
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    state: Mapped[str] = mapped_column(String(20), default="pending")
    claimed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    channel_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # For queued one-off messages (kind 'notice'): to whom, and what.
    user_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    __table_args__ = (Index("ix_deliveries_state_due", "state", "due_at"),)


class ScheduledAnnouncement(Base):
    """An organizer's announcement for later (/announce at)."""

    __tablename__ = "scheduled_announcements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(BigInteger, index=True)
    channel_id: Mapped[int] = mapped_column(BigInteger)
    role_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    text: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # scheduled | sent | cancelled | failed
    state: Mapped[str] = mapped_column(String(20), default="scheduled")


class DMChannel(Base):
    """Cache of users' DM channel ids, so a reminder costs one request, not two."""

    __tablename__ = "dm_channels"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    channel_id: Mapped[int] = mapped_column(BigInteger)


class GuildEvent(Base):
    """The Discord scheduled event the bot made for a program entry in a server."""

    __tablename__ = "guild_events"
    __table_args__ = (UniqueConstraint("guild_id", "entry_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(BigInteger)
    entry_id: Mapped[str] = mapped_column(ForeignKey("entries.id"))
    event_id: Mapped[int] = mapped_column(BigInteger)
    synced_hash: Mapped[str] = mapped_column(String(64))


class BotEvent(Base):
    """Things organizers should see in /status: errors, permission problems (once each)."""

    __tablename__ = "bot_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EngineRun(Base):
    """One delivery engine's life: when it started and when it was last seen alive.

    What fell due between the last sign of life of every earlier run and this run's start fell
    while the bot was down: only those sends say "I was offline".
    """

    __tablename__ = "engine_runs"

    worker_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)  # on the bot's clock
    alive_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Question(Base):
    """A member's question for a program entry's speaker (/ask), shown by votes in /questions.

    Rows are never deleted: a question its author withdraws or an organizer removes is marked
    ``removed_at``/``removed_by`` and leaves the lists, its votes kept for the record.
    """

    __tablename__ = "questions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(BigInteger)
    entry_id: Mapped[str] = mapped_column(ForeignKey("entries.id"))
    author_id: Mapped[int] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The public post with the upvote button, where it could be posted (to show the count).
    channel_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    answered_by: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    removed_by: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    __table_args__ = (Index("ix_questions_guild_entry", "guild_id", "entry_id"),)


class QuestionVote(Base):
    """One member's upvote of a question: one row per (question, member), ever.

    Taking a vote back clears ``active`` rather than deleting the row, so that ``changed_at``
    tells a double click (ignored) from a second, deliberate click (which flips it).
    """

    __tablename__ = "question_votes"
    __table_args__ = (UniqueConstraint("question_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), index=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PersonLink(Base):
    """A member shown as one of the program's people (as the program spells the name).

    A person is one member in a server; a member may be several people (spelling variants,
    or a name the program gives twice). Made by an organizer (/people link) or by the member
    redeeming a claim code (/claim); the member removes it with /unclaim.
    """

    __tablename__ = "person_links"
    __table_args__ = (
        UniqueConstraint("guild_id", "person"),
        Index("ix_person_links_guild_user", "guild_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(BigInteger)
    person: Mapped[str] = mapped_column(String(300))
    linked_by: Mapped[int] = mapped_column(BigInteger)
    via: Mapped[str] = mapped_column(String(20))  # organizer | code
    # The entries whose reminder the link made (the author's DM before their talk or poster
    # session): unlinking stops those, and no reminder the member set up themselves.
    reminded: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ClaimCode(Base):
    """A one-time code an author redeems with /claim to be linked to their name.

    Only the code's SHA-256 is kept: the codes themselves exist in the CSV sent by e-mail.
    """

    __tablename__ = "claim_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person: Mapped[str] = mapped_column(String(300))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    redeemed_by: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    redeemed_guild_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class SpeakerRole(Base):
    """The role a server gives its linked speakers and authors (/people role)."""

    __tablename__ = "speaker_roles"

    guild_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    role_id: Mapped[int] = mapped_column(BigInteger)
    set_by: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ThreadSetup(Base):
    """A server's discussion threads: where (a forum or text channel) and for which kinds.

    ``state`` is ``running`` until every chosen entry has its thread: a start finds the
    unfinished ones and finishes them (a kill halfway through costs nothing)."""

    __tablename__ = "thread_setups"

    guild_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    channel_id: Mapped[int] = mapped_column(BigInteger)
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(20), default="running")  # running | done | blocked
    requested_by: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The process making the threads now (a lease, renewed while it works; a killed process's
    # claim is taken over when its lease ends): two processes never make them both.
    claimed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Counts /setup posters runs: a notice about one run is queued once, under its number.
    run: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class DiscussionThread(Base):
    """The thread (forum post) the bot made for a program entry in a server, and what it last
    wrote there: the starter's digest, the thread's name and tags (an organizer's own change
    to any of them is kept)."""

    __tablename__ = "discussion_threads"
    __table_args__ = (UniqueConstraint("guild_id", "entry_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(BigInteger)
    entry_id: Mapped[str] = mapped_column(ForeignKey("entries.id"))
    channel_id: Mapped[int] = mapped_column(BigInteger)  # the forum or text channel
    thread_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)  # the starter (== thread_id)
    digest: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    tag_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(20), default="open")  # open | closed
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
