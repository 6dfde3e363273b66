"""Exporting the log for an outside auditor, and verifying such an export.

The directory holds:

    entries.jsonl            the exact leaf bytes of every entry, one per line, in seq order
                             (each line is RFC 8785 JSON that carries its own seq)
    entries.parquet          the same entries as columns (seq, created_at, actor_role, actor_id,
                             action, object_type, object_id, outcome, details, leaf, leaf_hash)
    checkpoints/NNNNNN.checkpoint   every stored checkpoint note, byte for byte, by id
    verifier_key.txt         the key the checkpoints claim (check it against one obtained
                             independently: this copy proves nothing on its own)
    export.json              what was exported: counts, origin, file list

An auditor needs only SHA-256 and an Ed25519 check to verify it (docs/audit.md gives a script);
`verify_export` is our own implementation of the same checks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, select

from audit.entry import FIELD_LIMITS
from audit.log import require_readable
from audit.schema import audit_entries
from audit.stored import RAW_ENTRY, raw_checkpoints, stored_time
from audit.verify import COLUMN_ORDER, LeafScan, SignedView, VerifyReport, check_views, open_view
from pks_partner.checkpoint import NoteVerifier, verifier_for

FORMAT = "pks-gateway-audit-export/1"
ENTRIES_JSONL = "entries.jsonl"
ENTRIES_PARQUET = "entries.parquet"
CHECKPOINTS_DIR = "checkpoints"
BATCH_ROWS = 50_000

_TEXT_COLUMNS = tuple(FIELD_LIMITS)
PARQUET_SCHEMA = pa.schema(
    [
        pa.field("seq", pa.int64(), nullable=False),
        pa.field("created_at", pa.timestamp("us", tz="UTC"), nullable=False),
        *(pa.field(name, pa.string(), nullable=False) for name in _TEXT_COLUMNS),
        pa.field("details", pa.string(), nullable=False),
        pa.field("leaf", pa.binary(), nullable=False),
        pa.field("leaf_hash", pa.string(), nullable=False),
    ]
)


@dataclass(frozen=True)
class ExportSummary:
    directory: Path
    entries: int
    checkpoints: int


def export_log(
    connection: Connection,
    directory: Path,
    *,
    origin: str,
    verifier_key: str | None = None,
) -> ExportSummary:
    """Write every stored entry and checkpoint into `directory` (new or empty), as stored.

    Nothing is repaired or skipped: a damaged log exports damaged, and the auditor sees it. But a
    value of the wrong type (text where bytes belong, an unreadable time, details that are not
    JSON, a size that is no number) cannot be written as it is stored: LogIntegrityError naming
    the first one, before anything is written.
    """
    require_readable(connection)
    directory.mkdir(parents=True, exist_ok=True)
    if any(directory.iterdir()):
        raise FileExistsError(f"export directory {directory} is not empty")
    (directory / CHECKPOINTS_DIR).mkdir()
    query = select(*RAW_ENTRY).order_by(audit_entries.c.seq).execution_options(yield_per=BATCH_ROWS)
    count = 0
    with (
        (directory / ENTRIES_JSONL).open("wb") as jsonl,
        pq.ParquetWriter(directory / ENTRIES_PARQUET, PARQUET_SCHEMA, compression="zstd") as pw,
    ):
        for batch in connection.execute(query).mappings().partitions(BATCH_ROWS):
            columns: dict[str, list[Any]] = {name: [] for name in PARQUET_SCHEMA.names}
            for row in batch:
                leaf = bytes(row["leaf"])
                jsonl.write(leaf + b"\n")
                for name in PARQUET_SCHEMA.names:
                    columns[name].append(row[name])
                columns["created_at"][-1] = stored_time(row["created_at"])
                columns["leaf"][-1] = leaf
                columns["leaf_hash"][-1] = bytes(row["leaf_hash"]).hex()
            pw.write_table(pa.table(columns, schema=PARQUET_SCHEMA))
            count += len(batch)
    names = []
    for checkpoint_id, _size, _root, note, _created_at in raw_checkpoints(connection):
        name = f"{CHECKPOINTS_DIR}/{checkpoint_id:06d}.checkpoint"
        (directory / name).write_bytes(note.encode("utf-8"))
        names.append(name)
    if verifier_key is not None:
        (directory / "verifier_key.txt").write_text(verifier_key + "\n", encoding="ascii")
    manifest = {
        "format": FORMAT,
        "origin": origin,
        "entries": count,
        "checkpoints": names,
        "verifier_key": verifier_key,
    }
    (directory / "export.json").write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    return ExportSummary(directory, count, len(names))


def _jsonl_leaves(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        for line in handle:
            yield line[:-1] if line.endswith(b"\n") else line


def _parquet_rows(path: Path) -> Iterator[dict[str, Any]]:
    for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS):
        yield from batch.to_pylist()


def verify_export(
    directory: Path,
    public_key: Ed25519PublicKey | NoteVerifier | str,
    origin: str,
    kept_checkpoint: str | None = None,
) -> VerifyReport:
    """Verify an export as `verify_log` verifies the database: leaves, columns, checkpoints."""
    verifier = verifier_for(public_key, origin)
    scan = LeafScan()
    stored: list[SignedView] = []
    checkpoint_files = sorted((directory / CHECKPOINTS_DIR).glob("*.checkpoint"))
    for path in checkpoint_files:
        note = path.read_bytes().decode("utf-8", errors="replace")
        view = open_view(scan, note, verifier, origin, f"checkpoint file {path.name}", "checkpoint")
        if view is not None:
            stored.append(view)
    kept = None
    if kept_checkpoint is not None:
        kept = open_view(
            scan, kept_checkpoint, verifier, origin, "the kept checkpoint", "kept_checkpoint"
        )
    for view in [*stored, *([kept] if kept is not None else [])]:
        scan.want(view.checkpoint.tree_size)
    jsonl, parquet = directory / ENTRIES_JSONL, directory / ENTRIES_PARQUET
    for path in (jsonl, parquet):
        if not path.is_file():
            scan.report("export_missing", None, f"the export has no {path.name}")
    if jsonl.is_file():
        rows = _parquet_rows(parquet) if parquet.is_file() else None
        _scan_entries(scan, _jsonl_leaves(jsonl), rows)
    checked, newest_good = check_views(scan, stored, [] if kept is None else [kept])
    return VerifyReport(
        tree_size=scan.builder.size,
        root_hash=scan.builder.root(),
        checkpoints_checked=checked,
        latest_verified_size=newest_good,
        kept_checkpoint=None if kept is None else kept.checkpoint,
        problems=tuple(scan.problems),
        problems_omitted=scan.omitted,
    )


def _scan_entries(
    scan: LeafScan, leaves: Iterator[bytes], rows: Iterator[dict[str, Any]] | None
) -> None:
    """Feed the JSONL leaves to the scan, holding the Parquet rows (if present) to them."""
    short_reported = rows is None
    for position, leaf in enumerate(leaves):
        row = None if rows is None else next(rows, None)
        if row is None:
            if not short_reported:
                scan.report(
                    "export_mismatch",
                    position,
                    f"{ENTRIES_PARQUET} has no row for line {position + 1} of {ENTRIES_JSONL}",
                )
                short_reported = True
            scan.feed(position, leaf, None, None)
            continue
        if row["seq"] != position or row["leaf"] != leaf:
            scan.report(
                "export_mismatch",
                position,
                f"{ENTRIES_PARQUET} row {position} is not line {position + 1} of {ENTRIES_JSONL}",
            )
        columns = tuple(row[name] for name in COLUMN_ORDER)
        scan.feed(position, leaf, _unhex(row["leaf_hash"]), columns)
    if rows is not None and next(rows, None) is not None:
        scan.report(
            "export_mismatch",
            scan.builder.size,
            f"{ENTRIES_PARQUET} has more rows than {ENTRIES_JSONL} has lines",
        )


def _unhex(text: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        return b""
