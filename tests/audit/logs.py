"""Audit logs to test against: the log origin, a SQLite database with the audit tables, and a
varied series of entries to append (`add`, `fill`). The `engine` fixture of tests/audit/conftest.py
opens one on SQLite or PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event

from audit import log
from audit.schema import metadata

ORIGIN = "paserkab.go.id/pks-gateway/audit"


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def sqlite_engine(path: Path) -> Engine:
    """A SQLite file at `path` with the audit tables, in WAL mode with a busy timeout."""
    engine = create_engine(f"sqlite:///{path}")
    event.listen(engine, "connect", _sqlite_pragmas)
    metadata.create_all(engine)
    return engine


START = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


def add(connection: Connection, i: int, **overrides: object) -> log.AppendedEntry:
    """Append the `i`th of a varied series of entries (actors, actions, outcomes, a minute apart
    from START), with `overrides`."""
    fields: dict[str, object] = {
        "actor_role": "officer" if i % 2 else "system",
        "actor_id": f"user-{i % 3}",
        "action": "delivery.published" if i % 3 else "agreement.transition",
        "object_type": "agreement",
        "object_id": f"PKS-2025-{i % 4:03d}",
        "outcome": "refused" if i % 5 == 0 else "ok",
        "details": {"step": i, "fields": ["nik", "nama_lgkp"]},
        "now": START + timedelta(minutes=i),
    }
    fields.update(overrides)
    return log.append(connection, **fields)  # type: ignore[arg-type]


def fill(engine: Engine, count: int) -> None:
    """Append the first `count` entries of the series, in one transaction."""
    with engine.begin() as connection:
        for i in range(count):
            add(connection, i)
