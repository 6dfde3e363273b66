"""Reading a SELECT from the source as a stream of Arrow record batches, whatever the backend.

`read_batches` is the one interface, reading from a `Source` the delivery opened once
(exports.reading.source). SQLite and PostgreSQL go through ADBC, each stream on a connection of its
own, which hands back Arrow batches straight from the driver (DESIGN.md §6: ≈ 8× the rows/s of
pandas.read_sql at a sixteenth of the memory); any other backend (MariaDB) streams rows through the
source's SQLAlchemy engine (`stream_results`, `partitions`) into Arrow. The query is compiled for
the backend with bind parameters in the driver's style, except on PostgreSQL where SQLAlchemy
renders them as quoted literals (ADBC streams only unparameterised queries; see
`_postgres_literal_sql`); no value is ever put into SQL text by string formatting. Every connection
is read-only.

Errors keep to what is safe to log (DESIGN.md §1): SourceUnavailable when the database cannot be
reached or the connection breaks mid-stream (URL shown without its password), SourceQueryError when
it refuses the query; neither repeats driver text, which can quote the SQL or a value.
"""

from __future__ import annotations

import contextlib
import datetime
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import adbc_driver_manager
import adbc_driver_postgresql.dbapi
import adbc_driver_sqlite.dbapi
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine, Select, Text, cast, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Dialect
from sqlalchemy.exc import DBAPIError

from exports.reading.batch_shape import SourceValueError, conform
from exports.reading.source import Source, SourceQueryError, SourceUnavailable, redacted

DEFAULT_BATCH_ROWS = 65_536  # DESIGN.md §6: ADBC's default 1,024 rows make Parquet slower
# SQLite stands in for NULL with this while ADBC infers types (see `_sqlite_text_guard`); no
# real name, address or date contains a NUL character.
NUL = "\x00"
_TEXT_TYPES = (pa.string(), pa.date32())
# PostgreSQL: class 08 connection exception, 57P operator intervention (server shut down).
_CONNECTION_SQLSTATES = ("08", "57P")
_SQLSTATE = re.compile(r"SQLSTATE: ([0-9A-Z]{5})")
_SERVER_ERROR = re.compile(r"\bERROR: ")


def read_batches(
    source: Source, query: Select[Any], schema: pa.Schema, batch_rows: int = DEFAULT_BATCH_ROWS
) -> Iterator[pa.RecordBatch]:
    """`query`'s rows from `source`, as batches cast to `schema`."""
    if batch_rows < 1:
        raise ValueError("batch_rows must be positive")
    if source.backend == "sqlite":
        raw = _sqlite_batches(source.url, query, schema, batch_rows)
    elif source.backend == "postgresql":
        raw = _postgres_batches(source.url, query, batch_rows)
    else:
        raw = _sqlalchemy_batches(source.engine, query, batch_rows)
    for batch in raw:
        if batch.num_rows:
            yield conform(batch, schema)


def fetch_all(engine: Engine, query: Select[Any]) -> list[tuple[Any, ...]]:
    """All rows of a small query (counts) through SQLAlchemy, with this module's errors."""
    with _sqlalchemy_errors(engine.url), engine.connect() as connection:
        return [tuple(row) for row in connection.execute(query)]


# --- SQLite (ADBC) ---------------------------------------------------------------------------


def _sqlite_batches(
    url: URL, query: Select[Any], schema: pa.Schema, batch_rows: int
) -> Iterator[pa.RecordBatch]:
    path = url.database
    if not path or path == ":memory:":
        raise SourceUnavailable("an in-memory SQLite database cannot be a source")
    if not Path(path).is_file():
        # mode=ro refuses to create the file; the check only gives a clearer message.
        raise SourceUnavailable(f"cannot open source database {redacted(url)}: no such file")
    texts = {f.name for f in schema if f.type in _TEXT_TYPES}
    guarded = _sqlite_text_guard(query, texts)
    sql, params = _positional(guarded, sqlite.dialect(paramstyle="qmark"))
    # SQLite keeps dates as ISO text (SQLAlchemy's convention); ADBC would bind a date32.
    params = [v.isoformat() if isinstance(v, datetime.date) else v for v in params]
    try:
        connection = adbc_driver_sqlite.dbapi.connect(f"file:{quote(path)}?mode=ro")
    except adbc_driver_manager.Error as exc:
        raise SourceUnavailable(
            f"cannot open source database {redacted(url)}: {_first_line(exc)}"
        ) from None
    cursor = reader = None
    try:
        cursor = connection.cursor()
        cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(batch_rows)})
        reader = _execute(cursor, sql, params, url)
        for batch in _stream(reader, url):
            yield _sqlite_nulls(batch, texts)
    finally:
        _close(reader, cursor, connection)


