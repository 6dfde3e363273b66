"""The partner's age identity, from a file or a string, read without ever echoing it."""

from __future__ import annotations

from pathlib import Path

from ageformat import AgeError, X25519Identity, load_identities
from pks_partner.errors import PartnerError

SECRET_PREFIX = "AGE-SECRET-KEY-1"  # noqa: S105  (the prefix of the format, no secret)
FILE_LIMIT = 64 * 1024


def identities_of(identity: str | Path | list[X25519Identity]) -> list[X25519Identity]:
    """The X25519 identities in an identity file (as `age-keygen` writes it), in the text of one,
    or already loaded. Errors name the file and the rule, never the key."""
    if isinstance(identity, list):
        return identity
    text = str(identity)
    where = "the identity"
    if SECRET_PREFIX not in text.upper():
        where = f"identity file {identity}"
        try:
            with Path(identity).open("rb") as source:
                data = source.read(FILE_LIMIT + 1)
        except OSError as error:
            reason = error.strerror or type(error).__name__
            raise PartnerError(f"cannot read {where} ({reason})") from None
        if len(data) > FILE_LIMIT:
            raise PartnerError(f"{where} is larger than {FILE_LIMIT} bytes")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise PartnerError(f"{where} is not an age identity file") from None
    try:
        return load_identities(text)
    except AgeError as error:
        raise PartnerError(f"{where}: {error}") from None
