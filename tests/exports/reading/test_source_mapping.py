"""The catalog's source mapping: read and checked against a real source, on SQLite and on the
PostgreSQL and MariaDB servers; every mismatch named by field."""

from __future__ import annotations

import datetime
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from agreements.catalog import CatalogError, load_catalog
from agreements.errors import Invalid
from demo_dukcapil.database import build_demo_source
from exports.reading.source import open_source
from exports.reading.source_mapping import (
    REGION_PART_WIDTHS,
    check_source,
    load_source_mapping,
    parse_source_mapping,
)
from tests.services import SERVER_PARAMS, scratch_database, server_url

REPO = Path(__file__).resolve().parents[3]
SHIPPED = REPO / "config" / "catalog.toml"
REGIONS = REPO / "config" / "wilayah_paser.csv"
TODAY = datetime.date(2025, 1, 15)


def demo(url: str) -> str:
    build_demo_source(url, rows=200, seed=2, regions_csv=REGIONS, today=TODAY)
    return url


@pytest.fixture(scope="module")
def sqlite_source(tmp_path_factory: pytest.TempPathFactory) -> str:
    return demo(f"sqlite:///{tmp_path_factory.mktemp('source') / 'demo.db'}")


def shipped_raw() -> dict[str, Any]:
    with SHIPPED.open("rb") as file:
        return tomllib.load(file)


def deliverable() -> list[str]:
    return [e.key for e in load_catalog(SHIPPED) if e.deliverable]


def test_every_deliverable_element_is_mapped() -> None:
    mapping = load_source_mapping(SHIPPED)
    assert [s.key for s in mapping.elements] == deliverable()
    assert mapping.element("agama").codes == "AGAMA_MASTER"
    assert mapping.element("no_kel").columns == ("NO_PROP", "NO_KAB", "NO_KEC", "NO_KEL")
    assert dict(mapping.element("jenis_kelamin").values) == {"1": "Laki-laki", "2": "Perempuan"}
    assert mapping.element("aktif").true_when == ("0",)
    assert mapping.join_of("DATA_KELUARGA") == (("NO_KK", "NO_KK"),)
    assert len(REGION_PART_WIDTHS) == 4


def test_shipped_mapping_matches_the_demo_source(sqlite_source: str) -> None:
    engine = open_source(sqlite_source)
    try:
        assert check_source(engine, load_source_mapping(SHIPPED)) == []
    finally:
        engine.dispose()


@pytest.fixture(params=SERVER_PARAMS)
def server_source(request: pytest.FixtureRequest) -> Iterator[str]:
    with scratch_database(server_url(request.param), "pks_mapping_test") as url:
        yield demo(url)


def test_shipped_mapping_matches_a_server_source(server_source: str) -> None:
    engine = open_source(server_source)
    try:
        assert check_source(engine, load_source_mapping(SHIPPED)) == []
    finally:
        engine.dispose()


def test_every_mismatch_is_named(sqlite_source: str, tmp_path: Path) -> None:
    # Another office's copy of the demo source, with a column renamed and a code table gone.
    copy = tmp_path / "office.db"
    copy.write_bytes(Path(sqlite_source.removeprefix("sqlite:///")).read_bytes())
    writable = create_engine(f"sqlite:///{copy}")
    with writable.begin() as connection:
        connection.execute(text('ALTER TABLE "BIODATA_WNI" RENAME COLUMN "AGAMA" TO "AGAMA_ID"'))
        connection.execute(text('DROP TABLE "PKRJN_MASTER"'))
    writable.dispose()
    raw = shipped_raw()
    raw["elements"]["usia"] = raw["elements"]["tempat_lahir"] | {
        "letter": None,
        "source": {"table": "BIODATA_WNI", "expression": "NO_SUCH_FUNCTION(TGL_LHR)"},
    }
    del raw["elements"]["usia"]["letter"]
    mapping = parse_source_mapping(raw, [*deliverable(), "usia"])
    engine = open_source(f"sqlite:///{copy}")
    try:
        found = [str(m) for m in check_source(engine, mapping)]
    finally:
        engine.dispose()
    assert "elements.agama.source: no column BIODATA_WNI.AGAMA" in found
    assert "elements.pekerjaan.source.codes: no table PKRJN_MASTER" in found
    assert any(m.startswith("elements.usia.source.expression: the database refuses") for m in found)
    assert len(found) == 3


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda raw: raw.pop("source"), "source"),
        (lambda raw: raw["source"].pop("person_key"), "source.person_key"),
        (lambda raw: raw["source"].update(person_tabel="X"), "source.person_tabel"),
        (
            lambda raw: raw["source"]["joins"]["DATA_KELUARGA"].update(on={}),
            "source.joins.DATA_KELUARGA.on",
        ),
        (
            lambda raw: raw["elements"]["agama"]["source"].update(table="AGAMA_MASTER"),
            "elements.agama.source.table",
        ),
        (
            lambda raw: raw["elements"]["agama"]["source"].update(expression="AGAMA + 0"),
            "elements.agama.source",
        ),
        (
            lambda raw: raw["elements"]["agama"]["source"].update(colum="AGAMA"),
            "elements.agama.source.colum",
        ),
        (
            lambda raw: raw["elements"]["no_kel"]["source"]["columns"].append("NO_RT"),
            "elements.no_kel.source.columns",
        ),
        (
            lambda raw: raw["elements"]["aktif"]["source"].update(true_when=[True]),
            "elements.aktif.source.true_when",
        ),
    ],
)
def test_broken_mapping_names_the_field(change: Any, field: str) -> None:
    raw = shipped_raw()
    change(raw)
    with pytest.raises(Invalid) as caught:
        parse_source_mapping(raw, deliverable())
    assert caught.value.field == field


def test_broken_mapping_file_names_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "catalog.toml"
    broken.write_text(SHIPPED.read_text(encoding="utf-8").replace('person_key = "NIK"', ""))
    with pytest.raises(CatalogError, match=r"catalog.toml: source.person_key: required"):
        load_source_mapping(broken)
