"""Delivery jobs on the queue, and the retention of delivery files.

`jobs` holds what a partner or an officer polls: one row per delivery asked for through the job
queue (on demand, by a schedule, by an officer's `--queue`), its status, progress and outcome.
`deliveries.expired_at` is when retention deleted the delivery's encrypted file.

Revision ID: 0006_jobs
Revises: 0005_staff_active
Create Date: 2026-12-02 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_jobs"
down_revision = "0005_staff_active"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("actor_role", sa.String(length=32), nullable=False),
        sa.Column("schedule_key", sa.String(length=80), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("rows", sa.Integer(), nullable=True),
        sa.Column("delivery_id", sa.String(length=80), nullable=True),
        sa.Column("cause", sa.Text(), nullable=True),
        sa.Column("worker_host", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agreement_id"], ["agreements.id"], name=op.f("fk_jobs_agreement_id_agreements")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("schedule_key", name=op.f("uq_jobs_schedule_key")),
    )
    op.create_index(op.f("ix_jobs_agreement_id"), "jobs", ["agreement_id"], unique=False)
    op.create_index(op.f("ix_jobs_status"), "jobs", ["status"], unique=False)
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("expired_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("expired_at")
    op.drop_index(op.f("ix_jobs_status"), table_name="jobs")
    op.drop_index(op.f("ix_jobs_agreement_id"), table_name="jobs")
    op.drop_table("jobs")
