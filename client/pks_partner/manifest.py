"""Delivery manifests: what one delivery holds, its SSHSIG signature, and the partner's checks.

`<delivery_id>.manifest.json` holds exactly the RFC 8785 bytes that are signed, and
`<delivery_id>.manifest.json.sig` the armored SSHSIG (Ed25519, namespace `pks-manifest`), so
`ssh-keygen -Y verify` checks a delivery without any code of ours. The manifest also carries the
delivery's own audit entry (its leaf bytes) with a C2SP tlog-proof of that entry at a checkpoint
the audit key signed: the partner can prove offline that the delivery was logged, and keeps a
piece of the log's history that a later rewrite could not match.

The gateway builds and signs manifests with this module (exports/publishing/publish.py); a partner
reads them with it, and checks them with `pks_partner.verify`. Errors name fields, never values.
docs/manifest.md describes every field.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Protocol, TypeVar

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ageformat import recipient_fingerprint
from pks_partner.sshsig import sign

NAMESPACE = "pks-manifest"
MANIFEST_VERSION = 1
SIGNER_PRINCIPAL = "pks-gateway"  # the identity in the allowed_signers line partners write
SOFTWARE_NAME = "pks-gateway"
# The audit entry a manifest cites; the pipeline appends it with `entry_details`.
ENTRY_ACTION = "delivery.extract"
ENTRY_OBJECT_TYPE = "delivery"
ENTRY_OUTCOME = "ok"
READ_SIZE = 1 << 20
# The data formats a delivery comes in; its file is `<delivery_id>.<format>.age`.
FORMATS = ("parquet", "csv", "xlsx")

# A delivery id becomes file names and the audit entry's object_id (at most 128 characters).
_DELIVERY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_FINGERPRINT = re.compile(r"^SHA256:[A-Za-z0-9+/]{43}$")
_CREATED_AT = "%Y-%m-%dT%H:%M:%SZ"
_T = TypeVar("_T")


class ManifestFormatError(ValueError):
    """Not a version-1 manifest; `field` is the dotted path of the first problem (no values)."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


def _need(ok: bool, where: str, rule: str) -> None:
    if not ok:
        raise ManifestFormatError(where, rule)


def _text(value: object, where: str) -> None:
    _need(isinstance(value, str) and bool(value.strip()), where, "a non-empty string")


def _count(value: object, where: str, minimum: int = 0) -> None:
    ok = type(value) is int and value >= minimum
    _need(ok, where, f"a whole number from {minimum}")


def _digest(value: object, where: str) -> None:
    _need(isinstance(value, str) and bool(_SHA256.match(value)), where, "64 lower-case hex digits")


def same_value(value: object, expected: object) -> bool:
    # JSON reads true as 1 and 1.0 as 1 in Python; a signed field must match in type too.
    return type(value) is type(expected) and value == expected


class RendersMask(Protocol):
    """A mask as the signed scope renders it (the gateway's `agreements.masks.Mask`)."""

    def to_json(self) -> dict[str, Any]: ...


def installed_version() -> str:
    """This package's version as installed (the manifest's `software.version`)."""
    try:
        return version(SOFTWARE_NAME)
    except PackageNotFoundError:
        return "0+unknown"


def _flat_json(self: Any) -> dict[str, Any]:
    # The JSON members of these records are exactly their fields, all strings and integers.
    return asdict(self)


def _keys(record: type[Any]) -> set[str]:
    return {f.name for f in fields(record)}


@dataclass(frozen=True)
class AgreementRef:
    """Which signed agreement version the delivery ran under."""

    number: str
    short_id: str
    version: int
    scope_hash: str

    def __post_init__(self) -> None:
        _text(self.number, "agreement.number")
        _text(self.short_id, "agreement.short_id")
        _count(self.version, "agreement.version", minimum=1)
        _digest(self.scope_hash, "agreement.scope_hash")

    to_json = _flat_json


@dataclass(frozen=True)
class RecipientRef:
    """A recipient by name and age key fingerprint (`ageformat.recipient_fingerprint`)."""

    name: str
    fingerprint: str

    def __post_init__(self) -> None:
        _text(self.name, "recipients.name")
        ok = isinstance(self.fingerprint, str) and bool(_FINGERPRINT.match(self.fingerprint))
        _need(ok, "recipients.fingerprint", "SHA256: and 43 base64 characters")

    @classmethod
    def for_key(cls, name: str, age_recipient: str) -> RecipientRef:
        return cls(name, recipient_fingerprint(age_recipient))

    to_json = _flat_json


