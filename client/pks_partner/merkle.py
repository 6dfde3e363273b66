"""RFC 6962 / RFC 9162 Merkle tree hashing: tree heads, inclusion and consistency proofs.

Hand-written because no maintained Python package implements RFC 9162 proofs; every function
follows the RFC's text (section numbers cited) and is checked against Certificate Transparency's
reference vectors and an independent recursive implementation in the tests.

Proofs are described first as lists of leaf ranges `[start, end)` whose subtree hashes make up
the proof; `subtree_hashes` then computes all of them in one streaming pass over the leaf hashes.
That way a proof over a million stored leaves reads each leaf hash at most once, and a caller that
keeps its leaves in a database streams them range by range instead of loading them all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()  # MTH({}) per RFC 6962 §2.1

Range = tuple[int, int]


def leaf_hash(leaf: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d)."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly smaller than n (n > 1): RFC 6962's k."""
    if n < 2:
        raise ValueError("a split needs at least two leaves")
    return 1 << ((n - 1).bit_length() - 1)


@dataclass
class TreeBuilder:
    """The compact frontier of a growing tree: one hash per set bit of the size.

    Appending is amortised O(1) hashes and the root at the current size is O(log n), so a
    verifier can stream a million leaves, ask for the root at every checkpoint size on the way,
    and hold only ~20 hashes.
    """

    size: int = 0
    _stack: list[bytes] = field(default_factory=list)

    @classmethod
    def from_frontier(cls, size: int, subtree_roots: Sequence[bytes]) -> TreeBuilder:
        """Resume a tree of `size` leaves from the roots of `frontier_ranges(size)`."""
        if len(subtree_roots) != size.bit_count():
            raise ValueError("a frontier holds one subtree root per set bit of the size")
        return cls(size, list(subtree_roots))

    def append_hash(self, hashed_leaf: bytes) -> None:
        node = hashed_leaf
        size = self.size
        # Each trailing 1-bit of the old size is a complete left subtree that merges with the new
        # node, exactly like carrying in binary addition.
        while size & 1:
            node = node_hash(self._stack.pop(), node)
            size >>= 1
        self._stack.append(node)
        self.size += 1

    def append_leaf(self, leaf: bytes) -> None:
        self.append_hash(leaf_hash(leaf))

    def root(self) -> bytes:
        """MTH of everything appended so far (RFC 6962 §2.1): fold the frontier right to left."""
        if not self._stack:
            return EMPTY_ROOT
        node = self._stack[-1]
        for left in reversed(self._stack[:-1]):
            node = node_hash(left, node)
        return node


def root_of(leaf_hashes: Iterable[bytes]) -> bytes:
    builder = TreeBuilder()
    for hashed in leaf_hashes:
        builder.append_hash(hashed)
    return builder.root()


BATCH = 1 << 14  # leaf hashes per batch in root_of_batches: a power of two, ~1 MB of hashes


def _batch_root(hashes: Sequence[bytes]) -> bytes:
    """MTH of a non-empty list of leaf hashes, built level by level.

    Pairing neighbours and lifting an unpaired last node unchanged to the next level gives
    exactly RFC 6962's left-heavy tree (the tests hold it to the recursive definition), and a
    list comprehension per level is several times faster than appending leaf by leaf.
    """
    level = list(hashes)
    sha256 = hashlib.sha256
    while len(level) > 1:
        paired = [
            sha256(b"\x01" + a + b).digest() for a, b in zip(level[::2], level[1::2], strict=False)
        ]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def root_of_batches(batches: Iterable[Sequence[bytes]]) -> bytes:
    """MTH of the concatenated batches; every batch but the last must hold exactly BATCH hashes.

    Each full batch is a complete subtree, so the batch roots combine like leaves one level up.
    """
    builder = TreeBuilder()
    tail: bytes | None = None
    for batch in batches:
        if tail is not None:
            raise ValueError("only the last batch may be shorter than BATCH")
        if len(batch) == BATCH:
            builder.append_hash(_batch_root(batch))
        elif batch:
            tail = _batch_root(batch)
    if tail is None:
        return builder.root()
    for left in reversed(builder._stack):
        tail = node_hash(left, tail)
    return tail


def frontier_ranges(size: int) -> list[Range]:
    """The complete subtrees that make up a tree of `size` leaves, left to right (one per set bit):
    their roots are the frontier `TreeBuilder.from_frontier` resumes from."""
    ranges: list[Range] = []
    start = 0
    for bit in reversed(range(size.bit_length())):
        if size >> bit & 1:
            ranges.append((start, start + (1 << bit)))
            start += 1 << bit
    return ranges


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The leaf ranges whose subtree hashes form PATH(index, D[size]) (RFC 6962 §2.1.1)."""
    if not 0 <= index < size:
        raise ValueError("leaf index must be below the tree size")
    ranges: list[Range] = []
    start, end = 0, size
    # Walk from the root down to the leaf; the RFC lists the siblings leaf-first, so reverse.
    while end - start > 1:
        k = split_point(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()
    return ranges


def consistency_ranges(old_size: int, new_size: int) -> list[Range]:
    """The leaf ranges whose subtree hashes form PROOF(old, D[new]) (RFC 6962 §2.1.2)."""
    if not 0 <= old_size <= new_size:
        raise ValueError("the old size must not exceed the new size")
    if old_size in (0, new_size):
        return []
    ranges: list[Range] = []
    start, end, m, whole = 0, new_size, old_size, True
    # SUBPROOF(m, D[start:end], whole), unrolled from the root down and reversed at the end.
    while m != end - start:
        k = split_point(end - start)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, m, whole = start + k, m - k, False
    if not whole:
        ranges.append((start, end))
    ranges.reverse()
    return ranges


def subtree_hashes(leaf_hashes: Iterable[bytes], ranges: Sequence[Range]) -> list[bytes]:
    """MTH of each range, in the order given, from one in-order pass over the leaf hashes.

    The iterable yields the hashes of leaves 0, 1, 2, ... (it may stop after the last range);
    the ranges must not overlap, which holds for inclusion and consistency proofs.
    """
    order = sorted(range(len(ranges)), key=lambda i: ranges[i][0])
    results: list[bytes] = [b""] * len(ranges)
    iterator = iter(leaf_hashes)
    position = 0
    for i in order:
        start, end = ranges[i]
        if start < position:
            raise ValueError("proof ranges overlap")
        for _ in range(start - position):
            next(iterator)
        builder = TreeBuilder()
        for _ in range(end - start):
            builder.append_hash(next(iterator))
        results[i] = builder.root()
        position = end
    return results


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int, size: int) -> list[bytes]:
    return subtree_hashes(leaf_hashes[:size], inclusion_ranges(index, size))


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int, new_size: int) -> list[bytes]:
    return subtree_hashes(leaf_hashes[:new_size], consistency_ranges(old_size, new_size))


def root_from_inclusion_proof(
    hashed_leaf: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes | None:
    """The root an inclusion proof leads to (RFC 9162 §2.1.3.2), or None if it is malformed."""
    if not 0 <= index < size or any(len(p) != HASH_SIZE for p in proof):
        return None
    fn, sn, r = index, size - 1, hashed_leaf
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def verify_inclusion(
    hashed_leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    return root_from_inclusion_proof(hashed_leaf, index, size, proof) == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2, plus the trivial cases the RFC leaves to the caller.

    An empty old tree is consistent with everything; equal sizes need equal roots and no proof.
    """
    if not 0 <= old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof
    if not proof or any(len(p) != HASH_SIZE for p in proof):
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # an exact power of two: the old root is a node itself
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0
