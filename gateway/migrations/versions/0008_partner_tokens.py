"""Partner tokens: the API credentials of an agreement's recipients, kept as keyed hashes.

Revision ID: 0008_partner_tokens
Revises: 0007_reports
Create Date: 2026-12-02 22:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_partner_tokens"
down_revision = "0007_reports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "partner_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("recipient_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("replaced_by", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreements.id"],
            name=op.f("fk_partner_tokens_agreement_id_agreements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_tokens")),
        sa.UniqueConstraint("prefix", name=op.f("uq_partner_tokens_prefix")),
    )
    op.create_index(
        op.f("ix_partner_tokens_agreement_id"), "partner_tokens", ["agreement_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_partner_tokens_agreement_id"), table_name="partner_tokens")
    op.drop_table("partner_tokens")
