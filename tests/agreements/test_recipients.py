"""age recipient strings: our Bech32 agrees with pyrage (the age library) and the age CLI."""

from __future__ import annotations

import subprocess

import pyrage
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from ageformat.recipients import bech32_decode, encode_age_recipient
from agreements.errors import Invalid
from agreements.recipients import decode_age_recipient
from tests.services import require_tool


def test_keys_of_generated_identities_round_trip() -> None:
    for _ in range(50):
        identity = pyrage.x25519.Identity.generate()
        recipient = str(identity.to_public())
        key = decode_age_recipient(recipient)
        # The key inside is the X25519 public key of the identity's secret scalar.
        secret = bech32_decode(str(identity), "age-secret-key-", "identity")
        public = X25519PrivateKey.from_private_bytes(secret).public_key()
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        assert key == raw
        assert encode_age_recipient(key) == recipient


def test_age_keygen_recipient_is_accepted_and_encrypts() -> None:
    keygen = require_tool("age-keygen", "age")
    age = require_tool("age", "age")
    identity = subprocess.run([keygen], capture_output=True, text=True, check=True).stdout
    recipient = next(line.split(": ")[1] for line in identity.splitlines() if "public key" in line)
    ours = encode_age_recipient(decode_age_recipient(recipient))
    encrypted = subprocess.run(
        [age, "-r", ours], input=b"uji", capture_output=True, check=True
    ).stdout
    secret = next(line for line in identity.splitlines() if line.startswith("AGE-SECRET-KEY-"))
    assert pyrage.decrypt(encrypted, [pyrage.x25519.Identity.from_str(secret)]) == b"uji"


@pytest.mark.parametrize("text", ["", "age1", "age", "1qqqqqq", "age1ÿÿÿÿÿÿ"])
def test_garbage_is_invalid_not_a_crash(text: str) -> None:
    with pytest.raises(Invalid):
        decode_age_recipient(text)


# The X25519 points of order 1, 2, 4 and 8 (libsodium's and RFC 7748's list, little-endian u):
# 0, 1, the two points of order 8, p - 1, p and p + 1 (p = 2^255 - 19).
LOW_ORDER = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
]
# X25519 ignores the top bit of u, so each point has a second spelling with it set.
LOW_ORDER_KEYS = [bytes.fromhex(h) for h in LOW_ORDER] + [
    bytes.fromhex(h)[:31] + bytes([bytes.fromhex(h)[31] | 0x80]) for h in LOW_ORDER
]


@pytest.mark.parametrize("key", LOW_ORDER_KEYS, ids=lambda key: key.hex()[:8] + key.hex()[-2:])
def test_a_low_order_point_is_not_a_recipient(key: bytes) -> None:
    recipient = encode_age_recipient(key)  # well-formed Bech32 of 32 bytes
    with pytest.raises(Invalid, match="low-order") as refused:
        decode_age_recipient(recipient, "recipients[0].age_recipient")
    assert refused.value.field == "recipients[0].age_recipient"
    assert recipient not in refused.value.message
