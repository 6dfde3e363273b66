"""Group counts from the source: the same figures as recounting what `extract` delivers, on
SQLite and on PostgreSQL and MariaDB when their test URLs are set; NULL a group of its own; and
the pre-pass masked and weighted gives the re-identification report the stream itself gives."""

from __future__ import annotations

import dataclasses
import datetime
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import create_engine, update

from agreements.catalog import load_catalog
from agreements.masks import validate_mask
from agreements.scope import Predicate, RowFilter
from demo_dukcapil.database import BIODATA_WNI, build_demo_source
from exports.masking.operators import MaskContext, apply_mask
from exports.masking.tokens import derive_token_key
from exports.reading.extract import SourceMappingError, extract
from exports.reading.precount import counted_schema, group_counts
from exports.reading.query import ColumnRequest, ExtractionRequest, arrow_schema
from exports.reading.source import Source
from exports.reading.source_mapping import load_source_mapping
from exports.risk.counter import RiskCounter
from tests.services import SERVER_PARAMS, scratch_database, server_url

REPO = Path(__file__).resolve().parents[3]
CATALOG_FILE = REPO / "config" / "catalog.toml"
REGIONS = REPO / "config" / "wilayah_paser.csv"
BUILT = datetime.date(2025, 1, 15)
CATALOG = load_catalog(CATALOG_FILE)
MAPPING = load_source_mapping(CATALOG_FILE)
ROWS = 1200
# Requested as a delivery would read them; `agama` and `status_perkawinan` are not requested,
# so they are counted by their stored codes.
COLUMNS = (
    ColumnRequest("jenis_kelamin", decode=True),
    ColumnRequest("disabilitas", decode=True),
    ColumnRequest("akta_kawin", decode=True),
    ColumnRequest("tanggal_lahir"),
    ColumnRequest("no_kec"),
    ColumnRequest("no_kel"),
    ColumnRequest("akta_lahir"),
    ColumnRequest("rt"),
    ColumnRequest("no_kk"),
)
KEYS = (
    "jenis_kelamin",
    "disabilitas",
    "akta_kawin",
    "tanggal_lahir",
    "no_kec",
    "akta_lahir",
    "rt",
    "agama",
)


def build(url: str) -> str:
    build_demo_source(url, rows=ROWS, seed=5, regions_csv=REGIONS, today=BUILT)
    engine = create_engine(url)
    with engine.begin() as connection:
        # Missing codes, so that NULL groups occur in columns that otherwise have none.
        niks = [row[0] for row in connection.execute(BIODATA_WNI.select().order_by("NIK"))]
        for nik in niks[:40:3]:
            connection.execute(update(BIODATA_WNI).filter_by(NIK=nik).values(AGAMA=None))
        for nik in niks[1:40:4]:
            connection.execute(update(BIODATA_WNI).filter_by(NIK=nik).values(JENIS_KLMIN=None))
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build(f"sqlite:///{tmp_path_factory.mktemp('precount') / 'demo.db'}")


@pytest.fixture(scope="module", params=SERVER_PARAMS)
def server_source(request: pytest.FixtureRequest) -> Iterator[str]:
    with scratch_database(server_url(request.param), "pks_precount_test") as url:
        yield build(url)


def request_for(row_filter: RowFilter, columns: tuple[ColumnRequest, ...] = COLUMNS) -> Any:
    return ExtractionRequest(CATALOG, MAPPING, columns, row_filter, BUILT)


EVERYONE = RowFilter(
    regions=None,
    min_age=0,
    max_age=150,
    alive_only=False,
    active_only=False,
    include_minors=True,
    predicates=(),
)
FILTERS = {
    "everyone": EVERYONE,
    "adults alive in two kecamatan": dataclasses.replace(
        EVERYONE, regions=("64.01.01", "64.01.02"), include_minors=False, alive_only=True
    ),
    "jobs in": dataclasses.replace(
        EVERYONE, predicates=(Predicate("pekerjaan", "in", (1, 2, 5, 9)),)
    ),
}


def grouped(
    url: str, request: ExtractionRequest, keys: tuple[str, ...]
) -> Counter[tuple[Any, ...]]:
    """The group counts as one Counter; a combination the database split (a region code with a
    different missing part) is summed, as the risk counter does."""
    counts: Counter[tuple[Any, ...]] = Counter()
    schema = counted_schema(request, keys)
    with Source.open(url) as source:
        for batch in group_counts(source, request, keys, batch_rows=53):
            assert batch.schema.equals(schema) and batch.num_rows <= 53
            for row in batch.to_pylist():
                n = row.pop("n")
                assert n > 0
                counts[tuple(row.values())] += n
    return counts


def recounted(
    url: str, request: ExtractionRequest, keys: tuple[str, ...]
) -> Counter[tuple[Any, ...]]:
    """The same combinations counted in Python from the rows `extract` delivers."""
    reading = dataclasses.replace(
        request,
        columns=request.columns + tuple(ColumnRequest(k) for k in keys if k not in _keys(request)),
    )
    counts: Counter[tuple[Any, ...]] = Counter()
    with Source.open(url) as source:
        for batch in extract(source, reading):
            columns = [batch.column(key).to_pylist() for key in keys]
            counts.update(zip(*columns, strict=True))
    return counts


def _keys(request: ExtractionRequest) -> set[str]:
    return {wanted.key for wanted in request.columns}


