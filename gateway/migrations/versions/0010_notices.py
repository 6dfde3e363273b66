"""Notifications by e-mail: a member's address, and which notices each member was sent.

Revision ID: 0010_notices
Revises: 0009_staff_logins
Create Date: 2026-12-03 03:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_notices"
down_revision = "0009_staff_logins"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("email", sa.String(length=254), nullable=True))
    op.create_table(
        "notices_sent",
        sa.Column("staff_name", sa.String(length=100), nullable=False),
        sa.Column("notice_key", sa.String(length=200), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("staff_name", "notice_key", name=op.f("pk_notices_sent")),
    )


def downgrade() -> None:
    op.drop_table("notices_sent")
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("email")
