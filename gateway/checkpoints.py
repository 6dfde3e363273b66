"""The newest signed audit checkpoint, kept beside the audit key, outside the metadata database.

A writer of the database can delete `audit_checkpoints` rows and rewrite or truncate the log
below them; it cannot touch this file. So the gateway signs only a tree that extends the kept
checkpoint (and then keeps the new one), `audit verify` holds the log to it by default, and a
delivery refuses to start on a log that no longer extends it (fail closed). After a deliberate
restore from a backup, `audit re-anchor` (audited) starts a new kept checkpoint; partners who hold
a later one will see the fork, which is the point (docs/audit.md).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection

from agreements.errors import Tampered
from audit import tree
from audit.log import LogIntegrityError
from gateway.keys import (
    KeyFileError,
    kept_file_lock,
    load_signing_key,
    read_kept_file,
    replace_kept_file,
)
from pks_partner.checkpoint import Checkpoint, CheckpointError, note_verifier, open_checkpoint

KEPT_FILE = "audit.checkpoint"


def kept_path(keys_dir: Path) -> Path:
    return keys_dir / KEPT_FILE


def kept_note(keys_dir: Path) -> str | None:
    data = read_kept_file(kept_path(keys_dir))
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise KeyFileError(f"{kept_path(keys_dir)} is not a checkpoint note") from None


def kept_checkpoint(keys_dir: Path, origin: str) -> Checkpoint | None:
    """The kept checkpoint, verified under the audit key; None before the first one."""
    note = kept_note(keys_dir)
    if note is None:
        return None
    verifier = note_verifier(origin, load_signing_key(keys_dir, "audit").public_key())
    try:
        return open_checkpoint(note, verifier, origin)
    except CheckpointError as error:
        raise KeyFileError(
            f"{kept_path(keys_dir)} does not verify under the audit key ({error.kind})"
        ) from None


def sign_and_keep(
    connection: Connection, keys_dir: Path, origin: str, now: datetime
) -> tree.StoredCheckpoint:
    """Sign a checkpoint of the current log that extends the kept one, and keep it (the file is
    replaced before the caller commits: it covers only entries already committed)."""
    key = load_signing_key(keys_dir, "audit")
    stored = tree.create_checkpoint(connection, key, origin, now, kept=_required(keys_dir, origin))
    keep(keys_dir, stored.note, origin)
    return stored


def _required(keys_dir: Path, origin: str) -> Checkpoint:
    kept = kept_checkpoint(keys_dir, origin)
    if kept is None:
        raise Tampered(
            f"there is no kept audit checkpoint ({kept_path(keys_dir)}): `init` keeps the first "
            "one; if keys/ was restored without it, re-anchor (`pks-gateway audit re-anchor`)"
        )
    return kept


def keep(keys_dir: Path, note: str, origin: str) -> None:
    """Keep `note` if it is newer than the kept one (two publishing runs may finish out of order:
    the lock makes the compare and the replace one step)."""
    verifier = note_verifier(origin, load_signing_key(keys_dir, "audit").public_key())
    new = open_checkpoint(note, verifier, origin)
    with kept_file_lock(kept_path(keys_dir)):
        current = kept_checkpoint(keys_dir, origin)
        if current is None or new.tree_size > current.tree_size:
            replace_kept_file(kept_path(keys_dir), note.encode("utf-8"))


def ensure_log_extends_kept(connection: Connection, keys_dir: Path, origin: str) -> None:
    """Tampered (fail closed) if the stored log no longer extends the kept checkpoint, or there
    is none (`init` keeps the first one)."""
    kept = _required(keys_dir, origin)
    try:
        intact = tree.extends(connection, kept)
    except LogIntegrityError:
        intact = False
    if not intact:
        raise Tampered(
            f"the audit log no longer extends the checkpoint kept at {kept_path(keys_dir)} "
            f"(size {kept.tree_size}): it was rewritten or truncated; nothing is delivered "
            "until it is restored, or re-anchored after a deliberate restore (audit re-anchor)"
        )


def replace_kept(keys_dir: Path, note: str) -> None:
    """Re-anchoring only: keep `note` even though it does not extend the kept checkpoint."""
    with kept_file_lock(kept_path(keys_dir)):
        replace_kept_file(kept_path(keys_dir), note.encode("utf-8"))
