"""The partner's reports (issue 11): the semester report and the data balikan, received and
acknowledged; an agreement whose semester report is overdue beyond the grace period suspended by
the gateway, and resumed by it when the report arrives.

- A **semester report** is a PDF (checked by its header, held to the document limit), kept under
  `documents/` by its SHA-256 like every document, and recorded as answering the earliest
  `semester_report_due` date of the signed scope not yet answered.
- A **data balikan** is a CSV whose first column is the NIKs the partner used (a header `nik` is
  allowed). It is never kept: each valid NIK becomes the same keyed hash the subject index uses,
  and the counts of rows and invalid rows are recorded; the upload itself is dropped.
- `enforce_reporting` (the worker, hourly) suspends, as `system`, an active agreement whose report
  is overdue by more than `report_grace_days`. A report that leaves nothing overdue resumes it —
  only if the gateway itself made the suspension: one an officer made is lifted by the Kepala
  Dinas alone.

Every receipt, suspension and resumption is audited; the audit holds counts and hashes, never a
NIK or a report's content.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, insert, select
from stdnum.exceptions import ValidationError
from stdnum.id import nik as stdnum_nik

from agreements.errors import Conflict, Invalid
from agreements.reporting import next_due, overdue
from agreements.roles import Action, require
from agreements.workflow import AgreementAction, AgreementStatus, Machine
from gateway import limits
from gateway.keys import load_pseudonym_secret
from gateway.seals import SealStore
from gateway.services.actions import SYSTEM, Actor, Outcome, perform
from gateway.services.agreements import change_status, history, load_version
from gateway.services.requests import attach
from gateway.services.subjects import subject_hash
from gateway.store.tables import (
    DATA_BALIKAN,
    SEMESTER,
    agreements,
    report_subjects,
    reports,
)

MAX_DATA_BALIKAN_ROWS = 2_000_000  # NIKs in one data balikan: more than Paser's population


@dataclass(frozen=True)
class ReportView:
    id: int
    agreement: str
    kind: str
    due: date | None
    received_at: datetime
    received_by: str
    document_sha256: str | None
    size: int
    rows: int
    invalid_rows: int


def receive_semester_report(
    engine: Engine,
    seals: SealStore,
    by: str | Actor,
    short_id: str,
    data: bytes,
    *,
    documents_dir: Path,
    now: datetime,
    grace_days: int,
    zone: ZoneInfo,
) -> ReportView:
    def work(connection: Connection, actor: Actor) -> Outcome:
        # Every check inside the action, so that a refusal is on record; the PDF is kept (by
        # its hash: a second copy changes nothing) only once it is one.
        require(Action.REPORT_RECEIVE, actor.role)
        if len(data) > limits.DOCUMENT.max_bytes:
            size = limits.describe_size(limits.DOCUMENT.max_bytes)
            raise Invalid("report", f"larger than {size}")
        if not data.startswith(b"%PDF-"):
            raise Invalid("report", "a semester report must be a PDF")
        stored = load_version(connection, short_id, None)
        dues = _dues(stored.scope)
        due = next_due(dues, _answered(connection, stored.agreement_id))
        if due is None:
            raise Conflict(f"agreement {short_id}: every semester report it asks for is received")
        document = attach(f"semester-report-{short_id}.pdf", data, documents_dir)
        report_id = _insert(connection, stored.agreement_id, SEMESTER, due, actor, now,
                            document.sha256, len(data), 0, 0)  # fmt: skip
        details = {"kind": SEMESTER, "due": due.isoformat(), "sha256": document.sha256,
                   "size": len(data)}  # fmt: skip
        return Outcome(str(report_id), {"agreement": short_id, **details}, report_id)

    report_id = _receive(engine, by, short_id, now, work)
    resume_if_answered(engine, seals, short_id, now, grace_days=grace_days, zone=zone)
    return _show(engine, report_id)


def receive_data_balikan(
    engine: Engine,
    by: str | Actor,
    short_id: str,
    lines: Iterable[str],
    *,
    keys_dir: Path,
    now: datetime,
) -> ReportView:
    """Read the NIKs from `lines` (a CSV, streamed), keep their keyed hashes and counts only."""
    secret = load_pseudonym_secret(keys_dir)
    hashes: set[str] = set()
    rows = invalid = size = 0
    for number, line in enumerate(csv.reader(lines), start=1):
        size += sum(len(cell) + 1 for cell in line)
        first = line[0].strip() if line else ""
        if (number == 1 and first.lower() == "nik") or not first:
            continue
        rows += 1
        if rows > MAX_DATA_BALIKAN_ROWS:
            raise Invalid("data_balikan", f"more than {MAX_DATA_BALIKAN_ROWS:,} rows")
        compact = stdnum_nik.compact(first) if first.isascii() else ""
        try:
            stdnum_nik.validate(compact)
        except ValidationError:
            invalid += 1
            continue
        hashes.add(subject_hash(secret, compact))

    def work(connection: Connection, actor: Actor) -> Outcome:
        require(Action.REPORT_RECEIVE, actor.role)
        stored = load_version(connection, short_id, None)
        if not (stored.scope.get("reporting") or {}).get("data_balikan"):
            raise Conflict(f"agreement {short_id} asks for no data balikan")
        report_id = _insert(connection, stored.agreement_id, DATA_BALIKAN, None, actor, now,
                            None, size, rows, invalid)  # fmt: skip
        if hashes:
            connection.execute(
                insert(report_subjects),
                [{"report_id": report_id, "subject_hash": h} for h in sorted(hashes)],
            )
        details = {"kind": DATA_BALIKAN, "rows": rows, "invalid_rows": invalid,
                   "distinct": len(hashes)}  # fmt: skip
        return Outcome(str(report_id), {"agreement": short_id, **details}, report_id)

    return _show(engine, _receive(engine, by, short_id, now, work))


def enforce_reporting(
    engine: Engine, seals: SealStore, now: datetime, *, grace_days: int, zone: ZoneInfo
) -> list[str]:
    """Suspend, as `system`, every active agreement whose semester report is overdue beyond the
    grace period; the short ids suspended."""
    today = now.astimezone(zone).date()
    suspended = []
    with engine.connect() as connection:
        candidates = []
        for (short_id,) in connection.execute(select(agreements.c.short_id)):
            stored = load_version(connection, short_id, None)
            if stored.status is not AgreementStatus.ACTIVE:
                continue
            late = overdue(_dues(stored.scope), _answered(connection, stored.agreement_id),
                           today, grace_days)  # fmt: skip
            if late:
                candidates.append((short_id, late[0]))
    for short_id, due in candidates:
        notes = f"semester report due {due.isoformat()} not received within {grace_days} days"
        change_status(
            engine, seals, SYSTEM, short_id, AgreementAction.SUSPEND, now=now, notes=notes
        )
        suspended.append(short_id)
    return suspended


@dataclass(frozen=True)
class ReportDuty:
    """A semester report an active agreement owes: when, and whether it is late already."""

    agreement: str
    due: date
    overdue: bool


def report_duties(
    connection: Connection, today: date, *, within_days: int, grace_days: int
) -> list[ReportDuty]:
    """Each active agreement's next unanswered report due within `within_days`, or already
    overdue beyond the grace period; the latest first."""
    duties = []
    for (short_id,) in connection.execute(select(agreements.c.short_id)):
        stored = load_version(connection, short_id, None)
        if stored.status is not AgreementStatus.ACTIVE:
            continue
        dues, answered = _dues(stored.scope), _answered(connection, stored.agreement_id)
        late = overdue(dues, answered, today, grace_days)
        due = late[0] if late else next_due(dues, answered)
        if due is not None and (late or (due - today).days <= within_days):
            duties.append(ReportDuty(short_id, due, bool(late)))
    return sorted(duties, key=lambda duty: (not duty.overdue, duty.due))


def resume_if_answered(
    engine: Engine,
    seals: SealStore,
    short_id: str,
    now: datetime,
    *,
    grace_days: int,
    zone: ZoneInfo,
) -> bool:
    """Resume, as `system`, an agreement the gateway suspended for a late report once nothing
    is overdue any more; a suspension an officer made stays. Whether it resumed."""
    today = now.astimezone(zone).date()
    with engine.connect() as connection:
        stored = load_version(connection, short_id, None)
        if stored.status is not AgreementStatus.SUSPENDED:
            return False
        suspensions = [e for e in history(connection, stored.agreement_id)
                       if e["action"] == AgreementAction.SUSPEND.value]  # fmt: skip
        if not suspensions or suspensions[-1]["role"] != Machine.SYSTEM.value:
            return False
        answered = _answered(connection, stored.agreement_id)
        if overdue(_dues(stored.scope), answered, today, grace_days):
            return False
    notes = "the overdue semester report was received"
    change_status(engine, seals, SYSTEM, short_id, AgreementAction.RESUME, now=now, notes=notes)
    return True


def list_reports(connection: Connection, agreement: str | None = None) -> list[ReportView]:
    query = _LISTED.order_by(reports.c.received_at.desc(), reports.c.id.desc())
    if agreement is not None:
        query = query.where(agreements.c.short_id == agreement)
    return [_view(row) for row in connection.execute(query).mappings()]


_LISTED = select(reports, agreements.c.short_id).join(
    agreements, agreements.c.id == reports.c.agreement_id
)


def _receive(
    engine: Engine,
    by: str | Actor,
    short_id: str,
    now: datetime,
    work: Callable[[Connection, Actor], Outcome],
) -> int:
    outcome = perform(
        engine,
        by,
        action=Action.REPORT_RECEIVE.value,
        object_type="agreement",
        object_id=short_id,
        now=now,
        work=work,
    )
    return int(outcome.value)


def _insert(
    connection: Connection,
    agreement_id: int,
    kind: str,
    due: date | None,
    actor: Actor,
    now: datetime,
    sha256: str | None,
    size: int,
    rows: int,
    invalid: int,
) -> int:
    return int(
        connection.execute(
            insert(reports)
            .values(
                agreement_id=agreement_id,
                kind=kind,
                due=due,
                received_at=now,
                received_by=actor.name,
                document_sha256=sha256,
                size=size,
                rows=rows,
                invalid_rows=invalid,
            )
            .returning(reports.c.id)
        ).scalar_one()
    )


def _dues(scope: Mapping[str, Any]) -> list[date]:
    reporting = scope.get("reporting") or {}
    return [date.fromisoformat(d) for d in reporting.get("semester_report_due", [])]


def _answered(connection: Connection, agreement_id: int) -> set[date]:
    found = connection.execute(
        select(reports.c.due).where(
            reports.c.agreement_id == agreement_id,
            reports.c.kind == SEMESTER,
            reports.c.due.is_not(None),
        )
    )
    return {row.due for row in found}


def _show(engine: Engine, report_id: int) -> ReportView:
    with engine.connect() as connection:
        return _view(connection.execute(_LISTED.where(reports.c.id == report_id)).mappings().one())


def _view(row: Any) -> ReportView:
    return ReportView(
        id=row["id"],
        agreement=row["short_id"],
        kind=row["kind"],
        due=row["due"],
        received_at=row["received_at"],
        received_by=row["received_by"],
        document_sha256=row["document_sha256"],
        size=row["size"],
        rows=row["rows"],
        invalid_rows=row["invalid_rows"],
    )
