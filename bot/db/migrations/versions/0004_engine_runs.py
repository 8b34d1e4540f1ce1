"""engine_runs: when each delivery engine started and was last alive

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A new table only: nothing existing changes. Timestamps are plain DateTime(timezone=True);
    # the model layer keeps them UTC (as in 0001).
    op.create_table(
        "engine_runs",
        sa.Column("worker_id", sa.String(length=100), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("alive_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("worker_id", name=op.f("pk_engine_runs")),
    )
    with op.batch_alter_table("engine_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_engine_runs_alive_at"), ["alive_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("engine_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_engine_runs_alive_at"))
    op.drop_table("engine_runs")
