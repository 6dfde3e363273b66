"""Verifying the audit log as the gateway holds it: the stored entries and checkpoints, the
checkpoint kept beside the keys, and the checkpoint inside every published manifest (partners
hold those, so the log must extend each). One use case for `audit verify` and the web UI's chain
status."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from audit.stored import raw_checkpoints
from audit.verify import VerifyReport, verify_log
from gateway import checkpoints, limits
from gateway.keys import load_signing_key
from gateway.settings import Settings
from pks_partner.manifest import parse_manifest
from pks_partner.tlog_proof import parse_tlog_proof


def audit_public_key(settings: Settings) -> Any:
    return load_signing_key(settings.keys_dir, "audit").public_key()


def published_checkpoints(deliveries_dir: Path) -> Iterator[tuple[str, str]]:
    """(label, note) of the checkpoint inside each published manifest. A manifest that cannot be
    read is named as a problem by `delivery verify`, not here."""
    for path in sorted(deliveries_dir.glob("*/*.manifest.json")):
        try:
            proof = parse_manifest(limits.read_limited(path, limits.MANIFEST_FILE)).audit.proof
            note = parse_tlog_proof(proof).checkpoint_note
        except (OSError, ValueError):
            continue
        yield f"the checkpoint in {path.name}", note


def verify_held_log(
    connection: Connection, settings: Settings, kept_note: str | None = None
) -> tuple[VerifyReport, int]:
    """The verification report, and how many published manifests' checkpoints it was held to;
    `kept_note` replaces the checkpoint kept beside the keys."""
    note = kept_note if kept_note is not None else checkpoints.kept_note(settings.keys_dir)
    held = list(published_checkpoints(settings.deliveries_dir))
    report = verify_log(
        connection, audit_public_key(settings), settings.audit_origin, note, held_elsewhere=held
    )
    return report, len(held)


@dataclass(frozen=True)
class ChainStatus:
    """What the compliance page says: verified up to checkpoint N at T, or the first problem."""

    ok: bool
    entries: int
    verified_size: int
    verified_at: datetime | None
    unsigned: int
    first_problem: str | None
    first_bad_seq: int | None


def chain_status(connection: Connection, settings: Settings) -> ChainStatus:
    report, _held = verify_held_log(connection, settings)
    signed_at = {
        int(size): _time(created)
        for _id, size, _root, _note, created in raw_checkpoints(connection)
        if isinstance(size, int)
    }
    first = report.problems[0] if report.problems else None
    return ChainStatus(
        ok=report.ok,
        entries=report.tree_size,
        verified_size=report.latest_verified_size,
        verified_at=signed_at.get(report.latest_verified_size),
        unsigned=report.unsigned_entries,
        first_problem=None if first is None else f"{first.kind}: {first.message}",
        first_bad_seq=None if first is None else first.seq,
    )


def _time(stored: object) -> datetime | None:
    """A checkpoint's time as stored (read as text, so a damaged one cannot stop the check)."""
    try:
        at = datetime.fromisoformat(str(stored))
    except ValueError:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
