"""`pks-gateway agreement`: register, show, sign, verify, compare and change agreements (PKS).

The Kepala Dinas signs on their own computer: `agreement canonical ID > pks.json`, then
`ssh-keygen -Y sign -n pks-agreement -f KEY pks.json`, then `agreement attach-signature ID
pks.json.sig`. `agreement sign --key FILE` does the same in one step, for the demo.
"""

from __future__ import annotations

import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from agreements.canonical import SIGNATURE_NAMESPACE, AgreementIdentity
from agreements.scope_toml import dumps_scope_toml
from agreements.signing import load_private_key, sign
from agreements.workflow import AgreementAction
from gateway.cli import settings_of
from gateway.cli.common import (
    ACTOR,
    AGREEMENT,
    FREE_TEXT,
    ID,
    catalog_of,
    echo_json,
    echo_table,
    metadata_connection,
    now,
    ready_engine,
    region_codes,
    region_names,
    seal_store,
)
from gateway.limits import KEY_FILE, SCOPE_FILE, SIGNATURE_FILE, read_limited, read_limited_text
from gateway.readmodel import office_time
from gateway.services import agreement_views as views
from gateway.services import agreements as service

VERSION = click.option(
    "--version",
    "version",
    type=ID,
    help="Version number (default: the current one).",
)
SIGNABLE = click.option(
    "--version",
    "version",
    type=click.IntRange(min=1),
    help="Version number (default: the newest draft, the one awaiting a signature).",
)


@click.group()
def agreement() -> None:
    """Agreements (PKS): scopes, signatures, versions, status (docs/agreements.md)."""


@agreement.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@ACTOR
@click.pass_context
def import_command(ctx: click.Context, file: Path, actor: str) -> None:
    """Register a PKS signed on paper (a scope TOML file) as a draft awaiting the Kepala Dinas's
    digital signature. A file with the next version of an existing agreement is an amendment."""
    settings = settings_of(ctx)
    text = read_limited_text(file, SCOPE_FILE)
    with ready_engine(settings) as engine:
        details = service.import_scope(
            engine,
            seal_store(settings),
            actor,
            text,
            catalog_of(settings),
            region_codes(settings),
            now=now(),
        )
    click.echo(
        f"agreement {details['agreement']} version {details['version']} registered as a draft"
    )
    click.echo(f"scope hash {details['scope_hash']}")


@agreement.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead.")
@click.pass_context
def list_command(ctx: click.Context, as_json: bool) -> None:
    """List agreements with their current version, status and validity."""
    settings = settings_of(ctx)
    with metadata_connection(settings) as connection:
        rows = views.list_agreements(connection)
    if as_json:
        echo_json(rows, settings.zone)
        return
    echo_table(
        ("AGREEMENT", "VERSION", "STATUS", "VALID FROM", "VALID UNTIL", "NUMBER"),
        [(r.agreement, r.version, r.status, r.valid_from, r.valid_until, r.number) for r in rows],
    )


@agreement.command(name="show")
@click.argument("short_id", type=AGREEMENT)
@VERSION
@click.option("--json", "as_json", is_flag=True, help="Identity, scope and status as JSON.")
@click.option("--toml", "as_toml", is_flag=True, help="The scope as an importable TOML file.")
@click.pass_context
def show(
    ctx: click.Context, short_id: str, version: int | None, as_json: bool, as_toml: bool
) -> None:
    """One agreement version: identity, status, signature, purpose, elements and masks,
    regions, recipients, validity, quota used and left, reporting duties, history."""
    settings = settings_of(ctx)
    zone = settings.zone
    with metadata_connection(settings) as connection:
        if as_toml:
            stored = service.load_version(connection, short_id, version)
            scope = stored.parsed_scope(catalog_of(settings), region_codes(settings))
            identity = AgreementIdentity.from_json(dict(stored.identity))
            click.echo(dumps_scope_toml(identity, scope), nl=False)
            return
        view = views.show_agreement(
            connection,
            short_id,
            version,
            catalog=catalog_of(settings),
            region_codes=region_codes(settings),
            region_names=region_names(settings),
            today=now().astimezone(zone).date(),
            zone=zone,
        )
    if as_json:
        echo_json(view, zone)
    else:
        _print_agreement(view, zone)


