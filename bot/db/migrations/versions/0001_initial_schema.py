"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op



revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Reviewed by hand: timestamps are plain DateTime(timezone=True); the model layer keeps them UTC.
    op.create_table('bot_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('guild_id', sa.BigInteger(), nullable=True),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bot_events')),
    sa.UniqueConstraint('key', name=op.f('uq_bot_events_key'))
    )
    op.create_table('deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('channel_id', sa.BigInteger(), nullable=True),
    sa.Column('message_id', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries')),
    sa.UniqueConstraint('key', name=op.f('uq_deliveries_key'))
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deliveries_due_at'), ['due_at'], unique=False)
        batch_op.create_index('ix_deliveries_state_due', ['state', 'due_at'], unique=False)

    op.create_table('dm_channels',
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('channel_id', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_dm_channels'))
    )
    op.create_table('entries',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('people', sa.JSON(), nullable=False),
    sa.Column('abstract', sa.Text(), nullable=False),
    sa.Column('start_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('session_id', sa.String(length=100), nullable=True),
    sa.Column('room', sa.String(length=200), nullable=True),
    sa.Column('links', sa.JSON(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('cancelled', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entries'))
    )
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entries_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_entries_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_entries_start_at'), ['start_at'], unique=False)

    op.create_table('guild_config',
    sa.Column('guild_id', sa.BigInteger(), nullable=False),
    sa.Column('default_channel_id', sa.BigInteger(), nullable=True),
    sa.Column('kind_channels', sa.JSON(), nullable=False),
    sa.Column('board_channel_id', sa.BigInteger(), nullable=True),
    sa.Column('board_message_id', sa.BigInteger(), nullable=True),
    sa.Column('organizer_role_id', sa.BigInteger(), nullable=True),
    sa.Column('mention_role_id', sa.BigInteger(), nullable=True),
    sa.Column('announce_breaks', sa.Boolean(), nullable=False),
    sa.Column('lead_minutes', sa.Integer(), nullable=False),
    sa.Column('event_kinds', sa.JSON(), nullable=False),
    sa.Column('configured_by', sa.BigInteger(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('guild_id', name=op.f('pk_guild_config'))
    )
    op.create_table('kind_subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('guild_id', sa.BigInteger(), nullable=True),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('minutes_before', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kind_subscriptions')),
    sa.UniqueConstraint('user_id', 'kind', name=op.f('uq_kind_subscriptions_user_id'))
    )
    with op.batch_alter_table('kind_subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kind_subscriptions_user_id'), ['user_id'], unique=False)

    op.create_table('program_info',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('acronym', sa.String(length=40), nullable=False),
    sa.Column('venue', sa.String(length=300), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('links', sa.JSON(), nullable=False),
    sa.Column('organizers', sa.JSON(), nullable=False),
    sa.Column('source_sha256', sa.String(length=64), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_program_info'))
    )
    op.create_table('scheduled_announcements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('guild_id', sa.BigInteger(), nullable=False),
    sa.Column('channel_id', sa.BigInteger(), nullable=False),
    sa.Column('role_id', sa.BigInteger(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scheduled_announcements'))
    )
    with op.batch_alter_table('scheduled_announcements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scheduled_announcements_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_scheduled_announcements_guild_id'), ['guild_id'], unique=False)

    op.create_table('guild_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('guild_id', sa.BigInteger(), nullable=False),
    sa.Column('entry_id', sa.String(length=100), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('synced_hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], name=op.f('fk_guild_events_entry_id_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guild_events')),
    sa.UniqueConstraint('guild_id', 'entry_id', name=op.f('uq_guild_events_guild_id'))
    )
    op.create_table('subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('guild_id', sa.BigInteger(), nullable=True),
    sa.Column('entry_id', sa.String(length=100), nullable=False),
    sa.Column('minutes_before', sa.Integer(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('via_kind', sa.String(length=40), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], name=op.f('fk_subscriptions_entry_id_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriptions')),
    sa.UniqueConstraint('user_id', 'entry_id', name=op.f('uq_subscriptions_user_id'))
    )
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscriptions_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscriptions_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscriptions_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscriptions_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    # Reviewed by hand: timestamps are plain DateTime(timezone=True); the model layer keeps them UTC.
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscriptions_user_id'))
        batch_op.drop_index(batch_op.f('ix_subscriptions_state'))
        batch_op.drop_index(batch_op.f('ix_subscriptions_entry_id'))
        batch_op.drop_index(batch_op.f('ix_subscriptions_due_at'))

    op.drop_table('subscriptions')
    op.drop_table('guild_events')
    with op.batch_alter_table('scheduled_announcements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scheduled_announcements_guild_id'))
        batch_op.drop_index(batch_op.f('ix_scheduled_announcements_due_at'))

    op.drop_table('scheduled_announcements')
    op.drop_table('program_info')
    with op.batch_alter_table('kind_subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kind_subscriptions_user_id'))

    op.drop_table('kind_subscriptions')
    op.drop_table('guild_config')
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_entries_start_at'))
        batch_op.drop_index(batch_op.f('ix_entries_session_id'))
        batch_op.drop_index(batch_op.f('ix_entries_kind'))

    op.drop_table('entries')
    op.drop_table('dm_channels')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_state_due')
        batch_op.drop_index(batch_op.f('ix_deliveries_due_at'))

    op.drop_table('deliveries')
    op.drop_table('bot_events')
