"""The Merkle tree over the stored leaves: roots, proofs and signed checkpoints, from the database.

Proofs read the stored leaf hashes range by range (each proof hash is the root of one subtree
range, see `merkle.inclusion_ranges`), so a proof over a million entries reads fewer than a million
32-byte hashes once and never holds them all. Whole-log verification, which also re-hashes the
leaf bytes, lives in `audit.verify`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, RowMapping, insert, select

from audit.entry import utc_moment
from audit.log import LogIntegrityError, as_utc, leaf_hash_batches, leaf_hashes, tree_size
from audit.schema import audit_checkpoints
from pks_partner import merkle
from pks_partner.checkpoint import (
    Checkpoint,
    CheckpointError,
    note_verifier,
    open_checkpoint,
    sign_checkpoint,
)
from pks_partner.tlog_proof import format_tlog_proof


@dataclass(frozen=True)
class StoredCheckpoint:
    id: int
    tree_size: int
    root_hash: bytes
    note: str
    created_at: datetime


@dataclass(frozen=True)
class InclusionProof:
    """RFC 9162 audit path of the entry `seq` in the tree of `tree_size` leaves."""

    seq: int
    tree_size: int
    leaf_hash: bytes
    hashes: tuple[bytes, ...]

    def verify(self, root_hash: bytes) -> bool:
        return merkle.verify_inclusion(
            self.leaf_hash, self.seq, self.tree_size, self.hashes, root_hash
        )


@dataclass(frozen=True)
class ConsistencyProof:
    """RFC 9162 consistency proof from the tree of `old_size` leaves to that of `new_size`."""

    old_size: int
    new_size: int
    hashes: tuple[bytes, ...]

    def verify(self, old_root: bytes, new_root: bytes) -> bool:
        return merkle.verify_consistency(
            self.old_size, self.new_size, old_root, new_root, self.hashes
        )


def root_at(connection: Connection, size: int) -> bytes:
    """MTH of the first `size` stored leaf hashes."""
    return _builder_at(connection, size).root()


def _range_roots(connection: Connection, ranges: list[merkle.Range]) -> tuple[bytes, ...]:
    return tuple(
        merkle.root_of_batches(leaf_hash_batches(connection, start, end)) for start, end in ranges
    )


def _builder_at(connection: Connection, size: int) -> merkle.TreeBuilder:
    """The tree of the first `size` stored leaves, as a frontier that further leaves extend."""
    frontier = _range_roots(connection, merkle.frontier_ranges(size))
    return merkle.TreeBuilder.from_frontier(size, frontier)


def _require_size(connection: Connection, size: int) -> None:
    if size > tree_size(connection):
        raise ValueError(f"the audit log has fewer than {size} entries")


def inclusion_proof(connection: Connection, seq: int, size: int) -> InclusionProof:
    """The proof that entry `seq` is in the tree of the first `size` entries."""
    if not 0 <= seq < size:
        raise ValueError("seq must be below the tree size")
    _require_size(connection, size)
    (hashed,) = leaf_hashes(connection, seq, seq + 1)
    return InclusionProof(
        seq, size, hashed, _range_roots(connection, merkle.inclusion_ranges(seq, size))
    )


def consistency_proof(connection: Connection, old_size: int, new_size: int) -> ConsistencyProof:
    """The proof that the tree of `new_size` entries extends the tree of `old_size` entries."""
    if not 0 <= old_size <= new_size:
        raise ValueError("the old size must be between 0 and the new size")
    _require_size(connection, new_size)
    ranges = merkle.consistency_ranges(old_size, new_size)
    return ConsistencyProof(old_size, new_size, _range_roots(connection, ranges))


def entry_proof(connection: Connection, seq: int, checkpoint: StoredCheckpoint) -> str:
    """A C2SP tlog-proof that entry `seq` is in the tree `checkpoint` signs (for manifests)."""
    proof = inclusion_proof(connection, seq, checkpoint.tree_size)
    return format_tlog_proof(seq, proof.hashes, checkpoint.note)


def list_checkpoints(connection: Connection) -> list[StoredCheckpoint]:
    rows = connection.execute(select(audit_checkpoints).order_by(audit_checkpoints.c.id))
    return [_stored(row._mapping) for row in rows]


def latest_checkpoint(connection: Connection) -> StoredCheckpoint | None:
    row = connection.execute(
        select(audit_checkpoints).order_by(audit_checkpoints.c.id.desc()).limit(1)
    ).first()
    return None if row is None else _stored(row._mapping)


def _stored(row: RowMapping) -> StoredCheckpoint:
    return StoredCheckpoint(
        id=int(row["id"]),
        tree_size=int(row["tree_size"]),
        root_hash=bytes(row["root_hash"]),
        note=str(row["note"]),
        created_at=as_utc(row["created_at"]),
    )


def create_checkpoint(
    connection: Connection,
    private_key: Ed25519PrivateKey,
    origin: str,
    now: datetime,
    *,
    kept: Checkpoint | None = None,
) -> StoredCheckpoint:
    """Sign and store a checkpoint of the current log, in the caller's transaction.

    Returns the latest checkpoint unchanged if the log has not grown since. Refuses (with
    LogIntegrityError) to sign a tree that does not extend the latest stored checkpoint or
    `kept`, the newest checkpoint as kept outside the database (already verified by the caller):
    a log must never sign two views of history, and deleting the stored checkpoints must not make
    it forget the one it kept.
    """
    moment = utc_moment(now)
    size = tree_size(connection)
    latest = latest_checkpoint(connection)
    anchors: list[tuple[str, Checkpoint]] = []
    if latest is not None:
        verifier = note_verifier(origin, private_key.public_key())
        try:
            anchors.append(
                (f"checkpoint {latest.id}", open_checkpoint(latest.note, verifier, origin))
            )
        except CheckpointError as error:
            raise LogIntegrityError(
                f"latest audit checkpoint {latest.id} does not verify ({error.kind})"
            ) from None
    if kept is not None:
        anchors.append(("the kept checkpoint", kept))
    anchors.sort(key=lambda anchor: anchor[1].tree_size)
    for label, anchor in anchors:
        if anchor.tree_size > size:
            raise LogIntegrityError(
                f"audit log has {size} entries, fewer than {label} "
                f"(size {anchor.tree_size}): truncated from seq {size}"
            )
    # One pass: the tree up to the smallest anchor from whole subtrees, then leaf by leaf, each
    # anchor's root checked on the way.
    builder = _builder_at(connection, anchors[0][1].tree_size if anchors else 0)
    for label, anchor in anchors:
        for hashed in leaf_hashes(connection, builder.size, anchor.tree_size):
            builder.append_hash(hashed)
        if builder.root() != anchor.root_hash:
            raise LogIntegrityError(
                f"audit log before seq {anchor.tree_size} no longer matches {label}"
            )
    if latest is not None and latest.tree_size == size:
        return latest
    for hashed in leaf_hashes(connection, builder.size, size):
        builder.append_hash(hashed)
    checkpoint = Checkpoint(origin, size, builder.root())
    note = sign_checkpoint(checkpoint, private_key)
    result = connection.execute(
        insert(audit_checkpoints).values(
            tree_size=size, root_hash=checkpoint.root_hash, note=note, created_at=moment
        )
    )
    new_id = result.inserted_primary_key[0] if result.inserted_primary_key else 0
    return StoredCheckpoint(int(new_id), size, checkpoint.root_hash, note, moment)


def extends(connection: Connection, checkpoint: Checkpoint) -> bool:
    """Whether the stored log extends `checkpoint` (its first tree_size leaves have its root)."""
    if checkpoint.tree_size > tree_size(connection):
        return False
    try:
        return root_at(connection, checkpoint.tree_size) == checkpoint.root_hash
    except LogIntegrityError:
        return False
