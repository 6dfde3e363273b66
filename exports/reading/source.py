"""Opening the Dukcapil source database, read-only, whatever its backend.

The gateway never writes to the population database: read-only is enforced by the connection
itself (SQLite `mode=ro`, PostgreSQL `default_transaction_read_only`, MariaDB `SESSION TRANSACTION
READ ONLY`), so a bug in generated SQL cannot change a citizen's record.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from agreements.errors import SafeError


class SourceUnavailable(SafeError, RuntimeError):
    """The source database cannot be opened or queried; the message names it (password hidden)."""


def redacted(url: str | URL) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def open_source(url: str) -> Engine:
    """A read-only engine on the source database, checked with one round trip."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise SourceUnavailable("the source URL is not a SQLAlchemy database URL") from None
    backend = parsed.get_backend_name()
    try:
        if backend == "sqlite":
            engine = _sqlite_read_only(parsed)
        elif backend == "postgresql":
            engine = create_engine(
                parsed, connect_args={"options": "-c default_transaction_read_only=on"}
            )
        else:
            engine = create_engine(parsed)
            if backend in ("mysql", "mariadb"):
                event.listen(engine, "connect", _mysql_read_only)
    except NoSuchModuleError:
        raise SourceUnavailable(f"no database driver for source {redacted(parsed)}") from None
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except DBAPIError as exc:
        engine.dispose()
        raise SourceUnavailable(
            f"cannot open source database {redacted(parsed)}: {_reason(exc, parsed)}"
        ) from None
    return engine


def _reason(exc: DBAPIError, url: URL) -> str:
    # The driver's first line says what went wrong (no such file, host, database, role); it is
    # about the connection, never about population data. A password is scrubbed all the same.
    line = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else "error"
    return line.replace(url.password, "***") if url.password else line


def _sqlite_read_only(url: URL) -> Engine:
    path = url.database
    if not path or path == ":memory:":
        raise SourceUnavailable("an in-memory SQLite database cannot be a source")

    def connect() -> sqlite3.Connection:
        # mode=ro also refuses to create a missing file, so a wrong path fails instead of
        # silently opening an empty database.
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)

    return create_engine("sqlite://", creator=connect)


def _mysql_read_only(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("SET SESSION TRANSACTION READ ONLY")
    cursor.close()
