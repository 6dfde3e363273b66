"""The office's SOP (steps 1-7) as a pure state machine, and time spent per step in working days.

A request moves submitted -> disposed -> assigned -> (rejected | drafted), drafted -> (returned |
forwarded), returned -> drafted, forwarded -> signed. `apply` checks one transition: the actor's
role, the order, the clock not running backwards, and the facts the step needs (a reason to reject,
a verified signature to sign); it returns the new status and stores nothing, so services record the
event and its audit entry in their own transaction. `step_report` turns a history into the per-step
working-day durations and overdue flags the SOP's time limits are about.

The agreement's own life after signing (suspend, resume, revoke, supersede by an amendment,
expiry by date) is the second, smaller machine at the end: `apply_agreement`,
`ensure_executable`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, TypeVar

from agreements.errors import Conflict, Invalid, NotPermitted

if TYPE_CHECKING:  # only annotations: the holiday tables load when a report is made
    from agreements.workdays import WorkCalendar


class Role(StrEnum):
    PETUGAS_ADB = "petugas_adb"
    PEJABAT_FUNGSIONAL = "pejabat_fungsional"
    KEPALA_BIDANG = "kepala_bidang"
    KEPALA_DINAS = "kepala_dinas"
    COMPLIANCE = "compliance"
    ADMIN = "admin"


class Machine(StrEnum):
    """Actors that are not staff: the gateway itself (recovery, schedules, reporting duties) and
    a partner's credential (the partner API)."""

    SYSTEM = "system"
    PARTNER = "partner"


class Status(StrEnum):
    SUBMITTED = "submitted"
    DISPOSED = "disposed"
    ASSIGNED = "assigned"
    REJECTED = "rejected"
    DRAFTED = "drafted"
    RETURNED = "returned"
    FORWARDED = "forwarded"
    SIGNED = "signed"
    CANCELLED = "cancelled"  # entered by mistake, or withdrawn by the applicant: not an SOP step


class Transition(StrEnum):
    SUBMIT = "submit"
    DISPOSE = "dispose"
    ASSIGN = "assign"
    REJECT = "reject"
    DRAFT = "draft"
    RETURN = "return"
    FORWARD = "forward"
    SIGN = "sign"
    CANCEL = "cancel"


FINAL_STATUSES = frozenset({Status.REJECTED, Status.SIGNED, Status.CANCELLED})
OPEN_STATUSES = frozenset(Status) - FINAL_STATUSES


@dataclass(frozen=True)
class Step:
    """One row of the SOP table. `limit_days` is in working days; None means the SOP sets none.

    `requires` names the facts a transition must be given (truthy), e.g. the rejection reason.
    """

    number: int
    transition: Transition
    sources: frozenset[Status | None]
    role: Role
    target: Status
    limit_days: int | None
    requires: tuple[str, ...]
    title: str


STEPS: tuple[Step, ...] = (
    Step(1, Transition.SUBMIT, frozenset({None}), Role.PETUGAS_ADB, Status.SUBMITTED, 1,
         ("letter_number", "letter_date", "institution", "purpose", "legal_basis",
          "requested_elements", "access_mode", "duration", "data_balikan_plan", "letter_document"),
         "request letter registered"),
    Step(2, Transition.DISPOSE, frozenset({Status.SUBMITTED}), Role.KEPALA_DINAS,
         Status.DISPOSED, 1, ("note",), "disposition by the Kepala Dinas"),
    Step(3, Transition.ASSIGN, frozenset({Status.DISPOSED}), Role.KEPALA_BIDANG,
         Status.ASSIGNED, None, ("assignee",), "handed to the Pejabat Fungsional"),
    Step(4, Transition.REJECT, frozenset({Status.ASSIGNED}), Role.PEJABAT_FUNGSIONAL,
         Status.REJECTED, 1, ("reason", "rejection_letter"), "rejection letter"),
    Step(5, Transition.DRAFT, frozenset({Status.ASSIGNED, Status.RETURNED}),
         Role.PEJABAT_FUNGSIONAL, Status.DRAFTED, None, ("draft_scope",), "PKS drafted"),
    Step(6, Transition.RETURN, frozenset({Status.DRAFTED}), Role.KEPALA_BIDANG,
         Status.RETURNED, 2, ("notes",), "draft returned for revision"),
    Step(6, Transition.FORWARD, frozenset({Status.DRAFTED}), Role.KEPALA_BIDANG,
         Status.FORWARDED, 2, (), "draft forwarded to the Kepala Dinas"),
    Step(7, Transition.SIGN, frozenset({Status.FORWARDED}), Role.KEPALA_DINAS, Status.SIGNED, 1,
         ("applicant_acknowledged", "signed_pks_document", "scope_signature_verified"),
         "rights and obligations explained, PKS signed"),
    # Not an SOP step (number 0): the Petugas ADB who registers letters takes back a request
    # entered by mistake or withdrawn by the applicant, from any open status, with a reason.
    Step(0, Transition.CANCEL, frozenset(OPEN_STATUSES), Role.PETUGAS_ADB, Status.CANCELLED,
         None, ("reason",), "request cancelled"),
)  # fmt: skip
STEP_BY_TRANSITION: Mapping[Transition, Step] = {step.transition: step for step in STEPS}

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Document:
    """A document attached to a transition, recorded by name and SHA-256 (lower-case hex)."""

    name: str
    sha256: str

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise Invalid("documents.name", "must not be empty")
        if not _SHA256.match(self.sha256):
            raise Invalid("documents.sha256", "must be 64 lower-case hex digits")


