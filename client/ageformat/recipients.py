"""age X25519 recipient strings (`age1...`): Bech32 (BIP 173) with the human-readable part "age".

Written here because no Bech32 library is locked and the decoder is short; `pyrage` (a dev
dependency) and the stock `age` tool check it in the tests. Encryption uses the same function to
get the 32-byte X25519 key it encrypts to, and the same low-order check at each key exchange; the
gateway's agreement scopes validate recipients with it too (`agreements.recipients`), so a scope
cannot accept a key that encryption would later refuse. Errors are `KeyFormatError`s naming the
caller's field and the rule, never the key.
"""

from __future__ import annotations

import hmac

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from ageformat.errors import KeyFormatError

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
AGE_HRP = "age"


def _polymod(values: list[int]) -> int:
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = (checksum & 0x1FFFFFF) << 5 ^ value
        for i, generator in enumerate(_GENERATOR):
            if (top >> i) & 1:
                checksum ^= generator
    return checksum


def _expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def bech32_decode(text: str, hrp: str, field: str) -> bytes:
    """The bytes in a Bech32 string with this human-readable part (all lower or all upper case)."""
    if text not in (text.lower(), text.upper()):
        raise KeyFormatError(field, "Bech32 must not mix upper and lower case")
    text = text.lower()
    separator = text.rfind("1")
    found, data = text[:separator], text[separator + 1 :]
    if found != hrp:
        raise KeyFormatError(field, f"must start with {hrp}1")
    if len(data) < 6 or any(c not in _CHARSET for c in data):
        raise KeyFormatError(field, "not valid Bech32")
    values = [_CHARSET.index(c) for c in data]
    if _polymod(_expand(hrp) + values) != 1:
        raise KeyFormatError(field, "Bech32 checksum does not match (mistyped key?)")
    accumulator, bits, out = 0, 0, bytearray()
    for value in values[:-6]:
        accumulator = (accumulator << 5) | value
        bits += 5
        if bits >= 8:
            bits -= 8
            out.append((accumulator >> bits) & 0xFF)
    if bits >= 5 or accumulator & ((1 << bits) - 1):
        raise KeyFormatError(field, "not valid Bech32 (padding)")
    return bytes(out)


def decode_age_recipient(text: str, field: str = "age_recipient") -> bytes:
    """The 32-byte X25519 public key in an `age1...` string, or KeyFormatError naming `field`.

    Only the lower-case form `age-keygen` prints is accepted, so one key has one spelling.
    """
    if not text.startswith(AGE_HRP + "1") or text != text.lower():
        raise KeyFormatError(field, "must be an age X25519 recipient (age1..., lower case)")
    key = bech32_decode(text, AGE_HRP, field)
    if len(key) != 32:
        raise KeyFormatError(field, "an age X25519 recipient holds a 32-byte key")
    # Every X25519 scalar is a multiple of 8, so a point of order 1, 2, 4 or 8 (in any encoding)
    # gives the all-zero secret with any key: a probe key tells them all apart from real keys.
    if x25519_shared_secret(X25519PrivateKey.generate(), key) is None:
        raise KeyFormatError(
            field, "is a low-order X25519 point: anyone could open what is sent to it"
        )
    return key


def x25519_shared_secret(private_key: X25519PrivateKey, public_key: bytes) -> bytes | None:
    """The X25519 shared secret, or None when it is all zeros: `public_key` is a low-order point.

    The age spec says to refuse that secret (the file key would be wrapped under a key anyone can
    compute). OpenSSL already refuses to return it, which `cryptography` raises as ValueError;
    the comparison keeps the rule with a backend that does not.
    """
    try:
        shared = private_key.exchange(X25519PublicKey.from_public_bytes(public_key))
    except ValueError:
        return None
    return None if hmac.compare_digest(shared, bytes(32)) else shared


def bech32_encode(hrp: str, data: bytes) -> str:
    """Bech32 (BIP 173) of `data` under `hrp`, lower case."""
    accumulator, bits, values = 0, 0, []
    for byte in data:
        accumulator = (accumulator << 8) | byte
        bits += 8
        while bits >= 5:
            bits -= 5
            values.append((accumulator >> bits) & 31)
    if bits:
        values.append((accumulator << (5 - bits)) & 31)
    checksum = _polymod([*_expand(hrp), *values, 0, 0, 0, 0, 0, 0]) ^ 1
    values += [(checksum >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_CHARSET[v] for v in values)


def encode_age_recipient(key: bytes) -> str:
    """`age1...` for a 32-byte X25519 public key (the inverse of `decode_age_recipient`)."""
    if len(key) != 32:
        raise KeyFormatError("age_recipient", "an age X25519 recipient holds a 32-byte key")
    return bech32_encode(AGE_HRP, key)
