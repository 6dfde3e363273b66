"""Who acts, and the one way an action is carried out: its rows and its audit entry together.

`perform` runs an action's work and appends its audit entry in the same transaction, so an action
whose entry cannot be written does not happen (fail closed). When the work refuses (a domain
error: wrong role, out of order, invalid input), everything it wrote is rolled back and a
`refused` entry naming the rule is written in a transaction of its own, so refusals are on record
too. Error messages name fields and rules, never values (agreements/errors.py), which is what
makes them safe to put in the audit log.

A use case that writes a sealed row (gateway/seals.py) passes its `SealStore`: the seals its work
staged are kept just before the transaction commits, and put back as they were if it does not.

Staff attribution is by name (`--as NAME` on the command line): attribution, not authentication.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, select

from agreements.errors import DomainError, NotFound, NotPermitted
from agreements.roles import Machine
from agreements.workflow import Role
from audit import log as audit_log
from audit.entry import check_details, check_field
from gateway.seals import SealStore
from gateway.store.tables import staff

T = TypeVar("T")


@dataclass(frozen=True)
class Actor:
    """Who acts: a member of staff (by name), or one of the gateway's machine actors — `system`
    (schedules, recovery, retention) and a partner's credential (named by its token prefix,
    `pks_…`), which are not staff rows and are never looked up as such."""

    name: str
    role: Role | Machine

    @property
    def is_staff(self) -> bool:
        return isinstance(self.role, Role)


SYSTEM = Actor("system", Machine.SYSTEM)


def partner(token_prefix: str) -> Actor:
    """The partner actor a credential acts as, named by its visible prefix (never the token)."""
    return Actor(token_prefix, Machine.PARTNER)


@dataclass(frozen=True)
class Outcome:
    """What an action's work returns: the object it acted on and the audit details."""

    object_id: str
    details: Mapping[str, Any]
    value: Any = None


def find_actor(connection: Connection, name: str) -> Actor:
    row = connection.execute(
        select(staff.c.role, staff.c.active).where(staff.c.name == name)
    ).first()
    if row is not None and not row.active:
        raise NotPermitted(f"staff member {name!r} is deactivated and can do nothing")
    if row is None:
        shown = recordable("actor_id", name)  # a NIK typed as a name is not echoed back
        raise NotFound("staff member", shown, f"no staff member named {shown!r} (see `staff list`)")
    return Actor(name, Role(row.role))


def resolve(connection: Connection, by: str | Actor) -> Actor:
    """The actor `by` names: a machine actor as given, a staff name looked up (find_actor)."""
    return by if isinstance(by, Actor) else find_actor(connection, by)


def perform(
    engine: Engine,
    actor_name: str | Actor,
    *,
    action: str,
    object_type: str,
    object_id: str,
    now: datetime,
    work: Callable[[Connection, Actor], Outcome],
    seals: SealStore | None = None,
) -> Outcome:
    """Run `work` as the named staff member (or the machine actor given) and record it; on
    refusal record that, then re-raise."""
    machine = actor_name if isinstance(actor_name, Actor) else None
    actor_name = machine.name if machine is not None else str(actor_name)
    role = machine.role.value if machine is not None else "unknown"
    undo: dict[str, str | None] = {}
    try:
        with engine.begin() as connection:
            try:
                actor = resolve(connection, machine or actor_name)
                role = actor.role.value
                outcome = work(connection, actor)
                audit_log.append(
                    connection,
                    actor_role=role,
                    actor_id=actor.name,
                    action=action,
                    object_type=object_type,
                    object_id=outcome.object_id or object_id,
                    outcome="ok",
                    details=dict(outcome.details),
                    now=now,
                )
            finally:
                staged = SealStore.take_staged(connection)
            if staged:
                if seals is None:
                    raise RuntimeError(f"{action} staged seals but perform was given no SealStore")
                undo = seals.keep(staged)
        return outcome
    except DomainError as error:
        record_refusal(engine, role, actor_name, action, object_type, object_id, error, now)
        raise
    except BaseException:
        if undo and seals is not None:
            seals.keep(undo)  # the commit failed: the kept seals go back to what was committed
        raise


UNRECORDABLE = "(unrecordable)"


def recordable(field: str, value: str) -> str:
    """The id as a refusal entry can hold it. One the audit guard refuses (empty, too long,
    control characters, sixteen digits like a NIK) is recorded as a placeholder: the refusal
    itself must never be lost because of what was refused."""
    try:
        check_field(field, value)
    except ValueError:
        return UNRECORDABLE
    return value


def record_refusal(
    engine: Engine,
    role: str,
    actor_name: str,
    action: str,
    object_type: str,
    object_id: str,
    error: DomainError,
    now: datetime,
) -> None:
    """The `refused` entry, in a transaction of its own. A rule text the audit guard refuses (it
    quotes what was refused, say a sixteen-digit name) is left out; the error class stays."""
    details: dict[str, Any] = {"rule": error.message, "error": type(error).__name__}
    try:
        check_details(details)
    except ValueError:
        details = {"rule": UNRECORDABLE, "error": type(error).__name__}
    with engine.begin() as connection:
        audit_log.append(
            connection,
            actor_role=role,
            actor_id=recordable("actor_id", actor_name),
            action=action,
            object_type=object_type,
            object_id=recordable("object_id", object_id),
            outcome="refused",
            details=details,
            now=now,
        )
