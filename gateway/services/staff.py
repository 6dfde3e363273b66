"""The staff registry and the Kepala Dinas signing keys (OpenSSH allowed_signers entries).

Staff are who the SOP attributes each step to. The first staff member may be added by anyone
(bootstrapping an empty registry, recorded as such); after that only an Admin adds staff or
changes signers. A signer is a staff member with the Kepala Dinas role and an Ed25519 public key;
revoking a key keeps its row with the time of revocation, so signatures made before it still
verify and later ones do not. Signer rows are sealed (gateway/seals.py): the signer set a
signature is checked against is only ever the one the gateway wrote, never a row someone put in
the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from agreements.errors import Conflict, Invalid, NotFound, NotPermitted, Tampered
from agreements.roles import Action, Machine, require
from agreements.signing import AllowedSigner, AllowedSigners, parse_public_key
from agreements.workflow import Role
from audit import log as audit_log
from audit.entry import check_field
from audit.log import as_utc
from gateway.seals import SealStore, ensure_no_foreign_triggers
from gateway.services.actions import Actor, Outcome, perform, recordable
from gateway.store.tables import signers, staff
from gateway.store.web import web_sessions

AGREEMENT_NAMESPACE = "pks-agreement"


def parse_role(text: str) -> Role:
    try:
        return Role(text.strip().lower().replace(" ", "_").replace("-", "_"))
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise Invalid("role", f"must be one of: {allowed}") from None


def add_staff(engine: Engine, name: str, role: Role, *, by: str | None, now: datetime) -> None:
    """Register a staff member; `by` is the Admin adding them (None only for the very first)."""
    with engine.begin() as connection:
        empty = connection.execute(select(func.count()).select_from(staff)).scalar_one() == 0
        if empty and by is None:
            _check_name(name)
            _insert_staff(connection, name, role, now)
            audit_log.append(
                connection,
                actor_role="system",
                actor_id="bootstrap",
                action="staff.added",
                object_type="staff",
                object_id=name,
                outcome="ok",
                details={"role": role.value, "bootstrap": True},
                now=now,
            )
            return
    if by is None:
        raise NotPermitted("adding staff needs --as an Admin (only the first may be added without)")

    def work(connection: Connection, actor: Actor) -> Outcome:
        require(Action.STAFF_ADD, actor.role)
        _check_name(name)
        _insert_staff(connection, name, role, now)
        return Outcome(name, {"role": role.value})

    perform(
        engine, by, action="staff.added", object_type="staff", object_id=name, now=now, work=work
    )


def _check_name(name: str) -> None:
    if not name.strip() or len(name) > 100 or not name.isprintable():
        raise Invalid("name", "1-100 printable characters")
    try:  # a name is an audit actor id: what the audit guard refuses cannot be a name
        check_field("actor_id", name)
    except ValueError:
        raise Invalid("name", "must not look like a NIK (sixteen digits)") from None


def _insert_staff(connection: Connection, name: str, role: Role, now: datetime) -> None:
    taken = connection.execute(select(staff.c.id).where(staff.c.name == name)).first()
    if taken is not None:
        raise Conflict(f"a staff member named {name!r} exists")
    connection.execute(insert(staff).values(name=name, role=role.value, created_at=now))


def change_role(
    engine: Engine, seals: SealStore, name: str, role: Role, *, by: str, now: datetime
) -> None:
    """Give a staff member another role (audited with the old and the new)."""

    def work(connection: Connection, actor: Actor) -> Outcome:
        require(Action.STAFF_ROLE, actor.role)
        before = _member(connection, name)
        if before.role == role.value:
            raise Conflict(f"{name!r} already has role {role.value}")
        if before.role == Role.ADMIN.value:
            _keep_an_admin(connection, name)
        connection.execute(update(staff).where(staff.c.name == name).values(role=role.value))
        _reseal_login(connection, seals, before)
        return Outcome(name, {"from": before.role, "to": role.value})

    perform(
        engine, by, action=Action.STAFF_ROLE.value, object_type="staff", object_id=name,
        now=now, work=work, seals=seals,
    )  # fmt: skip


def deactivate(
    engine: Engine, seals: SealStore, name: str, *, by: str, now: datetime, reason: str
) -> None:
    """A member who left or was entered by mistake: can do nothing from now on, and is logged
    out of the web UI at once (audited)."""
    if not reason.strip():
        raise Invalid("reason", "required to deactivate")

    def work(connection: Connection, actor: Actor) -> Outcome:
        require(Action.STAFF_DEACTIVATE, actor.role)
        member = _member(connection, name)
        if not member.active:
            raise Conflict(f"{name!r} is already deactivated")
        if member.role == Role.ADMIN.value:
            _keep_an_admin(connection, name)
        connection.execute(update(staff).where(staff.c.name == name).values(active=False))
        connection.execute(web_sessions.delete().where(web_sessions.c.staff_name == name))
        _reseal_login(connection, seals, member)
        return Outcome(name, {"role": member.role, "reason": reason})

    perform(
        engine, by, action=Action.STAFF_DEACTIVATE.value, object_type="staff", object_id=name,
        now=now, work=work, seals=seals,
    )  # fmt: skip


STAFF_ROW = "staff:"
PASSWORD_MIN = 12
PASSWORD_MAX = 1024  # argon2 takes any length; a bound keeps one login from being a CPU job


def staff_seal(row: Mapping[Any, Any]) -> tuple[str, dict[str, Any]]:
    """A login-bearing staff row's name among the seals and the fields its seal covers: who, in
    which role, whether active, with which password hash."""
    fields = {name: row[name] for name in ("name", "role", "active", "password_hash")}
    fields["active"] = bool(fields["active"])
    return STAFF_ROW + str(row["name"]), fields


def staff_seals(connection: Connection, seals: SealStore) -> dict[str, str]:
    """A seal for every staff row that has a password, as the database holds it now."""
    rows = connection.execute(select(staff).where(staff.c.password_hash.is_not(None)))
    sealed = {}
    for row in rows.mappings():
        name, fields = staff_seal(row)
        sealed[name] = seals.seal(name, fields)
    return sealed


def _reseal_login(connection: Connection, seals: SealStore, before: Any) -> None:
    """Re-seal a staff row the gateway just changed, if it can log in. A row that was not as the
    gateway sealed it keeps its broken seal: changing its role must not bless a forged hash."""
    if before.password_hash is None:
        return
    name, fields = staff_seal(before._mapping)
    if not seals.matches(connection, name, fields):
        return
    after = connection.execute(select(staff).where(staff.c.name == before.name)).mappings().one()
    seals.stage(connection, *staff_seal(after))


def check_password_rule(name: str, password: str) -> None:
    """Invalid unless `password` is long enough, bounded, and not the member's own name."""
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise Invalid("password", f"{PASSWORD_MIN} to {PASSWORD_MAX} characters")
    if password.strip().casefold() == name.strip().casefold() or len(set(password)) < 4:
        raise Invalid("password", "must not be the name or a repeated character")


