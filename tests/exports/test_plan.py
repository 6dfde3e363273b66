"""The frozen plan: what a delivery may read and write, decided from the scope alone."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from agreements.catalog import load_catalog
from agreements.errors import Invalid
from agreements.scope import Scope
from exports.plan import SUBJECT_ELEMENT, make_plan
from exports.reading.source_mapping import load_source_mapping
from pks_partner.manifest import AgreementRef
from tests.agreements.scope_fixtures import DELETE, REGIONS, REPO, scope_data

CATALOG_FILE = REPO / "config" / "catalog.toml"
CATALOG = load_catalog(CATALOG_FILE)
REF = AgreementRef("470/1/X/2026", "bank-x-2026", 2, "ab" * 32)


def plan_of(**changes: object):  # type: ignore[no-untyped-def]
    scope = Scope.from_dict(scope_data(**changes), CATALOG, region_codes=REGIONS)
    return make_plan(
        scope,
        CATALOG,
        agreement=REF,
        delivery_id="bank-x-2026-20261125-abcdef",
        as_of=date(2026, 11, 25),
        created_at=datetime(2026, 11, 25, 3, tzinfo=UTC),
        token_key=b"k" * 32,
    )


def test_the_schema_carries_the_agreement_labels_and_masks() -> None:
    plan = plan_of()
    schema = plan.output_schema()
    assert schema.names == list(plan.keys)
    assert schema.metadata[b"pks.agreement_short_id"] == b"bank-x-2026"
    assert schema.metadata[b"pks.agreement_version"] == b"2"
    assert schema.metadata[b"pks.scope_hash"] == b"ab" * 32
    field = schema.field("tanggal_lahir")
    assert b'"to": "year"' in field.metadata[b"mask"]
    assert field.metadata[b"label"] == CATALOG.get("tanggal_lahir").label_id.encode()


def test_identified_when_a_direct_identifier_goes_out_in_clear() -> None:
    assert plan_of().identified  # nama_lengkap = keep
    masked = plan_of(elements__nama_lengkap=DELETE)
    assert not masked.identified  # the NIK is only a token


def test_quasi_identifiers_and_household_follow_the_catalog_and_masks() -> None:
    plan = plan_of(elements__no_kk={"mask": "token"})
    assert set(plan.quasi_identifiers) == {"jenis_kelamin", "tanggal_lahir", "no_kec", "agama"}
    assert plan.household == "no_kk"
    assert plan_of().household is None


def test_the_nik_is_read_for_subject_hashes_but_never_granted_by_that() -> None:
    without = plan_of(elements__nik=DELETE)
    request = without.extraction_request(CATALOG, load_source_mapping(CATALOG_FILE))
    assert [c.key for c in request.columns][-1] == SUBJECT_ELEMENT
    assert SUBJECT_ELEMENT not in without.output_schema().names
    granted = plan_of()
    request = granted.extraction_request(CATALOG, load_source_mapping(CATALOG_FILE))
    assert [c.key for c in request.columns].count(SUBJECT_ELEMENT) == 1


def test_decode_masks_ask_the_source_for_labels() -> None:
    request = plan_of().extraction_request(CATALOG, load_source_mapping(CATALOG_FILE))
    decoded = {c.key for c in request.columns if c.decode}
    assert decoded == {"jenis_kelamin"}


def test_the_token_key_is_not_in_the_plans_repr() -> None:
    assert "kkkk" not in repr(plan_of())


def test_a_scope_without_bulk_delivery_has_no_plan() -> None:
    with pytest.raises(Invalid, match="grants no bulk delivery"):
        plan_of(delivery=DELETE, access_modes=["nik_verification"])
