"""Signed notes and checkpoints, byte for byte as c2sp.org/signed-note and tlog-checkpoint say.

Anchored to published vectors: the example of golang.org/x/mod/sumdb/note (whose signer key is
public, so signing must reproduce the exact note: Ed25519 is deterministic) and the example of the
signed-note spec. `independent_open` re-implements the verification rules without audit/ code.
"""

from __future__ import annotations

import base64
import hashlib
import struct

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pks_partner import checkpoint as cp
from pks_partner import merkle
from pks_partner.tlog_proof import format_tlog_proof, parse_tlog_proof, verify_tlog_proof

# golang.org/x/mod/sumdb/note, package documentation and note_test.go.
GO_SIGNER = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT
    + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqf"
    "qdngotpRZb6KE6RyyBwJnAM=\n"
)
# c2sp.org/signed-note, example.
SPEC_VERIFIER = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2O"
    "NncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)
# transparency-dev/formats: a verifier key whose base64 part contains '+'.
PLUS_VERIFIER = "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"

ORIGIN = "paserkab.go.id/pks-gateway/audit"


def go_private_key() -> Ed25519PrivateKey:
    seed = base64.b64decode(GO_SIGNER.split("+", 4)[4])  # the base64 part holds a "+" too
    assert seed[0] == 1
    return Ed25519PrivateKey.from_private_bytes(seed[1:])


def independent_open(note: str, name: str, public_key: Ed25519PublicKey) -> str | None:
    """The signed-note rules, written from the spec: text up to the last blank line, signature
    lines '— name base64(key id || sig)', key id = SHA-256(name || \\n || 0x01 || key)[:4]."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    wanted_id = hashlib.sha256(name.encode() + b"\n\x01" + raw).digest()[:4]
    cut = note.rindex("\n\n")
    text, signatures = note[: cut + 1], note[cut + 2 :]
    if not signatures.endswith("\n"):
        return None
    for line in signatures.splitlines():
        dash, signer, encoded = line.split(" ")
        signature = base64.b64decode(encoded)
        if dash == "\u2014" and signer == name and signature[:4] == wanted_id:
            try:
                public_key.verify(signature[4:], text.encode())
            except InvalidSignature:
                return None
            return text
    return None


def test_signing_reproduces_the_go_sumdb_note_exactly() -> None:
    key = go_private_key()
    assert cp.sign_note(GO_TEXT, "PeterNeumann", key) == GO_NOTE
    verifier = cp.note_verifier("PeterNeumann", key.public_key())
    assert verifier.key_string == GO_VERIFIER
    assert f"{verifier.key_id:08x}" == "c74f20a3"


@pytest.mark.parametrize(
    ("verifier_key", "note", "text"),
    [
        (GO_VERIFIER, GO_NOTE, GO_TEXT),
        (SPEC_VERIFIER, SPEC_NOTE, "This is an example message.\n"),
    ],
)
def test_published_notes_open(verifier_key: str, note: str, text: str) -> None:
    verifier = cp.parse_verifier_key(verifier_key)
    assert verifier.key_string == verifier_key
    assert cp.open_note(note, verifier) == text
    assert independent_open(note, verifier.name, verifier.public_key) == text


def test_verifier_keys_with_plus_in_base64_parse_and_bad_ones_do_not() -> None:
    assert cp.parse_verifier_key(PLUS_VERIFIER).name == "TEST"
    for bad in [
        GO_VERIFIER.replace("c74f20a3", "c74f20a4"),  # hash does not match
        GO_VERIFIER[:-4],  # truncated key
        "PeterNeumann+c74f20a3",
        GO_VERIFIER.replace("+ARpc", "+AhRpc"),  # not type 0x01
    ]:
        with pytest.raises(ValueError):
            cp.parse_verifier_key(bad)


def test_checkpoint_round_trip_and_independent_check() -> None:
    key = Ed25519PrivateKey.generate()
    root = merkle.root_of([merkle.leaf_hash(b"x"), merkle.leaf_hash(b"y")])
    note = cp.sign_checkpoint(cp.Checkpoint(ORIGIN, 2, root), key)
    body = f"{ORIGIN}\n2\n{base64.b64encode(root).decode()}\n"
    assert note.startswith(body + "\n\u2014 " + ORIGIN + " ")
    signature = base64.b64decode(note.rstrip("\n").rsplit(" ", 1)[1])
    assert len(signature) == 68
    assert struct.unpack(">I", signature[:4])[0] == cp.key_id(ORIGIN, key.public_key())
    assert independent_open(note, ORIGIN, key.public_key()) == body
    verifier = cp.note_verifier(ORIGIN, key.public_key())
    assert cp.open_checkpoint(note, verifier, ORIGIN) == cp.Checkpoint(ORIGIN, 2, root)
    assert cp.parse_checkpoint_body(body + "extension line\n").tree_size == 2


def test_untrusted_checkpoints_are_refused_with_their_kind() -> None:
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    ours = cp.note_verifier(ORIGIN, key.public_key())
    root = bytes(32)
    good = cp.sign_checkpoint(cp.Checkpoint(ORIGIN, 7, root), key)
    cases = {
        "signature": good.replace("\n7\n", "\n8\n"),
        "key": cp.sign_checkpoint(cp.Checkpoint(ORIGIN, 7, root), other),
        "origin": cp.sign_note(f"example.com/other\n7\n{base64.b64encode(root).decode()}\n",
                               ORIGIN, key),
        "malformed": good.replace("\u2014", "-"),
    }  # fmt: skip
    for kind, note in cases.items():
        with pytest.raises(cp.CheckpointError) as caught:
            cp.open_checkpoint(note, ours, ORIGIN)
        assert caught.value.kind == kind
    # A note signed by us and by an unknown key still opens: unknown signatures are ignored.
    extra = cp.sign_note(cp.Checkpoint(ORIGIN, 7, root).body(), "witness.example", other)
    both = good + extra.split("\n\n", 1)[1]
    assert cp.open_checkpoint(both, ours, ORIGIN).tree_size == 7


@pytest.mark.parametrize(
    "body",
    [
        "origin\n07\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",  # leading zero
        "origin\n7\nAAAA\n",  # not 32 bytes
        "origin\n7\n",  # no root line
        "origin\n-1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "origin\n7\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",  # no final newline
    ],
)
def test_malformed_checkpoint_bodies(body: str) -> None:
    with pytest.raises(cp.CheckpointError) as caught:
        cp.parse_checkpoint_body(body)
    assert caught.value.kind == "malformed"


def test_tlog_proof_round_trip_and_rejection() -> None:
    key = Ed25519PrivateKey.generate()
    leaves = [f"entry {i}".encode() for i in range(11)]
    hashes = [merkle.leaf_hash(leaf) for leaf in leaves]
    note = cp.sign_checkpoint(cp.Checkpoint(ORIGIN, 11, merkle.root_of(hashes)), key)
    text = format_tlog_proof(4, merkle.inclusion_proof(hashes, 4, 11), note)
    assert text.startswith("c2sp.org/tlog-proof@v1\nindex 4\n")
    parsed = parse_tlog_proof(text)
    assert parsed.index == 4 and parsed.checkpoint_note == note
    assert verify_tlog_proof(text, leaves[4], key.public_key(), ORIGIN).tree_size == 11
    with pytest.raises(cp.CheckpointError) as caught:
        verify_tlog_proof(text, leaves[5], key.public_key(), ORIGIN)
    assert caught.value.kind == "inclusion"
    with pytest.raises(cp.CheckpointError):
        verify_tlog_proof(text, leaves[4], Ed25519PrivateKey.generate().public_key(), ORIGIN)
