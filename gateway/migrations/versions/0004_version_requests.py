"""The SOP request link moves from the agreement to each version (amendments have their own).

Revision ID: 0004_version_requests
Revises: 0003_deliveries
Create Date: 2026-12-02 17:00:00

The old `agreements.request_id` named the request that drafted the agreement's newest
SOP-registered version. Each version gets the request whose `draft` step happened at the same
instant as the version's own `draft` event (both are written in one transaction with one clock
reading); a version imported on paper has no such request and stays NULL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_version_requests"
down_revision = "0003_deliveries"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agreement_versions") as batch:
        batch.add_column(sa.Column("request_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_agreement_versions_request_id_requests", "requests", ["request_id"], ["id"]
        )
    op.execute(
        """
        UPDATE agreement_versions SET request_id = (
            SELECT re.request_id
            FROM agreement_events ae
            JOIN agreements a ON a.id = ae.agreement_id
            JOIN request_events re
              ON re.request_id = a.request_id AND re.transition = 'draft' AND re.at = ae.at
            WHERE ae.agreement_id = agreement_versions.agreement_id
              AND ae.version = agreement_versions.version
              AND ae.action = 'draft'
            ORDER BY ae.id DESC
            LIMIT 1
        )
        """
    )
    with op.batch_alter_table("agreements") as batch:
        batch.drop_constraint("fk_agreements_request_id_requests", type_="foreignkey")
        batch.drop_column("request_id")


def downgrade() -> None:
    with op.batch_alter_table("agreements") as batch:
        batch.add_column(sa.Column("request_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_agreements_request_id_requests", "requests", ["request_id"], ["id"]
        )
    op.execute(
        """
        UPDATE agreements SET request_id = (
            SELECT max(v.request_id) FROM agreement_versions v WHERE v.agreement_id = agreements.id
        )
        """
    )
    with op.batch_alter_table("agreement_versions") as batch:
        batch.drop_constraint("fk_agreement_versions_request_id_requests", type_="foreignkey")
        batch.drop_column("request_id")
