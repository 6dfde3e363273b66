"""RFC 6962 §2.1 transcribed, sharing no code with audit/: MTH, PATH and PROOF/SUBPROOF as the
recursive definitions read, and verifiers that retrace them. The reference audit.merkle and the
audit log's proofs are held to (test_merkle, test_log)."""

from __future__ import annotations

import hashlib


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def ref_k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(leaves: list[bytes]) -> bytes:
    n = len(leaves)
    if n == 0:
        return sha(b"")
    if n == 1:
        return sha(b"\x00" + leaves[0])
    k = ref_k(n)
    return sha(b"\x01" + ref_mth(leaves[:k]) + ref_mth(leaves[k:]))


def ref_path(m: int, leaves: list[bytes]) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = ref_k(n)
    if m < k:
        return [*ref_path(m, leaves[:k]), ref_mth(leaves[k:])]
    return [*ref_path(m - k, leaves[k:]), ref_mth(leaves[:k])]


def ref_proof(m: int, leaves: list[bytes]) -> list[bytes]:
    def subproof(m: int, d: list[bytes], whole: bool) -> list[bytes]:
        n = len(d)
        if m == n:
            return [] if whole else [ref_mth(d)]
        k = ref_k(n)
        if m <= k:
            return [*subproof(m, d[:k], whole), ref_mth(d[k:])]
        return [*subproof(m - k, d[k:], False), ref_mth(d[:k])]

    return subproof(m, leaves, True)


def ref_root_from_path(hashed_leaf: bytes, m: int, n: int, path: list[bytes]) -> bytes | None:
    """Retrace PATH: the last element is the sibling at the top split."""
    if n == 1:
        return hashed_leaf if not path else None
    if not path:
        return None
    k = ref_k(n)
    *rest, sibling = path
    if m < k:
        left = ref_root_from_path(hashed_leaf, m, k, rest)
        return None if left is None else sha(b"\x01" + left + sibling)
    right = ref_root_from_path(hashed_leaf, m - k, n - k, rest)
    return None if right is None else sha(b"\x01" + sibling + right)


def ref_consistent(m: int, n: int, old_root: bytes, new_root: bytes, proof: list[bytes]) -> bool:
    """Retrace SUBPROOF, computing (old subtree hash, new subtree hash) bottom-up."""

    def walk(m: int, n: int, whole: bool, proof: list[bytes]) -> tuple[bytes, bytes] | None:
        if m == n:
            if whole:
                return (old_root, old_root) if not proof else None
            return (proof[0], proof[0]) if len(proof) == 1 else None
        if not proof:
            return None
        k = ref_k(n)
        *rest, extra = proof
        if m <= k:
            inner = walk(m, k, whole, rest)
            if inner is None:
                return None
            old, new = inner
            # The old tree lies wholly in the left part: only the new side gains the right part.
            return (old, sha(b"\x01" + new + extra))
        inner = walk(m - k, n - k, False, rest)
        if inner is None:
            return None
        old, new = inner
        return (sha(b"\x01" + extra + old), sha(b"\x01" + extra + new))

    if m == n:
        return not proof and old_root == new_root
    result = walk(m, n, True, proof)
    return result is not None and result == (old_root, new_root)
