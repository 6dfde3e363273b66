"""Signed checkpoints: the C2SP tlog-checkpoint body inside a C2SP signed note (Ed25519).

Byte for byte as c2sp.org/signed-note and c2sp.org/tlog-checkpoint specify, and as Go's
golang.org/x/mod/sumdb/note reads them, so that anyone can check our checkpoints with the Go
tooling or a few lines of their own. Hand-written because no maintained Python package speaks the
format; the tests pin it to the Go package's published example note.

    <origin>\\n<tree size>\\n<base64 root hash>\\n\\n— <key name> <base64(key id || signature)>\\n

The key name is the origin (the spec's SHOULD); the key id is the first four bytes of
SHA-256(key name || 0x0A || 0x01 || public key); the verifier key string is
`<name>+<8 hex digits of key id>+<base64(0x01 || public key)>`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from dataclasses import dataclass
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519_TYPE = b"\x01"
SIGNATURE_PREFIX = "— "  # U+2014 EM DASH, U+0020 SPACE
MAX_SIGNATURES = 100  # as golang.org/x/mod/sumdb/note; the spec asks for at least 16

ProblemKind = Literal["malformed", "signature", "key", "origin", "inclusion"]


class CheckpointError(ValueError):
    """A note or checkpoint that cannot be trusted; `kind` says why, the message never quotes it.

    malformed: not a signed note or not a checkpoint body; signature: our key's signature does
    not verify; key: no signature by our key; origin: signed by us but for another log;
    inclusion: a proof does not lead from its entry to the signed root (pks_partner.tlog_proof).
    """

    def __init__(self, kind: ProblemKind, message: str) -> None:
        super().__init__(message)
        self.kind: ProblemKind = kind


@dataclass(frozen=True)
class NoteVerifier:
    name: str
    key_id: int
    public_key: Ed25519PublicKey

    @property
    def key_string(self) -> str:
        """The verifier key in the `name+hash+base64` form Go's note.NewVerifier accepts."""
        encoded = base64.b64encode(ED25519_TYPE + _raw(self.public_key)).decode("ascii")
        return f"{self.name}+{self.key_id:08x}+{encoded}"


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    tree_size: int
    root_hash: bytes

    def body(self) -> str:
        """The tlog-checkpoint note text (no extension lines)."""
        root = base64.b64encode(self.root_hash).decode("ascii")
        return f"{self.origin}\n{self.tree_size}\n{root}\n"


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _check_key_name(name: str) -> None:
    # Unicode spaces and '+' are forbidden by the spec (they delimit the verifier key string).
    if not name or "+" in name or any(ch.isspace() for ch in name):
        raise ValueError("a key name must be non-empty, without spaces or '+'")


def key_id(name: str, public_key: Ed25519PublicKey) -> int:
    _check_key_name(name)
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + ED25519_TYPE + _raw(public_key))
    value: int = struct.unpack(">I", digest.digest()[:4])[0]
    return value


def note_verifier(name: str, public_key: Ed25519PublicKey) -> NoteVerifier:
    return NoteVerifier(name, key_id(name, public_key), public_key)


def parse_verifier_key(text: str) -> NoteVerifier:
    """Read a `name+hash+base64(0x01 || key)` verifier key, checking that the hash matches."""
    parts = text.strip().split("+", 2)  # the base64 key part may itself contain "+"
    if len(parts) != 3 or not re.fullmatch(r"[0-9a-f]{8}", parts[1]):
        raise ValueError("a verifier key has the form name+8 hex digits+base64 key")
    name, hash_hex, encoded = parts
    try:
        key_bytes = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise ValueError("the verifier key's key part is not base64") from None
    if len(key_bytes) != 33 or key_bytes[:1] != ED25519_TYPE:
        raise ValueError("the verifier key is not an Ed25519 (type 0x01) key")
    verifier = note_verifier(name, Ed25519PublicKey.from_public_bytes(key_bytes[1:]))
    if verifier.key_id != int(hash_hex, 16):
        raise ValueError("the verifier key's hash does not match its name and key")
    return verifier