def _sqlite_text_guard(query: Select[Any], texts: set[str]) -> Select[Any]:
    """The query with every text and date column never NULL: NULLs become NUL.

    ADBC's SQLite driver guesses a column's type from the first batch: a column NULL throughout
    it becomes int64 and the first text value after fails the read. A NUL character is always
    text, and `_sqlite_nulls` turns it back into NULL. CAST AS TEXT also makes RT/RW (SMALLINT)
    the catalog's strings.
    """
    inner = query.subquery("extracted")
    return select(
        *(
            func.coalesce(cast(c, Text), func.char(0)).label(c.name) if c.name in texts else c
            for c in inner.c
        )
    )


def _sqlite_nulls(batch: pa.RecordBatch, texts: set[str]) -> pa.RecordBatch:
    arrays = []
    for name, array in zip(batch.schema.names, batch.columns, strict=True):
        if name in texts and pa.types.is_string(array.type):
            array = pc.if_else(pc.equal(array, NUL), pa.scalar(None, pa.string()), array)
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


# --- PostgreSQL (ADBC) -----------------------------------------------------------------------


def _postgres_batches(url: URL, query: Select[Any], batch_rows: int) -> Iterator[pa.RecordBatch]:
    sql = _postgres_literal_sql(query)
    try:
        connection = adbc_driver_postgresql.dbapi.connect(_libpq_uri(url))
    except adbc_driver_manager.Error as exc:
        raise SourceUnavailable(
            f"cannot open source database {redacted(url)}: {_first_line(exc, url)}"
        ) from None
    cursor = reader = None
    try:
        cursor = connection.cursor()
        reader = _execute(cursor, sql, (), url)
        # The driver sizes batches by bytes; slicing keeps them near what the caller asked for.
        for batch in _stream(reader, url):
            for start in range(0, batch.num_rows, batch_rows):
                yield batch.slice(start, batch_rows)
    finally:
        _close(reader, cursor, connection)


def _postgres_literal_sql(query: Select[Any]) -> str:
    """The query with its values rendered as SQL literals by SQLAlchemy.

    Why not bind: ADBC's PostgreSQL driver streams a result only through COPY, which takes no
    parameters; a parameterised query runs as a prepared statement whose whole result libpq
    holds in memory before the first batch (measured: a 200-million-row query never yielded
    one). The values are ints, dates, and strings from a validated scope or the catalog;
    SQLAlchemy doubles quotes in strings, and the session forces standard_conforming_strings
    on, so a backslash is an ordinary character and nothing can end a literal early.
    """
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    dialect._backslash_escapes = False  # matches standard_conforming_strings=on below
    for value in query.compile(dialect=dialect).params.values():
        listed = value if isinstance(value, list | tuple) else [value]
        if any(isinstance(v, str) and NUL in v for v in listed):
            raise ValueError("a filter value contains a NUL character")  # PostgreSQL has none
    compiled = query.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
    return str(compiled)


def _libpq_uri(url: URL) -> str:
    base = URL.create(
        "postgresql",
        username=url.username,
        password=url.password,
        host=url.host,
        port=url.port,
        database=url.database,
    ).render_as_string(hide_password=False)
    # The session itself refuses writes, as `exports.reading.source.open_source` does for
    # SQLAlchemy; standard strings keep the rendered literals exact (see `_postgres_literal_sql`).
    options = "-c default_transaction_read_only=on -c standard_conforming_strings=on"
    query = {**url.query, "options": options}
    return f"{base}?{urlencode(query, doseq=True, quote_via=quote)}"


# --- ADBC, both drivers ----------------------------------------------------------------------


