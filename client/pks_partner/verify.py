"""The partner's checks of a delivery: signature, canonical form, checkpoint, proof, entry, file.

`verify_delivery` runs every check and reports each by name with a one-line reason; a bad manifest
is a failed check, never an exception, because a partner needs to know which promise broke.
Reasons name fields, never values. docs/manifest.md says what each check proves.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from pks_partner.checkpoint import (
    Checkpoint,
    CheckpointError,
    NoteVerifier,
    open_checkpoint,
    verifier_for,
)
from pks_partner.consistency import ConsistencyProofError, extends, parse_consistency_proof
from pks_partner.leaf import LeafFormatError, parse_leaf
from pks_partner.manifest import (
    ENTRY_ACTION,
    ENTRY_OBJECT_TYPE,
    ENTRY_OUTCOME,
    MANIFEST_VERSION,
    NAMESPACE,
    READ_SIZE,
    DeliveryFile,
    Manifest,
    ManifestFormatError,
    entry_details,
    same_value,
)
from pks_partner.sshsig import SignatureError, verify_by_key
from pks_partner.tlog_proof import parse_tlog_proof, verify_tlog_proof


def read_manifest(path: Path | str) -> tuple[bytes, str]:
    """The manifest's bytes and its signature text from `<path>` and `<path>.sig`."""
    path = Path(path)
    signature = path.with_name(path.name + ".sig").read_text("utf-8")
    return path.read_bytes(), signature


@dataclass(frozen=True)
class Check:
    """One named check: passed or not, and why in one line (fields, never values)."""

    name: str
    passed: bool
    reason: str