def sign_note(text: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """`text` (ending in a newline) followed by a blank line and one Ed25519 signature line."""
    _check_note_text(text)
    verifier = note_verifier(name, private_key.public_key())
    signature = private_key.sign(text.encode("utf-8"))
    encoded = base64.b64encode(struct.pack(">I", verifier.key_id) + signature).decode("ascii")
    return f"{text}\n{SIGNATURE_PREFIX}{name} {encoded}\n"


def _check_note_text(text: str) -> None:
    if not text.endswith("\n"):
        raise CheckpointError("malformed", "note text must end with a newline")
    if any(ord(ch) < 0x20 and ch != "\n" for ch in text):
        raise CheckpointError("malformed", "note text contains control characters")


def open_note(note: str, verifier: NoteVerifier) -> str:
    """The note's text if `verifier`'s key signed it, else CheckpointError.

    As the spec says: signatures by unknown keys are ignored; a signature line that names our key
    and id must verify, or the whole note is rejected.
    """
    split = note.rfind("\n\n")
    if split < 0:
        raise CheckpointError("malformed", "note has no blank line before its signatures")
    text, signature_block = note[: split + 1], note[split + 2 :]
    _check_note_text(text)
    if not signature_block.endswith("\n"):
        raise CheckpointError("malformed", "note signatures must end with a newline")
    lines = signature_block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise CheckpointError("malformed", "note has too many signatures")
    ours_found = False
    for line in lines:
        name, signature = _parse_signature_line(line)
        if name != verifier.name or len(signature) < 4:
            continue
        if struct.unpack(">I", signature[:4])[0] != verifier.key_id:
            continue
        ours_found = True
        try:
            verifier.public_key.verify(signature[4:], text.encode("utf-8"))
        except InvalidSignature:
            raise CheckpointError(
                "signature", f"the signature by key {verifier.name} does not verify"
            ) from None
    if not ours_found:
        raise CheckpointError("key", f"the note carries no signature by key {verifier.name}")
    return text


def _parse_signature_line(line: str) -> tuple[str, bytes]:
    if not line.startswith(SIGNATURE_PREFIX):
        raise CheckpointError("malformed", "a signature line must start with an em dash")
    fields = line[len(SIGNATURE_PREFIX) :].split(" ")
    if len(fields) != 2 or not fields[0] or not fields[1]:
        raise CheckpointError("malformed", "a signature line must be '— name signature'")
    try:
        signature = base64.b64decode(fields[1], validate=True)
    except binascii.Error:
        raise CheckpointError("malformed", "a signature is not base64") from None
    if len(signature) < 5:
        raise CheckpointError("malformed", "a signature is too short")
    return fields[0], signature


def parse_checkpoint_body(text: str) -> Checkpoint:
    """Read origin, tree size and root hash from note text; extension lines are allowed."""
    if not text.endswith("\n"):
        raise CheckpointError("malformed", "checkpoint text must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3 or any(not line for line in lines):
        raise CheckpointError("malformed", "a checkpoint needs origin, size and root lines")
    origin, size_line, root_line = lines[:3]
    if not re.fullmatch(r"0|[1-9][0-9]*", size_line):
        raise CheckpointError("malformed", "the checkpoint's tree size is not a decimal number")
    try:
        root_hash = base64.b64decode(root_line, validate=True)
    except binascii.Error:
        raise CheckpointError("malformed", "the checkpoint's root hash is not base64") from None
    if len(root_hash) != 32 or base64.b64encode(root_hash).decode("ascii") != root_line:
        raise CheckpointError("malformed", "the checkpoint's root hash is not 32 bytes")
    return Checkpoint(origin, int(size_line), root_hash)


def sign_checkpoint(checkpoint: Checkpoint, private_key: Ed25519PrivateKey) -> str:
    """The checkpoint as a signed note, signed under the key name = origin."""
    if not checkpoint.origin or "\n" in checkpoint.origin:
        raise ValueError("the origin must be one non-empty line")
    if checkpoint.tree_size < 0 or len(checkpoint.root_hash) != 32:
        raise ValueError("a checkpoint needs a size >= 0 and a 32-byte root")
    return sign_note(checkpoint.body(), checkpoint.origin, private_key)


def open_checkpoint(note: str, verifier: NoteVerifier, origin: str) -> Checkpoint:
    """The checkpoint in `note` if our key signed it for our origin, else CheckpointError."""
    checkpoint = parse_checkpoint_body(open_note(note, verifier))
    if checkpoint.origin != origin:
        raise CheckpointError("origin", "the checkpoint is from another log (origin differs)")
    return checkpoint


def verifier_for(public_key: Ed25519PublicKey | NoteVerifier | str, origin: str) -> NoteVerifier:
    """Accept what callers have: our public key (key name = origin), a verifier, or its string."""
    if isinstance(public_key, NoteVerifier):
        return public_key
    if isinstance(public_key, str):
        return parse_verifier_key(public_key)
    return note_verifier(origin, public_key)
