"""person_links, claim_codes, speaker_roles: members linked to the program's people

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # New tables only: nothing existing changes.
    op.create_table(
        "person_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("person", sa.String(length=300), nullable=False),
        sa.Column("linked_by", sa.BigInteger(), nullable=False),
        sa.Column("via", sa.String(length=20), nullable=False),
        sa.Column("reminded", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_links")),
        sa.UniqueConstraint("guild_id", "person", name=op.f("uq_person_links_guild_id")),
    )
    with op.batch_alter_table("person_links", schema=None) as batch_op:
        batch_op.create_index(
            "ix_person_links_guild_user", ["guild_id", "user_id"], unique=False
        )

    op.create_table(
        "claim_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person", sa.String(length=300), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("redeemed_by", sa.BigInteger(), nullable=True),
        sa.Column("redeemed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("redeemed_guild_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_claim_codes_code_hash")),
    )

    op.create_table(
        "speaker_roles",
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("role_id", sa.BigInteger(), nullable=False),
        sa.Column("set_by", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_speaker_roles")),
    )


def downgrade() -> None:
    op.drop_table("speaker_roles")
    op.drop_table("claim_codes")
    with op.batch_alter_table("person_links", schema=None) as batch_op:
        batch_op.drop_index("ix_person_links_guild_user")
    op.drop_table("person_links")
