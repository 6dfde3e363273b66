"""Partners' reports: the semester report (a PDF kept by its SHA-256) and the data balikan (the
NIKs the partner used, kept only as keyed hashes with their counts; the upload is dropped).

Revision ID: 0007_reports
Revises: 0006_jobs
Create Date: 2026-12-02 22:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_reports"
down_revision = "0006_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_by", sa.String(length=100), nullable=False),
        sa.Column("document_sha256", sa.String(length=64), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("invalid_rows", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"], ["agreements.id"], name=op.f("fk_reports_agreement_id_agreements")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
    )
    op.create_index(op.f("ix_reports_agreement_id"), "reports", ["agreement_id"], unique=False)
    op.create_table(
        "report_subjects",
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("subject_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_report_subjects_report_id_reports")
        ),
        sa.PrimaryKeyConstraint("report_id", "subject_hash", name=op.f("pk_report_subjects")),
    )
    op.create_index(
        op.f("ix_report_subjects_subject_hash"), "report_subjects", ["subject_hash"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_report_subjects_subject_hash"), table_name="report_subjects")
    op.drop_table("report_subjects")
    op.drop_index(op.f("ix_reports_agreement_id"), table_name="reports")
    op.drop_table("reports")
