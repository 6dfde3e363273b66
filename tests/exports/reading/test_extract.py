"""Extraction queries: only granted columns selected, rows filtered in the database exactly as a
pure-Python recomputation over the whole demo source says, values shaped as the catalog types say,
and the same data from SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import datetime
import re
import sqlite3
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy.dialects import mysql, postgresql, sqlite

from agreements.errors import Invalid
from agreements.scope import Predicate, RowFilter
from exports.reading.extract import count_rows, extract, value_counts
from exports.reading.query import (
    ColumnRequest,
    ExtractionRequest,
    arrow_schema,
    build_query,
    latest_birth_date,
)
from exports.reading.source import Source
from tests.exports.reading.extraction import (
    BUILT,
    MAPPING,
    build,
    request_for,
    row_filter,
)
from tests.services import SERVER_PARAMS, scratch_database, server_url

AS_OF_DATES = (
    datetime.date(2025, 2, 28),
    datetime.date(2025, 3, 1),
    datetime.date(2024, 2, 29),
    datetime.date(2025, 1, 15),
)
SEX = {1: "Laki-laki", 2: "Perempuan"}  # DOMAIN.md §5


@pytest.fixture(scope="module")
def people(extraction_source: str) -> list[dict[str, Any]]:
    """Every person of the demo source with their family row, read with plain sqlite3."""
    connection = sqlite3.connect(extraction_source.removeprefix("sqlite:///"))
    connection.row_factory = sqlite3.Row
    families = {r["NO_KK"]: dict(r) for r in connection.execute("SELECT * FROM DATA_KELUARGA")}
    everyone = [
        {**dict(r), "family": families.get(r["NO_KK"])}
        for r in connection.execute("SELECT * FROM BIODATA_WNI")
    ]
    connection.close()
    return everyone


@pytest.fixture(scope="module")
def codes(extraction_source: str) -> dict[str, dict[int, str]]:
    connection = sqlite3.connect(extraction_source.removeprefix("sqlite:///"))
    tables = {
        name: dict(connection.execute(f'SELECT "NO", "DESCRIP" FROM "{name}"').fetchall())
        for name in ("AGAMA_MASTER", "CCT_MASTER")
    }
    connection.close()
    return tables


# --- the pure-Python recomputation ------------------------------------------------------------


def age(born: datetime.date, on: datetime.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def region(person: dict[str, Any], parts: int = 4) -> str:
    widths = (2, 2, 2, 4)
    names = ("NO_PROP", "NO_KAB", "NO_KEC", "NO_KEL")
    return ".".join(f"{person[n]:0{w}d}" for n, w in zip(names[:parts], widths, strict=False))


def element_value(person: dict[str, Any], key: str) -> Any:
    flags = {"akta_lahir": "AKTA_LHR", "hidup": "STAT_HIDUP"}
    if key in flags:
        return person[flags[key]] == (2 if key == "akta_lahir" else 1)
    columns = {"pekerjaan": "JENIS_PKRJN", "agama": "AGAMA", "tempat_lahir": "TMPT_LHR"}
    return person[columns[key]]


def selected(person: dict[str, Any], filter_: RowFilter, as_of: datetime.date) -> bool:
    born = person["TGL_LHR"]
    if born is None:
        return False
    years = age(datetime.date.fromisoformat(born), as_of)
    youngest = filter_.min_age if filter_.include_minors else max(filter_.min_age, 18)
    if not youngest <= years <= filter_.max_age:
        return False
    if filter_.alive_only and person["STAT_HIDUP"] != 1:
        return False
    if filter_.active_only and person["FLAG_STATUS"] != "0":
        return False
    if filter_.regions is not None and not any(
        region(person).startswith(code + ".") or region(person) == code for code in filter_.regions
    ):
        return False
    for predicate in filter_.predicates:
        inside = element_value(person, predicate.element) in predicate.values
        if inside != (predicate.op == "in"):
            return False
    return True


def expected_row(person: dict[str, Any], codes: dict[str, dict[int, str]]) -> dict[str, Any]:
    family = person["family"] or {}
    return {
        "nik": person["NIK"],
        "jenis_kelamin": SEX.get(person["JENIS_KLMIN"]),
        "agama": codes["AGAMA_MASTER"].get(person["AGAMA"]),
        "pekerjaan": person["JENIS_PKRJN"],
        "disabilitas": codes["CCT_MASTER"].get(person["KLAIN_FSK"]),
        "tanggal_lahir": datetime.date.fromisoformat(person["TGL_LHR"]),
        "rt": None if family.get("NO_RT") is None else str(family["NO_RT"]),
        "no_kel": region(person),
        "no_kec": region(person, 3),
        "akta_lahir": person["AKTA_LHR"] == 2,
        "akta_kawin": "Ya" if person["AKTA_KWN"] == 2 else "Tidak",
        "alamat_sebelumnya": person["ALAMAT_SBLM"],
        "alamat": family.get("ALAMAT"),
    }


def read_all(url: str, request: ExtractionRequest, batch_rows: int = 97) -> pa.Table:
    schema = arrow_schema(request)
    with Source.open(url) as source:
        batches = list(extract(source, request, batch_rows=batch_rows))
    for batch in batches:
        assert batch.schema.equals(schema, check_metadata=True)
        assert batch.num_rows <= batch_rows
    return pa.Table.from_batches(batches, schema=schema)


def by_nik(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda row: row["nik"])


FILTERS = {
    "everyone": row_filter(),
    "adults": row_filter(include_minors=False),
    "kecamatan and village": row_filter(regions=("64.01.03", "64.01.01.2009", "64.01.05.2006")),
    "no region": row_filter(regions=()),
    "alive and active": row_filter(alive_only=True, active_only=True),
    "age 17 to 18": row_filter(min_age=17, max_age=18),
    "exactly 18": row_filter(min_age=18, max_age=18),
    "minors out of 17": row_filter(min_age=17, max_age=17, include_minors=False),
    "30 to 45": row_filter(min_age=30, max_age=45, include_minors=False),
    "jobs in": row_filter(predicates=(Predicate("pekerjaan", "in", (5, 9, 88)),)),
    "religion not in": row_filter(predicates=(Predicate("agama", "not_in", (1,)),)),
    "no birth certificate": row_filter(predicates=(Predicate("akta_lahir", "in", (False,)),)),
    "not alive": row_filter(predicates=(Predicate("hidup", "not_in", (True,)),)),
    "everything": row_filter(
        regions=("64.01.01", "64.01.02"),
        min_age=20,
        max_age=70,
        alive_only=True,
        active_only=True,
        include_minors=False,
        predicates=(
            Predicate("agama", "in", (1, 2)),
            Predicate("akta_lahir", "in", (True,)),
            Predicate("pekerjaan", "not_in", (1, 2)),
        ),
    ),
}


@pytest.mark.parametrize("as_of", AS_OF_DATES, ids=str)
@pytest.mark.parametrize("name", list(FILTERS))
def test_filters_match_python_over_the_whole_table(
    extraction_source: str,
    people: list[dict[str, Any]],
    codes: dict[str, dict[int, str]],
    name: str,
    as_of: datetime.date,
) -> None:
    filter_ = FILTERS[name]
    request = request_for(filter_, as_of)
    got = read_all(extraction_source, request).to_pylist()
    expected = [expected_row(p, codes) for p in people if selected(p, filter_, as_of)]
    assert by_nik(got) == by_nik(expected)
    with Source.open(extraction_source) as source:
        assert count_rows(source, build_query(request)) == len(expected)


def test_the_filters_are_not_vacuous(people: list[dict[str, Any]]) -> None:
    # Each filter keeps some people and drops others somewhere, or the comparison proves little.
    for name, filter_ in FILTERS.items():
        kept = [sum(selected(p, filter_, d) for p in people) for d in AS_OF_DATES]
        if name in ("no region", "minors out of 17"):
            assert kept == [0] * len(AS_OF_DATES)
        else:
            assert max(kept) > 0 and min(kept) < len(people), name
    # The planted birthdays do turn over between the as_of dates.
    turning = [sum(selected(p, FILTERS["exactly 18"], d) for p in people) for d in AS_OF_DATES]
    assert len(set(turning)) > 1


def test_string_predicate_on_place_of_birth(
    extraction_source: str, people: list[dict[str, Any]], codes: dict[str, dict[int, str]]
) -> None:
    places = sorted({p["TMPT_LHR"] for p in people if p["TMPT_LHR"]})[:3]
    filter_ = row_filter(predicates=(Predicate("tempat_lahir", "in", tuple(places)),))
    got = read_all(extraction_source, request_for(filter_)).to_pylist()
    expected = [expected_row(p, codes) for p in people if p["TMPT_LHR"] in places]
    assert got and by_nik(got) == by_nik(expected)


def test_latest_birth_date_agrees_with_counting_years() -> None:
    births = [datetime.date(2003, 1, 1) + datetime.timedelta(days=i) for i in range(2000)]
    ons = [datetime.date(2024, 2, 28), datetime.date(2024, 2, 29), datetime.date(2024, 3, 1)]
    ons += [datetime.date(2025, 2, 28), datetime.date(2025, 3, 1), datetime.date(2023, 12, 31)]
    for on in ons:
        for years in (16, 17, 18, 19, 20):
            bound = latest_birth_date(on, years)
            assert all((born <= bound) == (age(born, on) >= years) for born in births)
    assert latest_birth_date(datetime.date(2024, 2, 29), 18) == datetime.date(2006, 2, 28)
    assert latest_birth_date(datetime.date(2024, 2, 29), 20) == datetime.date(2004, 2, 29)


def select_list(sql: str) -> str:
    return sql.split("\nFROM", 1)[0]


@pytest.mark.parametrize(
    "dialect", [sqlite.dialect(), postgresql.dialect(), mysql.dialect()], ids=lambda d: d.name
)
def test_the_query_selects_only_requested_columns(dialect: Any) -> None:
    columns = (ColumnRequest("nik"), ColumnRequest("agama", decode=True), ColumnRequest("rt"))
    filter_ = FILTERS["everything"]
    sql = str(build_query(request_for(filter_, columns=columns)).compile(dialect=dialect))
    head = select_list(sql)
    granted = {"NIK", "AGAMA", "NO_RT"}  # agama as stored: decoded in Arrow
    for source in MAPPING.elements:
        for name in (source.column, *source.columns):
            if name is not None and name not in granted:
                assert not re.search(rf"\b{name}\b", head), name
    # What the filter needs is in WHERE, never selected.
    where = sql.split("WHERE", 1)[1]
    for name in ("TGL_LHR", "STAT_HIDUP", "FLAG_STATUS", "NO_KEC", "JENIS_PKRJN", "AKTA_LHR"):
        assert re.search(rf"\b{name}\b", where) and name not in head
    query = build_query(request_for(filter_, columns=columns))
    assert [c.name for c in query.selected_columns] == ["nik", "agama", "rt"]


def test_tables_are_joined_only_when_needed() -> None:
    alone = str(build_query(request_for(row_filter(), columns=(ColumnRequest("nik"),))))
    assert "DATA_KELUARGA" not in alone and "JOIN" not in alone
    with_rt = str(build_query(request_for(row_filter(), columns=(ColumnRequest("rt"),))))
    assert with_rt.count("JOIN") == 1 and "DATA_KELUARGA" in with_rt
    # A code table is never joined: a decoded code is read as stored and labelled in Arrow.
    for decode in (True, False):
        agama = build_query(
            request_for(row_filter(), columns=(ColumnRequest("agama", decode=decode),))
        )
        assert "AGAMA_MASTER" not in str(agama) and "JOIN" not in str(agama)


def test_values_are_bound_not_formatted() -> None:
    filter_ = row_filter(predicates=(Predicate("tempat_lahir", "in", ("X'); DROP TABLE t; --",)),))
    sql = str(build_query(request_for(filter_)).compile(dialect=postgresql.dialect()))
    assert "DROP TABLE" not in sql
    assert "2007-01-15" not in sql  # the birth-date bound is a parameter too


def test_shapes_of_values(extraction_source: str) -> None:
    table = read_all(extraction_source, request_for(row_filter()))
    assert table.schema.field("rt").type == pa.string()
    rts = [v for v in table.column("rt").to_pylist() if v is not None]
    assert rts and all(v.isdigit() and not v.startswith("0") for v in rts)
    assert all(re.fullmatch(r"64\.01\.\d{2}\.\d{4}", v) for v in table.column("no_kel").to_pylist())
    assert all(re.fullmatch(r"64\.01\.\d{2}", v) for v in table.column("no_kec").to_pylist())
    assert table.schema.field("pekerjaan").type == pa.int32()
    assert table.schema.field("akta_lahir").type == pa.bool_()
    assert set(table.column("akta_kawin").to_pylist()) == {"Ya", "Tidak"}


def test_request_errors_name_the_column() -> None:
    cases = [
        ((ColumnRequest("nik"), ColumnRequest("nik")), "columns.nik"),
        ((ColumnRequest("sidik_jari"),), "columns.sidik_jari"),
        ((ColumnRequest("no_such"),), "columns.no_such"),
        ((ColumnRequest("nik", decode=True),), "columns.nik"),
    ]
    for columns, field in cases:
        with pytest.raises(Invalid) as caught:
            build_query(request_for(row_filter(), columns=columns))
        assert caught.value.field == field


def test_value_counts_group_the_filtered_rows(
    extraction_source: str, people: list[dict[str, Any]], codes: dict[str, dict[int, str]]
) -> None:
    filter_ = FILTERS["alive and active"]
    request = request_for(filter_)
    rows = [expected_row(p, codes) for p in people if selected(p, filter_, BUILT)]
    with Source.open(extraction_source) as source:
        for key in ("agama", "no_kec", "pekerjaan", "akta_lahir", "disabilitas"):
            expected: dict[str, int] = {}
            for row in rows:
                value = row[key]
                text = (
                    ""
                    if value is None
                    else str(value).lower()
                    if key == "akta_lahir"
                    else str(value)
                )
                expected[text] = expected.get(text, 0) + 1
            assert value_counts(source, request, key) == expected, key
        # An element the request does not deliver is counted by its stored value.
        marital = value_counts(source, request, "status_perkawinan")
        assert sum(marital.values()) == len(rows)
        assert set(marital) <= {"1", "2", "3", "4"} and len(marital) > 1


# --- the same request on the three backends ---------------------------------------------------


@pytest.fixture(scope="module", params=SERVER_PARAMS)
def server_source(request: pytest.FixtureRequest) -> Iterator[str]:
    with scratch_database(server_url(request.param), "pks_extract_test") as url:
        yield build(url)


@pytest.mark.parametrize("name", ["everything", "age 17 to 18", "everyone", "not alive"])
def test_servers_return_the_same_data_as_sqlite(
    extraction_source: str, server_source: str, name: str
) -> None:
    for as_of in AS_OF_DATES[:3]:
        request = request_for(FILTERS[name], as_of)
        here = read_all(extraction_source, request).sort_by("nik")
        there = read_all(server_source, request, batch_rows=211).sort_by("nik")
        assert there.num_rows > 0
        assert there.equals(here, check_metadata=True)
        with (
            Source.open(server_source) as there_source,
            Source.open(extraction_source) as here_source,
        ):
            assert count_rows(there_source, build_query(request)) == here.num_rows
            assert value_counts(there_source, request, "agama") == value_counts(
                here_source, request, "agama"
            )
