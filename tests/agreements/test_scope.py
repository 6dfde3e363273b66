"""Scope validation: every pure bad input of the issue is refused, naming the field and the rule."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import pytest

from ageformat.recipients import bech32_encode
from agreements.errors import Invalid
from agreements.scope import Scope
from tests.agreements.scope_fixtures import AGE_AUDIT, AGE_KYC, CATALOG, DELETE, REGIONS, scope_data


def load(data: dict[str, Any], duration: int | None = 12) -> Scope:
    return Scope.from_dict(data, CATALOG, duration, region_codes=REGIONS)


def refused(data: dict[str, Any], field: str, rule: str, duration: int | None = 12) -> Invalid:
    with pytest.raises(Invalid) as caught:
        load(data, duration)
    assert caught.value.field == field, caught.value.message
    assert rule in caught.value.rule, caught.value.message
    return caught.value


def test_the_base_scope_is_valid_and_round_trips_through_json() -> None:
    scope = load(scope_data())
    assert [e.key for e in scope.elements] == sorted(scope_data()["elements"])
    assert scope.row_filter.regions == ("64.01.01", "64.01.02.2004")
    assert scope.validity.end == date(2026, 12, 31)
    assert scope.delivery is not None and scope.delivery.format == "parquet"
    assert load(json.loads(json.dumps(scope.to_json()))) == scope


def test_regions_all_is_stated_not_implied() -> None:
    scope = load(scope_data(filter__regions="all"))
    assert scope.row_filter.regions is None
    assert scope.to_json()["filter"]["regions"] == "all"
    refused(scope_data(filter__regions=DELETE), "filter.regions", "required")


@pytest.mark.parametrize("switch", ["alive_only", "active_only", "include_minors"])
def test_each_filter_switch_is_required(switch: str) -> None:
    refused(scope_data(**{f"filter__{switch}": DELETE}), f"filter.{switch}", "required")
    refused(scope_data(**{f"filter__{switch}": "yes"}), f"filter.{switch}", "true or false")


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"purpse": "typo"}, "purpse", "unknown key"),
        ({"filter__include_minor": False}, "filter.include_minor", "unknown key"),
        ({"recipients": [{"name": "A", "contact": "a@x", "age_recipient": AGE_KYC, "key": 1}]},
         "recipients[0].key", "unknown key"),
        ({"schema_version": 2}, "schema_version", "must be 1"),
        ({"elements__nomor_hp": "keep"}, "elements.nomor_hp", "unknown element"),
        ({"elements__nik": {"mask": "partial", "first": 12, "last": 4}}, "elements.nik.mask",
         "partial keeps at most 12"),
        ({"elements__tanggal_lahir": "decode"}, "elements.tanggal_lahir.mask", "does not fit"),
        ({"elements__nik": 7}, "elements.nik", "mask name or a table"),
        ({"filter__predicates": [{"element": "gaji", "op": "in", "values": [1]}]},
         "filter.predicates[0].element", "unknown element"),
        ({"filter__predicates": [{"element": "pekerjaan", "op": "in", "values": ["5"]}]},
         "filter.predicates[0].values", "pekerjaan takes int values"),
        ({"filter__predicates": [{"element": "akta_lahir", "op": "in", "values": [1]}]},
         "filter.predicates[0].values", "takes bool"),
        ({"filter__predicates": [{"element": "tanggal_lahir", "op": "in", "values": [1]}]},
         "filter.predicates[0].element", "cannot filter on a date"),
        ({"filter__predicates": [{"element": "pekerjaan", "op": "like", "values": [1]}]},
         "filter.predicates[0].op", "one of: in, not_in"),
        ({"filter__predicates": [{"element": "sidik_jari", "op": "in", "values": ["x"]}]},
         "filter.predicates[0].element", "cannot filter on a text"),
        ({"filter__regions": ["64.01.99"]}, "filter.regions", "unknown region code"),
        ({"filter__regions": ["64.01"]}, "filter.regions", "kecamatan (64.01.01) or village"),
        ({"filter__regions": []}, "filter.regions", "list of 1 or more"),
        ({"filter__min_age": "17"}, "filter.min_age", "whole number from 0 to 150"),
        ({"filter__min_age": 60, "filter__max_age": 40}, "filter.max_age", "not be below min_age"),
        ({"validity__end": "2025-12-31"}, "validity.end", "not be before validity.start"),
        ({"validity__start": "1 Januari 2026"}, "validity.start", "YYYY-MM-DD"),
        ({"validity__start": datetime(2026, 1, 1, 8)}, "validity.start", "YYYY-MM-DD"),
        ({"delivery__format": "json"}, "delivery.format", "parquet, csv, xlsx"),
        ({"delivery__quota": 0}, "delivery.quota", "from 1"),
        ({"delivery": DELETE}, "delivery", "required"),
        ({"access_modes": ["nik_verification"]}, "delivery", "only with access mode bulk_delivery"),
        ({"access_modes": ["download"]}, "access_modes", "bulk_delivery, nik_verification"),
        ({"access_modes": []}, "access_modes", "list of 1 or more"),
        ({"reidentification__action": "ignore"}, "reidentification.action", "report, suppress"),
        ({"reidentification__k": 1}, "reidentification.k", "from 2"),
        ({"reporting__data_balikan": DELETE}, "reporting.data_balikan", "required"),
        ({"reporting__semester_report_due": ["2025-07-31"]}, "reporting.semester_report_due",
         "after validity.start"),
        ({"legal_basis": []}, "legal_basis", "list of 1 or more"),
        ({"purpose": " "}, "purpose", "text of 1-2000"),
        ({"high_risk_reason": "because"}, "high_risk_reason", "only with high_risk = true"),
        ({"high_risk": True}, "high_risk_reason", "required"),
    ],
)  # fmt: skip
def test_bad_input_names_the_field_and_the_rule(
    changes: dict[str, Any], field: str, rule: str
) -> None:
    refused(scope_data(**changes), field, rule)


@pytest.mark.parametrize(
    ("key", "rule"),
    [
        ("age1k3gfy6yp6a46mc35vs8azsf9ksprlha4w637pdh3tz238enc3dvsttd8gf", "checksum"),
        ("AGE1K3GFY6YP6A46MC35VS8AZSF9KSPRLHA4W637PDH3TZ238ENC3DVSTTD8GE", "lower case"),
        ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPmhDHUFa3SYOWX1R05rCaqfii9BwD99aae1mqSQgHCx",
         "age X25519 recipient"),
        ("age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqb", "Bech32"),
        ("age1k3gfy6yp6a46mc35vs8azsf9ksprlha4w637pdh3tz238enc3dvsttd8g", "Bech32"),
        ("age1" + "b" * 10, "Bech32"),
    ],
)  # fmt: skip
def test_an_invalid_age_recipient_is_refused(key: str, rule: str) -> None:
    recipient = {"name": "Tim KYC", "contact": "kyc@bank.example", "age_recipient": key}
    refused(scope_data(recipients=[recipient]), "recipients[0].age_recipient", rule)


def test_an_age_key_of_the_wrong_length_is_refused() -> None:
    short = bech32_encode("age", bytes(20))  # well-formed Bech32, 20 bytes inside
    recipient = {"name": "A", "contact": "a@x", "age_recipient": short}
    refused(scope_data(recipients=[recipient]), "recipients[0].age_recipient", "32-byte key")


def test_a_low_order_age_key_is_refused() -> None:
    zero = "age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq5cu47z"  # 32 zero bytes
    recipient = {"name": "A", "contact": "a@x", "age_recipient": zero}
    error = refused(scope_data(recipients=[recipient]), "recipients[0].age_recipient", "low-order")
    assert zero not in error.message


def test_recipients_are_unique_and_ip_lists_are_networks() -> None:
    one = {"name": "Tim KYC", "contact": "a@x", "age_recipient": AGE_KYC}
    refused(scope_data(recipients=[one, dict(one, age_recipient=AGE_AUDIT)]),
            "recipients[1].name", "unique")  # fmt: skip
    refused(scope_data(recipients=[one, dict(one, name="Audit")]),
            "recipients[1].age_recipient", "own key")  # fmt: skip
    refused(scope_data(recipients=[dict(one, ip_allow=["10.0.0.300"])]),
            "recipients[0].ip_allow", "IP address or network")  # fmt: skip
    scope = load(scope_data(recipients=[dict(one, ip_allow=["10.1.2.3/8", "2001:db8::1"])]))
    assert scope.recipients[0].ip_allow == ("10.0.0.0/8", "2001:db8::1/128")


def test_protected_and_high_risk_elements() -> None:
    error = refused(scope_data(elements__sidik_jari="redact"), "elements.sidik_jari",
                    "protected element")  # fmt: skip
    assert "art. 84" in error.rule
    refused(scope_data(elements__disabilitas="decode"), "elements.disabilitas", "high-risk")
    scope = load(scope_data(elements__disabilitas="decode", high_risk=True,
                            high_risk_reason="Program bantuan penyandang disabilitas"))  # fmt: skip
    assert scope.high_risk and scope.mask_of("disabilitas") is not None
    refused(scope_data(filter__predicates=[{"element": "disabilitas", "op": "in", "values": [1]}]),
            "filter.predicates[0].element", "high-risk")  # fmt: skip


def test_minors_need_an_explicit_high_risk_grant() -> None:
    refused(scope_data(filter__include_minors=True, filter__min_age=0),
            "filter.include_minors", "UU 27/2022")  # fmt: skip
    minors = dict(high_risk=True, high_risk_reason="Imunisasi anak")
    assert load(scope_data(filter__include_minors=True, filter__min_age=0, **minors))
    refused(scope_data(filter__include_minors=True, filter__min_age=18, **minors),
            "filter.include_minors",
            "excludes minors")  # fmt: skip
    refused(scope_data(filter__min_age=0, filter__max_age=17), "filter.max_age", "selects nobody")


def test_at_least_one_element_and_one_recipient() -> None:
    refused(scope_data(elements={}), "elements", "at least one element")
    refused(scope_data(recipients=[]), "recipients", "at least one recipient")


def test_validity_within_the_requested_duration() -> None:
    assert load(scope_data(), duration=12)
    refused(scope_data(), "validity.end", "requested duration of 6 months", duration=6)
    assert load(scope_data(), duration=None)  # an imported paper PKS has no request


def test_error_messages_carry_no_values() -> None:
    secret_name = "Siti Nurhaliza"
    error = refused(scope_data(filter__predicates=[
        {"element": "pekerjaan", "op": "in", "values": [secret_name]}]),
        "filter.predicates[0].values", "int")  # fmt: skip
    assert secret_name not in str(error)
