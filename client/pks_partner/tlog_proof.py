"""C2SP tlog-proof: an entry's inclusion proof and the checkpoint it leads to, as one text file.

    c2sp.org/tlog-proof@v1
    index <seq>
    <base64 proof hash, leaf's sibling first, one per line>

    <the signed checkpoint note, verbatim>

This is what a delivery manifest carries for its own audit entry: with the leaf bytes and our
verifier key, a partner can prove offline that the entry is in the log at that checkpoint.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from pks_partner import merkle
from pks_partner.checkpoint import (
    Checkpoint,
    CheckpointError,
    NoteVerifier,
    open_checkpoint,
    verifier_for,
)

HEADER = "c2sp.org/tlog-proof@v1"


@dataclass(frozen=True)
class TlogProof:
    index: int
    hashes: tuple[bytes, ...]
    checkpoint_note: str
    extra: bytes | None = None


def format_tlog_proof(
    index: int, hashes: Sequence[bytes], checkpoint_note: str, extra: bytes | None = None
) -> str:
    lines = [HEADER]
    if extra is not None:
        lines.append("extra " + base64.b64encode(extra).decode("ascii"))
    lines.append(f"index {index}")
    lines.extend(base64.b64encode(h).decode("ascii") for h in hashes)
    return "\n".join(lines) + "\n\n" + checkpoint_note


def parse_tlog_proof(text: str) -> TlogProof:
    head, separator, note = text.partition("\n\n")
    lines = head.split("\n")
    if not separator or not lines or lines[0] != HEADER:
        raise CheckpointError("malformed", "not a c2sp.org/tlog-proof@v1 proof")
    position, extra = 1, None
    try:
        if len(lines) > 1 and lines[1].startswith("extra "):
            extra = base64.b64decode(lines[1][len("extra ") :], validate=True)
            position = 2
        match = re.fullmatch(
            r"index (0|[1-9][0-9]*)", lines[position] if position < len(lines) else ""
        )
        if match is None:
            raise CheckpointError("malformed", "the proof has no valid index line")
        hashes = tuple(base64.b64decode(line, validate=True) for line in lines[position + 1 :])
    except binascii.Error:
        raise CheckpointError("malformed", "a proof line is not base64") from None
    if any(len(h) != merkle.HASH_SIZE for h in hashes):
        raise CheckpointError("malformed", "a proof hash is not 32 bytes")
    return TlogProof(int(match.group(1)), hashes, note, extra)


def verify_tlog_proof(
    text: str,
    leaf: bytes,
    public_key: Ed25519PublicKey | NoteVerifier | str,
    origin: str,
) -> Checkpoint:
    """The checkpoint, if `leaf` is at the proof's index in the tree it signs; else raises.

    CheckpointError kinds as in `pks_partner.checkpoint`, plus "inclusion" when the path does not
    lead from this leaf to the signed root.
    """
    proof = parse_tlog_proof(text)
    checkpoint = open_checkpoint(proof.checkpoint_note, verifier_for(public_key, origin), origin)
    if not merkle.verify_inclusion(
        merkle.leaf_hash(leaf),
        proof.index,
        checkpoint.tree_size,
        proof.hashes,
        checkpoint.root_hash,
    ):
        raise CheckpointError("inclusion", f"entry {proof.index} is not proven in the checkpoint")
    return checkpoint