@dataclass(frozen=True)
class DeliveryCheck:
    """What `verify_delivery` found, with the manifest and checkpoint when they could be read."""

    checks: tuple[Check, ...]
    manifest: Manifest | None = None
    checkpoint: Checkpoint | None = None

    @property
    def ok(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failed(self) -> tuple[str, ...]:
        return tuple(check.name for check in self.checks if not check.passed)

    def lines(self) -> list[str]:
        """One line a check, as both command lines print them: `ok   name: reason`."""
        return [f"{'ok  ' if c.passed else 'FAIL'} {c.name}: {c.reason}" for c in self.checks]


def verify_delivery(
    manifest_bytes: bytes,
    signature: str,
    *,
    manifest_key: Ed25519PublicKey,
    audit_key: Ed25519PublicKey | NoteVerifier | str | None,
    audit_origin: str | None,
    data_file: Path | None,
    newer: tuple[str, str] | None = None,
) -> DeliveryCheck:
    """Check a delivery as a partner would; see docs/manifest.md for what each check proves.

    `audit_key` None leaves out `checkpoint` and `inclusion` (a partner who was not given the
    audit key); `audit_origin` None takes the origin a verifier key string names. `newer` is a
    later checkpoint note the partner was shown and the consistency proof text from the manifest's
    checkpoint to it (`audit prove --from N`): the `consistency` check then proves the log that
    newer checkpoint signs still extends the history this manifest was given.

    Raises ValueError only for the caller's own input — a malformed `audit_key` string, an
    Ed25519 audit key without its origin, `newer` without an audit key — and OSError for a data
    file that exists but cannot be read.
    """
    verifier = None
    if audit_key is not None:
        if audit_origin is None and isinstance(audit_key, Ed25519PublicKey):
            raise ValueError("an Ed25519 audit key needs the audit log's origin")
        verifier = verifier_for(audit_key, audit_origin or "")
        audit_origin = audit_origin or verifier.name
    elif newer is not None:
        raise ValueError("a consistency check needs the audit key")
    checks = [_signature(manifest_bytes, signature, manifest_key)]
    manifest, checkpoint = None, None
    try:
        document: Any = json.loads(manifest_bytes)
    except (ValueError, RecursionError):
        document = None
    skipped = "not checked: the manifest is not a JSON object"
    if not isinstance(document, dict):
        checks += [Check(name, False, skipped) for name in ("canonical", "version")]
        checks.append(Check("format", False, "the manifest is not a JSON object"))
    else:
        checks.append(_canonical(manifest_bytes, document))
        known = same_value(document.get("manifest_version"), MANIFEST_VERSION)
        reason = "manifest_version is 1" if known else "manifest_version is missing or unknown"
        checks.append(Check("version", known, reason))
        try:
            manifest = Manifest.from_json(document) if known else None
            reason = "every field is present and well-formed" if known else "not checked"
        except ManifestFormatError as error:
            reason = f"{error.field}: {error.rule}"
        checks.append(Check("format", manifest is not None, reason))
    names = ["checkpoint", "inclusion"] if verifier is not None else []
    names += ["entry"] + ([] if data_file is None else ["data_file"])
    if manifest is None:
        unread = "not checked: the manifest could not be read"
        checks += [Check(name, False, unread) for name in names]
        return DeliveryCheck(tuple(checks))
    if verifier is not None and audit_origin is not None:
        checkpoint = _inclusion(manifest, verifier, audit_origin, checks)
    checks.append(_entry(manifest))
    if data_file is not None:
        checks.append(check_data_file(data_file, manifest.file))
    if verifier is not None and audit_origin is not None and newer is not None:
        checks.append(_consistency(checkpoint, *newer, verifier, audit_origin))
    return DeliveryCheck(tuple(checks), manifest, checkpoint)


def _inclusion(
    manifest: Manifest, verifier: NoteVerifier, audit_origin: str, checks: list[Check]
) -> Checkpoint | None:
    """Append the `checkpoint` and `inclusion` checks; the checkpoint, when it is trusted."""
    audit, checkpoint = manifest.audit, None
    try:
        checkpoint = verify_tlog_proof(audit.proof, audit.leaf, verifier, audit_origin)
        index = parse_tlog_proof(audit.proof).index
        checks.append(Check("checkpoint", True, "signed by the audit key for this log"))
        same = index == audit.seq
        reason = "the leaf is in the signed tree" if same else "the proof is for another seq"
        checks.append(Check("inclusion", same, reason))
    except CheckpointError as error:  # a ValueError; caught first for its kind
        if error.kind == "inclusion":
            checks.append(Check("checkpoint", True, "signed by the audit key for this log"))
            checks.append(Check("inclusion", False, "the leaf is not proven in the checkpoint"))
        else:
            checks.append(Check("checkpoint", False, f"{error.kind}: {error}"))
            checks.append(Check("inclusion", False, "not checked: no trusted checkpoint"))
    except ValueError:  # anything else odd in the proof text is still the manifest's fault
        checks.append(Check("checkpoint", False, "malformed: audit.proof could not be read"))
        checks.append(Check("inclusion", False, "not checked: no trusted checkpoint"))
    return checkpoint


def _consistency(
    older: Checkpoint | None, note: str, proof_text: str, verifier: NoteVerifier, origin: str
) -> Check:
    if older is None:
        return Check("consistency", False, "not checked: the manifest's checkpoint is not trusted")
    try:
        newer = open_checkpoint(note, verifier, origin)
    except CheckpointError as error:
        return Check("consistency", False, f"the newer checkpoint: {error.kind}: {error}")
    try:
        proof = parse_consistency_proof(proof_text)
    except ConsistencyProofError as error:
        return Check("consistency", False, f"the consistency proof is malformed: {error}")
    if (proof.old_size, proof.new_size) != (older.tree_size, newer.tree_size):
        return Check(
            "consistency",
            False,
            f"the proof is from size {proof.old_size} to {proof.new_size}, not from the "
            f"manifest's {older.tree_size} to the newer checkpoint's {newer.tree_size}",
        )
    if not extends(older, newer, proof):
        return Check(
            "consistency",
            False,
            f"the log at size {newer.tree_size} does not extend the manifest's checkpoint "
            f"(size {older.tree_size}): history was rewritten or forked after this delivery",
        )
    return Check(
        "consistency",
        True,
        f"the newer checkpoint (size {newer.tree_size}) extends the manifest's "
        f"(size {older.tree_size})",
    )


def _signature(manifest_bytes: bytes, signature: str, key: Ed25519PublicKey) -> Check:
    try:
        verify_by_key(manifest_bytes, signature, NAMESPACE, key)
    except SignatureError as error:
        return Check("signature", False, error.rule)
    return Check("signature", True, f"SSHSIG by the manifest key, namespace {NAMESPACE}")


def _canonical(manifest_bytes: bytes, document: dict[str, Any]) -> Check:
    try:
        same = rfc8785.dumps(document) == manifest_bytes
    except (rfc8785.CanonicalizationError, RecursionError):
        same = False
    reason = "the bytes are RFC 8785 canonical" if same else "the bytes are not RFC 8785 canonical"
    return Check("canonical", same, reason)


def _entry(manifest: Manifest) -> Check:
    try:
        entry = parse_leaf(manifest.audit.leaf)
    except LeafFormatError:
        return Check("entry", False, "audit.leaf is not an audit entry")
    details = entry["details"]
    expected = entry_details(manifest.file, manifest.rows, manifest.agreement)
    problems = [
        (entry["seq"] == manifest.audit.seq, "the entry's seq differs from audit.seq"),
        (entry["action"] == ENTRY_ACTION, f"the entry's action is not {ENTRY_ACTION}"),
        (
            entry["object_type"] == ENTRY_OBJECT_TYPE
            and entry["object_id"] == manifest.delivery_id,
            "the entry is for another delivery",
        ),
        (entry["outcome"] == ENTRY_OUTCOME, f"the entry's outcome is not {ENTRY_OUTCOME}"),
        *(
            (
                same_value(details.get(key), value),
                f"the entry's details.{key} differs from the manifest",
            )
            for key, value in expected.items()
        ),
    ]
    for ok, reason in problems:
        if not ok:
            return Check("entry", False, reason)
    return Check(
        "entry", True, f"{ENTRY_ACTION} of this delivery: same agreement version, file and rows"
    )


def check_data_file(path: Path, file: DeliveryFile) -> Check:
    """`data_file`: the file's size and SHA-256, read in 1 MiB pieces, against the manifest's."""
    digest, size = hashlib.sha256(), 0
    try:
        with path.open("rb") as stream:
            while chunk := stream.read(READ_SIZE):
                digest.update(chunk)
                size += len(chunk)
    except FileNotFoundError:
        return Check("data_file", False, "the data file is missing")
    if size != file.size:
        return Check("data_file", False, "the data file's size differs from file.size")
    if digest.hexdigest() != file.sha256:
        return Check("data_file", False, "the data file's SHA-256 differs from file.sha256")
    return Check("data_file", True, "size and SHA-256 match file.size and file.sha256")