def set_password(
    engine: Engine,
    seals: SealStore,
    name: str,
    password_hash: str,
    *,
    by: str | None,
    now: datetime,
) -> None:
    """Give `name` a web login (a PHC hash made by gateway/services/logins.py), seal the row and
    end the member's sessions. `by` None is the bootstrap: allowed only while no one has a login,
    and only for an Admin (the CLI on the server, which holds the keys directory)."""

    def work(connection: Connection, actor: Actor | None) -> Outcome:
        if actor is not None and actor.name != name:
            require(Action.STAFF_PASSWORD, actor.role)
        member = _member(connection, name)
        _check_member_row(connection, seals, member)
        if not member.active:
            raise Conflict(f"{name!r} is deactivated")
        if actor is None:
            anyone = select(staff.c.id).where(staff.c.password_hash.is_not(None))
            sealed = any(row.startswith(STAFF_ROW) for row in seals.current(connection))
            if sealed or connection.execute(anyone).first() is not None:
                raise NotPermitted(
                    "logins exist (or existed: after a restore, `audit re-anchor` first); "
                    "an Admin sets passwords (--as)"
                )
            if member.role != Role.ADMIN.value:
                raise NotPermitted("the first login is an Admin's")
        connection.execute(
            update(staff)
            .where(staff.c.name == name)
            .values(password_hash=password_hash, password_set_at=now)
        )
        connection.execute(web_sessions.delete().where(web_sessions.c.staff_name == name))
        after = connection.execute(select(staff).where(staff.c.name == name)).mappings().one()
        seals.stage(connection, *staff_seal(after))
        return Outcome(name, {"bootstrap": actor is None})

    if by is None:
        perform(
            engine, Actor("bootstrap", Machine.SYSTEM), action=Action.STAFF_PASSWORD.value,
            object_type="staff", object_id=name, now=now, seals=seals,
            work=lambda connection, _actor: work(connection, None),
        )  # fmt: skip
        return
    perform(
        engine, by, action=Action.STAFF_PASSWORD.value, object_type="staff", object_id=name,
        now=now, work=work, seals=seals,
    )  # fmt: skip


