"""The mask vocabulary: each kind's parameters, ranges, defaults and accepted element types."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agreements.errors import Invalid
from agreements.masks import ALL_TYPES, MASK_KINDS, Mask, validate_mask
from tests.agreements.scope_fixtures import CATALOG, Element

NIK = CATALOG.get("nik")
BIRTH = CATALOG.get("tanggal_lahir")
RELIGION = CATALOG.get("agama")


def test_the_vocabulary_of_the_issue() -> None:
    assert set(MASK_KINDS) == {
        "keep", "partial", "token", "redact", "generalize_date", "generalize_region", "bucket",
        "recode", "decode",
    }  # fmt: skip
    for kind in MASK_KINDS.values():
        assert kind.types <= ALL_TYPES and kind.types, kind.name
        assert kind.doc, kind.name


def test_defaults_are_filled_in_so_the_signed_form_is_explicit() -> None:
    mask = validate_mask(NIK, {"mask": "partial", "first": 6})
    assert mask.to_json() == {"mask": "partial", "first": 6, "last": 0}
    assert validate_mask(NIK, "token").to_json() == {"mask": "token", "length": 32}
    band = validate_mask(BIRTH, {"mask": "generalize_date", "to": "age_band"})
    assert band.get("band") == 5
    recode = validate_mask(RELIGION, {"mask": "recode", "mapping": {"1": "ISLAM"}})
    assert recode.to_json()["other"] == "LAINNYA"


@pytest.mark.parametrize(
    ("element", "spec", "field", "rule"),
    [
        ("nik", "shuffle", "elements.nik.mask", "must be one of"),
        ("nik", {"first": 6}, "elements.nik.mask", "must be one of"),
        ("nama_lengkap", {"mask": "generalize_date", "to": "year"}, "elements.nama_lengkap.mask",
         "does not fit a name element"),
        ("tanggal_lahir", "partial", "elements.tanggal_lahir.mask", "does not fit a date"),
        ("no_kec", "decode", "elements.no_kec.mask", "does not fit a region"),
        ("nik", {"mask": "token", "first": 6}, "elements.nik.first", "not a parameter of token"),
        ("nik", {"mask": "partial", "first": 8, "last": 6}, "elements.nik.mask",
         "partial keeps at most 12 characters of a nik"),
        ("nama_lengkap", {"mask": "partial", "first": 5}, "elements.nama_lengkap.mask",
         "at most 4"),
        ("nik", {"mask": "partial"}, "elements.nik.mask", "at least one character"),
        ("nik", {"mask": "partial", "first": -1}, "elements.nik.first", "at least 0"),
        ("nik", {"mask": "partial", "first": True}, "elements.nik.first", "whole number"),
        ("nik", {"mask": "partial", "first": "6"}, "elements.nik.first", "whole number"),
        ("nik", {"mask": "token", "length": 16}, "elements.nik.length", "at least 32"),
        ("tanggal_lahir", {"mask": "generalize_date"}, "elements.tanggal_lahir.to", "required"),
        ("tanggal_lahir", {"mask": "generalize_date", "to": "decade"},
         "elements.tanggal_lahir.to", "must be one of"),
        ("tanggal_lahir", {"mask": "generalize_date", "to": "year", "band": 5},
         "elements.tanggal_lahir.band", "only with to = age_band"),
        ("tanggal_lahir", {"mask": "generalize_date", "to": "year", "top_code": 80},
         "elements.tanggal_lahir.top_code", "only with to = age"),
        ("tanggal_lahir", {"mask": "generalize_date", "to": "age_band", "band": 10,
                           "top_code": 85}, "elements.tanggal_lahir.top_code", "multiple of band"),
        ("tanggal_lahir", {"mask": "bucket", "edges": [18, 18, 60]}, "elements.tanggal_lahir.edges",
         "strictly increasing"),
        ("tanggal_lahir", {"mask": "bucket", "edges": [18, 60], "labels": ["a", "b"]},
         "elements.tanggal_lahir.labels", "one label per band"),
        ("tanggal_lahir", {"mask": "bucket", "edges": []}, "elements.tanggal_lahir.edges",
         "list of 1-50"),
        ("agama", {"mask": "recode", "mapping": {}}, "elements.agama.mapping", "at least one"),
        ("agama", {"mask": "recode", "mapping": ["1"]}, "elements.agama.mapping", "table"),
        ("agama", {"mask": "recode", "mapping": {"1": "A"}, "other": ""}, "elements.agama.other",
         "text"),
        ("no_kec", {"mask": "generalize_region", "to": "rt"}, "elements.no_kec.to",
         "province, kabupaten, kecamatan, village"),
    ],
)  # fmt: skip
def test_a_mask_or_parameter_that_does_not_fit_names_the_field(
    element: str, spec: object, field: str, rule: str
) -> None:
    with pytest.raises(Invalid, match=rule) as caught:
        validate_mask(CATALOG.get(element), spec)  # type: ignore[arg-type]
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("element", "spec"),
    [
        ("nik", {"mask": "partial", "first": 6, "last": 4}),
        ("no_kk", {"mask": "partial", "first": 4}),
        ("tanggal_lahir", {"mask": "generalize_date", "to": "age_band", "band": 10,
                           "top_code": 80}),
        ("tanggal_lahir", {"mask": "generalize_date", "to": "age", "top_code": 90}),
        ("tanggal_lahir", {"mask": "bucket", "edges": [18, 25, 40, 60],
                           "labels": ["<18", "18-24", "25-39", "40-59", "60+"]}),
        ("agama", {"mask": "recode", "mapping": {"1": "ISLAM"}, "rare_threshold": 10}),
        ("akta_lahir", "decode"),
        ("sidik_jari", "redact"),
        ("no_kel", {"mask": "generalize_region", "to": "kecamatan"}),
    ],
)  # fmt: skip
def test_valid_masks_survive_their_json_form(element: str, spec: object) -> None:
    mask = validate_mask(CATALOG.get(element), spec)  # type: ignore[arg-type]
    as_json = json.loads(json.dumps(mask.to_json()))
    assert validate_mask(CATALOG.get(element), as_json) == mask
    assert hash(mask) == hash(validate_mask(CATALOG.get(element), as_json))


@given(
    kind=st.sampled_from(sorted(MASK_KINDS)),
    element_type=st.sampled_from(sorted(ALL_TYPES)),
)
def test_each_kind_refuses_exactly_the_types_it_does_not_declare(
    kind: str, element_type: str
) -> None:
    element = Element("x", element_type)
    spec = {
        "partial": {"mask": "partial", "first": 1},
        "generalize_date": {"mask": "generalize_date", "to": "year"},
        "generalize_region": {"mask": "generalize_region", "to": "kecamatan"},
        "bucket": {"mask": "bucket", "edges": [18]},
        "recode": {"mask": "recode", "mapping": {"1": "A"}},
    }.get(kind, kind)
    if element_type in MASK_KINDS[kind].types:
        assert isinstance(validate_mask(element, spec), Mask)
    else:
        with pytest.raises(Invalid, match="does not fit"):
            validate_mask(element, spec)