def _print_agreement(view: views.AgreementView, zone: ZoneInfo) -> None:
    def line(label: str, value: object) -> None:
        click.echo(f"{label:<13}{value}")

    click.echo(f"{view.number}  ({view.agreement}, version {view.version})")
    line("institution", view.institution)
    line("status", view.status + ("" if view.current else " (not current)"))
    line("scope hash", view.scope_hash)
    if view.signed_at:
        line("signed", f"{office_time(view.signed_at, zone)} by key {view.signed_by_key}")
    line("valid", f"{view.valid_from} to {view.valid_until}")
    line("purpose", view.purpose)
    for basis in view.legal_basis:
        line("legal basis", basis)
    line("access", ", ".join(view.access_modes))
    if view.delivery is not None:
        terms = view.delivery
        line("delivery", f"{terms.format}, {terms.schedule}, at most {terms.max_rows:,} rows")
        line("quota", f"{terms.quota} per {terms.quota_period}")
    if view.quota is not None:
        use = view.quota
        line("quota used", f"{use.used} since {use.since}, {use.left} left")
    reporting = view.reporting
    dues = ", ".join(str(d) for d in reporting.semester_report_due) or "none"
    line("reports due", dues)
    line("data balikan", "required" if reporting.data_balikan else "not required")
    regions = (
        "the whole kabupaten"
        if view.regions is None
        else ", ".join(f"{r.name} ({r.code})" for r in view.regions)
    )
    line("regions", regions)
    line("ages", f"{view.min_age} to {view.max_age}")
    click.echo("")
    echo_table(
        ("ELEMENT", "LABEL", "MASK", "PARAMETERS"),
        [
            (e.key, e.label, e.mask, ", ".join(f"{k}={v}" for k, v in e.params.items()))
            for e in view.elements
        ],
    )
    click.echo("")
    echo_table(
        ("RECIPIENT", "CONTACT", "AGE KEY"),
        [(r.name, r.contact, r.age_recipient) for r in view.recipients],
    )
    click.echo("")
    echo_table(
        ("VERSION", "WHAT", "WHEN", "WHO", "NOTES"),
        [(e.version, e.action, office_time(e.at, zone), e.actor, e.notes) for e in view.history],
    )


@agreement.command(name="canonical")
@click.argument("short_id", type=AGREEMENT)
@SIGNABLE
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)
@click.pass_context
def canonical(ctx: click.Context, short_id: str, version: int | None, out: Path | None) -> None:
    """The exact bytes a signature covers (RFC 8785 JSON), for `ssh-keygen -Y sign`. Default: the
    newest draft (the version awaiting a signature), as for `attach-signature` and `sign`; when
    no draft waits, the current version (to check its signature with `ssh-keygen -Y verify`)."""
    with metadata_connection(settings_of(ctx)) as connection:
        wanted = version or service.draft_or_current_version(connection, short_id)
        data = service.load_version(connection, short_id, wanted).canonical_bytes()
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        out.write_bytes(data)
        click.echo(
            f"wrote {out} ({len(data)} bytes); sign with: ssh-keygen -Y sign -n "
            f"{SIGNATURE_NAMESPACE} -f KEY {out}",
            err=True,
        )


