"""Opening the Dukcapil source database, read-only, whatever its backend.

The gateway never writes to the population database: read-only is enforced by the connection
itself (SQLite `mode=ro`, PostgreSQL `default_transaction_read_only`, MariaDB `SESSION TRANSACTION
READ ONLY`), so a bug in generated SQL cannot change a citizen's record.

A delivery (or a preview) opens the source once, as a `Source`, and passes it down to every read
it makes: the stream, the pre-counts, the code tables, the mapping check.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.pool import NullPool

from agreements.errors import SafeError


class SourceUnavailable(SafeError, RuntimeError):
    """The source database cannot be opened or queried; the message names it (password hidden)."""


class SourceQueryError(SafeError, RuntimeError):
    """The source database refused the query; the message names the error class only."""


def redacted(url: str | URL) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


class Source(AbstractContextManager["Source"]):
    """The source database as one delivery holds it: its URL, parsed and checked once, and one
    read-only engine that every SQLAlchemy read of the delivery shares. The engine keeps no idle
    connection (NullPool): a read takes a connection for as long as it runs, since the stream and
    the pre-counts run at once in two threads, and a source that the database administrator sees
    holds exactly the connections that are reading. The record-batch readers open their ADBC
    connections from `url` (exports.reading.readers)."""

    def __init__(self, url: URL, engine: Engine) -> None:
        self.url = url
        self.engine = engine

    @classmethod
    def open(cls, url: str | URL) -> Source:
        """Open the source at `url` read-only, checked with one round trip (SourceUnavailable
        naming it, its password hidden, if that fails)."""
        parsed = parse_source_url(url)
        return cls(parsed, open_source(parsed, pooled=False))

    @property
    def backend(self) -> str:
        return self.url.get_backend_name()

    def close(self) -> None:
        self.engine.dispose()

    def __exit__(self, *_exc: object) -> None:
        self.close()


def parse_source_url(url: str | URL) -> URL:
    if isinstance(url, URL):
        return url
    try:
        return make_url(url)
    except ArgumentError:
        raise SourceUnavailable("the source URL is not a SQLAlchemy database URL") from None


def open_source(url: str | URL, *, pooled: bool = True) -> Engine:
    """A read-only engine on the source database, checked with one round trip; without `pooled`,
    one that keeps no connection open between uses."""
    parsed = parse_source_url(url)
    backend = parsed.get_backend_name()
    pool: dict[str, Any] = {} if pooled else {"poolclass": NullPool}
    try:
        if backend == "sqlite":
            engine = _sqlite_read_only(parsed, pool)
        elif backend == "postgresql":
            engine = create_engine(
                parsed, connect_args={"options": "-c default_transaction_read_only=on"}, **pool
            )
        else:
            engine = create_engine(parsed, **pool)
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


def _sqlite_read_only(url: URL, pool: dict[str, Any]) -> Engine:
    path = url.database
    if not path or path == ":memory:":
        raise SourceUnavailable("an in-memory SQLite database cannot be a source")
    if not Path(path).is_file():
        # mode=ro refuses to create the file; the check only gives a clearer message.
        raise SourceUnavailable(f"cannot open source database {redacted(url)}: no such file")

    def connect() -> sqlite3.Connection:
        # mode=ro also refuses to create a missing file, so a wrong path fails instead of
        # silently opening an empty database.
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)

    return create_engine("sqlite://", creator=connect, **pool)


def _mysql_read_only(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("SET SESSION TRANSACTION READ ONLY")
    cursor.close()
