"""Keyed pseudonyms: copied-state HMAC against `hmac` and RFC 4231; the HKDF key per agreement."""

from __future__ import annotations

import hashlib
import hmac

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from exports.masking.tokens import TOKEN_KEY_BYTES, Tokenizer, derive_token_key

SECRET = bytes(range(32))


def rfc5869_hkdf_sha256(secret: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    """HKDF written out from RFC 5869 (extract, then expand), independent of `cryptography`."""
    prk = hmac.new(salt, secret, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def test_the_key_is_hkdf_sha256_with_the_documented_salt_and_info() -> None:
    key = derive_token_key(SECRET, "bps-kyc-2026")
    expected = rfc5869_hkdf_sha256(
        SECRET, b"pks-gateway token key salt v1", b"pks-gateway token v1\x00bps-kyc-2026", 32
    )
    assert key == expected
    assert len(key) == TOKEN_KEY_BYTES


def test_one_key_per_agreement_and_per_secret_stable_across_calls() -> None:
    first = derive_token_key(SECRET, "bps-kyc-2026")
    assert derive_token_key(SECRET, "bps-kyc-2026") == first
    assert derive_token_key(SECRET, "rsud-paser-2026") != first
    assert derive_token_key(bytes(32), "bps-kyc-2026") != first
    # The separator keeps "a" + "b..." apart from "ab" + "...": ids are not concatenated blindly.
    assert derive_token_key(SECRET, "ab") != derive_token_key(SECRET, "a")


@pytest.mark.parametrize(("secret", "agreement"), [(b"short", "x"), (bytes(31), "x"), (SECRET, "")])
def test_weak_inputs_are_refused_without_echoing_them(secret: bytes, agreement: str) -> None:
    with pytest.raises(ValueError) as caught:
        derive_token_key(secret, agreement)
    assert secret.hex() not in str(caught.value)


@pytest.mark.parametrize(
    ("key", "data", "digest"),
    [
        # RFC 4231 test case 1, and test case 6 (a key longer than the block is hashed first).
        (
            b"\x0b" * 20,
            b"Hi There",
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        ),
        (
            b"\xaa" * 131,
            b"Test Using Larger Than Block-Size Key - Hash Key First",
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        ),
    ],
)
def test_rfc4231_vectors(key: bytes, data: bytes, digest: str) -> None:
    assert Tokenizer(key, 64).token(data) == digest


@given(
    key=st.binary(min_size=0, max_size=200),
    values=st.lists(st.one_of(st.none(), st.binary(max_size=100)), max_size=50),
    length=st.integers(min_value=32, max_value=64),
)
def test_copied_states_equal_hmac_new(key: bytes, values: list[bytes | None], length: int) -> None:
    expected = [
        None if v is None else hmac.new(key, v, hashlib.sha256).hexdigest()[:length] for v in values
    ]
    assert Tokenizer(key, length).tokens(values) == expected


@given(st.lists(st.one_of(st.none(), st.text(max_size=30)), max_size=50))
def test_a_column_hashes_the_utf8_of_each_value(values: list[str | None]) -> None:
    key = derive_token_key(SECRET, "bps-kyc-2026")
    out = Tokenizer(key, 32).column(pa.array(values, type=pa.string()))
    assert out.type == pa.string()
    assert out.to_pylist() == [
        None if v is None else hmac.new(key, v.encode(), hashlib.sha256).hexdigest()[:32]
        for v in values
    ]


HOUSEHOLDS = st.sampled_from([None, "6401010101230001", "6401010101230002", "6401020202240003"])


@given(st.lists(HOUSEHOLDS, min_size=1, max_size=300))
def test_a_column_of_repeated_values_gets_the_same_tokens(values: list[str | None]) -> None:
    # Four distinct values at most: the column is tokenised by distinct value (a KK column).
    key = derive_token_key(SECRET, "bps-kyc-2026")
    tokenizer = Tokenizer(key, 32)
    out = tokenizer.column(pa.array(values, type=pa.string()))
    assert out.type == pa.string()
    assert out.to_pylist() == [None if v is None else tokenizer.token(v.encode()) for v in values]


def test_a_token_length_outside_sha256_is_refused() -> None:
    with pytest.raises(ValueError):
        Tokenizer(SECRET, 65)
