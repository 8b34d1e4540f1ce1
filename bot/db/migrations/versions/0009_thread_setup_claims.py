"""thread_setups: a claim (lease) on a set-up, and its run number

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # New nullable or defaulted columns only: existing set-ups are kept, unclaimed, run 0.
    with op.batch_alter_table("thread_setups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("run", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("thread_setups", schema=None) as batch_op:
        batch_op.drop_column("run")
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("claimed_by")
