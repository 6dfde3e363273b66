"""age X25519 recipients (`age1...`) in agreement scopes: checked by the age format's own decoder
(`ageformat.recipients`), with its refusal turned into this package's `Invalid`.

One decoder serves both, so a scope cannot accept a key that encryption would later refuse; the
refusal names the scope field and the rule, never the key.
"""

from __future__ import annotations

from ageformat.errors import KeyFormatError
from ageformat.recipients import decode_age_recipient as _decode
from agreements.errors import Invalid


def decode_age_recipient(text: str, field: str = "age_recipient") -> bytes:
    """The 32-byte X25519 public key in an `age1...` string, or Invalid naming `field`.

    Only the lower-case form `age-keygen` prints is accepted, so one key has one spelling, and a
    low-order point (anyone could open what is sent to it) is refused.
    """
    try:
        return _decode(text, field)
    except KeyFormatError as error:
        raise Invalid(error.field, error.rule) from None