def _positional(query: Select[Any], dialect: Dialect) -> tuple[str, list[Any]]:
    """SQL text with positional bind markers, and the values in marker order."""
    compiled = query.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.params
    return str(compiled), [params[name] for name in compiled.positiontup or ()]


def _execute(cursor: Any, sql: str, params: Sequence[Any], url: URL) -> pa.RecordBatchReader:
    try:
        cursor.execute(sql, list(params) or None)
        reader: pa.RecordBatchReader = cursor.fetch_record_batch()
    except adbc_driver_manager.Error as exc:
        raise _adbc_error(exc, url) from None
    return reader


def _close(*resources: Any) -> None:
    """Close reader, cursor and connection in that order (ADBC refuses any other); after a
    broken stream a close may fail too, which must not hide the error being raised."""
    for resource in resources:
        if resource is not None:
            with contextlib.suppress(adbc_driver_manager.Error, OSError, RuntimeError):
                resource.close()


def _stream(reader: pa.RecordBatchReader, url: URL) -> Iterator[pa.RecordBatch]:
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except (OSError, pa.ArrowException, adbc_driver_manager.Error) as exc:
            raise _stream_error(exc, url) from None
        yield batch


def _stream_error(exc: Exception, url: URL) -> Exception:
    message = str(exc)
    if "Type mismatch" in message:
        # SQLite storing text in a numeric column; the driver's message has no value.
        return SourceValueError(
            "the source holds values of different types in one requested column"
        )
    # PostgreSQL reports a failing COPY while streaming: a server ERROR refuses the query, a
    # FATAL or a closed socket ends the connection. Only the SQLSTATE, if any, is passed on.
    found = _SQLSTATE.search(message)
    refused = found and not found.group(1).startswith(_CONNECTION_SQLSTATES)
    if refused or (not found and _SERVER_ERROR.search(message)):
        code = f" (SQLSTATE {found.group(1)})" if found else ""
        return SourceQueryError(f"the source refused the extraction query{code}")
    state = f", SQLSTATE {found.group(1)}" if found else ""
    return SourceUnavailable(
        f"reading from source database {redacted(url)} broke off ({type(exc).__name__}{state})"
    )


def _adbc_error(exc: adbc_driver_manager.Error, url: URL) -> Exception:
    sqlstate = getattr(exc, "sqlstate", None) or ""
    if sqlstate.startswith(_CONNECTION_SQLSTATES):
        return SourceUnavailable(f"lost the source database {redacted(url)} (SQLSTATE {sqlstate})")
    state = f", SQLSTATE {sqlstate}" if sqlstate else ""
    return SourceQueryError(
        f"the source refused the extraction query ({type(exc).__name__}{state})"
    )


def _first_line(exc: Exception, url: URL | None = None) -> str:
    # Connection errors say what failed (file, host, role); a password is scrubbed all the same.
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    if url is not None and url.password:
        line = line.replace(url.password, "***").replace(quote(url.password, safe=""), "***")
    return line


# --- Any other backend (SQLAlchemy) ----------------------------------------------------------


def _sqlalchemy_batches(
    engine: Engine, query: Select[Any], batch_rows: int
) -> Iterator[pa.RecordBatch]:
    with _sqlalchemy_errors(engine.url), engine.connect() as connection:
        result = connection.execution_options(stream_results=True, yield_per=batch_rows).execute(
            query
        )
        names = list(result.keys())
        for rows in result.partitions(batch_rows):
            columns = list(zip(*rows, strict=True))
            yield pa.RecordBatch.from_arrays(
                [_array(values, name) for values, name in zip(columns, names, strict=True)],
                names=names,
            )


def _array(values: Sequence[Any], name: str) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        raise SourceValueError(f"the source holds values of mixed types for {name}") from None


@contextlib.contextmanager
def _sqlalchemy_errors(url: URL) -> Iterator[None]:
    try:
        yield
    except DBAPIError as exc:
        # SQLAlchemy's text repeats the statement and its parameters: never pass it on.
        if exc.connection_invalidated:
            raise SourceUnavailable(
                f"lost the source database {redacted(url)} ({type(exc.orig).__name__})"
            ) from None
        raise SourceQueryError(
            f"the source refused the extraction query ({type(exc.orig).__name__})"
        ) from None
