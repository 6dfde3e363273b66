"""`pks-gateway delivery` and `subject`: step 8 for officers, verify and decrypt for partners.

Officers: `delivery preview` (rows and re-identification report, nothing written — before
signing), `delivery extract` (one delivery: encrypted file + signed manifest), `delivery list|show`.
Partners: `delivery verify` (signature, hashes, checkpoint, inclusion proof) and `delivery decrypt`.
Compliance: `subject deliveries NIK` answers "which institutions received my record".
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from ageformat import (
    AgeError,
    X25519Identity,
    decrypt_chunks,
    decrypt_file,
    load_identities,
)
from gateway import limits
from gateway.cli import settings_of
from gateway.cli.common import (
    ACTOR,
    AGREEMENT,
    NAME,
    audit_key_of,
    echo_json,
    echo_table,
    manifest_key_of,
    metadata_connection,
    now,
    ready_engine,
)
from gateway.context import delivery_environment, delivery_places
from gateway.keys import load_signing_key
from gateway.readmodel import office_time
from gateway.services import deliveries as service
from gateway.services import delivery_views
from gateway.services.subjects import subject_deliveries
from gateway.settings import Settings
from pks_partner.verify import verify_delivery

JSON = click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead.")


@click.group()
def delivery() -> None:
    """Deliveries (SOP step 8): preview, extract, list, show, verify, decrypt.

    See docs/deliveries.md."""


@delivery.command()
@click.argument("agreement", type=AGREEMENT)
@JSON
@click.pass_context
def preview(ctx: click.Context, agreement: str, as_json: bool) -> None:
    """Rows and re-identification report of AGREEMENT's current version on today's source."""
    settings = settings_of(ctx)
    with ready_engine(settings) as engine:
        stored, result = service.preview_delivery(
            engine, delivery_environment(settings), agreement, now()
        )
    report = result.report.to_json()
    dropped = result.would_suppress
    if as_json:
        click.echo(
            json.dumps(
                {
                    "agreement": agreement,
                    "version": stored.version,
                    "rows": result.rows,
                    "would_suppress": dropped,
                    "reidentification": report,
                },
                sort_keys=True,
            )
        )
        return
    click.echo(f"agreement {agreement} version {stored.version} ({stored.status.value})")
    if dropped is None:
        click.echo(f"rows                 {result.rows}")
    else:
        click.echo(f"rows                 {result.rows} (before suppression)")
        click.echo(f"would suppress       {dropped} ({result.rows - dropped} rows delivered)")
    _print_report(report, suppressed=False)


@delivery.command()
@click.argument("agreement", type=AGREEMENT)
@ACTOR
@click.option(
    "--queue",
    "queued",
    is_flag=True,
    help="Hand it to the worker instead of running it here (see `job show`).",
)
@JSON
@click.pass_context
def extract(ctx: click.Context, agreement: str, actor: str, queued: bool, as_json: bool) -> None:
    """Deliver AGREEMENT's current signed version: an age file for its recipients and a signed
    manifest, under the deliveries directory. Progress goes to stderr."""
    settings = settings_of(ctx)
    if queued:
        _queue(settings, agreement, actor, as_json)
        return
    progress = _Progress()
    with ready_engine(settings) as engine:
        published = service.extract_delivery(
            engine, delivery_environment(settings), agreement, actor, now, progress=progress
        )
    progress.done()
    output, files = published.output, published.files
    if as_json:
        click.echo(
            json.dumps(
                {
                    "delivery": published.delivery_id,
                    "rows": output.rows,
                    "file": str(files.data),
                    "manifest": str(files.manifest),
                    "signature": str(files.signature),
                    "ciphertext_sha256": output.ciphertext_sha256,
                    "reidentification": output.report.to_json(),
                },
                sort_keys=True,
            )
        )
        return
    click.echo(f"delivery {published.delivery_id}: {output.rows} rows")
    click.echo(f"file      {files.data}")
    click.echo(f"manifest  {files.manifest}")
    click.echo(f"signature {files.signature}")
    _print_report(output.report.to_json())


def _queue(settings: Settings, agreement: str, actor: str, as_json: bool) -> None:
    from gateway.services.jobs import OFFICER, queue_delivery
    from gateway.worker import build_queue

    with ready_engine(settings) as engine:
        job = queue_delivery(
            engine, delivery_environment(settings), actor, agreement, now(), kind=OFFICER
        )
    build_queue(settings).deliver(job.id)
    if as_json:
        echo_json(job, settings.zone)
    else:
        click.echo(f"job {job.id} queued for the worker (`pks-gateway job show {job.id}`)")


@delivery.command(name="list")
@click.option("--agreement", type=AGREEMENT, help="Only this agreement's deliveries.")
@JSON
@click.pass_context
def list_command(ctx: click.Context, agreement: str | None, as_json: bool) -> None:
    """Deliveries, newest first."""
    settings = settings_of(ctx)
    with metadata_connection(settings) as connection:
        rows = delivery_views.list_deliveries(connection, agreement)
    if as_json:
        echo_json(rows, settings.zone)
        return
    echo_table(
        ("DELIVERY", "VERSION", "STATUS", "ROWS", "STARTED", "BY"),
        [
            (
                row.id,
                row.version,
                row.status,
                "-" if row.rows is None else f"{row.rows:,}",
                office_time(row.started_at, settings.zone),
                row.requested_by,
            )
            for row in rows
        ],
    )


@delivery.command()
@click.argument("delivery_id", type=NAME)
@JSON
@click.pass_context
def show(ctx: click.Context, delivery_id: str, as_json: bool) -> None:
    """One delivery: agreement, status, files, hashes, re-identification report."""
    settings = settings_of(ctx)
    zone = settings.zone
    with metadata_connection(settings) as connection:
        view = delivery_views.show_delivery(connection, delivery_id)
    if as_json:
        echo_json(view, zone)
        return
    for label, value in (
        ("delivery", view.id),
        ("agreement", f"{view.agreement_number} ({view.agreement}, version {view.version})"),
        ("status", view.status + (f": {view.failure}" if view.failure else "")),
        ("requested by", view.requested_by),
        ("started", office_time(view.started_at, zone)),
        ("finished", office_time(view.finished_at, zone)),
        ("rows", "-" if view.rows is None else f"{view.rows:,}"),
        ("format", view.format),
        ("file", view.file_name),
        ("size", "-" if view.ciphertext_size is None else f"{view.ciphertext_size:,} bytes"),
        ("sha-256", view.ciphertext_sha256 or "-"),
        ("audit entry", "-" if view.audit_seq is None else view.audit_seq),
    ):
        click.echo(f"{label:<14}{value}")
    if view.report is not None:
        _print_report(view.report)


@delivery.command()
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--data",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The data file (default: the manifest's file name beside it).",
)
@click.option(
    "--manifest-key",
    help="The gateway's manifest public key: an OpenSSH line, or a file holding it "
    "(default: this gateway's own).",
)
@click.option(
    "--audit-key",
    help="The audit key: an OpenSSH line or the note verifier key (`keys public audit "
    "--verifier-key`), or a file holding either (default: this gateway's own).",
)
@click.option(
    "--audit-origin", help="The audit log's origin line (default: this gateway's setting)."
)
@click.option(
    "--newer-checkpoint",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A later checkpoint you were shown (a signed note); needs --consistency-proof.",
)
@click.option(
    "--consistency-proof",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="`audit prove --from N` output from the manifest's checkpoint to --newer-checkpoint.",
)
@click.pass_context
def verify(
    ctx: click.Context,
    manifest: Path,
    data: Path | None,
    manifest_key: str | None,
    audit_key: str | None,
    audit_origin: str | None,
    newer_checkpoint: Path | None,
    consistency_proof: Path | None,
) -> None:
    """Check MANIFEST's signature, the data file's hashes, the audit checkpoint and the inclusion
    proof of the delivery's audit entry; with --newer-checkpoint and --consistency-proof, also
    that the log still extends the manifest's checkpoint. Exit 1 if any check fails."""
    settings = settings_of(ctx)
    if (newer_checkpoint is None) != (consistency_proof is None):
        raise click.UsageError("--newer-checkpoint and --consistency-proof go together")
    newer = None
    if newer_checkpoint is not None and consistency_proof is not None:
        newer = (
            limits.read_limited_text(newer_checkpoint, limits.CHECKPOINT_FILE),
            limits.read_limited_text(consistency_proof, limits.CHECKPOINT_FILE),
        )
    manifest_bytes = limits.read_limited(manifest, limits.MANIFEST_FILE)
    signature = limits.read_limited_text(
        manifest.with_name(manifest.name + ".sig"), limits.SIGNATURE_FILE
    )
    if data is None:
        try:
            name = json.loads(manifest_bytes)["file"]["name"]
        except (ValueError, KeyError, TypeError):
            raise click.ClickException(f"{manifest} names no data file; give --data") from None
        data = manifest.parent / Path(str(name)).name
    if data.exists():  # a missing one is a failed check below, like a wrong one
        limits.require_regular_file(data, "data file")
    check = verify_delivery(
        manifest_bytes,
        signature,
        manifest_key=_public_key(manifest_key, settings, "manifest"),
        audit_key=_public_key(audit_key, settings, "audit"),
        audit_origin=audit_origin or settings.audit_origin,
        data_file=data,
        newer=newer,
    )
    for line in check.lines():
        click.echo(line)
    if not check.ok:
        raise click.ClickException(f"{manifest} does not verify")
    click.echo(f"{manifest} verifies")