@dataclass(frozen=True)
class ElementRef:
    """A delivered element: catalog key, label, and its mask as the signed scope renders it."""

    key: str
    label: str
    mask: Mapping[str, Any]

    def __post_init__(self) -> None:
        _text(self.key, "elements.key")
        _text(self.label, "elements.label")
        ok = isinstance(self.mask, Mapping) and isinstance(self.mask.get("mask"), str)
        _need(ok, "elements.mask", 'an object with a "mask" kind')

    @classmethod
    def of(cls, key: str, label: str, mask: RendersMask) -> ElementRef:
        return cls(key, label, mask.to_json())

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "mask": copy.deepcopy(dict(self.mask))}


@dataclass(frozen=True)
class DeliveryFile:
    """The encrypted data file: sizes and SHA-256 of the ciphertext and of the plaintext."""

    name: str
    format: str
    size: int
    sha256: str
    plaintext_sha256: str
    plaintext_size: int

    def __post_init__(self) -> None:
        ok = isinstance(self.format, str) and self.format in FORMATS
        _need(ok, "file.format", "parquet, csv or xlsx")
        # A bare file name: a verifier may look for it beside the manifest.
        ok = isinstance(self.name, str) and bool(re.fullmatch(r"[A-Za-z0-9][\w.-]*", self.name))
        _need(ok, "file.name", "a plain file name")
        _count(self.size, "file.size")
        _digest(self.sha256, "file.sha256")
        _digest(self.plaintext_sha256, "file.plaintext_sha256")
        _count(self.plaintext_size, "file.plaintext_size")

    to_json = _flat_json


def entry_details(file: DeliveryFile, rows: int, agreement: AgreementRef) -> dict[str, Any]:
    """The details of the `delivery.extract` entry that `verify_delivery` holds the manifest to:
    what was delivered, and under which signed agreement version."""
    return {
        "agreement": agreement.short_id,
        "version": agreement.version,
        "scope_hash": agreement.scope_hash,
        "file": file.name,
        "size": file.size,
        "sha256": file.sha256,
        "plaintext_sha256": file.plaintext_sha256,
        "rows": rows,
    }


@dataclass(frozen=True)
class AuditRef:
    """The delivery's audit entry: its seq, its leaf bytes and a tlog-proof with the checkpoint."""

    seq: int
    leaf: bytes
    proof: str

    def __post_init__(self) -> None:
        _count(self.seq, "audit.seq")
        _need(isinstance(self.leaf, bytes) and bool(self.leaf), "audit.leaf", "non-empty bytes")
        _text(self.proof, "audit.proof")

    def to_json(self) -> dict[str, Any]:
        leaf = base64.b64encode(self.leaf).decode("ascii")
        return {"seq": self.seq, "leaf": leaf, "proof": self.proof}


