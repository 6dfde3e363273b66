"""The consistency proof text a checkpoint holder checks offline (pks_partner/consistency.py)."""

from __future__ import annotations

import hashlib

import pytest

from pks_partner import merkle
from pks_partner.checkpoint import Checkpoint
from pks_partner.consistency import (
    ConsistencyProofError,
    extends,
    format_consistency_proof,
    parse_consistency_proof,
)

ORIGIN = "example.org/log"
LEAVES = [merkle.leaf_hash(hashlib.sha256(str(i).encode()).digest()) for i in range(11)]


def checkpoint(size: int, leaves: list[bytes] = LEAVES) -> Checkpoint:
    return Checkpoint(ORIGIN, size, merkle.root_of(leaves[:size]))


@pytest.mark.parametrize(("old", "new"), [(0, 5), (3, 7), (4, 8), (7, 11), (11, 11)])
def test_an_honest_extension_round_trips_and_verifies(old: int, new: int) -> None:
    text = format_consistency_proof(old, new, merkle.consistency_proof(LEAVES, old, new))
    proof = parse_consistency_proof(text)
    assert extends(checkpoint(old), checkpoint(new), proof)


def test_a_fork_does_not_verify() -> None:
    forked = [*LEAVES[:4], *(merkle.leaf_hash(b"other %d" % i) for i in range(7))]
    text = format_consistency_proof(6, 11, merkle.consistency_proof(forked, 6, 11))
    assert not extends(checkpoint(6), checkpoint(11, forked), parse_consistency_proof(text))


def test_a_proof_between_other_sizes_does_not_verify() -> None:
    text = format_consistency_proof(3, 11, merkle.consistency_proof(LEAVES, 3, 11))
    assert not extends(checkpoint(4), checkpoint(11), parse_consistency_proof(text))


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("", "first line"),
        ("consistency 3\n", "first line"),
        ("consistency 03 7\n", "first line"),
        ("consistency 3 7\nnot base64!\n", "base64"),
        ("consistency 3 7\nAAAA\n", "32 bytes"),
        ("consistency 3 7\n" + "A" * 43 + "=\n" * 200, "more than"),
    ],
)
def test_malformed_proof_texts_are_named(text: str, named: str) -> None:
    with pytest.raises(ConsistencyProofError, match=named):
        parse_consistency_proof(text)
