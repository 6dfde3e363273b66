"""`pks-gateway audit`: verify, checkpoint, prove, export and list the tamper-evident log.

Thin calls into the `audit` package; this module only opens the database, loads the audit key,
formats output and turns a failed verification into exit status 1.
"""

from __future__ import annotations

import base64
import csv
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from audit import log, tree
from audit.entry import FIELD_LIMITS
from audit.export import export_log, verify_export
from audit.stored import checkpoint_problems
from audit.verify import VerifyReport
from gateway import checkpoints, limits
from gateway.cli import settings_of
from gateway.cli.common import (
    AS_HELP,
    OFFICE_TIME,
    LimitedText,
    audit_key_of,
    metadata_connection,
    ready_engine,
    seal_store,
)
from gateway.services import trust
from gateway.services.audit_check import audit_public_key, verify_held_log
from pks_partner.checkpoint import CheckpointError
from pks_partner.consistency import format_consistency_proof

SEQ = click.IntRange(0, limits.MAX_ID)


@click.group()
def audit() -> None:
    """The tamper-evident audit log (docs/audit.md)."""


@audit.command()
@click.option(
    "--checkpoint",
    "kept",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A checkpoint kept outside the gateway: prove the log is consistent with it "
    "(default: the one the gateway keeps beside its audit key).",
)
@click.pass_context
def verify(ctx: click.Context, kept: Path | None) -> None:
    """Recompute the tree from the stored entries and check every checkpoint: those stored, the
    kept one, and the one inside every published manifest.

    Exits 1 naming the first bad entry on any modification, deletion, insertion, reordering or
    truncation, or a checkpoint that does not verify or that the log does not extend.
    """
    settings = settings_of(ctx)
    kept_note = limits.read_limited_text(kept, limits.CHECKPOINT_FILE) if kept else None
    with metadata_connection(settings) as connection:
        report, held = verify_held_log(connection, settings, kept_note)
    if held:
        click.echo(f"checkpoints in published manifests: {held}")
    print_report(report, "audit log")


def print_report(report: VerifyReport, what: str) -> None:
    root = base64.b64encode(report.root_hash).decode("ascii")
    click.echo(f"{what}: {report.tree_size} entries, root {root}")
    click.echo(f"checkpoints verified: {report.checkpoints_checked}")
    if report.kept_checkpoint is not None:
        click.echo(f"kept checkpoint: size {report.kept_checkpoint.tree_size}")
    if report.unsigned_entries:
        click.echo(f"entries not yet covered by a checkpoint: {report.unsigned_entries}")
    for problem in report.problems:
        where = f" at seq {problem.seq}" if problem.seq is not None else ""
        click.echo(f"PROBLEM {problem.kind}{where}: {problem.message}", err=True)
    if report.problems_omitted:
        click.echo(f"... and {report.problems_omitted} more problems", err=True)
    if not report.ok:
        raise click.ClickException(f"{what} does NOT verify ({len(report.problems)} problems)")
    click.echo(f"{what} verifies")


@audit.command()
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the signed checkpoint to this file (to hand to an outside witness).",
)
@click.pass_context
def checkpoint(ctx: click.Context, out: Path | None) -> None:
    """Sign a checkpoint of the current log (none is added if the log has not grown)."""
    settings = settings_of(ctx)
    with metadata_connection(settings, write=True) as connection:
        try:
            log.require_readable(connection)  # never sign over values of the wrong type
            stored = checkpoints.sign_and_keep(
                connection, settings.keys_dir, settings.audit_origin, datetime.now(UTC)
            )
        except log.LogIntegrityError as error:
            raise click.ClickException(f"refusing to sign: {error}") from None
    if out is not None:
        out.write_text(stored.note, encoding="utf-8")
        click.echo(f"checkpoint of {stored.tree_size} entries written to {out}", err=True)
    click.echo(stored.note, nl=False)


@audit.command()
@click.option("--entry", "seq", type=SEQ, help="Prove this entry is included.")
@click.option("--from", "old_size", type=SEQ, help="Prove consistency from size.")
@click.option(
    "--size", type=click.IntRange(1, limits.MAX_ID), help="Tree size (default: latest checkpoint)."
)
@click.pass_context
def prove(ctx: click.Context, seq: int | None, old_size: int | None, size: int | None) -> None:
    """Print an inclusion proof (--entry SEQ) or a consistency proof (--from OLD_SIZE).

    An inclusion proof is printed as a C2SP tlog-proof against the latest checkpoint (so it can be
    checked offline); a consistency proof as the RFC 9162 hashes, one base64 line each.
    """
    if (seq is None) == (old_size is None):
        raise click.UsageError("give exactly one of --entry and --from")
    settings = settings_of(ctx)
    with metadata_connection(settings) as connection:
        unreadable = checkpoint_problems(connection)
        if unreadable:
            raise click.ClickException(f"cannot prove: {unreadable[0]}")
        latest = tree.latest_checkpoint(connection)
        if latest is None:
            raise click.ClickException("no checkpoint yet: run `pks-gateway audit checkpoint`")
        try:
            if seq is not None:
                if size is not None and size != latest.tree_size:
                    raise click.UsageError("--entry proves against the latest checkpoint only")
                click.echo(tree.entry_proof(connection, seq, latest), nl=False)
                return
            assert old_size is not None
            proof = tree.consistency_proof(connection, old_size, size or latest.tree_size)
        except ValueError as error:
            raise click.ClickException(str(error)) from None
    click.echo(format_consistency_proof(proof.old_size, proof.new_size, proof.hashes), nl=False)


