"""Read models of SOP requests: the list (who each waits on, since when, due, overdue), one request
with every note, document and actor and the agreement versions it drafted, and the draft revisions
of the revision loop with what changed between them.

Plain reads: no audit entry (the doors decide who may read). Time per step comes from the workflow's
working-day rules (`agreements.workflow.step_report`) on the office's calendar.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from agreements.diff import Change, diff
from agreements.errors import Invalid, NotFound
from agreements.policy import CatalogLike
from agreements.scope_toml import read_scope_toml
from agreements.workdays import WorkCalendar
from agreements.workflow import (
    Document,
    Event,
    Role,
    Status,
    StepTime,
    Transition,
    step_report,
    waiting_on,
)
from gateway.store.tables import agreement_versions, agreements, request_events, requests


@dataclass(frozen=True)
class Waiting:
    """The open step of a request: whose move it is (a role, and the person where the SOP names
    one: the assigned Pejabat Fungsional), since when, when it is due (None: no SOP limit)."""

    role: Role
    person: str | None
    since: datetime
    due: datetime | None
    overdue: bool


@dataclass(frozen=True)
class RequestSummary:
    id: int
    institution: str
    letter_number: str
    status: Status
    received_at: datetime
    assignee: str | None
    waiting: Waiting | None  # None once final


@dataclass(frozen=True)
class LinkedVersion:
    """An agreement version this request drafted (an addendum request drafts the next one)."""

    agreement: str
    version: int
    status: str


@dataclass(frozen=True)
class RequestView(RequestSummary):
    letter_date: date
    duration_months: int
    facts: Mapping[str, Any]  # the letter as registered: purpose, legal basis, elements ...
    events: list[Event]  # every step with its actor, role, notes and documents
    steps: list[StepTime]  # working days per step, the open one last
    versions: list[LinkedVersion]


@dataclass(frozen=True)
class Revision:
    """One draft of the scope in the revision loop (step 5, again after each return)."""

    number: int
    at: datetime
    actor: str
    document: Document


def list_requests(
    connection: Connection,
    now: datetime,
    calendar: WorkCalendar,
    *,
    status: Status | None = None,
    waiting_for: tuple[Role, str] | None = None,
    overdue_only: bool = False,
) -> list[RequestSummary]:
    """Requests in order of number; `waiting_for` (role, name) keeps those whose open step is
    that person's to do, `overdue_only` those past their SOP limit."""
    query = select(requests).order_by(requests.c.id)
    if status is not None:
        query = query.where(requests.c.status == status.value)
    rows = [dict(row) for row in connection.execute(query).mappings()]
    events = _events(connection, [row["id"] for row in rows])
    listed = []
    for row in rows:
        summary = _summary(row, events.get(row["id"], []), now, calendar)
        waiting = summary.waiting
        if waiting_for is not None and not _waits_for(waiting, *waiting_for):
            continue
        if overdue_only and not (waiting and waiting.overdue):
            continue
        listed.append(summary)
    return listed


def show_request(
    connection: Connection, request_id: int, now: datetime, calendar: WorkCalendar
) -> RequestView:
    row = _row(connection, request_id)
    events = _events(connection, [request_id]).get(request_id, [])
    summary = _summary(row, events, now, calendar)
    return RequestView(
        **vars(summary),
        letter_date=row["letter_date"],
        duration_months=row["duration_months"],
        facts=json.loads(row["facts"]),
        events=events,
        steps=step_report(events, now, calendar),
        versions=_versions(connection, request_id),
    )


def history(connection: Connection, request_id: int) -> list[Event]:
    return _events(connection, [request_id]).get(request_id, [])


def draft_revisions(connection: Connection, request_id: int) -> list[Revision]:
    """Every scope drafted for this request, first to last (each kept by its SHA-256)."""
    _row(connection, request_id)  # NotFound names it
    drafts = [e for e in history(connection, request_id) if e.transition is Transition.DRAFT]
    return [
        Revision(number, event.at, event.actor, event.documents[0])
        for number, event in enumerate(drafts, start=1)
        if event.documents
    ]