@agreement.command(name="attach-signature")
@click.argument("short_id", type=AGREEMENT)
@click.argument("signature_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@SIGNABLE
@ACTOR
@click.pass_context
def attach_signature(
    ctx: click.Context, short_id: str, signature_file: Path, version: int | None, actor: str
) -> None:
    """Attach the Kepala Dinas's SSHSIG signature (ssh-keygen -Y sign output) after verifying it.
    Default: the newest draft, the version `canonical` prints."""
    armored = read_limited_text(signature_file, SIGNATURE_FILE)
    _attach(ctx, short_id, armored, version, actor)


@agreement.command(name="sign")
@click.argument("short_id", type=AGREEMENT)
@click.option(
    "--key",
    "key_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The Kepala Dinas's OpenSSH Ed25519 private key (demo).",
)
@SIGNABLE
@ACTOR
@click.pass_context
def sign_command(
    ctx: click.Context, short_id: str, key_file: Path, version: int | None, actor: str
) -> None:
    """Sign with a private key file and attach: the demo's shortcut for the two steps above
    (default: the newest draft)."""
    with metadata_connection(settings_of(ctx)) as connection:
        wanted = version or service.signable_version(connection, short_id)
        data = service.load_version(connection, short_id, wanted).canonical_bytes()
    armored = sign(data, load_private_key(read_limited(key_file, KEY_FILE)), SIGNATURE_NAMESPACE)
    _attach(ctx, short_id, armored, wanted, actor)


def _attach(
    ctx: click.Context, short_id: str, armored: str, version: int | None, actor: str
) -> None:
    settings = settings_of(ctx)
    with ready_engine(settings) as engine:
        with engine.connect() as connection:
            wanted = version or service.signable_version(connection, short_id)
        verified = service.attach_signature(
            engine, seal_store(settings), actor, short_id, armored, now=now(), version=wanted
        )
        with engine.connect() as connection:
            stored = service.load_version(connection, short_id, wanted)
    click.echo(f"signature by {verified.principal} ({verified.fingerprint}) verified and attached")
    click.echo(f"agreement {short_id} version {stored.version} is {stored.status.value}")


@agreement.command(name="verify")
@click.argument("short_id", type=AGREEMENT)
@VERSION
@click.pass_context
def verify(ctx: click.Context, short_id: str, version: int | None) -> None:
    """Rebuild the signed bytes from the stored scope and check the hash and the signature."""
    settings = settings_of(ctx)
    with metadata_connection(settings) as connection:
        stored, verified = service.verify_version(
            connection, seal_store(settings), short_id, version
        )
    click.echo(
        f"agreement {short_id} version {stored.version}: signature by "
        f"{verified.principal} ({verified.fingerprint}) verifies; scope hash "
        f"{stored.scope_hash}"
    )


@agreement.command(name="diff")
@click.argument("short_id", type=AGREEMENT)
@click.option("--from", "old", type=ID, help="Default: the previous version.")
@click.option("--to", "new", type=ID, help="Default: the newest version.")
@click.pass_context
def diff(ctx: click.Context, short_id: str, old: int | None, new: int | None) -> None:
    """What an amendment changes: elements, masks, filter, recipients, then every other field."""
    settings = settings_of(ctx)
    with metadata_connection(settings) as connection:
        new = new or service.latest_version(connection, short_id)
        old = old or new - 1
        if old < 1:
            raise click.ClickException(f"agreement {short_id} has only version {new}")
        changes = service.version_diff(
            connection, short_id, old, new, catalog_of(settings), region_codes(settings)
        )
    click.echo(f"agreement {short_id}: version {old} -> {new}, {len(changes)} change(s)")
    for change in changes:
        click.echo(f"  {change}")


def _status_command(action: AgreementAction) -> click.Command:
    @click.command(name=action.value, help=f"{action.value.capitalize()} the current version.")
    @click.argument("short_id", type=AGREEMENT)
    @click.option(
        "--reason",
        required=True,
        type=FREE_TEXT,
        help="Why (recorded in the history and audit log).",
    )
    @ACTOR
    @click.pass_context
    def command(ctx: click.Context, short_id: str, reason: str, actor: str) -> None:
        settings = settings_of(ctx)
        with ready_engine(settings) as engine:
            status = service.change_status(
                engine, seal_store(settings), actor, short_id, action, now=now(), notes=reason
            )
        click.echo(f"agreement {short_id} is {status.value}")

    return command


for _action in (AgreementAction.SUSPEND, AgreementAction.RESUME, AgreementAction.REVOKE):
    agreement.add_command(_status_command(_action))


@agreement.command()
@click.argument("short_id")
@click.option(
    "--version",
    type=click.IntRange(min=1),
    help="The draft to withdraw (default: the newest draft).",
)
@click.option("--reason", required=True, help="Why (recorded in the history and audit log).")
@ACTOR
@click.pass_context
def withdraw(
    ctx: click.Context, short_id: str, version: int | None, reason: str, actor: str
) -> None:
    """Withdraw a draft (unsigned, or signed but never in force): it becomes `withdrawn`, its
    version number stays used, and the next amendment chains to the version before it."""
    settings = settings_of(ctx)
    with ready_engine(settings) as engine:
        withdrawn = service.withdraw(
            engine, seal_store(settings), actor, short_id, version=version, now=now(), notes=reason
        )
    click.echo(f"agreement {short_id} version {withdrawn} is withdrawn")


COMMANDS = (agreement,)
