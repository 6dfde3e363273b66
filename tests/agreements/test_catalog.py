"""The shipped data-element catalog is complete and lawful, and a broken catalog file is refused
with the file and the field named."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from agreements.catalog import (
    SPECIALLY_PROTECTED,
    STATUTORY_LETTERS,
    CatalogError,
    load_catalog,
    parse_catalog,
)
from agreements.errors import Invalid, NotFound
from agreements.masks import ALL_TYPES

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "catalog.toml"


def shipped_raw() -> dict[str, Any]:
    with SHIPPED.open("rb") as file:
        return tomllib.load(file)


def test_shipped_catalog_has_every_statutory_element_once() -> None:
    catalog = load_catalog(SHIPPED)
    letters = [e.letter for e in catalog if e.letter is not None]
    assert sorted(letters) == sorted(STATUTORY_LETTERS)
    assert len(STATUTORY_LETTERS) == 31


def test_shipped_catalog_protects_article_84_elements() -> None:
    catalog = load_catalog(SHIPPED)
    by_letter = {e.letter: e for e in catalog}
    for letter in SPECIALLY_PROTECTED:
        assert by_letter[letter].sensitivity == "protected"
    # Biometrics, signature and aib are never deliverable; disability only as a high-risk grant.
    assert not any(by_letter[letter].deliverable for letter in ("bb", "cc", "dd", "ee"))
    assert by_letter["k"].deliverable and by_letter["k"].high_risk


def test_shipped_catalog_classifies_identifiers() -> None:
    catalog = load_catalog(SHIPPED)
    assert {"nik", "no_kk", "nama_lengkap", "nik_ibu", "nik_ayah"} <= {
        e.key for e in catalog if e.identifier == "direct"
    }
    quasi = {e.key for e in catalog if e.identifier == "quasi"}
    # The quasi-identifiers the re-identification check groups by (issue: Exports).
    assert {"tanggal_lahir", "jenis_kelamin", "no_kel", "agama", "pekerjaan"} <= quasi
    assert {"status_perkawinan", "pendidikan_terakhir"} <= quasi
    assert all(e.type in ALL_TYPES for e in catalog)


def test_shipped_catalog_names_the_region_and_status_fields() -> None:
    catalog = load_catalog(SHIPPED)
    address = {"alamat", "rt", "rw", "dusun", "kode_pos"}
    assert {"no_prop", "no_kab", "no_kec", "no_kel", *address} <= set(catalog.keys())
    assert catalog.get("hidup").type == "flag" and catalog.get("aktif").type == "flag"


def test_unknown_element_is_not_found() -> None:
    with pytest.raises(NotFound, match="element 'golongan'"):
        load_catalog(SHIPPED).get("golongan")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda raw: raw["elements"]["nik"].update(type="number"), "elements.nik.type"),
        (
            lambda raw: raw["elements"]["nik"].update(sensitivity="secret"),
            "elements.nik.sensitivity",
        ),
        (lambda raw: raw["elements"]["nik"].update(identifer="direct"), "elements.nik.identifer"),
        (lambda raw: raw["elements"]["nik"].pop("label_id"), "elements.nik.label_id"),
        (lambda raw: raw["elements"]["nik"].pop("source"), "elements.nik.source"),
        (lambda raw: raw["elements"]["nik"].update(letter="zz"), "elements.nik.letter"),
        (lambda raw: raw["elements"]["nik"].update(letter="a"), "elements.nik.letter"),
        (lambda raw: raw["elements"].pop("tanggal_lahir"), "elements"),
        (
            lambda raw: raw["elements"]["aib"].update(sensitivity="general"),
            "elements.aib.sensitivity",
        ),
        (
            lambda raw: raw["elements"]["disabilitas"].update(high_risk=False),
            "elements.disabilitas.high_risk",
        ),
        (lambda raw: raw.update(catalog_version=2), "catalog_version"),
        (lambda raw: raw.update(elemnts={}), "elemnts"),
    ],
)
def test_broken_catalog_names_the_field(change: Any, field: str) -> None:
    raw = shipped_raw()
    change(raw)
    with pytest.raises(Invalid) as caught:
        parse_catalog(raw)
    assert caught.value.field == field


def test_missing_statutory_element_is_named() -> None:
    raw = shipped_raw()
    del raw["elements"]["tanggal_lahir"]
    with pytest.raises(Invalid, match="statutory elements missing: f"):
        parse_catalog(raw)


def test_unreadable_files_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="does not exist"):
        load_catalog(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[elements\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=f"{bad}.*cannot be read"):
        load_catalog(bad)
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(SHIPPED.read_text(encoding="utf-8").replace('type = "nik"', 'type = "x"', 1))
    with pytest.raises(CatalogError, match=r"wrong.toml: elements.nik.type: must be one of"):
        load_catalog(wrong)
