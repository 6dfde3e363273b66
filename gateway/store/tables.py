"""The metadata tables of staff, signers, SOP requests and agreements (SQLAlchemy Core).

History is append-only by construction: a request's transitions and an agreement's actions are
rows in `*_events`, never updates; the `status` columns are caches of what those rows say. A
signed agreement version keeps its scope as the exact JSON the canonical form was built from, so
`agreement verify` recomputes the signed bytes from what is stored, and a later edit shows.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from audit.schema import NAMING_CONVENTION

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes stored in UTC and read back aware. SQLite keeps no offset: without this a
    WITA time would be stored as its wall-clock digits and read back eight hours off."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: times must carry a time zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_WHEN = UtcDateTime()

staff = Table(
    "staff",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("role", String(32), nullable=False),
    Column("created_at", _WHEN, nullable=False),
    # A deactivated member can do nothing; the row stays, for the history that names them.
    Column("active", Boolean, nullable=False, server_default=true()),
    # The web UI's password (argon2id, PHC string); a row with one is sealed (`staff:<name>`,
    # gateway/services/staff.py), so that a database writer swapping a hash or a role gains nothing.
    Column("password_hash", String(255), nullable=True),
    Column("password_set_at", _WHEN, nullable=True),
    # Where notifications go by e-mail when an SMTP server is set (gateway/web/notices.py).
    Column("email", String(254), nullable=True),
)

signers = Table(
    "signers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("principal", String(100), nullable=False),
    Column("fingerprint", String(64), nullable=False, unique=True),
    # The allowed_signers line as OpenSSH writes it (principal, options, key).
    Column("allowed_signers_line", Text, nullable=False),
    Column("added_at", _WHEN, nullable=False),
    Column("revoked_at", _WHEN, nullable=True),
)

requests = Table(
    "requests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("institution", String(300), nullable=False),
    Column("letter_number", String(200), nullable=False),
    Column("letter_date", Date, nullable=False),
    # The letter's facts as given at submission (purpose, legal basis, elements ...), JSON text.
    Column("facts", Text, nullable=False),
    Column("duration_months", Integer, nullable=False),
    Column("received_at", _WHEN, nullable=False),
    Column("status", String(32), nullable=False),
    Column("assignee", String(100), nullable=True),
)

request_events = Table(
    "request_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("request_id", ForeignKey("requests.id"), nullable=False, index=True),
    Column("transition", String(32), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("role", String(32), nullable=False),
    Column("at", _WHEN, nullable=False),
    Column("notes", Text, nullable=False),
    # [{"name": ..., "sha256": ...}] of the attached documents.
    Column("documents", Text, nullable=False),
)

agreements = Table(
    "agreements",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("short_id", String(40), nullable=False, unique=True),
    Column("number", String(200), nullable=False, unique=True),
    Column("institution", String(300), nullable=False),
)

agreement_versions = Table(
    "agreement_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("agreement_id", ForeignKey("agreements.id"), nullable=False),
    Column("version", Integer, nullable=False),
    # The AgreementIdentity and Scope as plain JSON: the canonical bytes are rebuilt from these.
    Column("identity_json", Text, nullable=False),
    Column("scope_json", Text, nullable=False),
    Column("scope_hash", String(64), nullable=False),
    Column("status", String(32), nullable=False),
    Column("signature", Text, nullable=True),
    Column("signer_fingerprint", String(64), nullable=True),
    Column("signed_at", _WHEN, nullable=True),
    Column("created_at", _WHEN, nullable=False),
    # The SOP request that drafted this version (steps 1-7), or NULL for a PKS signed on paper and
    # imported: the link is per version, so an addendum has its own request or none.
    Column("request_id", ForeignKey("requests.id"), nullable=True),
    UniqueConstraint("agreement_id", "version"),
)

agreement_events = Table(
    "agreement_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("agreement_id", ForeignKey("agreements.id"), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("action", String(32), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("role", String(32), nullable=False),
    Column("at", _WHEN, nullable=False),
    Column("notes", Text, nullable=False),
)

# One row per run of step 8. `status` moves running -> recorded (its audit entry is committed) ->
# published (manifest in place), or to failed / abandoned; the audit log holds the history.
RUNNING, RECORDED, PUBLISHED, FAILED, ABANDONED = (
    "running",
    "recorded",
    "published",
    "failed",
    "abandoned",
)
COUNTED = (RUNNING, RECORDED, PUBLISHED)  # against the agreement's quota

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", String(80), primary_key=True),
    Column("agreement_id", ForeignKey("agreements.id"), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("format", String(16), nullable=False),
    Column("file_name", String(200), nullable=False),
    Column("requested_by", String(100), nullable=False),
    Column("started_at", _WHEN, nullable=False),
    Column("finished_at", _WHEN, nullable=True),
    Column("rows", Integer, nullable=True),
    Column("ciphertext_size", Integer, nullable=True),
    Column("ciphertext_sha256", String(64), nullable=True),
    Column("plaintext_sha256", String(64), nullable=True),
    Column("audit_seq", Integer, nullable=True),
    # The re-identification report (counts and element keys only) and, on failure, the cause.
    Column("report_json", Text, nullable=True),
    Column("failure", Text, nullable=True),
    # When retention deleted the encrypted file (the manifest, signature and index stay).
    Column("expired_at", _WHEN, nullable=True),
)

# A delivery asked for through the job queue: what its requester polls. `status` moves queued ->
# running -> done | failed (a running job whose worker died is queued again once, then failed).
# `schedule_key` (agreement and period) makes a schedule fire once per period however many
# schedulers run.
QUEUED, JOB_RUNNING, DONE, JOB_FAILED = "queued", "running", "done", "failed"

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("agreement_id", ForeignKey("agreements.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("requested_by", String(100), nullable=False),
    Column("actor_role", String(32), nullable=False),
    Column("schedule_key", String(80), nullable=True, unique=True),
    Column("status", String(16), nullable=False, index=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("rows", Integer, nullable=True),
    Column("delivery_id", String(80), nullable=True),
    Column("cause", Text, nullable=True),
    # The machine whose worker runs it: only that machine can tell (by its lock) that it died.
    Column("worker_host", String(255), nullable=True),
    Column("created_at", _WHEN, nullable=False),
    Column("started_at", _WHEN, nullable=True),
    Column("finished_at", _WHEN, nullable=True),
)

# A partner's report: the semester report (its PDF kept under documents/ by SHA-256) or the data
# balikan (the NIKs it used: only their keyed hashes, in report_subjects, and the counts).
SEMESTER, DATA_BALIKAN = "semester", "data_balikan"

reports = Table(
    "reports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("agreement_id", ForeignKey("agreements.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("due", Date, nullable=True),  # the semester_report_due date it answers
    Column("received_at", _WHEN, nullable=False),
    Column("received_by", String(100), nullable=False),
    Column("document_sha256", String(64), nullable=True),
    Column("size", Integer, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("invalid_rows", Integer, nullable=False),
)

report_subjects = Table(
    "report_subjects",
    metadata,
    Column("report_id", ForeignKey("reports.id"), primary_key=True),
    Column("subject_hash", String(64), primary_key=True, index=True),
)