@pytest.mark.parametrize("name", list(FILTERS))
def test_group_counts_equal_a_recount_of_the_extraction(sqlite_url: str, name: str) -> None:
    request = request_for(FILTERS[name])
    got = grouped(sqlite_url, request, KEYS)
    expected = recounted(sqlite_url, request, KEYS)
    assert got == expected
    assert sum(got.values()) > 0
    # NULL is a group of its own, and decoded columns come as labels.
    sexes = {combo[0] for combo in got}
    assert None in sexes and sexes <= {None, "Laki-laki", "Perempuan"}
    assert any(combo[7] is None for combo in got)


def test_keys_are_shaped_as_the_extraction_delivers_them(sqlite_url: str) -> None:
    request = request_for(EVERYONE)
    schema = counted_schema(request, ("jenis_kelamin", "agama", "no_kel", "akta_lahir"))
    assert schema.names == ["jenis_kelamin", "agama", "no_kel", "akta_lahir", "n"]
    assert schema.field("jenis_kelamin").type == pa.string()  # decoded in the request
    assert (
        schema.field("agama").type
        == arrow_schema(request_for(EVERYONE, (ColumnRequest("agama"),))).field("agama").type
    )  # stored code: not requested, so not decoded
    assert schema.field("n").type == pa.int64()
    # Region parts are joined into the dotted code, as in the extraction.
    codes = grouped(sqlite_url, request, ("no_kel",))
    assert codes == recounted(sqlite_url, request, ("no_kel",))
    assert all(code[0].startswith("64.01.") and len(code[0]) == 13 for code in codes)


def test_no_keys_and_unknown_keys_are_refused(sqlite_url: str) -> None:
    with Source.open(sqlite_url) as source:
        with pytest.raises(ValueError, match="at least one key"):
            list(group_counts(source, request_for(EVERYONE), ()))
        with pytest.raises(Exception, match=r"columns\.no_such"):
            list(group_counts(source, request_for(EVERYONE), ("no_such",)))


def test_a_key_missing_from_the_source_is_named(sqlite_url: str) -> None:
    broken = dataclasses.replace(
        MAPPING,
        elements=tuple(
            dataclasses.replace(s, column="NO_SUCH_COLUMN") if s.key == "agama" else s
            for s in MAPPING.elements
        ),
    )
    request = ExtractionRequest(CATALOG, broken, COLUMNS, EVERYONE, BUILT)
    with Source.open(sqlite_url) as source, pytest.raises(SourceMappingError) as caught:
        list(group_counts(source, request, ("agama", "jenis_kelamin")))
    assert any("agama" in m for m in caught.value.mismatches)


def masked(keys: tuple[str, ...], batch: pa.RecordBatch, context: MaskContext) -> pa.RecordBatch:
    masks = {
        "tanggal_lahir": {"mask": "generalize_date", "to": "age_band", "band": 10},
        "no_kec": {"mask": "generalize_region", "to": "kabupaten"},
        "no_kk": {"mask": "token", "length": 32},
        "jenis_kelamin": "decode",  # the request decodes it
    }
    columns = []
    for key in keys:
        element = CATALOG.get(key)
        mask = validate_mask(element, masks.get(key, "keep"))
        columns.append(apply_mask(key, element.type, mask, batch.column(key), context))
    return pa.RecordBatch.from_arrays(columns, names=list(keys))


def test_the_masked_prepass_reports_what_the_stream_reports(sqlite_url: str) -> None:
    # The pipeline's two uses: the pre-pass (GROUP BY, masked, weighted) and the stream (every
    # masked record) must agree, households included, and suppression must leave k >= k.
    context = MaskContext(as_of=BUILT, token_key=derive_token_key(bytes(32), "precount-test"))
    quasi = ("jenis_kelamin", "tanggal_lahir", "no_kec", "akta_lahir")
    request = request_for(FILTERS["adults alive in two kecamatan"])
    source = Source.open(sqlite_url)
    prepass = RiskCounter(quasi, "no_kk")
    for batch in group_counts(source, request, (*quasi, "no_kk"), batch_rows=97):
        prepass.add(masked((*quasi, "no_kk"), batch, context), weights=batch.column("n"))
    stream = RiskCounter(quasi, "no_kk")
    for batch in extract(source, request, batch_rows=101):
        stream.add(masked((*quasi, "no_kk"), batch, context))
    settings = {"k_required": 5, "action": "suppress", "identified": False}
    before = stream.report(**settings)
    assert prepass.report(**settings) == before
    assert before.records > 0 and before.households is not None and before.households.households

    suppression = prepass.small_groups(5)
    after = RiskCounter(quasi, None)
    dropped = 0
    for batch in extract(source, request, batch_rows=101):
        out = masked(quasi, batch, context)
        keep = suppression.keep(out)
        dropped += out.num_rows - keep.true_count
        after.add(out.filter(keep))
    source.close()
    assert 0 < dropped == suppression.records == before.records_in_small_groups
    report = after.report(k_required=5, action="suppress", identified=False)
    assert report.k is None or report.k >= 5
    assert report.records == before.records - dropped


@pytest.mark.parametrize("name", ["everyone", "adults alive in two kecamatan"])
def test_servers_count_the_same_groups_as_sqlite(
    sqlite_url: str, server_source: str, name: str
) -> None:
    request = request_for(FILTERS[name])
    there = grouped(server_source, request, KEYS)
    assert there == grouped(sqlite_url, request, KEYS)
    assert there == recounted(server_source, request, KEYS)