@delivery.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--identity",
    "identity",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The recipient's age identity file (AGE-SECRET-KEY-1...).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Output file (default: FILE without .age; an existing one must be a regular file), "
    "or - for standard output.",
)
def decrypt(file: Path, identity: Path, out: Path | None) -> None:
    """Decrypt a delivery, all or nothing: the output appears only if every chunk authenticates."""
    target = out or (
        file.with_suffix("") if file.suffix == ".age" else file.with_name(file.name + ".out")
    )
    limits.require_regular_file(file, "delivery file")
    identities = _identities(identity)
    if str(target) == "-":
        _decrypt_to_stdout(file, identities)
        return
    if not target.parent.is_dir():
        raise click.ClickException(f"output directory {target.parent} does not exist")
    try:
        decrypt_file(file, identities, target)
    except AgeError as error:
        raise click.ClickException(f"{file}: {error}") from None
    except OSError as error:
        raise click.ClickException(
            f"cannot decrypt {file} to {target}: {error.strerror or type(error).__name__}"
        ) from None
    click.echo(f"decrypted to {target}")


def _decrypt_to_stdout(file: Path, identities: list[X25519Identity]) -> None:
    """Stream the plaintext to standard output, each chunk once it authenticates (as `age -d`
    does): on a failure part-way, what was written is the authenticated prefix and the exit is 1."""
    stdout = sys.stdout.buffer
    try:
        with file.open("rb") as source:
            for chunk in decrypt_chunks(source, identities):
                stdout.write(chunk)
        stdout.flush()
    except AgeError as error:
        raise click.ClickException(f"{file}: {error}") from None
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise click.ClickException(f"cannot decrypt {file} to standard output: {reason}") from None