def _check_member_row(connection: Connection, seals: SealStore, member: Any) -> None:
    """Tampered unless the row a new password is about to seal is the gateway's own: the row of a
    member who had a login matches its kept seal (a raised role, a re-activation or an emptied
    hash does not); a member's first login takes the role and state the audit log last recorded
    for them (staff.added, staff.role_changed, staff.deactivated), not a database row's word."""
    name, fields = staff_seal(member._mapping)
    if name in seals.current(connection):
        seals.check(connection, name, fields, f"staff member {member.name}")
        return
    if member.password_hash is not None:
        raise Tampered(f"staff member {member.name} has a password the gateway did not seal")
    role, active = _audited_state(connection, member.name)
    if (role, active) != (member.role, bool(member.active)):
        raise Tampered(
            f"staff member {member.name}: the role or state in the database is not the one the "
            "audit log records"
        )


def _audited_state(connection: Connection, name: str) -> tuple[str | None, bool]:
    """A member's role and whether active, as the audit log's entries about them last say."""
    role: str | None = None
    active = True
    for entry in audit_log.list_entries(
        connection, object_type="staff", object_id=name, outcome="ok", limit=10_000
    ):
        if entry.action == Action.STAFF_ADD.value:
            role, active = str(entry.details.get("role")), True
        elif entry.action == Action.STAFF_ROLE.value:
            role = str(entry.details.get("to"))
        elif entry.action == Action.STAFF_DEACTIVATE.value:
            active = False
    return role, active


def _member(connection: Connection, name: str) -> Any:
    row = connection.execute(select(staff).where(staff.c.name == name)).first()
    if row is None:
        raise NotFound("staff member", recordable("object_id", name))
    return row


def _keep_an_admin(connection: Connection, leaving: str) -> None:
    """Conflict if `leaving` is the last active Admin: nobody could add or restore staff."""
    others = connection.execute(
        select(func.count())
        .select_from(staff)
        .where(staff.c.role == Role.ADMIN.value, staff.c.active, staff.c.name != leaving)
    ).scalar_one()
    if not others:
        raise Conflict(f"{leaving!r} is the last active admin")


def staff_rows(connection: Connection) -> list[dict[str, Any]]:
    """Every member with role and whether active, by name."""
    rows = connection.execute(
        select(staff.c.name, staff.c.role, staff.c.active).order_by(staff.c.name)
    )
    return [dict(row._mapping) for row in rows]


def list_staff(connection: Connection) -> list[tuple[str, str]]:
    rows = connection.execute(select(staff.c.name, staff.c.role).order_by(staff.c.name))
    return [(row.name, row.role) for row in rows]


def add_signer(
    engine: Engine, seals: SealStore, principal: str, key_line: str, *, by: str, now: datetime
) -> str:
    """Allow `principal` (a Kepala Dinas) to sign agreements with this key; its fingerprint."""

    def work(connection: Connection, actor: Actor) -> Outcome:
        require(Action.SIGNER_ADD, actor.role)
        key = parse_public_key(key_line)
        entry = AllowedSigner.for_key(principal, key, namespaces=[AGREEMENT_NAMESPACE])
        entry = AllowedSigner(
            entry.principals, entry.key_type, entry.key_base64, entry.namespaces, valid_after=now
        )
        row = connection.execute(select(staff.c.role).where(staff.c.name == principal)).first()
        if row is None:
            raise NotFound("staff member", principal)
        if row.role != Role.KEPALA_DINAS.value:
            raise Invalid("principal", "a signer must be a staff member with role kepala_dinas")
        known = select(signers.c.id).where(signers.c.fingerprint == entry.fingerprint)
        if connection.execute(known).first() is not None:
            raise Conflict(f"key {entry.fingerprint} is already registered")
        connection.execute(
            insert(signers).values(
                principal=principal,
                fingerprint=entry.fingerprint,
                allowed_signers_line=entry.line(),
                added_at=now,
            )
        )
        _stage_signer(connection, seals, entry.fingerprint)
        return Outcome(entry.fingerprint, {"principal": principal}, entry.fingerprint)

    outcome = perform(
        engine,
        by,
        action="signer.added",
        object_type="signer_key",
        object_id=principal,
        now=now,
        work=work,
        seals=seals,
    )
    return str(outcome.value)


