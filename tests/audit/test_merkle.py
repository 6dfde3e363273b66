"""audit.merkle against RFC 6962's reference vectors and an independent implementation.

The `ref_*` functions (tests/audit/rfc6962.py) share no code with audit/: they are the recursive
definitions of RFC 6962 §2.1 (MTH, PATH, PROOF/SUBPROOF) transcribed directly, plus recursive
verifiers that retrace those definitions. audit.merkle must produce the same proofs, accept them,
and reject corrupted ones.
"""

from __future__ import annotations

import hashlib
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pks_partner import merkle
from tests.audit.rfc6962 import (
    ref_consistent,
    ref_mth,
    ref_path,
    ref_proof,
    ref_root_from_path,
    sha,
)

# Certificate Transparency's test leaves and the roots of their first 1..8 leaves, as published
# in google/certificate-transparency and transparency-dev/merkle (proof/verify_test.go).
CT_LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (leaf index, tree size, audit path) from transparency-dev/merkle (which numbers leaves from 1).
CT_INCLUSION = [
    (0, 8, [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ]),
    (5, 8, [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ]),
]  # fmt: skip
CT_CONSISTENCY = [
    (1, 8, [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ]),
    (6, 8, [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ]),
    (2, 5, [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ]),
    (6, 7, [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ]),
]  # fmt: skip

CT_HASHES = [merkle.leaf_hash(leaf) for leaf in CT_LEAVES]


def leaves_of(n: int) -> list[bytes]:
    return [f"leaf {i}".encode() for i in range(n)]


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    assert merkle.EMPTY_ROOT.hex() == hashlib.sha256(b"").hexdigest()
    assert merkle.TreeBuilder().root() == merkle.EMPTY_ROOT


@pytest.mark.parametrize("size", range(1, 9))
def test_reference_roots_of_the_ct_leaves(size: int) -> None:
    assert merkle.root_of(CT_HASHES[:size]).hex() == CT_ROOTS[size - 1]
    assert ref_mth(CT_LEAVES[:size]).hex() == CT_ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size", "path"), CT_INCLUSION)
def test_reference_inclusion_paths(index: int, size: int, path: list[str]) -> None:
    expected = [bytes.fromhex(h) for h in path]
    assert merkle.inclusion_proof(CT_HASHES, index, size) == expected
    root = bytes.fromhex(CT_ROOTS[size - 1])
    assert merkle.verify_inclusion(CT_HASHES[index], index, size, expected, root)


@pytest.mark.parametrize(("old", "new", "path"), CT_CONSISTENCY)
def test_reference_consistency_proofs(old: int, new: int, path: list[str]) -> None:
    expected = [bytes.fromhex(h) for h in path]
    assert merkle.consistency_proof(CT_HASHES, old, new) == expected
    old_root, new_root = bytes.fromhex(CT_ROOTS[old - 1]), bytes.fromhex(CT_ROOTS[new - 1])
    assert merkle.verify_consistency(old, new, old_root, new_root, expected)


@pytest.mark.parametrize("size", range(1, 65))
def test_every_inclusion_proof_matches_the_rfc_definition(size: int) -> None:
    leaves = leaves_of(size)
    hashes = [merkle.leaf_hash(leaf) for leaf in leaves]
    root = ref_mth(leaves)
    assert merkle.root_of(hashes) == root
    for index in range(size):
        proof = merkle.inclusion_proof(hashes, index, size)
        assert proof == ref_path(index, leaves)
        assert ref_root_from_path(hashes[index], index, size, proof) == root
        assert merkle.verify_inclusion(hashes[index], index, size, proof, root)


@pytest.mark.parametrize("new", range(1, 65))
def test_every_consistency_proof_matches_the_rfc_definition(new: int) -> None:
    leaves = leaves_of(new)
    hashes = [merkle.leaf_hash(leaf) for leaf in leaves]
    new_root = ref_mth(leaves)
    for old in range(1, new + 1):
        proof = merkle.consistency_proof(hashes, old, new)
        assert proof == ref_proof(old, leaves)
        old_root = ref_mth(leaves[:old])
        assert ref_consistent(old, new, old_root, new_root, proof)
        assert merkle.verify_consistency(old, new, old_root, new_root, proof)


def test_the_frontier_gives_the_root_at_every_size() -> None:
    leaves = leaves_of(100)
    builder = merkle.TreeBuilder()
    for size, leaf in enumerate(leaves, start=1):
        builder.append_leaf(leaf)
        assert builder.root() == ref_mth(leaves[:size])
    # The frontier holds one hash per set bit of the size, nothing more.
    assert len(builder._stack) == bin(100).count("1")


