"""Where each semester report an agreement asks for stands: received (and when), due, or late.
Apart from gateway/services/reports.py so that the agreement views (`agreement list`, `show`)
load no more than the database: receiving reports needs the subject index's hashing, and with it
pyarrow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, select

from gateway.store.tables import SEMESTER, reports


@dataclass(frozen=True)
class ReportState:
    """A semester report the agreement asks for: when due, when it arrived (None: not yet), and
    `received`, `due` (not yet due) or `late` (past due and not received)."""

    due: date
    received_at: datetime | None
    state: str


def report_states(
    connection: Connection, agreement_id: int, dues: list[date], today: date
) -> list[ReportState]:
    """The state of each due semester report, by due date."""
    received = {
        due: at
        for due, at in connection.execute(
            select(reports.c.due, reports.c.received_at)
            .where(reports.c.agreement_id == agreement_id, reports.c.kind == SEMESTER)
            .order_by(reports.c.received_at.desc())
        )
    }
    states = []
    for due in sorted(dues):
        at = received.get(due)
        state = "received" if at is not None else ("late" if today > due else "due")
        states.append(ReportState(due, at, state))
    return states
