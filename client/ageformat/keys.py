"""age X25519 keys: identities (`AGE-SECRET-KEY-1...`), identity files, key generation, and the
recipient fingerprint a delivery manifest names.

Recipients (`age1...`) are decoded by `ageformat.recipients`, which the gateway also uses to
validate them in agreement scopes, so a key that a scope accepts is exactly a key that encryption
can use. Errors here (`ageformat.errors.AgeError`) name the line or the rule that failed, never
the key itself: an identity is a secret and a recipient ties a file to a partner.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from ageformat.errors import AgeError, KeyFormatError
from ageformat.recipients import (
    bech32_decode,
    bech32_encode,
    decode_age_recipient,
    encode_age_recipient,
)

IDENTITY_HRP = "age-secret-key-"


@dataclass(frozen=True, repr=False)
class X25519Identity:
    """An X25519 secret key and the public key (`recipient`) that age stanzas are salted with."""

    private_key: X25519PrivateKey
    recipient: bytes

    @classmethod
    def from_secret(cls, secret: bytes) -> X25519Identity:
        key = X25519PrivateKey.from_private_bytes(secret)
        return cls(key, key.public_key().public_bytes_raw())

    def __repr__(self) -> str:
        # A repr ends up in tracebacks and logs: show only the public half's fingerprint.
        return f"X25519Identity({recipient_fingerprint(encode_age_recipient(self.recipient))})"


def parse_identity(text: str) -> X25519Identity:
    """The identity in one `AGE-SECRET-KEY-1...` string (upper case, as `age-keygen` prints it)."""
    if not text.startswith(IDENTITY_HRP.upper() + "1") or text != text.upper():
        raise AgeError("key", "not an age X25519 identity (AGE-SECRET-KEY-1..., upper case)")
    try:
        secret = bech32_decode(text, IDENTITY_HRP, "identity")
    except KeyFormatError as error:
        # Its message names only the field and the rule, never the text.
        raise AgeError("key", f"age identity: {error.rule}") from None
    if len(secret) != 32:
        raise AgeError("key", "an age X25519 identity holds a 32-byte key")
    return X25519Identity.from_secret(secret)


def load_identities(text: str) -> list[X25519Identity]:
    """The identities in an age identity file: one key a line; blank lines and `#` comments skip.

    At least one identity is required, so an empty or all-comment file is an error rather than a
    silent "no matching identity" later.
    """
    identities = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            identities.append(parse_identity(line))
        except AgeError as error:
            raise AgeError("key", f"identity file line {number}: {error}") from None
    if not identities:
        raise AgeError("key", "identity file holds no AGE-SECRET-KEY-1... line")
    return identities


def identity_string(identity: X25519Identity) -> str:
    """`AGE-SECRET-KEY-1...` for an identity (the inverse of `parse_identity`)."""
    return bech32_encode(IDENTITY_HRP, identity.private_key.private_bytes_raw()).upper()


def generate_identity() -> tuple[str, str]:
    """A fresh key pair as (`AGE-SECRET-KEY-1...`, `age1...`), for tests and the demo."""
    identity = X25519Identity.from_secret(X25519PrivateKey.generate().private_bytes_raw())
    return identity_string(identity), encode_age_recipient(identity.recipient)


def recipient_fingerprint(recipient: str) -> str:
    """`SHA256:` and unpadded base64 of SHA-256 of the recipient string (OpenSSH's style).

    Only a valid `age1...` string is fingerprinted (else `ageformat.errors.KeyFormatError`), and
    only in the lower-case form `decode_age_recipient` accepts, so one key has one fingerprint.
    """
    decode_age_recipient(recipient)
    digest = hashlib.sha256(recipient.encode("ascii")).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")