def corruptions(proof: list[bytes]) -> list[list[bytes]]:
    variants: list[list[bytes]] = [[*proof, proof[0] if proof else b"\0" * 32]]
    variants.append([b"\0" * 32, *proof])
    for i in range(len(proof)):
        flipped = bytearray(proof[i])
        flipped[0] ^= 8
        variants.append([*proof[:i], bytes(flipped), *proof[i + 1 :]])
    if proof:
        variants.append(proof[:-1])
    return variants


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_random_proofs_verify_and_corruptions_do_not(data: st.DataObject) -> None:
    size = data.draw(st.integers(1, 300), label="size")
    leaves = leaves_of(size)
    hashes = [merkle.leaf_hash(leaf) for leaf in leaves]
    index = data.draw(st.integers(0, size - 1), label="index")
    old = data.draw(st.integers(1, size), label="old")
    root, old_root = merkle.root_of(hashes), merkle.root_of(hashes[:old])

    path = merkle.inclusion_proof(hashes, index, size)
    assert ref_root_from_path(hashes[index], index, size, path) == root
    assert merkle.verify_inclusion(hashes[index], index, size, path, root)
    for bad in corruptions(path):
        assert not merkle.verify_inclusion(hashes[index], index, size, bad, root)
    if size > 1:
        other = (index + 1) % size
        assert not merkle.verify_inclusion(hashes[other], index, size, path, root)
        assert not merkle.verify_inclusion(hashes[index], other, size, path, root)

    proof = merkle.consistency_proof(hashes, old, size)
    assert ref_consistent(old, size, old_root, root, proof)
    assert merkle.verify_consistency(old, size, old_root, root, proof)
    if old < size:
        for bad in corruptions(proof):
            assert not merkle.verify_consistency(old, size, old_root, root, bad)
        assert not merkle.verify_consistency(old, size, root, old_root, proof)
        assert not merkle.verify_consistency(old, size, old_root, old_root, proof)


def test_trivial_consistency_cases() -> None:
    a, b = sha(b"a"), sha(b"b")
    assert merkle.verify_consistency(0, 5, a, b, [])
    assert not merkle.verify_consistency(0, 5, a, b, [a])
    assert merkle.verify_consistency(3, 3, a, a, [])
    assert not merkle.verify_consistency(3, 3, a, b, [])
    assert not merkle.verify_consistency(4, 3, a, a, [])
    assert not merkle.verify_consistency(1, 2, a, b, [])


def test_proof_ranges_are_disjoint_subtrees_in_one_pass() -> None:
    hashes = [merkle.leaf_hash(leaf) for leaf in leaves_of(1000)]
    ranges = merkle.inclusion_ranges(617, 1000)
    covered = sorted(ranges)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(covered))
    assert sum(end - start for start, end in ranges) == 999  # every leaf but the one proven
    consumed = 0

    def counting() -> object:
        nonlocal consumed
        for hashed in hashes:
            consumed += 1
            yield hashed

    assert merkle.subtree_hashes(counting(), ranges) == ref_path(617, leaves_of(1000))  # type: ignore[arg-type]
    assert consumed <= 1000


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        merkle.inclusion_ranges(5, 5)
    with pytest.raises(ValueError):
        merkle.consistency_ranges(6, 5)
    assert merkle.root_from_inclusion_proof(b"\0" * 32, 0, 0, []) is None


@pytest.mark.parametrize("size", range(1, 130))
def test_the_level_by_level_root_is_the_rfc_root(size: int) -> None:
    leaves = leaves_of(size)
    assert merkle._batch_root([merkle.leaf_hash(leaf) for leaf in leaves]) == ref_mth(leaves)


@pytest.mark.parametrize("batch", [1, 2, 8])
def test_roots_from_batches_and_frontiers(monkeypatch: pytest.MonkeyPatch, batch: int) -> None:
    monkeypatch.setattr(merkle, "BATCH", batch)
    leaves = leaves_of(70)
    hashes = [merkle.leaf_hash(leaf) for leaf in leaves]
    for size in range(71):
        chunks = [hashes[i : min(i + batch, size)] for i in range(0, size, batch)]
        assert merkle.root_of_batches(chunks) == ref_mth(leaves[:size])
        ranges = merkle.frontier_ranges(size)
        assert sum(end - start for start, end in ranges) == size
        roots = [ref_mth(leaves[start:end]) for start, end in ranges]
        builder = merkle.TreeBuilder.from_frontier(size, roots)
        assert builder.root() == ref_mth(leaves[:size])
        for leaf in leaves[size:]:
            builder.append_leaf(leaf)
        assert builder.root() == ref_mth(leaves)
    if batch > 1:
        with pytest.raises(ValueError):
            merkle.root_of_batches([hashes[:1], hashes[:batch]])
