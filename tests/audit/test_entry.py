"""Entry fields: the guard against population values, and the exact leaf bytes."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.entry import (
    FIELD_LIMITS,
    build_leaf,
    details_text_in_leaf,
    format_time,
    keyed_nik_hash,
    keyed_nik_hasher,
    leaf_from_columns,
    validate_fields,
)
from pks_partner.leaf import LEAF_KEYS, TEXT_FIELDS, parse_leaf

FIELDS: dict[str, Any] = {
    "actor_role": "officer",
    "actor_id": "user-7",
    "action": "agreement.transition",
    "object_type": "agreement",
    "object_id": "PKS-2025-001",
    "outcome": "ok",
}
# A syntactically plausible NIK that belongs to no one (region 99, day 99).
FAKE_NIK = "9999999999990001"
MOMENT = datetime(2025, 3, 3, 1, 2, 3, 4005, tzinfo=UTC)


@pytest.mark.parametrize(
    "details",
    [
        {"nik": FAKE_NIK},
        {"message": f"NIK {FAKE_NIK} not found"},
        {"rows": [{"id": 3}, {"value": int(FAKE_NIK)}]},
        {"as_float": float(FAKE_NIK)},
        {FAKE_NIK: "key"},
    ],
)
def test_a_16_digit_number_in_details_is_refused_without_echoing_it(
    details: dict[str, Any],
) -> None:
    with pytest.raises(ValueError) as caught:
        validate_fields(**FIELDS, details=details)
    assert FAKE_NIK not in str(caught.value)
    assert "NIK" in str(caught.value)


def test_a_nik_in_a_field_is_refused() -> None:
    with pytest.raises(ValueError, match="object_id"):
        validate_fields(**{**FIELDS, "object_id": FAKE_NIK}, details=None)


def test_ids_counts_and_hashes_pass_the_guard() -> None:
    token = keyed_nik_hash(b"s" * 32, FAKE_NIK)
    details = {
        "nik_hash": token,
        "rows": 1_000_000,
        "fields": ["nik", "nama_lgkp"],
        "request": "3f2b8c1e-0d4a-4e5b-9c7d-1234567890ab",
        "phone_like": "0812345678901234567",  # 19 digits: not a NIK
        "ratio": 0.25,
    }
    assert validate_fields(**FIELDS, details=details).details == details


def test_keyed_nik_hash_is_domain_separated_hmac() -> None:
    secret = bytes(range(32))
    expected = hmac.new(secret, b"pks-gateway/audit/nik\x00" + FAKE_NIK.encode(), hashlib.sha256)
    assert keyed_nik_hash(secret, FAKE_NIK) == expected.hexdigest()
    assert keyed_nik_hash(secret, FAKE_NIK) != keyed_nik_hash(bytes(32), FAKE_NIK)
    with pytest.raises(ValueError):
        keyed_nik_hash(b"short", FAKE_NIK)
    # The hasher for many NIKs: each value as keyed_nik_hash makes it, whatever came before.
    others = [FAKE_NIK[:-1] + str(digit) for digit in range(10)]
    for key in (secret, secret * 3):  # a key longer than SHA-256's block is hashed first
        hashed = keyed_nik_hasher(key)
        assert [hashed(nik) for nik in [*others, FAKE_NIK]] == [
            hmac.new(key, b"pks-gateway/audit/nik\x00" + nik.encode(), hashlib.sha256).hexdigest()
            for nik in [*others, FAKE_NIK]
        ]
    with pytest.raises(ValueError):
        keyed_nik_hasher(b"short")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("details", {"x": float("nan")}),
        ("details", {"x": 2**53}),
        ("details", {"x": "\ud800"}),
        ("details", {"x": object()}),
        ("details", {1: "not a string key"}),
        ("details", {"x": "nul\x00"}),
        ("details", ["not", "a", "mapping"]),
        ("actor_id", ""),
        ("actor_id", "x" * 129),
        ("action", "line\nbreak"),
    ],
)
def test_invalid_fields_are_refused(field: str, value: object) -> None:
    arguments: dict[str, Any] = {**FIELDS, "details": {}}
    arguments[field] = value
    with pytest.raises(ValueError):
        validate_fields(**arguments)


def test_leaf_is_rfc8785_of_all_fields_with_seq_and_time() -> None:
    fields = validate_fields(**FIELDS, details={"to": "review", "from": "draft", "n": 2})
    leaf, details = build_leaf(fields, 41, MOMENT)
    document = {**FIELDS, "details": fields.details, "seq": 41, "v": 1}
    document["time"] = "2025-03-03T01:02:03.004005Z"
    assert leaf == rfc8785.dumps(document)
    assert details == '{"from":"draft","n":2,"to":"review"}'
    assert parse_leaf(leaf) == json.loads(leaf)


def test_times_are_utc_with_fixed_width() -> None:
    wita = timezone(timedelta(hours=8))  # Paser is on WITA
    assert format_time(datetime(2025, 1, 1, 8, tzinfo=wita)) == "2025-01-01T00:00:00.000000Z"


text = st.text(st.characters(codec="utf-8"), min_size=1, max_size=20)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    texts=st.tuples(*[text] * 6),
    details=st.dictionaries(text, json_values, max_size=4),
    seq=st.integers(0, 2**40),
)
def test_the_fast_path_leaf_is_the_canonical_leaf(
    texts: tuple[str, ...], details: dict[str, Any], seq: int
) -> None:
    names = list(FIELDS)
    try:
        fields = validate_fields(**dict(zip(names, texts, strict=True)), details=details)
    except ValueError:
        return  # control characters, NIK-like runs: refused, nothing to compare
    leaf, details_text = build_leaf(fields, seq, MOMENT)
    assert leaf == rfc8785.dumps({**json.loads(leaf)})
    assert details_text_in_leaf(leaf) == details_text.encode()
    rebuilt = leaf_from_columns(seq, format_time(MOMENT), texts, details_text)
    assert rebuilt is None or rebuilt == leaf
    if not any(ch in '"\\' for ch in "".join(texts)):
        assert rebuilt == leaf


@pytest.mark.parametrize(
    "leaf",
    [
        b"not json",
        b"[]",
        b'{"v":1}',
        b' {"action":"a"} ',
        json.dumps({**FIELDS, "details": {}, "seq": "1", "time": "t", "v": 1}).encode(),
        json.dumps({**FIELDS, "details": [], "seq": 1, "time": "t", "v": 1}).encode(),
        json.dumps({**FIELDS, "details": {}, "seq": 1, "time": "t", "v": 2}).encode(),
    ],
)
def test_leaves_of_another_shape_are_malformed(leaf: bytes) -> None:
    with pytest.raises(ValueError):
        parse_leaf(leaf)


def test_the_leaf_readers_check_has_exactly_the_fields_the_log_writes() -> None:
    """pks_partner.leaf reads what audit.entry writes: the same fields, the same text ones."""
    assert set(TEXT_FIELDS) == {*FIELD_LIMITS, "time"}
    assert {*FIELD_LIMITS, "details", "seq", "time", "v"} == LEAF_KEYS
    leaf, _ = build_leaf(validate_fields(**FIELDS, details={}), 7, MOMENT)
    assert parse_leaf(leaf).keys() == LEAF_KEYS
