"""The audit tables' values as the database hands them back, and which are of the wrong type.

The metadata database is not trusted (DESIGN.md 3a): someone editing it can write text where bytes
belong, a word or a fraction where a size belongs (SQLite keeps whatever it is given), a time
nobody can read, or details that are not JSON. Readers take values as stored, without
SQLAlchemy's conversions (which fail on such values with a TypeError or ValueError), and check
them here; `value_problems` lists every one, naming the seq or the checkpoint id and the column,
never the value.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, String, select, type_coerce

from audit.entry import FIELD_LIMITS
from audit.schema import audit_checkpoints, audit_entries, audit_head

# The stored copies of an entry's fields, in the order the checks below take them.
ENTRY_COLUMNS = ("created_at", *FIELD_LIMITS, "details")
_WHAT_IT_IS_NOT = {
    "leaf": "bytes",
    "leaf_hash": "bytes",
    "root_hash": "bytes",
    "created_at": "a time",
    "details": "a JSON object",
    "note": "text",
    "tree_size": "a whole number",
}
# Rows as stored: created_at without SQLAlchemy's DateTime conversion, which fails on bad text.
_RAW_CREATED_AT = type_coerce(audit_entries.c.created_at, String).label("created_at")
RAW_ENTRY = tuple(
    _RAW_CREATED_AT if column.name == "created_at" else column for column in audit_entries.c
)
HEAD = select(audit_head.c.tree_size).where(audit_head.c.id == 1)
_RAW_CHECKPOINT = (
    audit_checkpoints.c.id,
    audit_checkpoints.c.tree_size,
    audit_checkpoints.c.root_hash,
    audit_checkpoints.c.note,
    type_coerce(audit_checkpoints.c.created_at, String),
)


def as_utc(moment: datetime) -> datetime:
    """A stored time as aware UTC: SQLite hands back naive datetimes of what was stored in UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def stored_time(value: object) -> datetime | None:
    """A stored created_at as aware UTC: a datetime (PostgreSQL) or the text SQLite keeps; None
    if it is neither."""
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, str):
        try:
            return as_utc(datetime.fromisoformat(value))
        except ValueError:
            return None
    return None


def is_count(value: object) -> bool:
    """A tree size as stored: a whole number (SQLite keeps '12', 2.5 or 'many' as given)."""
    return type(value) is int and value >= 0


def binary(value: object) -> bytes | None:
    """Stored bytes (bytes, or a buffer a driver returns) as bytes; None for anything else."""
    if type(value) is bytes:
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    return None


def wrong_entry_types(leaf: object, leaf_hash: object, columns: Sequence[object]) -> list[str]:
    """The columns of one stored entry that hold a value of the wrong type (`columns` are the
    stored copies in ENTRY_COLUMNS order); empty if none."""
    wrong = [
        name for name, value in (("leaf", leaf), ("leaf_hash", leaf_hash)) if binary(value) is None
    ]
    return wrong + wrong_column_types(columns)


def wrong_column_types(columns: Sequence[object]) -> list[str]:
    """Of an entry's stored copies (ENTRY_COLUMNS order), those of the wrong type."""
    wrong = [] if stored_time(columns[0]) is not None else ["created_at"]
    wrong += [
        name
        for name, value in zip(ENTRY_COLUMNS[1:-1], columns[1:-1], strict=True)
        if type(value) is not str
    ]
    if not _json_object(columns[-1]):
        wrong.append("details")
    return wrong


def wrong_checkpoint_types(
    tree_size: object, root_hash: object, note: object, created_at: object
) -> list[str]:
    """The columns of one stored checkpoint that hold a value of the wrong type."""
    checks = (
        ("tree_size", is_count(tree_size)),
        ("root_hash", binary(root_hash) is not None),
        ("note", isinstance(note, str)),
        ("created_at", stored_time(created_at) is not None),
    )
    return [name for name, good in checks if not good]


def entry_message(seq: int, wrong: Sequence[str]) -> str:
    return f"audit entry seq {seq}: {', '.join(_wrong(name) for name in wrong)}"


def checkpoint_message(checkpoint_id: object, wrong: Sequence[str]) -> str:
    return f"checkpoint {checkpoint_id}: {', '.join(_wrong(name) for name in wrong)}"


def head_message() -> str:
    return f"the audit head: {_wrong('tree_size')}"


def raw_checkpoints(connection: Connection) -> list[tuple[Any, ...]]:
    """Every checkpoint row as stored: (id, tree_size, root_hash, note, created_at), by id."""
    query = select(*_RAW_CHECKPOINT).order_by(audit_checkpoints.c.id)
    return [tuple(row) for row in connection.execute(query)]


def checkpoint_problems(connection: Connection) -> list[str]:
    """The head's and the checkpoints' values of the wrong type, as messages (a few rows: cheap,
    for what reads only those, such as a proof)."""
    problems = []
    head = connection.execute(HEAD).scalar_one_or_none()
    if head is not None and not is_count(head):
        problems.append(head_message())
    for checkpoint_id, *values in raw_checkpoints(connection):
        wrong = wrong_checkpoint_types(*values)
        if wrong:
            problems.append(checkpoint_message(checkpoint_id, wrong))
    return problems


def value_problems(connection: Connection) -> Iterator[tuple[int | None, str]]:
    """Every stored value of the wrong type, as (seq or None, message): the head, then the
    checkpoints by id, then the entries by seq. One pass over the entries."""
    for message in checkpoint_problems(connection):
        yield None, message
    query = (
        select(
            audit_entries.c.seq,
            audit_entries.c.leaf,
            audit_entries.c.leaf_hash,
            *(
                _RAW_CREATED_AT if name == "created_at" else audit_entries.c[name]
                for name in ENTRY_COLUMNS
            ),
        )
        .order_by(audit_entries.c.seq)
        .execution_options(yield_per=5000)
    )
    for seq, leaf, leaf_hash, *columns in connection.execute(query):
        wrong = wrong_entry_types(leaf, leaf_hash, columns)
        if wrong:
            yield seq, entry_message(seq, wrong)


def _json_object(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return isinstance(json.loads(value), dict)
    except ValueError:
        return False


def _wrong(name: str) -> str:
    return f"{name} is not {_WHAT_IT_IS_NOT.get(name, 'text')}"
