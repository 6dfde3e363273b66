"""Batch readers: ADBC on SQLite and PostgreSQL, SQLAlchemy streaming on MariaDB. Types cast to the
request's schema whatever the driver guessed, read-only sessions, and errors that name the source
(password hidden) or the element, never a value."""

from __future__ import annotations

import dataclasses
import datetime
import gc
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import column, create_engine, func, literal_column, select, table, text, update
from sqlalchemy.engine import make_url

from agreements.catalog import load_catalog
from agreements.scope import Predicate, RowFilter
from demo_dukcapil.database import BIODATA_WNI, build_demo_source
from exports.reading.batch_shape import SourceValueError
from exports.reading.extract import SourceMappingError, extract
from exports.reading.query import ColumnRequest, ExtractionRequest
from exports.reading.readers import read_batches
from exports.reading.source import Source, SourceQueryError, SourceUnavailable
from exports.reading.source_mapping import load_source_mapping
from tests.services import SERVER_PARAMS, scratch_database, server_url

REPO = Path(__file__).resolve().parents[3]
CATALOG_FILE = REPO / "config" / "catalog.toml"
REGIONS = REPO / "config" / "wilayah_paser.csv"
CATALOG = load_catalog(CATALOG_FILE)
MAPPING = load_source_mapping(CATALOG_FILE)
EVERYONE = RowFilter(None, 0, 150, False, False, True)
AS_OF = datetime.date(2025, 1, 15)

ODD = table("ODD", column("NOTE"), column("BORN"), column("RT"), column("N"))
ODD_SCHEMA = pa.schema(
    [("note", pa.string()), ("born", pa.date32()), ("rt", pa.string()), ("n", pa.int32())]
)
ODD_QUERY = select(
    ODD.c.NOTE.label("note"), ODD.c.BORN.label("born"), ODD.c.RT.label("rt"), ODD.c.N.label("n")
)


def odd_rows() -> list[tuple[Any, ...]]:
    """A first stretch where text and dates are NULL, then values: ADBC guesses from the first."""
    rows: list[tuple[Any, ...]] = [(None, None, None, None)] * 150
    rows += [(f"catatan {i}", f"2000-02-{i % 29 + 1:02d}", i % 30, i) for i in range(150)]
    return rows


@pytest.fixture
def odd_sqlite(tmp_path: Path) -> str:
    path = tmp_path / "odd.db"
    connection = sqlite3.connect(path)
    connection.execute(
        'CREATE TABLE "ODD" ("NOTE" VARCHAR(20), "BORN" DATE, "RT" SMALLINT, "N" INT)'
    )
    connection.executemany('INSERT INTO "ODD" VALUES (?, ?, ?, ?)', odd_rows())
    connection.commit()
    connection.close()
    return f"sqlite:///{path}"


def read(url: str, query: Any, schema: pa.Schema, **options: Any) -> list[pa.RecordBatch]:
    with Source.open(url) as source:
        return list(read_batches(source, query, schema, **options))


def test_sqlite_types_hold_after_an_all_null_first_batch(odd_sqlite: str) -> None:
    batches = read(odd_sqlite, ODD_QUERY, ODD_SCHEMA, batch_rows=64)
    assert [b.num_rows for b in batches] == [64, 64, 64, 64, 44]
    assert all(b.schema.equals(ODD_SCHEMA) for b in batches)
    assert batches[0].column("note").null_count == 64  # the case ADBC alone gets wrong
    got = pa.Table.from_batches(batches).to_pylist()
    expected = [
        {
            "note": note,
            "born": None if born is None else datetime.date.fromisoformat(born),
            "rt": None if rt is None else str(rt),
            "n": n,
        }
        for note, born, rt, n in odd_rows()
    ]
    assert got == expected


def test_a_value_that_does_not_fit_is_not_quoted(tmp_path: Path) -> None:
    path = tmp_path / "bad.db"
    connection = sqlite3.connect(path)
    connection.execute('CREATE TABLE "ODD" ("NOTE" TEXT, "BORN" DATE, "RT" SMALLINT, "N" INT)')
    connection.execute("INSERT INTO \"ODD\" VALUES ('x', '1999-02-30', 1, 1)")
    connection.commit()
    connection.close()
    with pytest.raises(SourceValueError) as caught:
        read(f"sqlite:///{path}", ODD_QUERY, ODD_SCHEMA)
    assert "born" in str(caught.value) and "1999" not in str(caught.value)


def test_sqlite_source_is_opened_read_only(odd_sqlite: str) -> None:
    # SQLite has no writing SELECT; the URI's mode=ro is shown by a missing file not being made.
    missing = odd_sqlite.replace("odd.db", "nothing-here.db")
    with pytest.raises(SourceUnavailable, match="no such file"):
        read(missing, ODD_QUERY, ODD_SCHEMA)
    assert not Path(make_url(missing).database or "").exists()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://pks:s3cr3t-pw@127.0.0.1:1/source",
        "mysql+pymysql://pks:s3cr3t-pw@127.0.0.1:1/source",
    ],
    ids=["postgresql", "mariadb"],
)
def test_unreachable_source_hides_the_password(url: str) -> None:
    with pytest.raises(SourceUnavailable) as caught:
        read(url, ODD_QUERY, ODD_SCHEMA)
    message = str(caught.value)
    assert "s3cr3t-pw" not in message and "***" in message and "127.0.0.1" in message


