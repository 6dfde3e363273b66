"""`pks-gateway staff` and `pks-gateway signer`: who acts in the SOP, and whose keys may sign.

Attribution, not authentication: `--as NAME` says which registered staff member is acting, and
role rules are enforced on that name. The web UI authenticates: `staff password` gives a member
their login (the first Admin's without --as, while nobody has one).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from gateway import limits
from gateway.cli import settings_of
from gateway.cli.common import AS_HELP, metadata_connection, now, ready_engine, seal_store
from gateway.services import staff as service


@click.group()
def staff() -> None:
    """The staff registry (attribution for every SOP step)."""


@staff.command(name="add")
@click.argument("name")
@click.option(
    "--role",
    required=True,
    help="petugas_adb, pejabat_fungsional, kepala_bidang, kepala_dinas, compliance or admin.",
)
@click.option("--as", "actor", metavar="NAME", help=AS_HELP + " Needed once anyone is registered.")
@click.pass_context
def add_staff(ctx: click.Context, name: str, role: str, actor: str | None) -> None:
    """Register a staff member with a role (the first one needs no --as: it bootstraps)."""
    with ready_engine(settings_of(ctx)) as engine:
        service.add_staff(engine, name, service.parse_role(role), by=actor, now=now())
    click.echo(f"staff member {name} added as {service.parse_role(role).value}")


@staff.command(name="list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def list_staff(ctx: click.Context, as_json: bool) -> None:
    """List staff members, their roles and whether they are active."""
    with metadata_connection(settings_of(ctx)) as connection:
        rows = service.staff_rows(connection)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        state = "" if row["active"] else "  (deactivated)"
        click.echo(f"{row['name']:<40} {row['role']}{state}")


@staff.command(name="role")
@click.argument("name")
@click.option("--role", required=True, help="The new role (as for `staff add`).")
@click.option("--as", "actor", required=True, metavar="NAME", help=AS_HELP)
@click.pass_context
def change_role(ctx: click.Context, name: str, role: str, actor: str) -> None:
    """Give a staff member another role (Admin only, audited with the old and the new)."""
    new_role = service.parse_role(role)
    with ready_engine(settings_of(ctx)) as engine:
        service.change_role(
            engine, seal_store(settings_of(ctx)), name, new_role, by=actor, now=now()
        )
    click.echo(f"staff member {name} is now {new_role.value}")


@staff.command(name="password")
@click.argument("name")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input (one line) instead of prompting twice.",
)
@click.option(
    "--as", "actor", metavar="NAME", help=AS_HELP + " Not needed for the first Admin's login."
)
@click.pass_context
def set_password(ctx: click.Context, name: str, password_stdin: bool, actor: str | None) -> None:
    """Set a member's web UI password (Admin, or the first Admin's own while nobody has one);
    ends the member's sessions. At least 12 characters."""
    from gateway.services import logins

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    service.check_password_rule(name, password)
    settings = settings_of(ctx)
    with ready_engine(settings) as engine:
        service.set_password(
            engine, seal_store(settings), name, logins.hash_password(password), by=actor, now=now()
        )
    click.echo(f"staff member {name} can log in to the web UI; their other sessions ended")


@staff.command(name="email")
@click.argument("name")
@click.argument("address")
@click.option("--as", "actor", required=True, metavar="NAME", help=AS_HELP)
@click.pass_context
def set_email(ctx: click.Context, name: str, address: str, actor: str) -> None:
    """Where a member's notifications go by e-mail ("" clears it; Admin only, audited)."""
    with ready_engine(settings_of(ctx)) as engine:
        service.set_email(engine, name, address, by=actor, now=now())
    click.echo(f"staff member {name}: e-mail {'set' if address.strip() else 'cleared'}")


@staff.command(name="deactivate")
@click.argument("name")
@click.option("--reason", required=True, help="Why (recorded in the audit log).")
@click.option("--as", "actor", required=True, metavar="NAME", help=AS_HELP)
@click.pass_context
def deactivate(ctx: click.Context, name: str, reason: str, actor: str) -> None:
    """Deactivate a staff member: from now on the name can do nothing (Admin only, audited; the
    last active Admin cannot be deactivated)."""
    with ready_engine(settings_of(ctx)) as engine:
        service.deactivate(
            engine, seal_store(settings_of(ctx)), name, by=actor, now=now(), reason=reason
        )
    click.echo(f"staff member {name} is deactivated")


@click.group()
def signer() -> None:
    """Kepala Dinas keys allowed to sign agreements (OpenSSH allowed_signers)."""


@signer.command(name="add")
@click.argument("principal")
@click.option(
    "--key",
    "key_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The Ed25519 public key file (e.g. id_ed25519.pub).",
)
@click.option("--as", "actor", required=True, metavar="NAME", help=AS_HELP)
@click.pass_context
def add_signer(ctx: click.Context, principal: str, key_file: Path, actor: str) -> None:
    """Allow PRINCIPAL (a Kepala Dinas on the staff list) to sign with this key."""
    line = limits.read_limited_text(key_file, limits.KEY_FILE).strip()
    settings = settings_of(ctx)
    with ready_engine(settings) as engine:
        fingerprint = service.add_signer(
            engine, seal_store(settings), principal, line, by=actor, now=now()
        )
    click.echo(f"signer {principal} added: {fingerprint}")


@signer.command(name="list")
@click.option(
    "--allowed-signers",
    "as_file",
    is_flag=True,
    help="Print the current keys as an OpenSSH allowed_signers file.",
)
@click.pass_context
def list_signers(ctx: click.Context, as_file: bool) -> None:
    """List signer keys, revoked ones marked."""
    with metadata_connection(settings_of(ctx)) as connection:
        rows = service.signer_rows(connection)
    for row in rows:
        if as_file:
            if row["revoked_at"] is None:
                click.echo(row["allowed_signers_line"])
            continue
        state = f"revoked {row['revoked_at']}" if row["revoked_at"] else "active"
        click.echo(f"{row['principal']:<30} {row['fingerprint']}  {state}")


@signer.command(name="revoke")
@click.argument("fingerprint")
@click.option("--as", "actor", required=True, metavar="NAME", help=AS_HELP)
@click.pass_context
def revoke_signer(ctx: click.Context, fingerprint: str, actor: str) -> None:
    """Revoke a key (SHA256:...): signatures it makes from now on are refused."""
    settings = settings_of(ctx)
    with ready_engine(settings) as engine:
        service.revoke_signer(engine, seal_store(settings), fingerprint, by=actor, now=now())
    click.echo(f"key {fingerprint} revoked")


COMMANDS = (staff, signer)
