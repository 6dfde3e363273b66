"""Signed delivery manifests: a real audit log, a real age file, stock ssh-keygen, and every way a
delivery can fail verification (each failure isolated: the tampered manifest is re-signed with the
right key, so only the check under test can catch it)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from ageformat import AgeWriter, decrypt_chunks, generate_identity
from agreements.catalog import load_catalog
from agreements.masks import validate_mask
from agreements.scope import RowFilter
from agreements.signing import public_key_line, sign
from audit import log, tree
from pks_partner.checkpoint import note_verifier
from pks_partner.manifest import (
    ENTRY_ACTION,
    NAMESPACE,
    AgreementRef,
    AuditRef,
    DeliveryFile,
    ElementRef,
    Manifest,
    ManifestFormatError,
    RecipientRef,
    entry_details,
    parse_manifest,
    sign_manifest,
)
from pks_partner.verify import DeliveryCheck, read_manifest, verify_delivery
from tests.audit.logs import ORIGIN, add, sqlite_engine
from tests.services import require_tool

REPO = Path(__file__).resolve().parents[3]
DELIVERY_ID = "kyc-bank-20250304-0001"
OTHER_ID = "kyc-bank-20250304-0002"
NOW = datetime(2025, 3, 4, 9, 30, 15, 123456, tzinfo=UTC)
ALL_CHECKS = ("signature", "canonical", "version", "format", "checkpoint", "inclusion", "entry")
# Synthetic rows in the shape of a masked delivery (no real or realistic population values).
PLAINTEXT = b"token,age_band,agama\n" + b"".join(
    f"{i:032x},30-34,ISLAM\n".encode() for i in range(2000)
)


@dataclass(frozen=True)
class World:
    manifest: Manifest
    manifest_key: Ed25519PrivateKey
    audit_key: Ed25519PrivateKey
    data_file: Path
    identity: str
    other: AuditRef  # another delivery's entry, honestly proven
    proof_at_first: str  # our entry proven at the earlier checkpoint
    first_note: str  # the earlier checkpoint


def encrypt(directory: Path, recipient: str) -> DeliveryFile:
    name = f"{DELIVERY_ID}.csv.age"
    with (directory / name).open("wb") as sink, AgeWriter(sink, [recipient]) as writer:
        writer.write(PLAINTEXT)
    ciphertext = (directory / name).read_bytes()
    return DeliveryFile(
        name=name,
        format="csv",
        size=len(ciphertext),
        sha256=hashlib.sha256(ciphertext).hexdigest(),
        plaintext_sha256=hashlib.sha256(PLAINTEXT).hexdigest(),
        plaintext_size=len(PLAINTEXT),
    )


def elements() -> tuple[ElementRef, ...]:
    catalog = load_catalog(REPO / "config" / "catalog.toml")
    specs = {
        "nik": "token",
        "tanggal_lahir": {"mask": "generalize_date", "to": "age_band"},
        "agama": "decode",
    }
    return tuple(
        ElementRef.of(key, catalog.get(key).label_en, validate_mask(catalog.get(key), spec))
        for key, spec in specs.items()
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    directory = tmp_path_factory.mktemp("delivery")
    engine = sqlite_engine(directory / "metadata.sqlite")
    audit_key, manifest_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    identity, recipient = generate_identity()
    file = encrypt(directory, recipient)
    rows = PLAINTEXT.count(b"\n") - 1
    agreement = AgreementRef("500.12/PKS/2025", "kyc-bank", 1, hashlib.sha256(b"s").hexdigest())
    with engine.begin() as connection:
        for i in range(5):
            add(connection, i)
        ours = log.append(
            connection,
            actor_role="system",
            actor_id="pipeline",
            action=ENTRY_ACTION,
            object_type="delivery",
            object_id=DELIVERY_ID,
            outcome="ok",
            details={**entry_details(file, rows, agreement), "k": 7},
            now=NOW,
        )
        other_file = dataclasses.replace(file, name=f"{OTHER_ID}.csv.age")
        other = log.append(
            connection,
            actor_role="system",
            actor_id="pipeline",
            action=ENTRY_ACTION,
            object_type="delivery",
            object_id=OTHER_ID,
            outcome="ok",
            details=entry_details(other_file, rows, agreement),
            now=NOW,
        )
        first = tree.create_checkpoint(connection, audit_key, ORIGIN, NOW)
        proof_at_first = tree.entry_proof(connection, ours.seq, first)
        for i in range(7, 12):
            add(connection, i)
        latest = tree.create_checkpoint(connection, audit_key, ORIGIN, NOW + timedelta(hours=1))
        proof = tree.entry_proof(connection, ours.seq, latest)
        other_proof = tree.entry_proof(connection, other.seq, latest)
    engine.dispose()
    manifest = Manifest(
        delivery_id=DELIVERY_ID,
        agreement=agreement,
        recipients=(RecipientRef.for_key("Bank Kaltim", recipient),),
        elements=elements(),
        row_filter=RowFilter(("64.01.01",), 17, 150, True, True, False).to_json(),
        rows=rows,
        reidentification={"identified": False, "k": 7, "records_below_k": 0, "unique": 0},
        file=file,
        created_at=NOW,
        audit=AuditRef(ours.seq, ours.leaf, proof),
        software_version="0.1.0",
    )
    yield World(
        manifest,
        manifest_key,
        audit_key,
        directory / file.name,
        identity,
        AuditRef(other.seq, other.leaf, other_proof),
        proof_at_first,
        first.note,
    )


def check(
    world: World,
    data: bytes | None = None,
    signature: str | None = None,
    *,
    data_file: Path | None = None,
    audit_key: Ed25519PrivateKey | None = None,
    origin: str = ORIGIN,
) -> DeliveryCheck:
    data = world.manifest.canonical_bytes() if data is None else data
    signature = sign_manifest(data, world.manifest_key) if signature is None else signature
    result = verify_delivery(
        data,
        signature,
        manifest_key=world.manifest_key.public_key(),
        audit_key=(audit_key or world.audit_key).public_key(),
        audit_origin=origin,
        data_file=data_file,
    )
    secrets = (world.manifest.file.sha256, world.manifest.file.plaintext_sha256, DELIVERY_ID)
    for item in result.checks:  # reasons name fields and rules, never values
        assert not any(secret in item.reason for secret in secrets), item
    return result


def with_audit(world: World, audit: AuditRef) -> bytes:
    return dataclasses.replace(world.manifest, audit=audit).canonical_bytes()


def test_a_signed_delivery_verifies_every_check(world: World) -> None:
    result = check(world, data_file=world.data_file)
    assert result.ok, result.checks
    assert tuple(c.name for c in result.checks) == (*ALL_CHECKS, "data_file")
    assert result.manifest == world.manifest
    assert result.checkpoint is not None and result.checkpoint.tree_size == 12
    # The data file is the delivery the manifest describes: it decrypts to the hashed plaintext.
    with world.data_file.open("rb") as source:
        plaintext = b"".join(decrypt_chunks(source, world.identity))
    assert hashlib.sha256(plaintext).hexdigest() == world.manifest.file.plaintext_sha256


def test_the_manifest_is_canonical_json_that_reads_back_equal(world: World) -> None:
    data = world.manifest.canonical_bytes()
    document = json.loads(data)
    assert rfc8785.dumps(document) == data
    assert parse_manifest(data) == world.manifest
    assert document["manifest_version"] == 1
    assert document["created_at"] == "2025-03-04T09:30:15Z"
    assert document["software"] == {"name": "pks-gateway", "version": "0.1.0"}
    assert document["elements"][0] == {
        "key": "nik",
        "label": "National identity number",
        "mask": {"mask": "token", "length": 32},
    }
    assert document["filter"]["regions"] == ["64.01.01"]
    assert document["recipients"][0]["fingerprint"].startswith("SHA256:")
    assert document["file"]["name"] == f"{DELIVERY_ID}.csv.age"


def test_an_older_checkpoint_with_its_own_proof_also_verifies(world: World) -> None:
    audit = dataclasses.replace(world.manifest.audit, proof=world.proof_at_first)
    result = check(world, with_audit(world, audit))
    assert result.ok, result.checks
    assert result.checkpoint is not None and result.checkpoint.tree_size == 7


def test_an_audit_verifier_key_string_is_accepted(world: World) -> None:
    data = world.manifest.canonical_bytes()
    result = verify_delivery(
        data,
        sign_manifest(data, world.manifest_key),
        manifest_key=world.manifest_key.public_key(),
        audit_key=note_verifier(ORIGIN, world.audit_key.public_key()).key_string,
        audit_origin=ORIGIN,
        data_file=None,
    )
    assert result.ok, result.checks


def ssh_verify(world: World, tmp_path: Path, data: bytes, signature: str) -> int:
    ssh_keygen = require_tool("ssh-keygen", "openssh-client")
    allowed = tmp_path / "allowed_signers"
    line = public_key_line(world.manifest_key.public_key())
    allowed.write_text(f'pks-gateway namespaces="{NAMESPACE}" {line}\n')
    sig = tmp_path / "X.manifest.json.sig"
    sig.write_text(signature)
    command = [ssh_keygen, "-Y", "verify", "-f", str(allowed), "-I", "pks-gateway"]
    command += ["-n", NAMESPACE, "-s", str(sig)]
    return subprocess.run(command, input=data, capture_output=True, check=False).returncode


def test_stock_ssh_keygen_accepts_ours_and_rejects_a_changed_byte(
    world: World, tmp_path: Path
) -> None:
    data = world.manifest.canonical_bytes()
    signature = sign_manifest(data, world.manifest_key)
    assert ssh_verify(world, tmp_path, data, signature) == 0
    changed = bytearray(data)
    changed[len(data) // 2] ^= 0x01
    assert ssh_verify(world, tmp_path, bytes(changed), signature) != 0
    other_namespace = sign(data, world.manifest_key, "pks-agreement")
    assert ssh_verify(world, tmp_path, data, other_namespace) != 0


def test_a_changed_manifest_fails_the_signature(world: World) -> None:
    signature = sign_manifest(world.manifest.canonical_bytes(), world.manifest_key)
    later = dataclasses.replace(world.manifest, created_at=NOW + timedelta(days=1))
    result = check(world, later.canonical_bytes(), signature)
    assert result.failed == ("signature",)
    assert result.checks[0].reason == "signature does not match the signed bytes"


def test_a_signature_by_another_key_fails(world: World) -> None:
    data = world.manifest.canonical_bytes()
    result = check(world, data, sign_manifest(data, Ed25519PrivateKey.generate()))
    assert result.failed == ("signature",)


def test_a_signature_in_another_namespace_fails(world: World) -> None:
    data = world.manifest.canonical_bytes()
    result = check(world, data, sign(data, world.manifest_key, "pks-agreement"))
    assert result.failed == ("signature",)
    assert result.checks[0].reason == "namespace mismatch"


def test_a_proof_that_does_not_match_its_checkpoint_fails(world: World) -> None:
    # The audit path of the earlier tree, presented with the later checkpoint.
    path, _, _ = world.proof_at_first.partition("\n\n")
    latest_note = world.manifest.audit.proof.partition("\n\n")[2]
    assert latest_note != world.first_note
    audit = dataclasses.replace(world.manifest.audit, proof=f"{path}\n\n{latest_note}")
    result = check(world, with_audit(world, audit))
    assert result.failed == ("inclusion",)


def test_another_entrys_proof_fails(world: World) -> None:
    audit = dataclasses.replace(world.manifest.audit, proof=world.other.proof)
    assert check(world, with_audit(world, audit)).failed == ("inclusion",)


def test_a_changed_leaf_fails_inclusion(world: World) -> None:
    leaf = world.manifest.audit.leaf.replace(b'"outcome":"ok"', b'"outcome":"no"')
    assert leaf != world.manifest.audit.leaf
    audit = dataclasses.replace(world.manifest.audit, leaf=leaf)
    assert check(world, with_audit(world, audit)).failed == ("inclusion", "entry")


def test_a_proven_leaf_of_another_delivery_fails_the_entry_check(world: World) -> None:
    result = check(world, with_audit(world, world.other))
    assert result.failed == ("entry",)
    assert dict((c.name, c.reason) for c in result.checks)["entry"] == (
        "the entry is for another delivery"
    )


def test_a_manifest_whose_rows_differ_from_its_entry_fails(world: World) -> None:
    data = dataclasses.replace(world.manifest, rows=world.manifest.rows + 1).canonical_bytes()
    result = check(world, data)
    assert result.failed == ("entry",)
    assert "details.rows" in result.checks[-1].reason


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"version": 2}, "details.version"),
        ({"short_id": "kyc-other"}, "details.agreement"),
        ({"scope_hash": hashlib.sha256(b"another scope").hexdigest()}, "details.scope_hash"),
    ],
)
def test_a_manifest_naming_another_agreement_version_than_its_entry_fails(
    world: World, change: dict[str, Any], field: str
) -> None:
    agreement = dataclasses.replace(world.manifest.agreement, **change)
    data = dataclasses.replace(world.manifest, agreement=agreement).canonical_bytes()
    result = check(world, data)
    assert result.failed == ("entry",)
    assert field in result.checks[-1].reason


def test_a_checkpoint_by_another_key_or_for_another_log_fails(world: World) -> None:
    stranger = check(world, audit_key=Ed25519PrivateKey.generate())
    assert stranger.failed == ("checkpoint", "inclusion")
    elsewhere = check(world, origin="example.org/another-log")
    assert elsewhere.failed == ("checkpoint", "inclusion")


def test_data_file_changed_truncated_or_missing_fails(world: World, tmp_path: Path) -> None:
    original = world.data_file.read_bytes()
    changed = tmp_path / "changed.age"
    changed.write_bytes(original[:100] + bytes([original[100] ^ 0x80]) + original[101:])
    truncated = tmp_path / "truncated.age"
    truncated.write_bytes(original[:-1])
    reasons = {}
    for path in (changed, truncated, tmp_path / "missing.age"):
        result = check(world, data_file=path)
        assert result.failed == ("data_file",)
        reasons[path.name] = result.checks[-1].reason
    assert "SHA-256" in reasons["changed.age"]
    assert "size" in reasons["truncated.age"]
    assert "missing" in reasons["missing.age"]


def test_non_canonical_json_fails(world: World) -> None:
    document = world.manifest.to_json()
    pretty = json.dumps(document, indent=2, sort_keys=True).encode()
    assert check(world, pretty).failed == ("canonical",)
    unsorted = json.dumps(document, separators=(",", ":")).encode()
    assert check(world, unsorted).failed == ("canonical",)
    float_rows = rfc8785.dumps(document).replace(
        f'"rows":{world.manifest.rows}'.encode(), f'"rows":{world.manifest.rows}.0'.encode()
    )
    assert "canonical" in check(world, float_rows).failed


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00\xff\xfe garbage",
        b"null",
        b"[]",
        b"{}",
        b'{"manifest_version":1}',
        b'{"manifest_version":true}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"rows":NaN}',
    ],
)
def test_garbage_is_a_failed_check_never_an_exception(world: World, data: bytes) -> None:
    result = check(world, data)
    assert not result.ok and result.manifest is None
    assert "format" in result.failed
    assert result.failed[-3:] == ("checkpoint", "inclusion", "entry")


def test_an_unknown_version_or_a_missing_field_fails(world: World) -> None:
    document = world.manifest.to_json()
    result = check(world, rfc8785.dumps({**document, "manifest_version": 2}))
    assert result.failed[:2] == ("version", "format")
    del document["rows"]
    missing = check(world, rfc8785.dumps(document))
    assert missing.failed[0] == "format"
    assert dict((c.name, c.reason) for c in missing.checks)["format"] == "manifest.rows: missing"


@settings(max_examples=60, deadline=None)  # `world` is module-scoped: built once
@given(position=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255))
def test_any_single_byte_change_fails(world: World, position: int, flip: int) -> None:
    data = world.manifest.canonical_bytes()
    signature = sign_manifest(data, world.manifest_key)
    changed = bytearray(data)
    changed[position % len(data)] ^= flip
    result = check(world, bytes(changed), signature)
    assert not result.ok
    assert "signature" in result.failed


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def member_paths(value: object, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found = [path] if path else []
    if isinstance(value, dict):
        for name, item in value.items():
            found += member_paths(item, (*path, name))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += member_paths(item, (*path, index))
    return found


@settings(max_examples=200, deadline=None)
@given(data=st.data(), replacement=JSON_VALUES)
def test_any_member_replaced_by_any_json_is_checked_never_raised(
    world: World, data: st.DataObject, replacement: object
) -> None:
    document = world.manifest.to_json()
    path = data.draw(st.sampled_from(member_paths(document)))
    target: Any = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = replacement
    result = check(world, rfc8785.dumps(document))  # re-signed: only the content is wrong
    assert tuple(c.name for c in result.checks) == ALL_CHECKS
    assert result.ok == (result.manifest is not None and not result.failed)


def test_building_refuses_what_a_manifest_cannot_say(world: World) -> None:
    with pytest.raises(ManifestFormatError, match="created_at"):
        dataclasses.replace(world.manifest, created_at=datetime(2025, 3, 4, 9, 30))
    with pytest.raises(ManifestFormatError, match=r"file\.name"):
        dataclasses.replace(world.manifest, delivery_id=OTHER_ID)
    with pytest.raises(ManifestFormatError, match="delivery_id"):
        dataclasses.replace(world.manifest, delivery_id="../escape")
    with pytest.raises(ManifestFormatError, match=r"file\.sha256"):
        dataclasses.replace(world.manifest.file, sha256="ABC")


def test_read_manifest_reads_the_pair_as_published(world: World, tmp_path: Path) -> None:
    data = world.manifest.canonical_bytes()
    path = tmp_path / f"{DELIVERY_ID}.manifest.json"
    path.write_bytes(data)
    (tmp_path / f"{DELIVERY_ID}.manifest.json.sig").write_text(
        sign_manifest(data, world.manifest_key)
    )
    read, signature = read_manifest(path)
    assert read == data
    assert check(world, read, signature).ok


def field_names(value: object, opaque: frozenset[str]) -> set[str]:
    """Every member name in a manifest document, not descending into the opaque members."""
    if isinstance(value, list):
        return set().union(*(field_names(item, opaque) for item in value))
    if not isinstance(value, dict):
        return set()
    names = set(value)
    for name, item in value.items():
        if name not in opaque:
            names |= field_names(item, opaque)
    return names


def test_docs_describe_every_field_and_check(world: World) -> None:
    text = (REPO / "docs" / "manifest.md").read_text("utf-8")
    opaque = frozenset({"filter", "reidentification", "mask"})
    names = field_names(world.manifest.to_json(), opaque)
    assert len(names) > 25
    missing = sorted(name for name in names if f"`{name}`" not in text)
    assert not missing, f"docs/manifest.md does not describe {missing}"
    for check_name in (*ALL_CHECKS, "data_file"):
        assert f"`{check_name}`" in text, check_name
