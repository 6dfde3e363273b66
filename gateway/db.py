"""The metadata database: engine creation and Alembic migrations run from code.

The metadata database holds the gateway's own records (requests, agreements, audit log,
deliveries); the Dukcapil source database is a different thing, opened read-only elsewhere.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, Select, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from agreements.errors import SafeError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def metadata_engine(url: str) -> Engine:
    """An engine for the metadata database, with SQLite made to behave like a server database.

    A SQLite file that does not exist yet is created empty with mode 0600 first, where SQLite
    would make it readable by everyone the umask allows (its -wal and -shm files take the
    database file's mode)."""
    parsed = make_url(url)
    engine = create_engine(url, future=True)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        if parsed.database and parsed.database != ":memory:" and not parsed.query.get("uri"):
            _create_private(Path(parsed.database))
    return engine


def _create_private(path: Path) -> None:
    if not path.parent.is_dir():
        return  # SQLite will say that it cannot open the file
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    # Foreign keys are off by default in SQLite; WAL lets the web process read while a job writes.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


# The newest migration. `is_current` compares the database's recorded revision with it, so that
# no command but `init` imports Alembic (~0.15 s at every start);
# tests/gateway/test_migrations.py holds it to Alembic's own head.
HEAD_REVISION = "0010_notices"


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


class MetadataUnavailable(SafeError):
    """The metadata database cannot be reached or opened (the message names it, password hidden,
    and the driver's first line: a connection error, never a stored value)."""


@contextmanager
def reachable(engine: Engine) -> Iterator[None]:
    """Turn a connection failure into MetadataUnavailable naming the database."""
    try:
        yield
    except OperationalError as error:
        lines = str(error.orig or error).strip().splitlines()
        reason = lines[0] if lines else type(error).__name__
        url = engine.url.render_as_string(hide_password=True)
        raise MetadataUnavailable(f"cannot use the metadata database {url}: {reason}") from None


def upgrade(engine: Engine) -> str | None:
    """Bring the schema to the newest revision; return that revision (None if there is none)."""
    from alembic import command

    with reachable(engine):
        command.upgrade(alembic_config(engine), "head")
        return current_revision(engine)


def current_revision(engine: Engine) -> str | None:
    """The revision Alembic recorded in the database (None before the first migration)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        found = connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
        revisions = list(found)
    return revisions[0] if len(revisions) == 1 else None


def head_revision(engine: Engine) -> str | None:
    """Alembic's own head, read from the migration scripts (imports Alembic)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def is_current(engine: Engine) -> bool:
    """Whether the metadata database is at the newest migration (MetadataUnavailable if it
    cannot be reached)."""
    with reachable(engine):
        return current_revision(engine) == HEAD_REVISION


def for_update(connection: Connection, query: Select[Any]) -> Select[Any]:
    """`query` made to hold the rows it reads until the transaction ends, so that what is read
    next stays true until it commits: `SELECT ... FOR UPDATE` on PostgreSQL and MariaDB; on
    SQLite, which locks the whole database, an immediate transaction, begun before anything is
    read (or it could read a snapshot another writer has already outdated)."""
    if connection.dialect.name != "sqlite":
        return query.with_for_update()
    if not connection.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    return query