def _identities(path: Path) -> list[X25519Identity]:
    """The identities in an age identity file, or one line naming the file and what is wrong
    (never its content: it holds a secret key)."""
    data = limits.read_limited(path, limits.IDENTITY_FILE)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise click.ClickException(
            f"identity file {path} is not an age identity file (AGE-SECRET-KEY-1... lines)"
        ) from None
    try:
        return load_identities(text)
    except AgeError as error:
        raise click.ClickException(f"{path}: {error}") from None


@click.group()
def subject() -> None:
    """A person's rights under UU PDP: which deliveries held their record."""


@subject.command(name="deliveries")
@click.argument("nik")
@ACTOR
@JSON
@click.pass_context
def subject_deliveries_command(ctx: click.Context, nik: str, actor: str, as_json: bool) -> None:
    """Which institutions received NIK's record, when, under which agreement (audited)."""
    settings = settings_of(ctx)
    with ready_engine(settings) as engine:
        found = subject_deliveries(
            engine,
            nik,
            keys_dir=settings.keys_dir,
            places=delivery_places(settings),
            actor_name=actor,
            now=now(),
        )
    rows = [
        {
            "delivery": r.delivery_id,
            "institution": r.institution,
            "agreement_number": r.agreement_number,
            "agreement": r.short_id,
            "version": r.version,
            "delivered_at": r.delivered_at.isoformat() if r.delivered_at else None,
        }
        for r in found
    ]
    if as_json:
        click.echo(json.dumps(rows, sort_keys=True))
        return
    if not rows:
        click.echo("no published delivery contained this record")
    for row in rows:
        click.echo(
            f"{row['delivered_at']}  {row['institution']}  "
            f"({row['agreement_number']}, v{row['version']}, {row['delivery']})"
        )


def _public_key(value: str | None, settings: Settings, name: str) -> Any:
    if value is not None:
        return audit_key_of(value) if name == "audit" else manifest_key_of(value)
    return load_signing_key(settings.keys_dir, name).public_key()  # type: ignore[arg-type]


def _print_report(report: dict[str, Any], *, suppressed: bool = True) -> None:
    if report.get("identified"):
        click.echo(
            "re-identification    identified scope: a direct identifier is delivered in "
            "clear; k does not apply"
        )
    click.echo(f"k (required)         {report.get('k')} ({report.get('k_required')})")
    click.echo(f"records in groups<k  {report.get('records_in_small_groups')}")
    click.echo(f"unique combinations  {report.get('unique_combinations')}")
    if suppressed:  # a preview suppresses nothing; it says what a delivery would
        click.echo(f"suppressed records   {report.get('suppressed_records')}")
    households = report.get("households")
    if households:
        click.echo(
            f"households k         {households.get('k')} "
            f"({households.get('households')} households)"
        )


class _Progress:
    """Rows and rows/s on stderr: a rewritten line on a terminal, a line every 5 s otherwise."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.last = 0.0
        self.rows = 0
        self.tty = sys.stderr.isatty()

    def __call__(self, rows: int) -> None:
        self.rows = rows
        moment = time.monotonic()
        if moment - self.last >= (0.5 if self.tty else 5.0):
            self.last = moment
            self._show(end="\r" if self.tty else "\n")

    def _show(self, end: str) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        click.echo(f"{self.rows:,} rows  {self.rows / elapsed:,.0f} rows/s", err=True, nl=False)
        click.echo(end, err=True, nl=False)

    def done(self) -> None:
        self._show(end="\n")


COMMANDS = (delivery, subject)