@dataclass(frozen=True)
class Event:
    """One recorded transition. `received_at` (submit only) is when the letter reached the office,
    where step 1's clock starts; without it step 1 counts as taking no time."""

    transition: Transition
    actor: str
    role: Role
    at: datetime
    notes: str = ""
    documents: tuple[Document, ...] = ()
    received_at: datetime | None = None


E = TypeVar("E", bound=StrEnum)


def _parse(kind: type[E], value: E | str, what: str) -> E:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise Invalid(what, f"must be one of: {allowed}") from None


def next_transitions(state: Status | None) -> tuple[Transition, ...]:
    """The transitions the SOP allows from `state` (None: no request yet)."""
    return tuple(step.transition for step in STEPS if state in step.sources)


def waiting_on(state: Status | str) -> Role | None:
    """The role whose SOP step a request in `state` waits for (None once final). Cancelling is
    always possible and never what a request waits for."""
    current = _parse(Status, state, "status")
    roles = {step.role for step in STEPS if current in step.sources and step.number > 0}
    return roles.pop() if len(roles) == 1 else None


def apply(
    state: Status | str | None,
    transition: Transition | str,
    actor_role: Role | str,
    now: datetime,
    *,
    previous_at: datetime | None = None,
    facts: Mapping[str, object] | None = None,
) -> Status:
    """The status after `transition`, or the error that refuses it.

    `previous_at` is when the current status was entered (time must not run backwards); `facts`
    holds what the step requires (see `Step.requires`), checked for presence only: services verify
    the signature or hash the document before they say so here.
    """
    current = None if state is None else _parse(Status, state, "status")
    step = STEP_BY_TRANSITION[_parse(Transition, transition, "transition")]
    role = _parse(Role, actor_role, "role")
    if role is not step.role:
        raise NotPermitted(
            f"{step.transition.value} is done by {step.role.value}, not {role.value}",
            role=role.value,
            action=step.transition.value,
        )
    if current not in step.sources:
        where = "a new request" if current is None else f"status {current.value}"
        allowed = ", ".join(t.value for t in next_transitions(current)) or "nothing (final)"
        raise Conflict(f"{step.transition.value} is out of order at {where}; allowed: {allowed}")
    if now.tzinfo is None:
        raise Invalid("time", "must carry a time zone")
    if previous_at is not None and now < previous_at:
        raise Conflict(f"{step.transition.value} is dated before the previous step")
    given = facts or {}
    for name in step.requires:
        if not given.get(name):
            raise Invalid(f"{step.transition.value}.{name}", f"required to {step.transition.value}")
    return step.target


def replay(history: Iterable[Event]) -> Status | None:
    """The status a history leads to, checking every event as `apply` would (facts excepted)."""
    state: Status | None = None
    previous: datetime | None = None
    for event in history:
        step = STEP_BY_TRANSITION[event.transition]
        facts = dict.fromkeys(step.requires, True)
        state = apply(state, event.transition, event.role, event.at, previous_at=previous,
                      facts=facts)  # fmt: skip
        previous = event.at
    return state


@dataclass(frozen=True)
class StepTime:
    """Time spent on one step. `transition` is None for the step still open at `now`."""

    number: int
    transition: Transition | None
    title: str
    started: datetime
    ended: datetime | None
    working_days: float
    limit_days: int | None
    deadline: datetime | None
    overdue: bool


def _pending_limit(state: Status) -> tuple[int, int | None, str]:
    # An open step may end in several ways (assigned -> reject within 1 day, or draft without a
    # limit): only a limit every way shares can make it overdue, so any unlimited way wins.
    # Cancelling (step 0) is always possible and never due: it does not make a step open-ended.
    steps = [step for step in STEPS if state in step.sources and step.number > 0]
    limits = [step.limit_days for step in steps]
    limit = None if None in limits else max(x for x in limits if x is not None)
    title = " or ".join(step.title for step in steps)
    return min(step.number for step in steps), limit, title


def step_report(history: Iterable[Event], now: datetime, clock: WorkCalendar) -> list[StepTime]:
    """Per-step working-day durations and overdue flags, plus the open step while not final.

    Each step's clock starts when the previous step completed (step 1's when the letter arrived).
    """
    rows: list[StepTime] = []
    events = list(history)
    state = replay(events)
    previous: datetime | None = None
    for event in events:
        step = STEP_BY_TRANSITION[event.transition]
        started = previous or event.received_at or event.at
        rows.append(_row(step.number, step.transition, step.title, started, event.at,
                         step.limit_days, clock))  # fmt: skip
        previous = event.at
    if state is not None and state not in FINAL_STATUSES and previous is not None:
        number, limit, title = _pending_limit(state)
        rows.append(_row(number, None, title, previous, None, limit, clock, now=now))
    return rows


