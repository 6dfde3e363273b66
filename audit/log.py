"""Appending entries inside the caller's transaction, and reading them back.

`append` never commits: it runs on the caller's connection so that an action and its audit entry
commit or roll back together (fail closed: if the entry cannot be written, the exception
propagates and the action's transaction is rolled back with it).

Reading back does not trust the stored types (`audit.stored`): the readers here raise
LogIntegrityError naming the seq on a value of the wrong type, and `require_readable` refuses
with the first such value anywhere in the audit tables.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import Connection, RowMapping, Select, func, insert, select, update

from audit.entry import build_leaf, utc_moment, validate_fields
from audit.schema import audit_entries, audit_head
from audit.stored import (
    ENTRY_COLUMNS,
    RAW_ENTRY,
    binary,
    entry_message,
    head_message,
    is_count,
    stored_time,
    value_problems,
    wrong_entry_types,
)
from audit.stored import as_utc as as_utc  # tree.py and export.py import it from here
from pks_partner import merkle


class LogIntegrityError(RuntimeError):
    """The stored log is not dense where a proof or checkpoint needs it (names the seq)."""


@dataclass(frozen=True)
class AppendedEntry:
    seq: int
    created_at: datetime
    leaf: bytes
    leaf_hash: bytes


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    created_at: datetime
    actor_role: str
    actor_id: str
    action: str
    object_type: str
    object_id: str
    outcome: str
    details: Mapping[str, Any]
    leaf_hash: bytes


def append(
    connection: Connection,
    *,
    actor_role: str,
    actor_id: str,
    action: str,
    object_type: str,
    object_id: str,
    outcome: str,
    details: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> AppendedEntry:
    """Write one entry as the next leaf of the log, in the caller's transaction; never commits.

    `details` holds ids, counts and field names, never population values (refer to a NIK only
    through `keyed_nik_hash`); ValueError before anything is written if it breaks that rule.
    """
    fields = validate_fields(
        actor_role=actor_role,
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        outcome=outcome,
        details=details,
    )
    moment = utc_moment(now) if now is not None else datetime.now(UTC)
    # Everything that can fail on bad input has failed by now: a ValueError the caller catches
    # must never leave a reserved seq behind without its entry.
    seq = _reserve_seq(connection)
    leaf, details_text = build_leaf(fields, seq, moment)
    hashed = merkle.leaf_hash(leaf)
    connection.execute(
        _INSERT,
        {
            "seq": seq,
            "created_at": moment,
            "actor_role": fields.actor_role,
            "actor_id": fields.actor_id,
            "action": fields.action,
            "object_type": fields.object_type,
            "object_id": fields.object_id,
            "outcome": fields.outcome,
            "details": details_text,
            "leaf": leaf,
            "leaf_hash": hashed,
        },
    )
    return AppendedEntry(seq, moment, leaf, hashed)


# Built once: constructing statements per call cost more than the hashing and the insert.
_INSERT = insert(audit_entries)
_BUMP = update(audit_head).where(audit_head.c.id == 1).values(tree_size=audit_head.c.tree_size + 1)
_BUMP_RETURNING = _BUMP.returning(audit_head.c.tree_size)
_HEAD_SIZE = select(audit_head.c.tree_size).where(audit_head.c.id == 1)


def _reserve_seq(connection: Connection) -> int:
    """Take the next leaf index by incrementing the one-row head, which also serialises appenders.

    The UPDATE row-locks the head on PostgreSQL (a concurrent appender waits until we commit or
    roll back, then sees our increment) and takes SQLite's write lock; a rolled-back transaction
    rolls the increment back too, so indices stay dense without gaps or duplicates.
    """
    if connection.dialect.update_returning:
        size = connection.execute(_BUMP_RETURNING).scalar_one_or_none()
    elif connection.execute(_BUMP).rowcount:
        size = connection.execute(_HEAD_SIZE).scalar_one()
    else:
        size = None
    if size is not None:
        return int(size) - 1
    return _create_head(connection)


def _create_head(connection: Connection) -> int:
    # First entry ever (or a migration that did not seed the head): start after what is stored.
    # ON CONFLICT DO NOTHING lets two first appenders race safely; the bump then serialises them.
    stored = connection.execute(
        select(func.coalesce(func.max(audit_entries.c.seq) + 1, 0))
    ).scalar_one()
    values = {"id": 1, "tree_size": int(stored)}
    name = connection.dialect.name
    # Imported here: the dialects' modules cost every command's start, and this runs once ever.
    from sqlalchemy.dialects import postgresql, sqlite

    if name == "postgresql":
        connection.execute(postgresql.insert(audit_head).values(values).on_conflict_do_nothing())
    elif name == "sqlite":
        connection.execute(sqlite.insert(audit_head).values(values).on_conflict_do_nothing())
    else:
        connection.execute(insert(audit_head).values(values))
    return _reserve_seq(connection)


def tree_size(connection: Connection) -> int:
    """The number of stored entries (the log's current size, if it is intact)."""
    return int(connection.execute(select(func.count()).select_from(audit_entries)).scalar_one())


def head_size(connection: Connection) -> int | None:
    """The size the appenders' head row records, None before the first append."""
    value = connection.execute(_HEAD_SIZE).scalar_one_or_none()
    if value is None:
        return None
    if not is_count(value):
        raise LogIntegrityError(head_message())
    return int(value)


def leaf_hashes(connection: Connection, start: int, end: int) -> Iterator[bytes]:
    """The stored leaf hashes of seq start..end-1 in order; LogIntegrityError at the first gap."""
    query = (
        select(audit_entries.c.seq, audit_entries.c.leaf_hash)
        .where(audit_entries.c.seq >= start, audit_entries.c.seq < end)
        .order_by(audit_entries.c.seq)
        .execution_options(yield_per=10_000)
    )
    expected = start
    for seq, hashed in connection.execute(query):
        if seq != expected:
            raise LogIntegrityError(f"audit log has no entry at seq {expected}")
        yield _stored_hash(seq, hashed)
        expected += 1
    if expected != end:
        raise LogIntegrityError(f"audit log has no entry at seq {expected}")


def leaf_hash_batches(connection: Connection, start: int, end: int) -> Iterator[list[bytes]]:
    """The stored leaf hashes of seq start..end-1 in lists of `merkle.BATCH` (the last may be
    shorter), for `merkle.root_of_batches`; LogIntegrityError at the first gap."""
    batch = merkle.BATCH
    query = (
        select(audit_entries.c.seq, audit_entries.c.leaf_hash)
        .where(audit_entries.c.seq >= start, audit_entries.c.seq < end)
        .order_by(audit_entries.c.seq)
        .execution_options(yield_per=batch)
    )
    expected = start
    for rows in connection.execute(query).partitions(batch):
        # Seqs are unique and ordered: first and last in place means none missing between.
        if rows[0][0] != expected or rows[-1][0] != expected + len(rows) - 1:
            missing = next(expected + i for i, row in enumerate(rows) if row[0] != expected + i)
            raise LogIntegrityError(f"audit log has no entry at seq {missing}")
        yield [_stored_hash(row[0], row[1]) for row in rows]
        expected += len(rows)
    if expected != end:
        raise LogIntegrityError(f"audit log has no entry at seq {expected}")


def list_entries(
    connection: Connection,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    actor_id: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
    newest_first: bool = False,
) -> list[AuditEntry]:
    """Entries matching every given filter (`since` inclusive, `until` exclusive), by seq;
    LogIntegrityError naming the seq if one holds a value of the wrong type."""
    if not 1 <= limit <= 10_000 or offset < 0:
        raise ValueError("limit must be 1..10000 and offset >= 0")
    query = _filtered(
        select(*RAW_ENTRY),
        object_type=object_type,
        object_id=object_id,
        actor_id=actor_id,
        action=action,
        outcome=outcome,
        since=since,
        until=until,
    )
    order = audit_entries.c.seq.desc() if newest_first else audit_entries.c.seq
    rows = connection.execute(query.order_by(order).limit(limit).offset(offset))
    return [_entry(row._mapping) for row in rows]


def count_entries(
    connection: Connection,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    actor_id: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> int:
    """How many entries `list_entries` would page through with the same filters."""
    query = _filtered(
        select(func.count()).select_from(audit_entries),
        object_type=object_type,
        object_id=object_id,
        actor_id=actor_id,
        action=action,
        outcome=outcome,
        since=since,
        until=until,
    )
    return int(connection.execute(query).scalar_one())


def _filtered(
    query: Select[Any],
    *,
    object_type: str | None,
    object_id: str | None,
    actor_id: str | None,
    action: str | None,
    outcome: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Select[Any]:
    columns = audit_entries.c
    equal = {
        columns.object_type: object_type,
        columns.object_id: object_id,
        columns.actor_id: actor_id,
        columns.action: action,
        columns.outcome: outcome,
    }
    for column, value in equal.items():
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(columns.created_at >= utc_moment(since))
    if until is not None:
        query = query.where(columns.created_at < utc_moment(until))
    return query


def _entry(row: RowMapping) -> AuditEntry:
    seq = int(row["seq"])
    columns = tuple(row[name] for name in ENTRY_COLUMNS)
    wrong = wrong_entry_types(row["leaf"], row["leaf_hash"], columns)
    if wrong:
        raise LogIntegrityError(entry_message(seq, wrong))
    created_at = stored_time(row["created_at"])
    assert created_at is not None  # checked above
    return AuditEntry(
        seq=seq,
        created_at=created_at,
        actor_role=row["actor_role"],
        actor_id=row["actor_id"],
        action=row["action"],
        object_type=row["object_type"],
        object_id=row["object_id"],
        outcome=row["outcome"],
        details=MappingProxyType(json.loads(row["details"])),
        leaf_hash=bytes(row["leaf_hash"]),
    )


def require_readable(connection: Connection) -> None:
    """LogIntegrityError naming the first stored value of the wrong type, if there is one: what
    `audit checkpoint` and `export_log` check before they sign or write anything."""
    problems = [message for _seq, message in value_problems(connection)]
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise LogIntegrityError(f"{problems[0]}{more}; `pks-gateway audit verify` lists them")


def _stored_hash(seq: int, value: object) -> bytes:
    hashed = binary(value)
    if hashed is None or len(hashed) != merkle.HASH_SIZE:
        raise LogIntegrityError(f"audit entry seq {seq}: leaf_hash is not a 32-byte hash")
    return hashed
