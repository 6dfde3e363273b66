"""Who acts, and the one way an action is carried out: its rows and its audit entry together.

`perform` runs an action's work and appends its audit entry in the same transaction, so an action
whose entry cannot be written does not happen (fail closed). When the work refuses (a domain
error: wrong role, out of order, invalid input), everything it wrote is rolled back and a
`refused` entry naming the rule is written in a transaction of its own, so refusals are on record
too. Error messages name fields and rules, never values (agreements/errors.py), which is what
makes them safe to put in the audit log.

Staff attribution is by name (`--as NAME` on the command line): attribution, not authentication.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, select

from agreements.errors import DomainError, NotFound
from agreements.workflow import Role
from audit import log as audit_log
from gateway.store.tables import staff

T = TypeVar("T")


@dataclass(frozen=True)
class Actor:
    name: str
    role: Role


@dataclass(frozen=True)
class Outcome:
    """What an action's work returns: the object it acted on and the audit details."""

    object_id: str
    details: Mapping[str, Any]
    value: Any = None


def find_actor(connection: Connection, name: str) -> Actor:
    row = connection.execute(select(staff.c.role).where(staff.c.name == name)).first()
    if row is None:
        raise NotFound("staff member", name, f"no staff member named {name!r} (see `staff list`)")
    return Actor(name, Role(row.role))


def perform(
    engine: Engine,
    actor_name: str,
    *,
    action: str,
    object_type: str,
    object_id: str,
    now: datetime,
    work: Callable[[Connection, Actor], Outcome],
) -> Outcome:
    """Run `work` as the named staff member and record it; on refusal record that, then re-raise."""
    role = "unknown"
    try:
        with engine.begin() as connection:
            actor = find_actor(connection, actor_name)
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
            return outcome
    except DomainError as error:
        with engine.begin() as connection:
            audit_log.append(
                connection,
                actor_role=role,
                actor_id=actor_name,
                action=action,
                object_type=object_type,
                object_id=object_id,
                outcome="refused",
                details={"rule": error.message, "error": type(error).__name__},
                now=now,
            )
        raise