def revision_diff(
    revisions: list[Revision],
    old: int | None,
    new: int | None,
    documents_dir: Path,
    catalog: CatalogLike,
    region_codes: Collection[str],
) -> tuple[int, int, list[Change]]:
    """What changed from revision `old` to `new` (default: the last two). (old, new, changes)."""
    if len(revisions) < 2 and (old is None or new is None):
        raise Invalid("revision", f"the request has {len(revisions)} draft(s): nothing to compare")
    new = len(revisions) if new is None else new
    old = new - 1 if old is None else old
    for number in (old, new):
        if not 1 <= number <= len(revisions):
            raise NotFound("revision", str(number))
    before, after = (
        _draft_scope(revisions[n - 1].document, documents_dir, catalog, region_codes)
        for n in (old, new)
    )
    return old, new, diff(before, after)


def _draft_scope(
    document: Document, documents_dir: Path, catalog: CatalogLike, region_codes: Collection[str]
) -> Any:
    # The kept bytes are addressed by their hash, and were read and checked when drafted.
    text = (documents_dir / document.sha256).read_text(encoding="utf-8")
    _, scope = read_scope_toml(text, catalog, region_codes=region_codes)
    return scope


def _waits_for(waiting: Waiting | None, role: Role, name: str) -> bool:
    if waiting is None or waiting.role is not role:
        return False
    return waiting.person is None or waiting.person == name


def _summary(
    row: Mapping[str, Any], events: list[Event], now: datetime, calendar: WorkCalendar
) -> RequestSummary:
    status = Status(row["status"])
    return RequestSummary(
        id=row["id"],
        institution=row["institution"],
        letter_number=row["letter_number"],
        status=status,
        received_at=row["received_at"],
        assignee=row["assignee"],
        waiting=_waiting(status, row["assignee"], events, now, calendar),
    )


def _waiting(
    status: Status,
    assignee: str | None,
    events: list[Event],
    now: datetime,
    calendar: WorkCalendar,
) -> Waiting | None:
    role = waiting_on(status)
    if role is None or not events:
        return None
    open_step = step_report(events, now, calendar)[-1]
    return Waiting(
        role=role,
        person=assignee if role is Role.PEJABAT_FUNGSIONAL else None,
        since=open_step.started,
        due=open_step.deadline,
        overdue=open_step.overdue,
    )


def _row(connection: Connection, request_id: int) -> Mapping[str, Any]:
    row = connection.execute(select(requests).where(requests.c.id == request_id)).mappings().first()
    if row is None:
        raise NotFound("request", str(request_id))
    return dict(row)


def _events(connection: Connection, request_ids: Iterable[int]) -> dict[int, list[Event]]:
    """Each request's history in order, read in one query (the list shows many requests)."""
    wanted = list(request_ids)
    if not wanted:
        return {}
    received = dict(
        connection.execute(
            select(requests.c.id, requests.c.received_at).where(requests.c.id.in_(wanted))
        ).all()
    )
    rows = connection.execute(
        select(request_events)
        .where(request_events.c.request_id.in_(wanted))
        .order_by(request_events.c.request_id, request_events.c.id)
    ).mappings()
    found: dict[int, list[Event]] = defaultdict(list)
    for row in rows:
        transition = Transition(row["transition"])
        documents = tuple(Document(d["name"], d["sha256"]) for d in json.loads(row["documents"]))
        arrived = received.get(row["request_id"]) if transition is Transition.SUBMIT else None
        found[row["request_id"]].append(
            Event(
                transition=transition,
                actor=row["actor"],
                role=Role(row["role"]),
                at=row["at"],
                notes=row["notes"],
                documents=documents,
                received_at=arrived,
            )
        )
    return found


def _versions(connection: Connection, request_id: int) -> list[LinkedVersion]:
    rows = connection.execute(
        select(agreements.c.short_id, agreement_versions.c.version, agreement_versions.c.status)
        .join(agreements, agreements.c.id == agreement_versions.c.agreement_id)
        .where(agreement_versions.c.request_id == request_id)
        .order_by(agreements.c.short_id, agreement_versions.c.version)
    )
    return [LinkedVersion(row.short_id, row.version, row.status) for row in rows]
