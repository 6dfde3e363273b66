"""The cross-column leak guard: a NIK or KK may not disclose what the other columns withhold."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agreements.errors import Invalid
from agreements.policy import add_months
from agreements.scope import Scope
from tests.agreements.scope_fixtures import CATALOG, DELETE, REGIONS, scope_data

KEEP_NIK = {"elements__nik": "keep"}
BIRTH_KEPT = {"elements__tanggal_lahir": "keep"}
SEX_WITHHELD = {"elements__jenis_kelamin": DELETE}


def load(**changes: Any) -> Scope:
    return Scope.from_dict(scope_data(**changes), CATALOG, None, region_codes=REGIONS)


def leak(**changes: Any) -> Invalid:
    with pytest.raises(Invalid) as caught:
        load(**changes)
    return caught.value


def nik(first: int, last: int) -> dict[str, Any]:
    return {"elements__nik": {"mask": "partial", "first": first, "last": last}}


def test_kept_nik_with_a_generalised_birth_date_is_refused_with_the_reason() -> None:
    error = leak(**KEEP_NIK)  # tanggal_lahir is granted as the year only
    assert error.field == "elements.nik.mask"
    assert "leaks the birth date" in error.rule
    assert "digits 7-12 are DDMMYY" in error.rule
    assert (
        "show the exact birth date" in error.rule and "granted only as the birth year" in error.rule
    )


def test_kept_nik_is_fine_when_the_birth_date_and_sex_are_granted_as_precisely() -> None:
    assert load(**KEEP_NIK, **BIRTH_KEPT).mask_of("nik") is not None


def test_kept_nik_with_sex_withheld_is_refused() -> None:
    error = leak(**KEEP_NIK, **BIRTH_KEPT, **SEX_WITHHELD)
    assert error.field == "elements.nik.mask" and "leaks sex" in error.rule
    assert "+40 for women" in error.rule
    redacted = leak(**KEEP_NIK, **BIRTH_KEPT, elements__jenis_kelamin="redact")
    assert "leaks sex" in redacted.rule


def test_first_6_and_last_4_hide_the_birth_date() -> None:
    scope = load(**nik(6, 4), elements__tanggal_lahir=DELETE, **SEX_WITHHELD)
    assert scope.mask_of("tanggal_lahir") is None


def test_the_year_digits_need_the_birth_year() -> None:
    # last 6 keeps YY (digits 11-12): fine with the year granted, refused with an age band.
    assert load(**nik(0, 6))
    error = leak(**nik(0, 6), elements__tanggal_lahir={"mask": "generalize_date",
                                                       "to": "age_band"})  # fmt: skip
    assert "show the birth year" in error.rule and "tanggal_lahir is withheld" in error.rule


def test_a_parents_nik_may_not_show_birth_digits() -> None:
    error = leak(elements__nik_ibu="keep", **BIRTH_KEPT)
    assert error.field == "elements.nik_ibu.mask" and "another person's birth date" in error.rule
    assert load(elements__nik_ibu="token")
    assert load(elements__nik_ibu={"mask": "partial", "first": 6, "last": 4})


def test_kept_kk_with_the_address_withheld_or_generalised_is_refused() -> None:
    coarse = {"elements__no_kec": {"mask": "generalize_region", "to": "kabupaten"}}
    error = leak(elements__no_kk="keep", **coarse)
    assert error.field == "elements.no_kk.mask" and "issuing kecamatan" in error.rule
    assert leak(elements__no_kk="keep", elements__no_kec=DELETE).field == "elements.no_kk.mask"
    assert leak(elements__no_kk="keep", elements__no_kec=DELETE, elements__alamat="redact")
    # Granted at kecamatan level (the base scope), or the full address: no leak.
    assert load(elements__no_kk="keep")
    assert load(elements__no_kk="keep", elements__no_kec=DELETE, elements__alamat="keep")
    # The first four digits are only province and kabupaten (every Paser KK has them).
    assert load(elements__no_kk={"mask": "partial", "first": 4}, **coarse)
    assert load(elements__no_kk="token", **coarse)


@given(first=st.integers(0, 12), last=st.integers(0, 12))
def test_partial_nik_without_birth_date_or_sex_is_allowed_exactly_when_it_hides_digits_7_to_12(
    first: int, last: int
) -> None:
    if not 1 <= first + last <= 12:
        return  # refused by the mask's own rule, tested in test_masks
    changes = {**nik(first, last), "elements__tanggal_lahir": DELETE, **SEX_WITHHELD}
    hides_birth_digits = first <= 6 and last <= 4
    if hides_birth_digits:
        assert load(**changes)
    else:
        assert leak(**changes).field == "elements.nik.mask"


def test_add_months_clamps_to_the_month_end() -> None:
    from datetime import date

    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 15), 14) == date(2028, 1, 15)