def broken_mapping() -> ExtractionRequest:
    agama = dataclasses.replace(MAPPING.element("agama"), column="AGAMA_LAMA")
    mapping = dataclasses.replace(
        MAPPING, elements=tuple(agama if s.key == "agama" else s for s in MAPPING.elements)
    )
    columns = (ColumnRequest("nik"), ColumnRequest("agama"), ColumnRequest("nama_lengkap"))
    return ExtractionRequest(CATALOG, mapping, columns, EVERYONE, AS_OF)


@pytest.fixture(scope="module")
def demo_sqlite(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('readers') / 'demo.db'}"
    build_demo_source(url, rows=300, seed=3, regions_csv=REGIONS, today=AS_OF)
    return url


def assert_names_the_element(url: str) -> None:
    source = Source.open(url)
    with pytest.raises(SourceMappingError) as caught:
        list(extract(source, broken_mapping()))
    assert caught.value.mismatches == ["elements.agama.source: no column BIODATA_WNI.AGAMA_LAMA"]
    assert "SELECT" not in str(caught.value)
    good = dataclasses.replace(broken_mapping(), mapping=MAPPING)
    some = next(extract(source, good)).to_pylist()[0]
    source.close()
    assert some["nik"] not in str(caught.value) and some["nama_lengkap"] not in str(caught.value)


def test_a_mapping_naming_a_missing_column_names_the_element(demo_sqlite: str) -> None:
    assert_names_the_element(demo_sqlite)


@pytest.fixture(scope="module", params=SERVER_PARAMS)
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    with scratch_database(server_url(request.param), "pks_readers_test") as url:
        build_demo_source(url, rows=300, seed=3, regions_csv=REGIONS, today=AS_OF)
        yield request.param, url


def test_a_server_mapping_naming_a_missing_column_names_the_element(
    server: tuple[str, str],
) -> None:
    assert_names_the_element(server[1])


def test_server_sessions_are_read_only(server: tuple[str, str]) -> None:
    kind, url = server
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text("CREATE SEQUENCE IF NOT EXISTS pks_probe"))
    admin.dispose()
    # nextval() writes: a read-only session refuses it even inside a SELECT.
    query = select(func.nextval(literal_column("'pks_probe'")).label("n"))
    if kind == "mariadb":
        query = select(literal_column("NEXTVAL(pks_probe)").label("n"))
    with pytest.raises(SourceQueryError):
        read(url, query, pa.schema([("n", pa.int32())]))


def kill_other_sessions(kind: str, url: str) -> None:
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if kind == "postgres":
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        else:
            ids = connection.execute(
                text(
                    "SELECT id FROM information_schema.processlist "
                    "WHERE db = DATABASE() AND id <> CONNECTION_ID()"
                )
            ).scalars()
            for ident in list(ids):
                connection.execute(text(f"KILL {int(ident)}"))
    admin.dispose()


@pytest.mark.slow  # MariaDB's long sequence: ~4 s
# pymysql's cursor, finalised after its socket was killed, complains from __del__.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_connection_dropped_mid_stream_is_source_unavailable(server: tuple[str, str]) -> None:
    kind, url = server
    # A long series generated by the server itself: far more than any driver buffers ahead.
    if kind == "postgres":
        # In the select list, not FROM: there PostgreSQL streams the series instead of
        # materialising all of it before the first row (18-28 s of this test, before).
        query = select(func.generate_series(1, 200_000_000).label("n"))
    else:
        query = select(literal_column("seq").label("n")).select_from(table("seq_1_to_200000000"))
    schema = pa.schema([("n", pa.int64())])
    source = Source.open(url)
    batches = read_batches(source, query, schema, batch_rows=10_000)
    first = next(batches)
    assert first.num_rows == 10_000 and first.schema.equals(schema)
    kill_other_sessions(kind, url)
    with pytest.raises(SourceUnavailable) as caught:
        for _ in batches:
            pass
    message = str(caught.value)
    assert "root@" in message or "postgres@" in message
    source.close()
    del batches, caught  # the traceback holds the dead cursor
    gc.collect()  # finalise the dead cursor here, where its complaint is expected


@pytest.mark.parametrize("place", ["O'Brien \\ x", "x' OR '1'='1", "tab\there"])
def test_string_values_reach_the_server_intact(server: tuple[str, str], place: str) -> None:
    # PostgreSQL gets its values as rendered literals (exports.reading.readers explains why): a
    # quote or backslash must match itself exactly, never end the literal.
    _kind, url = server
    admin = create_engine(url)
    with admin.begin() as connection:
        nik = connection.execute(select(func.min(BIODATA_WNI.c.NIK))).scalar_one()
        connection.execute(update(BIODATA_WNI).filter_by(NIK=nik).values(TMPT_LHR=place))
    admin.dispose()
    filter_ = dataclasses.replace(EVERYONE, predicates=(Predicate("tempat_lahir", "in", (place,)),))
    columns = (ColumnRequest("nik"), ColumnRequest("tempat_lahir"))
    request = ExtractionRequest(CATALOG, MAPPING, columns, filter_, AS_OF)
    with Source.open(url) as source:
        rows = pa.Table.from_batches(list(extract(source, request))).to_pylist()
    assert rows == [{"nik": nik, "tempat_lahir": place}]
