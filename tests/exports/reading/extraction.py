"""The extraction tests' demo source and requests (test_extract, test_decoding): `build` makes the
source (the `extraction_source` fixture of conftest.py beside builds it once a module),
`row_filter` and `request_for` the query over it."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, update

from agreements.catalog import load_catalog
from agreements.scope import RowFilter
from demo_dukcapil.database import BIODATA_WNI, build_demo_source
from exports.reading.query import ColumnRequest, ExtractionRequest
from exports.reading.source_mapping import load_source_mapping

REPO = Path(__file__).resolve().parents[3]
CATALOG_FILE = REPO / "config" / "catalog.toml"
REGIONS = REPO / "config" / "wilayah_paser.csv"
BUILT = datetime.date(2025, 1, 15)
ROWS = 1500
CATALOG = load_catalog(CATALOG_FILE)
MAPPING = load_source_mapping(CATALOG_FILE)
# Birth dates planted on the first people (by NIK) so that ages turn over around the as_of
# dates of test_extract, 29 February included.
PLANTED = (
    datetime.date(2008, 2, 29),
    datetime.date(2007, 2, 28),
    datetime.date(2007, 3, 1),
    datetime.date(2006, 2, 28),
    datetime.date(2006, 3, 1),
    datetime.date(2004, 2, 29),
    datetime.date(2007, 1, 15),
    datetime.date(2007, 1, 16),
)
COLUMNS = (
    ColumnRequest("nik"),
    ColumnRequest("jenis_kelamin", decode=True),
    ColumnRequest("agama", decode=True),
    ColumnRequest("pekerjaan"),
    ColumnRequest("disabilitas", decode=True),
    ColumnRequest("tanggal_lahir"),
    ColumnRequest("rt"),
    ColumnRequest("no_kel"),
    ColumnRequest("no_kec"),
    ColumnRequest("akta_lahir"),
    ColumnRequest("akta_kawin", decode=True),
    ColumnRequest("alamat_sebelumnya"),
    ColumnRequest("alamat"),
)


def build(url: str) -> str:
    """The demo source of ROWS people as on BUILT, with the PLANTED birth dates, at `url`."""
    build_demo_source(url, rows=ROWS, seed=2, regions_csv=REGIONS, today=BUILT)
    engine = create_engine(url)
    with engine.begin() as connection:
        niks = [row[0] for row in connection.execute(BIODATA_WNI.select().order_by("NIK"))]
        for nik, born in zip(niks, PLANTED, strict=False):
            connection.execute(update(BIODATA_WNI).filter_by(NIK=nik).values(TGL_LHR=born))
    engine.dispose()
    return url


def row_filter(**changes: Any) -> RowFilter:
    """Everyone, but for `changes`."""
    base: dict[str, Any] = {
        "regions": None,
        "min_age": 0,
        "max_age": 150,
        "alive_only": False,
        "active_only": False,
        "include_minors": True,
        "predicates": (),
    }
    return RowFilter(**(base | changes))


def request_for(
    filter_: RowFilter,
    as_of: datetime.date = BUILT,
    columns: tuple[ColumnRequest, ...] = COLUMNS,
) -> ExtractionRequest:
    return ExtractionRequest(CATALOG, MAPPING, columns, filter_, as_of)
