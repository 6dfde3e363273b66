"""`pks-gateway demo-agreement`: the demo's signed agreement, ready for its first delivery.

Sets up, once and idempotently, what an office would do by hand before step 8: three staff
members (admin, a Kepala Dinas, a Pejabat Fungsional), a signing key for the Kepala Dinas
registered as a signer, an age key pair standing in for the partner bank, and the example
agreement (config/examples/demo-agreement.toml) addressed to that partner and signed. The demo's
private keys live in `<home>/demo/` with mode 0600: in a real office the Kepala Dinas signs on
their own machine (`ssh-keygen -Y sign`) and the partner keeps its age identity to itself.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

import click
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine

from ageformat import generate_identity
from agreements.canonical import SIGNATURE_NAMESPACE
from agreements.errors import NotPermitted
from agreements.signing import load_private_key, public_key_line, sign
from agreements.workflow import Role
from gateway.cli import settings_of
from gateway.cli.common import catalog_of, now, ready_engine, region_codes, seal_store
from gateway.seals import SealStore
from gateway.services import agreements as agreement_service
from gateway.services.staff import add_signer, add_staff, list_staff, set_password
from gateway.settings import Settings, default_config_dir

DEMO_SCOPE = "examples/demo-agreement.toml"
ADMIN, KEPALA_DINAS, OFFICER, ADB = "admin", "kadis", "pf", "adb"
RECIPIENT = re.compile(r'age_recipient = "age1[0-9a-z]+"')
VALIDITY = re.compile(r"(start|end) = (\d{4})-")
REPORTS = re.compile(r"semester_report_due = \[(\d{4})-07-31, (\d{4})-01-31\]")


def this_years(scope: str, year: int) -> str:
    """The example's validity and report dates moved to the current year, so that the demo can
    deliver whenever it is run (the example file shows one year as an office would write it)."""
    scope = VALIDITY.sub(lambda m: f"{m.group(1)} = {year}-", scope)
    return REPORTS.sub(f"semester_report_due = [{year}-07-31, {year + 1}-01-31]", scope)


@click.command(name="demo-agreement")
@click.pass_context
def demo_agreement(ctx: click.Context) -> None:
    """Staff, keys and the signed demo agreement, ready for `delivery extract` (idempotent)."""
    settings = settings_of(ctx)
    demo_dir = settings.home / "demo"
    demo_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with ready_engine(settings) as engine:
        _ensure_staff(engine)
        signing_key = _ensure_signer(engine, seal_store(settings), demo_dir / "kadis_ed25519")
        recipient = _ensure_partner(demo_dir / "partner.agekey")
        short_id = _ensure_agreement(engine, settings, recipient, signing_key)
        logins = _ensure_logins(engine, seal_store(settings), demo_dir / "logins.txt")
    click.echo(f"agreement {short_id} is signed and active; deliver it with:")
    click.echo(f"  pks-gateway delivery extract {short_id} --as {ADB}")
    click.echo(f"the partner's age identity (to decrypt): {demo_dir / 'partner.agekey'}")
    if logins is not None:
        click.echo(f"web UI logins of the demo staff (name and password): {logins}")


def _ensure_logins(engine: Engine, seals: SealStore, path: Path) -> Path | None:
    """A random password for each demo member, written once to `path` (0600) beside the demo's
    other private keys; None when the staff already have logins (an office's real ones, or an
    earlier demo run's, which stay as they are)."""
    if path.exists():
        return path
    from gateway.services.logins import hash_password  # argon2: only when logins are made

    lines = []
    for name in (ADMIN, KEPALA_DINAS, OFFICER, ADB):
        password = secrets.token_urlsafe(12)
        try:
            set_password(engine, seals, name, hash_password(password),
                         by=None if name == ADMIN else ADMIN, now=now())  # fmt: skip
        except NotPermitted:
            return None  # someone set up logins already: the demo leaves them alone
        lines.append(f"{name} {password}\n")
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.writelines(lines)
    return path


def _ensure_staff(engine: Engine) -> None:
    with engine.connect() as connection:
        present = {name for name, _role in list_staff(connection)}
    wanted = (
        (ADMIN, Role.ADMIN),
        (KEPALA_DINAS, Role.KEPALA_DINAS),
        (OFFICER, Role.PEJABAT_FUNGSIONAL),
        (ADB, Role.PETUGAS_ADB),
    )
    for name, role in wanted:
        if name not in present:
            add_staff(engine, name, role, by=None if not present else ADMIN, now=now())
            present.add(name)


def _ensure_signer(engine: Engine, seals: SealStore, path: Path) -> Ed25519PrivateKey:
    if path.exists():
        return load_private_key(path.read_bytes())
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    _write_private(path, pem)
    add_signer(engine, seals, KEPALA_DINAS, public_key_line(key, KEPALA_DINAS), by=ADMIN, now=now())
    return key


def _ensure_partner(path: Path) -> str:
    """The partner's recipient string; its identity file is made once."""
    if not path.exists():
        secret, recipient = generate_identity()
        _write_private(path, f"# public key: {recipient}\n{secret}\n".encode("ascii"))
    text = path.read_text(encoding="ascii")
    found = re.search(r"# public key: (age1[0-9a-z]+)", text)
    if found is None:
        raise click.ClickException(
            f"{path} lacks its '# public key:' line; remove it to start over"
        )
    return found.group(1)


def _ensure_agreement(
    engine: Engine, settings: Settings, recipient: str, key: Ed25519PrivateKey
) -> str:
    text = (default_config_dir() / DEMO_SCOPE).read_text(encoding="utf-8")
    text = RECIPIENT.sub(f'age_recipient = "{recipient}"', text)
    text = this_years(text, now().astimezone(settings.zone).year)
    short_id = re.search(r'short_id = "([^"]+)"', text).group(1)  # type: ignore[union-attr]
    with engine.connect() as connection:
        exists = agreement_service.exists(connection, short_id)
    if not exists:
        agreement_service.import_scope(
            engine,
            seal_store(settings),
            OFFICER,
            text,
            catalog_of(settings),
            region_codes(settings),
            now=now(),
        )
    with engine.connect() as connection:
        stored = agreement_service.load_version(connection, short_id, None)
    if stored.signature is None:
        armored = sign(stored.canonical_bytes(), key, SIGNATURE_NAMESPACE)
        agreement_service.attach_signature(
            engine,
            seal_store(settings),
            KEPALA_DINAS,
            short_id,
            armored,
            now=now(),
            version=stored.version,
        )
    return short_id


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


COMMANDS = (demo_agreement,)
