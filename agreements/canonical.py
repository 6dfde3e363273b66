"""The bytes an agreement signature covers: RFC 8785 (JCS) JSON of the agreement identity and scope.

Signing freezes exactly these bytes, and verification recomputes them from what is stored, so a
scope edited after signing no longer matches its signature. The SHA-256 of the same bytes is the
scope hash that deliveries and manifests cite. RFC 8785 comes from the locked `rfc8785` package
(sorted keys, no whitespace, ECMAScript number form, UTF-8), so any JCS implementation reproduces
the bytes.

The document has a fixed outer shape, `{"format": ..., "agreement": ..., "scope": ...}`; the
`format` string is versioned so that a future layout cannot be confused with this one.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Protocol

import rfc8785

from agreements.errors import Invalid

CANONICAL_FORMAT = "pks-gateway/agreement/1"
SIGNATURE_NAMESPACE = "pks-agreement"

_SHORT_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
SHORT_ID = _SHORT_ID
_HASH = re.compile(r"^[0-9a-f]{64}$")


class HasJson(Protocol):
    """Anything with a plain-JSON form (the scope)."""

    def to_json(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class AgreementIdentity:
    """Which agreement and version a scope belongs to; signed together with the scope.

    `number` is the official PKS number (it contains slashes, so it is never a file name);
    `short_id` is the lower-case handle used on the command line and in file names. `version` 1 is
    the original, each addendum adds one; `previous_scope_hash` chains an addendum to the version it
    amends, so the signed history cannot be reordered.
    """

    number: str
    short_id: str
    institution: str
    version: int = 1
    previous_scope_hash: str | None = None

    def __post_init__(self) -> None:
        if not self.number.strip() or len(self.number) > 200 or not self.number.isprintable():
            raise Invalid("agreement.number", "1-200 printable characters")
        if not _SHORT_ID.match(self.short_id):
            raise Invalid(
                "agreement.short_id",
                "1-40 of a-z, 0-9 and '-', starting and ending with a letter or digit",
            )
        if not self.institution.strip() or len(self.institution) > 300:
            raise Invalid("agreement.institution", "1-300 characters")
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 1:
            raise Invalid("agreement.version", "a whole number from 1")
        if (self.version == 1) != (self.previous_scope_hash is None):
            raise Invalid(
                "agreement.previous_scope_hash",
                "required for an amendment (version > 1) and absent for version 1",
            )
        if self.previous_scope_hash is not None and not _HASH.match(self.previous_scope_hash):
            raise Invalid("agreement.previous_scope_hash", "64 lower-case hex digits")

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "number": self.number,
            "short_id": self.short_id,
            "institution": self.institution,
            "version": self.version,
        }
        if self.previous_scope_hash is not None:
            data["previous_scope_hash"] = self.previous_scope_hash
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AgreementIdentity:
        return cls(
            number=data["number"],
            short_id=data["short_id"],
            institution=data["institution"],
            version=data.get("version", 1),
            previous_scope_hash=data.get("previous_scope_hash"),
        )


def canonical_document(identity: AgreementIdentity, scope: HasJson) -> dict[str, Any]:
    """The JSON value that is canonicalised (useful for showing what a signer signs)."""
    return {"format": CANONICAL_FORMAT, "agreement": identity.to_json(), "scope": scope.to_json()}


def canonical_bytes(identity: AgreementIdentity, scope: HasJson) -> bytes:
    """RFC 8785 bytes of the identity plus scope: what `ssh-keygen -Y sign` is given."""
    try:
        return rfc8785.dumps(canonical_document(identity, scope))
    except rfc8785.CanonicalizationError as error:
        # A scope whose to_json() leaks a non-JSON value is a programming error, but say where.
        raise Invalid(
            "scope", f"not representable as RFC 8785 JSON ({type(error).__name__})"
        ) from None


def scope_hash(identity: AgreementIdentity, scope: HasJson) -> str:
    """Hex SHA-256 of `canonical_bytes`."""
    return hashlib.sha256(canonical_bytes(identity, scope)).hexdigest()