def revoke_signer(
    engine: Engine, seals: SealStore, key_fingerprint: str, *, by: str, now: datetime
) -> None:
    def work(connection: Connection, actor: Actor) -> Outcome:
        require(Action.SIGNER_REVOKE, actor.role)
        row = connection.execute(
            select(signers.c.revoked_at).where(signers.c.fingerprint == key_fingerprint)
        ).first()
        if row is None:
            raise NotFound("signer key", key_fingerprint)
        if row.revoked_at is not None:
            raise Conflict(f"key {key_fingerprint} is already revoked")
        ensure_no_foreign_triggers(connection)  # one could undo the revocation itself
        honest = seals.matches(connection, *_signer_seal_of(connection, key_fingerprint))
        connection.execute(
            update(signers).where(signers.c.fingerprint == key_fingerprint).values(revoked_at=now)
        )
        if not honest:
            # Revoking is never blocked, but sealing a forged row would make it a trusted key
            # (with the signing times before its revocation): it stays refused, to re-anchor.
            return Outcome(key_fingerprint, {"left_unsealed": True})
        _stage_signer(connection, seals, key_fingerprint)
        return Outcome(key_fingerprint, {})

    perform(
        engine,
        by,
        action="signer.revoked",
        object_type="signer_key",
        object_id=key_fingerprint,
        now=now,
        work=work,
        seals=seals,
    )


def signer_rows(connection: Connection) -> list[dict[str, Any]]:
    rows = connection.execute(select(signers).order_by(signers.c.id)).mappings()
    return [dict(row) for row in rows]


SIGNER_ROW = "signer:"


def signer_seal(row: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """A signer row's name among the seals and the fields its seal covers."""
    times = {
        name: None if row[name] is None else as_utc(row[name]).isoformat()
        for name in ("added_at", "revoked_at")
    }
    fields = {
        "principal": row["principal"],
        "fingerprint": row["fingerprint"],
        "allowed_signers_line": row["allowed_signers_line"],
        **times,
    }
    return SIGNER_ROW + str(row["fingerprint"]), fields


def _signer_seal_of(connection: Connection, key_fingerprint: str) -> tuple[str, dict[str, Any]]:
    row = connection.execute(select(signers).where(signers.c.fingerprint == key_fingerprint))
    return signer_seal(dict(row.mappings().one()))


def _stage_signer(connection: Connection, seals: SealStore, key_fingerprint: str) -> None:
    seals.stage(connection, *_signer_seal_of(connection, key_fingerprint))


def allowed_signers(
    connection: Connection, seals: SealStore, at: datetime
) -> tuple[AllowedSigners, set[str]]:
    """Every registered key as an allowed_signers value, and the keys revoked at `at`; Tampered
    if any signer row is not exactly as the gateway sealed it, or a sealed one is gone."""
    rows = signer_rows(connection)
    for row in rows:
        name, fields = signer_seal(row)
        seals.check(connection, name, fields, f"signer key {row['fingerprint']}")
    seals.check_absent(
        connection, SIGNER_ROW, {signer_seal(row)[0] for row in rows}, "signer registry"
    )
    listed = AllowedSigners.parse("".join(f"{row['allowed_signers_line']}\n" for row in rows))
    revoked = {
        str(row["fingerprint"])
        for row in rows
        if row["revoked_at"] is not None and row["revoked_at"] <= at
    }
    return listed, revoked


EMAIL_LIMIT = 254


def set_email(engine: Engine, name: str, address: str, *, by: str, now: datetime) -> None:
    """Where `name`'s notifications go by e-mail (empty: nowhere). Audited without the address:
    the log says that it changed, the registry says what it is."""
    address = address.strip()
    if address and (
        len(address) > EMAIL_LIMIT or address.count("@") != 1 or not address.isprintable()
        or any(c.isspace() for c in address)
    ):  # fmt: skip
        raise Invalid("email", f"one address, at most {EMAIL_LIMIT} characters")

    def work(connection: Connection, actor: Actor) -> Outcome:
        require(Action.STAFF_EMAIL, actor.role)
        _member(connection, name)
        connection.execute(update(staff).where(staff.c.name == name).values(email=address or None))
        return Outcome(name, {"cleared": not address})

    perform(
        engine, by, action=Action.STAFF_EMAIL.value, object_type="staff", object_id=name,
        now=now, work=work,
    )  # fmt: skip