@dataclass(frozen=True)
class Manifest:
    """One delivery's manifest; `canonical_bytes()` is what is written and signed."""

    delivery_id: str
    agreement: AgreementRef
    recipients: tuple[RecipientRef, ...]
    elements: tuple[ElementRef, ...]
    row_filter: Mapping[str, Any]  # RowFilter.to_json()
    rows: int
    reidentification: Mapping[str, Any]  # the re-identification report's to_json()
    file: DeliveryFile
    created_at: datetime
    audit: AuditRef
    software_version: str = field(default_factory=installed_version)

    def __post_init__(self) -> None:
        ok = isinstance(self.delivery_id, str) and bool(_DELIVERY_ID.match(self.delivery_id))
        _need(ok, "delivery_id", "1-100 of A-Z a-z 0-9 _ -, starting with a letter or digit")
        _need(bool(self.recipients), "recipients", "at least one recipient")
        _need(bool(self.elements), "elements", "at least one element")
        _need(isinstance(self.row_filter, Mapping), "filter", "an object")
        _count(self.rows, "rows")
        _need(isinstance(self.reidentification, Mapping), "reidentification", "an object")
        expected = f"{self.delivery_id}.{self.file.format}.age"
        _need(self.file.name == expected, "file.name", "<delivery_id>.<format>.age")
        aware = isinstance(self.created_at, datetime) and self.created_at.utcoffset() is not None
        _need(aware, "created_at", "a timezone-aware time")
        # The manifest states seconds in UTC; keep the value equal to what it states.
        object.__setattr__(
            self, "created_at", self.created_at.astimezone(UTC).replace(microsecond=0)
        )
        _text(self.software_version, "software.version")

    def to_json(self) -> dict[str, Any]:
        return {
            "manifest_version": MANIFEST_VERSION,
            "delivery_id": self.delivery_id,
            "agreement": self.agreement.to_json(),
            "recipients": [r.to_json() for r in self.recipients],
            "elements": [e.to_json() for e in self.elements],
            "filter": copy.deepcopy(dict(self.row_filter)),
            "rows": self.rows,
            "reidentification": copy.deepcopy(dict(self.reidentification)),
            "file": self.file.to_json(),
            "created_at": self.created_at.strftime(_CREATED_AT),
            "software": {"name": SOFTWARE_NAME, "version": self.software_version},
            "audit": self.audit.to_json(),
        }

    def canonical_bytes(self) -> bytes:
        try:
            return rfc8785.dumps(self.to_json())
        except rfc8785.CanonicalizationError:
            raise ManifestFormatError("manifest", "not representable as RFC 8785 JSON") from None

    @classmethod
    def from_json(cls, data: object) -> Manifest:
        """Read a version-1 manifest document; ManifestFormatError names the first bad field."""
        top = _object(data, "manifest", _TOP_KEYS)
        _need(
            same_value(top["manifest_version"], MANIFEST_VERSION), "manifest_version", "must be 1"
        )
        agreement = _object(top["agreement"], "agreement", _keys(AgreementRef))
        software = _object(top["software"], "software", {"name", "version"})
        _need(software["name"] == SOFTWARE_NAME, "software.name", f"must be {SOFTWARE_NAME}")
        audit = _object(top["audit"], "audit", {"seq", "leaf", "proof"})
        return cls(
            delivery_id=top["delivery_id"],
            agreement=AgreementRef(**agreement),
            recipients=_list(top["recipients"], "recipients", RecipientRef),
            elements=_list(top["elements"], "elements", ElementRef),
            row_filter=_object(top["filter"], "filter", None),
            rows=top["rows"],
            reidentification=_object(top["reidentification"], "reidentification", None),
            file=DeliveryFile(**_object(top["file"], "file", _keys(DeliveryFile))),
            created_at=_created_at(top["created_at"]),
            audit=AuditRef(audit["seq"], _base64(audit["leaf"], "audit.leaf"), audit["proof"]),
            software_version=software["version"],
        )


_TOP_KEYS = {
    "manifest_version", "delivery_id", "agreement", "recipients", "elements", "filter", "rows",
    "reidentification", "file", "created_at", "software", "audit",
}  # fmt: skip


def _object(value: object, where: str, keys: set[str] | None) -> dict[str, Any]:
    _need(isinstance(value, dict), where, "an object")
    assert isinstance(value, dict)  # for mypy; _need has refused anything else
    if keys is not None:
        missing, extra = sorted(keys - value.keys()), sorted(value.keys() - keys)
        _need(not missing, f"{where}.{missing[0] if missing else ''}", "missing")
        _need(not extra, where, "has a field this manifest version does not define")
    return value


def _list(value: object, where: str, record: type[_T]) -> tuple[_T, ...]:
    _need(isinstance(value, list), where, "a list")
    assert isinstance(value, list)
    keys = _keys(record)
    return tuple(record(**_object(item, f"{where}[{i}]", keys)) for i, item in enumerate(value))


def _base64(value: object, where: str) -> bytes:
    _need(isinstance(value, str), where, "base64 text")
    try:
        decoded = base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):  # ValueError: text that is not even ASCII
        raise ManifestFormatError(where, "base64 text") from None
    _need(base64.b64encode(decoded).decode("ascii") == value, where, "canonical base64")
    return decoded


def _created_at(value: object) -> datetime:
    _need(isinstance(value, str), "created_at", "RFC 3339 UTC to the second")
    try:
        return datetime.strptime(str(value), _CREATED_AT).replace(tzinfo=UTC)
    except ValueError:
        raise ManifestFormatError("created_at", "RFC 3339 UTC to the second") from None


def parse_manifest(manifest_bytes: bytes) -> Manifest:
    """The manifest in these bytes (JSON, version 1, every field); ManifestFormatError if not."""
    try:
        document = json.loads(manifest_bytes)
    except (ValueError, RecursionError):
        raise ManifestFormatError("manifest", "not JSON") from None
    return Manifest.from_json(document)


def sign_manifest(manifest_bytes: bytes, key: Ed25519PrivateKey) -> str:
    """The armored SSHSIG over the manifest bytes, as `ssh-keygen -Y sign -n pks-manifest`."""
    return sign(manifest_bytes, key, NAMESPACE)