@audit.command(name="export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def export(ctx: click.Context, directory: Path) -> None:
    """Write every entry (JSONL and Parquet) and checkpoint into DIRECTORY for an auditor."""
    settings = settings_of(ctx)
    from pks_partner.checkpoint import note_verifier

    verifier = note_verifier(settings.audit_origin, audit_public_key(settings))
    with metadata_connection(settings) as connection:
        try:
            summary = export_log(
                connection,
                directory,
                origin=settings.audit_origin,
                verifier_key=verifier.key_string,
            )
        except log.LogIntegrityError as error:
            raise click.ClickException(f"refusing to export: {error}") from None
    click.echo(f"exported {summary.entries} entries and {summary.checkpoints} checkpoints")
    click.echo(f"into {summary.directory}; docs/audit.md tells an auditor how to verify it")


@audit.command(name="verify-export")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--verifier-key",
    help="The log's verifier key (name+id+key) or the audit key's OpenSSH line, as text or a "
    "file holding it, obtained from the office, not from the export.",
)
@click.option("--origin", help="The log's origin line (default: the `audit_origin` setting).")
@click.pass_context
def verify_export_command(
    ctx: click.Context, directory: Path, verifier_key: str | None, origin: str | None
) -> None:
    """Verify an export made by `audit export`, as an auditor would."""
    settings = settings_of(ctx)
    key: Any = audit_key_of(verifier_key) if verifier_key else audit_public_key(settings)
    try:
        report = verify_export(directory, key, origin or settings.audit_origin)
    except CheckpointError as error:
        raise click.ClickException(f"the verifier key is not usable: {error}") from None
    print_report(report, f"export {directory}")


LIST_COLUMNS = ("seq", "time", "actor_role", "actor_id", "action", "object_type", "object_id")
FIELD = LimitedText(max(FIELD_LIMITS.values()))  # the longest an entry's field can be


@audit.command(name="list")
@click.option("--object-type", type=FIELD)
@click.option("--object-id", type=FIELD, help="e.g. an agreement's short id.")
@click.option("--actor", "actor_id", type=FIELD)
@click.option("--action", type=FIELD)
@click.option("--outcome", type=FIELD)
@click.option("--since", type=OFFICE_TIME, help="Office time (WITA), inclusive.")
@click.option("--until", type=OFFICE_TIME, help="Office time (WITA), exclusive.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--page", type=click.IntRange(1, limits.MAX_PAGE), default=1, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header.")
@click.pass_context
def list_command(
    ctx: click.Context,
    limit: int,
    page: int,
    as_json: bool,
    as_csv: bool,
    since: datetime | None,
    until: datetime | None,
    object_type: str | None,
    object_id: str | None,
    actor_id: str | None,
    action: str | None,
    outcome: str | None,
) -> None:
    """List entries, oldest first, filtered and paginated; times in the office's zone."""
    settings = settings_of(ctx)
    zone = settings.zone
    criteria: dict[str, Any] = {
        "object_type": object_type,
        "object_id": object_id,
        "actor_id": actor_id,
        "action": action,
        "outcome": outcome,
        "since": since.replace(tzinfo=zone) if since else None,
        "until": until.replace(tzinfo=zone) if until else None,
    }
    with metadata_connection(settings) as connection:
        total = log.count_entries(connection, **criteria)
        entries = log.list_entries(connection, **criteria, limit=limit, offset=(page - 1) * limit)
    rows = [
        {
            "seq": e.seq,
            "time": e.created_at.astimezone(zone).isoformat(timespec="seconds"),
            "actor_role": e.actor_role,
            "actor_id": e.actor_id,
            "action": e.action,
            "object_type": e.object_type,
            "object_id": e.object_id,
            "outcome": e.outcome,
            "details": dict(e.details),
        }
        for e in entries
    ]
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
    elif as_csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=[*LIST_COLUMNS, "outcome", "details"])
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "details": json.dumps(row["details"], ensure_ascii=False)})
    else:
        for row in rows:
            click.echo(
                f"{row['seq']:>7} {row['time']} {row['actor_role']}:{row['actor_id']} "
                f"{row['action']} {row['object_type']}:{row['object_id']} {row['outcome']}"
            )
    pages = max(1, -(-total // limit))
    click.echo(f"page {page} of {pages} ({total} entries)", err=True)


@audit.command(name="re-anchor")
@click.option("--reason", required=True, help="Why (e.g. the backup restored); audited.")
@click.option("--as", "actor", required=True, metavar="NAME", help=AS_HELP)
@click.pass_context
def reanchor(ctx: click.Context, reason: str, actor: str) -> None:
    """After a deliberate restore from a backup: seal the rows as they now are and keep a new
    checkpoint of the log as it now is (Admin only, audited). Partners holding a later checkpoint
    will see the fork: that is the point (docs/audit.md)."""
    settings = settings_of(ctx)
    with ready_engine(settings) as engine:
        rows, size = trust.reanchor(
            engine,
            seal_store(settings),
            settings.keys_dir,
            settings.audit_origin,
            by=actor,
            reason=reason,
            now=datetime.now(UTC),
        )
    click.echo(f"re-anchored: {rows} rows sealed, kept checkpoint of {size} entries")


COMMANDS = (audit,)