def _row(
    number: int,
    transition: Transition | None,
    title: str,
    started: datetime,
    ended: datetime | None,
    limit: int | None,
    clock: WorkCalendar,
    *,
    now: datetime | None = None,
) -> StepTime:
    until = ended if ended is not None else now
    assert until is not None  # an open step is always measured up to `now`
    spent = clock.working_days(started, until)
    deadline = None if limit is None else clock.add_working_days(started, limit)
    return StepTime(
        number=number,
        transition=transition,
        title=title,
        started=started,
        ended=ended,
        working_days=spent,
        limit_days=limit,
        deadline=deadline,
        overdue=limit is not None and spent > limit,
    )


class AgreementStatus(StrEnum):
    DRAFT = "draft"  # imported or amended, awaiting the Kepala Dinas's digital signature
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"  # final
    SUPERSEDED = "superseded"  # final: a signed amendment replaced this version
    WITHDRAWN = "withdrawn"  # final: a draft given up (its version number stays used)


class AgreementAction(StrEnum):
    SIGN = "sign"
    SUSPEND = "suspend"
    RESUME = "resume"
    REVOKE = "revoke"
    SUPERSEDE = "supersede"
    WITHDRAW = "withdraw"


@dataclass(frozen=True)
class AgreementMove:
    sources: frozenset[AgreementStatus]
    target: AgreementStatus
    roles: frozenset[Role | Machine]


_A = AgreementStatus
# Compliance may suspend (it sees misuse first), but only the Kepala Dinas, who signs, resumes or
# revokes. Supersede happens when the Kepala Dinas signs the amendment that replaces this version.
# The gateway itself suspends an agreement whose partner's report is overdue beyond the grace
# period, and resumes it when the report arrives — only a suspension it made itself
# (gateway/services/reports.py holds it to that).
AGREEMENT_MOVES: Mapping[AgreementAction, AgreementMove] = {
    AgreementAction.SIGN: AgreementMove(
        frozenset({_A.DRAFT}), _A.ACTIVE, frozenset({Role.KEPALA_DINAS})
    ),
    AgreementAction.SUSPEND: AgreementMove(
        frozenset({_A.ACTIVE}),
        _A.SUSPENDED,
        frozenset({Role.KEPALA_DINAS, Role.COMPLIANCE, Machine.SYSTEM}),
    ),
    AgreementAction.RESUME: AgreementMove(
        frozenset({_A.SUSPENDED}), _A.ACTIVE, frozenset({Role.KEPALA_DINAS, Machine.SYSTEM})
    ),
    AgreementAction.REVOKE: AgreementMove(
        frozenset({_A.DRAFT, _A.ACTIVE, _A.SUSPENDED}), _A.REVOKED, frozenset({Role.KEPALA_DINAS})
    ),
    AgreementAction.SUPERSEDE: AgreementMove(
        frozenset({_A.ACTIVE, _A.SUSPENDED}), _A.SUPERSEDED, frozenset({Role.KEPALA_DINAS})
    ),
    # A draft (signed or not, never active) entered by mistake or overtaken: whoever drafts, or the
    # Kepala Dinas who would have signed it.
    AgreementAction.WITHDRAW: AgreementMove(
        frozenset({_A.DRAFT}),
        _A.WITHDRAWN,
        frozenset({Role.PEJABAT_FUNGSIONAL, Role.ADMIN, Role.KEPALA_DINAS}),
    ),
}


def apply_agreement(
    status: AgreementStatus | str,
    action: AgreementAction | str,
    actor_role: Role | Machine | str,
) -> AgreementStatus:
    """The agreement version's status after `action`, or NotPermitted / Conflict."""
    current = _parse(AgreementStatus, status, "status")
    act = _parse(AgreementAction, action, "action")
    role: Role | Machine = (
        Machine(actor_role) if actor_role in set(Machine) else _parse(Role, actor_role, "role")
    )
    move = AGREEMENT_MOVES[act]
    if role not in move.roles:
        allowed = ", ".join(sorted(r.value for r in move.roles))
        raise NotPermitted(
            f"{act.value} is done by {allowed}, not {role.value}", role=role.value, action=act.value
        )
    if current not in move.sources:
        raise Conflict(f"cannot {act.value} an agreement version that is {current.value}")
    return move.target


def ensure_executable(
    agreement: str,
    status: AgreementStatus | str,
    *,
    is_current: bool,
    valid_from: date,
    valid_until: date,
    today: date,
) -> None:
    """Raise Conflict unless this is the current, signed, active, unexpired version.

    `today` is the office's date (WITA); both validity bounds are inclusive days.
    """
    current = _parse(AgreementStatus, status, "status")
    if not is_current:
        raise Conflict(f"agreement {agreement}: not the current version")
    if current is not AgreementStatus.ACTIVE:
        raise Conflict(f"agreement {agreement}: {current.value}, not active")
    if today < valid_from:
        raise Conflict(f"agreement {agreement}: not valid before its start date")
    if today > valid_until:
        raise Conflict(f"agreement {agreement}: expired")
