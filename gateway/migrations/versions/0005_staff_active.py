"""Staff can be deactivated: a deactivated name can do nothing, and keeps its history.

Revision ID: 0005_staff_active
Revises: 0004_version_requests
Create Date: 2026-12-02 18:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_staff_active"
down_revision = "0004_version_requests"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.add_column(
            sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("active")
