"""The TOML scope file: unknown keys refused by name, and what we write reads back equal."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agreements.canonical import AgreementIdentity, canonical_bytes
from agreements.errors import Invalid
from agreements.scope import Scope
from agreements.scope_toml import dumps_scope_toml, read_scope_toml
from tests.agreements.scope_fixtures import CATALOG, REGIONS, scope_data

IDENTITY = AgreementIdentity("500.12/045/PKS/2026", "bps-kyc-2026", 'Bank "Paser" Sejahtera')


def written() -> str:
    scope = Scope.from_dict(scope_data(), CATALOG, None, region_codes=REGIONS)
    return dumps_scope_toml(IDENTITY, scope)


def read(text: str) -> tuple[AgreementIdentity, Scope]:
    return read_scope_toml(text, CATALOG, region_codes=REGIONS)


def refused(text: str) -> Invalid:
    with pytest.raises(Invalid) as caught:
        read(text)
    return caught.value


def test_written_file_reads_back_to_the_same_signed_bytes() -> None:
    scope = Scope.from_dict(scope_data(), CATALOG, None, region_codes=REGIONS)
    identity, again = read(written())
    assert (identity, again) == (IDENTITY, scope)
    assert canonical_bytes(identity, again) == canonical_bytes(IDENTITY, scope)
    assert "start = 2026-01-01" in written()  # dates are TOML dates, not strings


def test_unknown_keys_are_named() -> None:
    assert refused(written().replace("alive_only", "alive")).field == "filter.alive"
    assert refused(written().replace("short_id", "id")).field == "agreement.id"
    assert refused(written() + "\n[extra]\nx = 1\n").field == "extra"
    error = refused(written().replace("[[recipients]]\n", '[[recipients]]\nphone = "0812"\n'))
    assert error.field == "recipients[0].phone" and error.rule == "unknown key"
    assert "0812" not in str(error)


def test_missing_agreement_table_and_bad_syntax() -> None:
    text = written()
    start = text.index("[agreement]")
    end = text.index("\n\n", start)
    assert refused(text[:start] + text[end:]).field == "agreement"
    error = refused("purpose = \n")
    assert error.field == "toml" and "line 1" in error.rule


def test_a_toml_datetime_is_not_a_date() -> None:
    error = refused(written().replace("start = 2026-01-01", "start = 2026-01-01T08:00:00"))
    assert error.field == "validity.start"


def test_bad_scope_content_is_refused_through_toml_too() -> None:
    error = refused(written().replace('mask = "token"\nlength = 32', 'mask = "keep"'))
    assert error.field == "elements.nik.mask" and "leaks the birth date" in error.rule


@settings(max_examples=60, deadline=None)
@given(purpose=st.text(min_size=1, max_size=80).filter(str.strip))
def test_any_text_survives_the_writer(purpose: str) -> None:
    scope = Scope.from_dict(scope_data(purpose=purpose), CATALOG, None, region_codes=REGIONS)
    assert read(dumps_scope_toml(IDENTITY, scope))[1].purpose == purpose
