"""A consistency proof as text, and the offline check a checkpoint holder runs with it.

    consistency <old size> <new size>
    <base64 RFC 9162 consistency proof hash, one per line>

`pks-gateway audit prove --from OLD` prints this. Whoever holds an older checkpoint (a partner's
manifest carries one) and is shown a newer one checks here, without the gateway, that the newer
tree extends the older: if it does not, the log was forked or rewritten after the older one was
handed out.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass

from pks_partner import merkle
from pks_partner.checkpoint import Checkpoint

_HEAD = re.compile(r"consistency (0|[1-9][0-9]{0,18}) (0|[1-9][0-9]{0,18})")
MAX_HASHES = 128  # a proof between trees of 2^63 leaves has fewer than 2 * 63 hashes


class ConsistencyProofError(ValueError):
    """The proof text is malformed (the message names what, never a hash)."""


@dataclass(frozen=True)
class ConsistencyProofText:
    old_size: int
    new_size: int
    hashes: tuple[bytes, ...]


def format_consistency_proof(old_size: int, new_size: int, hashes: Sequence[bytes]) -> str:
    lines = [f"consistency {old_size} {new_size}"]
    lines += [base64.b64encode(hashed).decode("ascii") for hashed in hashes]
    return "\n".join(lines) + "\n"


def parse_consistency_proof(text: str) -> ConsistencyProofText:
    lines = text.strip("\n").split("\n")
    head = _HEAD.fullmatch(lines[0]) if lines else None
    if head is None:
        raise ConsistencyProofError("the first line is not 'consistency OLD_SIZE NEW_SIZE'")
    if len(lines) - 1 > MAX_HASHES:
        raise ConsistencyProofError(f"more than {MAX_HASHES} hashes")
    try:
        hashes = tuple(base64.b64decode(line, validate=True) for line in lines[1:])
    except binascii.Error:
        raise ConsistencyProofError("a hash line is not base64") from None
    if any(len(hashed) != 32 for hashed in hashes):
        raise ConsistencyProofError("a hash is not 32 bytes")
    return ConsistencyProofText(int(head.group(1)), int(head.group(2)), hashes)


def extends(older: Checkpoint, newer: Checkpoint, proof: ConsistencyProofText) -> bool:
    """Whether `proof` shows the tree of `newer` extends the tree of `older` (same log)."""
    return (
        older.origin == newer.origin
        and (proof.old_size, proof.new_size) == (older.tree_size, newer.tree_size)
        and merkle.verify_consistency(
            older.tree_size, newer.tree_size, older.root_hash, newer.root_hash, proof.hashes
        )
    )
