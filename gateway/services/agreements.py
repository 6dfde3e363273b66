"""Agreements (PKS) and their versions: register a scope, sign it, verify it, change its status.

A version's identity and scope are stored as the exact JSON the canonical form is built from, and
verification rebuilds the RFC 8785 bytes from those columns: a scope edited in the database after
signing no longer matches its stored hash or its signature. A version becomes active only with a
signature that verifies against a registered, unrevoked Kepala Dinas key; an amendment (version
n+1, chained to version n's scope hash) supersedes version n when it is signed.

Every version row is sealed whenever it is written (gateway/seals.py), and verification holds it
to its seal, to the signed identity (the short id, number, institution and version inside the
signed bytes must be the row's own) and to the version it amends (its `previous_scope_hash` must
be that version's scope hash): a row copied from another version or agreement, or set back to an
earlier status, is refused as Tampered naming the agreement.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from hashlib import sha256
from typing import Any

import rfc8785
from sqlalchemy import Connection, Engine, func, insert, select, update

from agreements.canonical import (
    CANONICAL_FORMAT,
    SIGNATURE_NAMESPACE,
    AgreementIdentity,
    scope_hash,
)
from agreements.diff import Change, diff
from agreements.errors import BadSignature, Conflict, Invalid, NotFound, Tampered
from agreements.policy import CatalogLike
from agreements.roles import Action, require
from agreements.scope import Scope
from agreements.scope_toml import read_scope_toml
from agreements.signing import AllowedSigners, VerifiedSignature
from agreements.signing import verify as verify_signature
from agreements.workflow import (
    AgreementAction,
    AgreementStatus,
    apply_agreement,
    ensure_executable,
)
from audit.log import as_utc
from gateway.db import for_update
from gateway.seals import SealStore, ensure_no_foreign_triggers
from gateway.services.actions import Actor, Outcome, perform
from gateway.services.staff import allowed_signers
from gateway.store.tables import agreement_events, agreement_versions, agreements


@dataclass(frozen=True)
class StoredVersion:
    agreement_id: int
    short_id: str
    number: str
    institution: str
    request_id: int | None
    version: int
    identity: Mapping[str, Any]
    scope: Mapping[str, Any]
    scope_hash: str
    status: AgreementStatus
    signature: str | None
    signer_fingerprint: str | None
    signed_at: datetime | None
    is_current: bool

    def canonical_bytes(self) -> bytes:
        """The bytes the signature covers, rebuilt from the stored columns (not from a Scope);
        made once per loaded version (the hash check, the signature and the seal all need them)."""
        made: bytes | None = self.__dict__.get("_canonical")
        if made is None:
            document: dict[str, Any] = {
                "format": CANONICAL_FORMAT,
                "agreement": self.identity,
                "scope": self.scope,
            }
            made = rfc8785.dumps(document)
            # Frozen: kept past __setattr__, as functools.cached_property does; not a field, so
            # equality and repr stay the stored columns'.
            self.__dict__["_canonical"] = made
        return made

    def parsed_scope(self, catalog: CatalogLike, region_codes: Collection[str]) -> Scope:
        return Scope.from_dict(self.scope, catalog, region_codes=region_codes)


def register_version(
    connection: Connection,
    seals: SealStore,
    actor: Actor,
    identity: AgreementIdentity,
    scope: Scope,
    now: datetime,
    *,
    request_id: int | None = None,
) -> dict[str, Any]:
    """Store a draft version: a new agreement (version 1), a re-draft of an unsigned version, or
    an amendment (version n+1 chained to n). Audit details of what was stored."""
    require(Action.AGREEMENT_IMPORT, actor.role)  # drafting a scope, through the SOP or not
    hashed = scope_hash(identity, scope)
    row = (
        connection.execute(select(agreements).where(agreements.c.short_id == identity.short_id))
        .mappings()
        .first()
    )
    if row is None:
        if identity.version != 1:
            raise Invalid("agreement.version", "a new agreement starts at version 1")
        number_taken = select(agreements.c.id).where(agreements.c.number == identity.number)
        if connection.execute(number_taken).first() is not None:
            raise Conflict(f"agreement number {identity.number} is registered under another id")
        agreement_id = connection.execute(
            insert(agreements)
            .values(
                short_id=identity.short_id,
                number=identity.number,
                institution=identity.institution,
            )
            .returning(agreements.c.id)
        ).scalar_one()
    else:
        agreement_id = row["id"]
        if row["number"] != identity.number:
            raise Conflict(f"agreement {identity.short_id} has another official number")
    existing = _version_row(connection, agreement_id, identity.version)
    values = {
        "identity_json": json.dumps(identity.to_json(), ensure_ascii=False),
        "scope_json": json.dumps(scope.to_json(), ensure_ascii=False),
        "scope_hash": hashed,
        "request_id": request_id,
    }
    if existing is not None:
        if existing["status"] != AgreementStatus.DRAFT.value or existing["signature"]:
            state = "withdrawn" if existing["status"] == "withdrawn" else "signed"
            raise Conflict(
                f"agreement {identity.short_id} version {identity.version} is {state}: "
                f"the next version is {_latest_version(connection, agreement_id) + 1}"
            )
        check_agreement(connection, seals, agreement_id, identity.short_id)
        connection.execute(
            update(agreement_versions)
            .where(agreement_versions.c.id == existing["id"])
            .values(**values)
        )
    else:
        latest = _latest_version(connection, agreement_id)
        if identity.version != latest + 1:
            raise Invalid(
                "agreement.version", f"the next version of {identity.short_id} is {latest + 1}"
            )
        previous = _amended_row(connection, agreement_id, identity.version)
        if latest:
            check_agreement(connection, seals, agreement_id, identity.short_id)
        if previous is not None:
            number = previous["version"]
            if previous["status"] == AgreementStatus.DRAFT.value:
                raise Conflict(
                    f"version {number} of {identity.short_id} is a draft not yet in force: have "
                    "it signed and activated, or withdraw it (`agreement withdraw`), first"
                )
            if identity.previous_scope_hash != previous["scope_hash"]:
                raise Invalid(
                    "agreement.previous_scope_hash", f"must be the scope hash of version {number}"
                )
        connection.execute(
            insert(agreement_versions).values(
                agreement_id=agreement_id,
                version=identity.version,
                status="draft",
                created_at=now,
                **values,
            )
        )
    _event(connection, agreement_id, identity.version, "draft", actor, now, "")
    stage_version(connection, seals, identity.short_id, identity.version)
    return {"agreement": identity.short_id, "version": identity.version, "scope_hash": hashed}


def import_scope(
    engine: Engine,
    seals: SealStore,
    by: str,
    text: str,
    catalog: CatalogLike,
    region_codes: Collection[str],
    *,
    now: datetime,
) -> dict[str, Any]:
    """`agreement import`: a PKS signed on paper (scope TOML text), registered as a draft awaiting
    the digital signature of the Kepala Dinas. A scope the guards refuse is audited as refused."""

    def work(connection: Connection, actor: Actor) -> Outcome:
        identity, scope = read_scope_toml(text, catalog, region_codes=region_codes)
        details = register_version(connection, seals, actor, identity, scope, now)
        return Outcome(identity.short_id, details, details)

    outcome = perform(
        engine,
        by,
        action="agreement.import",
        object_type="agreement",
        object_id="import",
        now=now,
        work=work,
        seals=seals,
    )
    return dict(outcome.value)


def attach_signature(
    engine: Engine,
    seals: SealStore,
    by: str,
    short_id: str,
    armored: str,
    *,
    now: datetime,
    version: int | None = None,
) -> VerifiedSignature:
    """Verify the Kepala Dinas's SSHSIG over the canonical bytes and store it. An imported
    agreement (no SOP request) becomes active at once; one drafted through the SOP becomes active
    at step 7 (`request sign`)."""

    def work(connection: Connection, actor: Actor) -> Outcome:
        require(Action.AGREEMENT_SIGNATURE, actor.role)
        stored = load_version(
            connection, short_id, version or signable_version(connection, short_id)
        )
        if stored.status is not AgreementStatus.DRAFT or stored.signature:
            raise Conflict(f"agreement {short_id} version {stored.version} is already signed")
        check_agreement(connection, seals, stored.agreement_id, short_id)
        check_binding(connection, stored)
        listed, revoked = trusted_signers(
            connection, seals, now, f"agreement {short_id} version {stored.version}"
        )
        verified = verify_signature(
            stored.canonical_bytes(),
            armored,
            SIGNATURE_NAMESPACE,
            listed,
            principal=actor.name,
            revoked=revoked,
            now=now,
        )
        connection.execute(
            update(agreement_versions)
            .where(
                agreement_versions.c.agreement_id == stored.agreement_id,
                agreement_versions.c.version == stored.version,
            )
            .values(signature=armored, signer_fingerprint=verified.fingerprint, signed_at=now)
        )
        stage_version(connection, seals, short_id, stored.version)
        details: dict[str, Any] = {
            "version": stored.version,
            "key": verified.fingerprint,
            "scope_hash": stored.scope_hash,
        }
        if stored.request_id is None:  # a PKS signed on paper: no step 7 to wait for
            activate(connection, seals, actor, short_id, stored.version, now)
            details["status"] = AgreementStatus.ACTIVE.value
        return Outcome(short_id, details, verified)

    outcome = perform(
        engine,
        by,
        action="agreement.signature",
        object_type="agreement",
        object_id=short_id,
        now=now,
        work=work,
        seals=seals,
    )
    result: VerifiedSignature = outcome.value
    return result


def activate(
    connection: Connection,
    seals: SealStore,
    actor: Actor,
    short_id: str,
    version: int,
    now: datetime,
) -> None:
    """Draft -> active; the version it amends becomes superseded. Needs a stored signature that
    verifies now, on rows as the gateway sealed them."""
    stored = load_version(connection, short_id, version)
    if not stored.signature:
        raise Invalid(
            "signature",
            f"agreement {short_id} version {version} carries no verified "
            "Kepala Dinas signature (agreement attach-signature)",
        )
    verify_version(connection, seals, short_id, version)
    _set_status(
        connection, stored, apply_agreement(stored.status, AgreementAction.SIGN, actor.role)
    )
    _event(connection, stored.agreement_id, version, "sign", actor, now, "")
    stage_version(connection, seals, short_id, version)
    amended = _amended_row(connection, stored.agreement_id, version)
    if amended is not None:
        previous = load_version(connection, short_id, amended["version"])
        if previous.status in (AgreementStatus.ACTIVE, AgreementStatus.SUSPENDED):
            _set_status(
                connection,
                previous,
                apply_agreement(previous.status, AgreementAction.SUPERSEDE, actor.role),
            )
            _event(connection, stored.agreement_id, previous.version, "supersede", actor, now, "")
            stage_version(connection, seals, short_id, previous.version)


def withdraw(
    engine: Engine,
    seals: SealStore,
    by: str,
    short_id: str,
    *,
    version: int | None,
    now: datetime,
    notes: str,
) -> int:
    """A draft (unsigned, or signed but never activated) given up: `withdrawn`, final; its
    version number stays used, and the next amendment chains to the version before it."""
    if not notes.strip():
        raise Invalid("reason", "required to withdraw")

    def work(connection: Connection, actor: Actor) -> Outcome:
        require(Action.AGREEMENT_WITHDRAW, actor.role)
        wanted = version or signable_version(connection, short_id)
        stored = load_version(connection, short_id, wanted)
        target = apply_agreement(stored.status, AgreementAction.WITHDRAW, actor.role)
        _set_status(connection, stored, target)
        _event(connection, stored.agreement_id, wanted, "withdraw", actor, now, notes)
        stage_version(connection, seals, short_id, wanted)
        details = {"version": wanted, "was_signed": stored.signature is not None}
        return Outcome(short_id, details, wanted)

    outcome = perform(
        engine,
        by,
        action="agreement.withdraw",
        object_type="agreement",
        object_id=short_id,
        now=now,
        work=work,
        seals=seals,
    )
    return int(outcome.value)


def change_status(
    engine: Engine,
    seals: SealStore,
    by: str | Actor,
    short_id: str,
    action: AgreementAction,
    *,
    now: datetime,
    notes: str,
) -> AgreementStatus:
    """suspend, resume or revoke the current version."""
    if not notes.strip():
        raise Invalid("reason", f"required to {action.value}")

    def work(connection: Connection, actor: Actor) -> Outcome:
        require(Action(f"agreement.{action.value}"), actor.role)
        stored = load_version(connection, short_id, None)
        stopping = action in (AgreementAction.SUSPEND, AgreementAction.REVOKE)
        # A trigger could undo the very change being made: refused whatever the action.
        ensure_no_foreign_triggers(connection)
        try:
            check_agreement(connection, seals, stored.agreement_id, short_id)
            honest = True
        except Tampered:
            if not stopping:
                raise  # resuming needs an honest row
            honest = False
        target = apply_agreement(stored.status, action, actor.role)
        _set_status(connection, stored, target)
        _event(connection, stored.agreement_id, stored.version, action.value, actor, now, notes)
        details: dict[str, Any] = {"version": stored.version, "status": target.value}
        if honest:
            stage_version(connection, seals, short_id, stored.version)
        else:
            # Stopping data is never blocked by tampering, but sealing the stopped row would
            # bless whatever was edited in it: it stays refused until an operator re-anchors.
            details["left_unsealed"] = True
        return Outcome(short_id, details, target)

    outcome = perform(
        engine,
        by,
        action=f"agreement.{action.value}",
        object_type="agreement",
        object_id=short_id,
        now=now,
        work=work,
        seals=seals,
    )
    return AgreementStatus(outcome.value)


def verify_version(
    connection: Connection, seals: SealStore, short_id: str, version: int | None = None
) -> tuple[StoredVersion, VerifiedSignature]:
    """Hold the rows to their seals and the signed identity to the row, rebuild the canonical
    bytes from the stored scope and check hash and signature; BadSignature or Tampered names the
    agreement when anything differs from what was signed and sealed."""
    stored = load_version(connection, short_id, version)
    where = f"agreement {short_id} version {stored.version}"
    check_binding(connection, stored)
    if stored.signature is None or stored.signed_at is None:
        raise BadSignature("unsigned", f"{where}: not signed")
    if sha256(stored.canonical_bytes()).hexdigest() != stored.scope_hash:
        raise BadSignature(
            "scope changed",
            f"{where}: the stored scope differs from the signed one (scope hash mismatch)",
        )
    check_agreement(connection, seals, stored.agreement_id, short_id, loaded=stored)
    listed, revoked = trusted_signers(connection, seals, stored.signed_at, where)
    try:
        verified = verify_signature(
            stored.canonical_bytes(),
            stored.signature,
            SIGNATURE_NAMESPACE,
            listed,
            revoked=revoked,
            now=stored.signed_at,
        )
    except BadSignature as error:
        raise BadSignature(error.rule, f"{where}: {error.message}") from None
    return stored, verified


def executable_version(
    connection: Connection, seals: SealStore, short_id: str, today: date
) -> tuple[StoredVersion, VerifiedSignature]:
    """The version step 8 may run: current, active, unexpired, and its signature verifies."""
    stored, verified = verify_version(connection, seals, short_id, None)
    validity = stored.scope["validity"]
    ensure_executable(
        short_id,
        stored.status,
        is_current=stored.is_current,
        valid_from=date.fromisoformat(validity["start"]),
        valid_until=date.fromisoformat(validity["end"]),
        today=today,
    )
    return stored, verified


def lock_agreement(connection: Connection, short_id: str) -> None:
    """Hold the agreement against concurrent deliveries and status changes until the caller's
    transaction ends, so that what is read next (status, quota used) stays true until it commits:
    a row lock (`SELECT ... FOR UPDATE`) on PostgreSQL and MariaDB; on SQLite, which locks the
    whole database, an immediate transaction (taken before anything is read, or it could read a
    snapshot another writer has already outdated)."""
    query = for_update(connection, select(agreements.c.id))
    found = connection.execute(query.where(agreements.c.short_id == short_id)).first()
    if found is None:
        raise NotFound("agreement", short_id)


def load_version(connection: Connection, short_id: str, version: int | None) -> StoredVersion:
    """A version (default: the current one — the newest that was ever signed, else the draft)."""
    row = (
        connection.execute(select(agreements).where(agreements.c.short_id == short_id))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound("agreement", short_id)
    current = _current_version(connection, row["id"])
    wanted = current if version is None else version
    found = _version_row(connection, row["id"], wanted)
    if found is None:
        raise NotFound("agreement version", f"{short_id} v{wanted}")
    try:
        return StoredVersion(
            agreement_id=row["id"],
            short_id=short_id,
            number=row["number"],
            institution=row["institution"],
            request_id=found["request_id"],
            version=wanted,
            identity=_json_object(found["identity_json"]),
            scope=_json_object(found["scope_json"]),
            scope_hash=found["scope_hash"],
            status=AgreementStatus(found["status"]),
            signature=found["signature"],
            signer_fingerprint=found["signer_fingerprint"],
            signed_at=found["signed_at"],
            is_current=wanted == current,
        )
    except (ValueError, TypeError, RecursionError):
        # Only a write behind the gateway's back leaves a row it cannot read.
        raise Tampered(
            f"agreement {short_id} version {wanted}: its row holds values the gateway never "
            "writes (malformed JSON or an unknown status)"
        ) from None


def _json_object(text: Any) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def version_diff(
    connection: Connection,
    short_id: str,
    old: int,
    new: int,
    catalog: CatalogLike,
    region_codes: Collection[str],
) -> list[Change]:
    before = load_version(connection, short_id, old).parsed_scope(catalog, region_codes)
    after = load_version(connection, short_id, new).parsed_scope(catalog, region_codes)
    return diff(before, after)


def history(connection: Connection, agreement_id: int) -> list[dict[str, Any]]:
    rows = connection.execute(
        select(agreement_events)
        .where(agreement_events.c.agreement_id == agreement_id)
        .order_by(agreement_events.c.id)
    )
    return [dict(row) for row in rows.mappings()]


def exists(connection: Connection, short_id: str) -> bool:
    found = select(agreements.c.id).where(agreements.c.short_id == short_id)
    return connection.execute(found).first() is not None


def latest_version(connection: Connection, short_id: str) -> int:
    """The newest version number, whatever its state (withdrawn numbers stay used)."""
    return _latest_version(connection, _agreement_id(connection, short_id))


def signable_version(connection: Connection, short_id: str) -> int:
    """The version `canonical`, `sign` and `attach-signature` take by default: the newest draft
    (not withdrawn). Conflict when there is none: nothing waits for a signature."""
    agreement_id = _agreement_id(connection, short_id)
    newest = connection.execute(
        select(func.max(agreement_versions.c.version)).where(
            agreement_versions.c.agreement_id == agreement_id,
            agreement_versions.c.status == AgreementStatus.DRAFT.value,
        )
    ).scalar_one_or_none()
    if newest is None:
        raise Conflict(f"agreement {short_id} has no draft waiting for a signature")
    return int(newest)


def draft_or_current_version(connection: Connection, short_id: str) -> int:
    """The newest draft if one waits for a signature, else the current version."""
    try:
        return signable_version(connection, short_id)
    except Conflict:
        return load_version(connection, short_id, None).version


def version_of_request(connection: Connection, request_id: int) -> tuple[str, int] | None:
    """The agreement version an SOP request drafted (its newest, not withdrawn), if any."""
    found = connection.execute(
        select(agreements.c.short_id, agreement_versions.c.version)
        .join(agreements, agreements.c.id == agreement_versions.c.agreement_id)
        .where(
            agreement_versions.c.request_id == request_id,
            agreement_versions.c.status != AgreementStatus.WITHDRAWN.value,
        )
        .order_by(agreement_versions.c.version.desc())
        .limit(1)
    ).first()
    return None if found is None else (str(found.short_id), int(found.version))


def _agreement_id(connection: Connection, short_id: str) -> int:
    found = connection.execute(select(agreements.c.id).where(agreements.c.short_id == short_id))
    agreement_id = found.scalar_one_or_none()
    if agreement_id is None:
        raise NotFound("agreement", short_id)
    return int(agreement_id)


_NOT_IN_FORCE = (AgreementStatus.DRAFT.value, AgreementStatus.WITHDRAWN.value)


def _current_version(connection: Connection, agreement_id: int) -> int:
    """The newest version ever signed into force; before that, the newest draft; else the
    newest (withdrawn) one."""
    for excluded in (_NOT_IN_FORCE, (AgreementStatus.WITHDRAWN.value,)):
        found = connection.execute(
            select(func.max(agreement_versions.c.version)).where(
                agreement_versions.c.agreement_id == agreement_id,
                agreement_versions.c.status.not_in(excluded),
            )
        ).scalar_one_or_none()
        if found:
            return int(found)
    return _latest_version(connection, agreement_id)


def _amended_row(connection: Connection, agreement_id: int, version: int) -> dict[str, Any] | None:
    """The version that `version` amends: the newest below it that was not withdrawn."""
    row = (
        connection.execute(
            select(agreement_versions)
            .where(
                agreement_versions.c.agreement_id == agreement_id,
                agreement_versions.c.version < version,
                agreement_versions.c.status != AgreementStatus.WITHDRAWN.value,
            )
            .order_by(agreement_versions.c.version.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


def _latest_version(connection: Connection, agreement_id: int) -> int:
    latest = connection.execute(
        select(func.max(agreement_versions.c.version)).where(
            agreement_versions.c.agreement_id == agreement_id
        )
    ).scalar_one_or_none()
    return int(latest or 0)


def _version_row(connection: Connection, agreement_id: int, version: int) -> dict[str, Any] | None:
    row = (
        connection.execute(
            select(agreement_versions).where(
                agreement_versions.c.agreement_id == agreement_id,
                agreement_versions.c.version == version,
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


def _set_status(connection: Connection, stored: StoredVersion, status: AgreementStatus) -> None:
    connection.execute(
        update(agreement_versions)
        .where(
            agreement_versions.c.agreement_id == stored.agreement_id,
            agreement_versions.c.version == stored.version,
        )
        .values(status=status.value)
    )


def _event(
    connection: Connection,
    agreement_id: int,
    version: int,
    action: str,
    actor: Actor,
    now: datetime,
    notes: str,
) -> None:
    connection.execute(
        insert(agreement_events).values(
            agreement_id=agreement_id,
            version=version,
            action=action,
            actor=actor.name,
            role=actor.role.value,
            at=now,
            notes=notes,
        )
    )


VERSION_ROW = "version:"


def version_seal(stored: StoredVersion) -> tuple[str, dict[str, Any]]:
    """A version row's name among the seals and the fields its seal covers: the agreement row's
    identity, the exact canonical bytes rebuilt from the stored JSON, the accepted signature,
    its key and time, and the status."""
    signature = stored.signature
    fields = {
        "short_id": stored.short_id,
        "number": stored.number,
        "institution": stored.institution,
        "version": stored.version,
        "canonical_sha256": sha256(stored.canonical_bytes()).hexdigest(),
        "scope_hash": stored.scope_hash,
        "signature_sha256": None if signature is None else sha256(signature.encode()).hexdigest(),
        "signer_fingerprint": stored.signer_fingerprint,
        "signed_at": None if stored.signed_at is None else as_utc(stored.signed_at).isoformat(),
        "status": stored.status.value,
        # Whether it waits for SOP step 7 (a request) or is in force once signed (none).
        "request_id": stored.request_id,
    }
    return f"{VERSION_ROW}{stored.short_id}:{stored.version}", fields


def stage_version(connection: Connection, seals: SealStore, short_id: str, version: int) -> None:
    name, fields = version_seal(load_version(connection, short_id, version))
    seals.stage(connection, name, fields)


def check_agreement(
    connection: Connection,
    seals: SealStore,
    agreement_id: int,
    short_id: str,
    *,
    loaded: StoredVersion | None = None,
) -> None:
    """Every version row of the agreement as the gateway sealed it, and none of them gone; and
    no trigger or rule in the database that could rewrite what the gateway writes. `loaded`, a
    version the caller read in this transaction, is held to its seal as read (the very values the
    caller goes on to verify and use) rather than read again."""
    ensure_no_foreign_triggers(connection)
    numbers = connection.execute(
        select(agreement_versions.c.version)
        .where(agreement_versions.c.agreement_id == agreement_id)
        .order_by(agreement_versions.c.version)
    ).scalars()
    present = set()
    for number in numbers:
        if loaded is not None and loaded.version == int(number):
            version = loaded
        else:
            version = load_version(connection, short_id, int(number))
        name, fields = version_seal(version)
        seals.check(connection, name, fields, f"agreement {short_id} version {number}")
        present.add(name)
    seals.check_absent(connection, f"{VERSION_ROW}{short_id}:", present, f"agreement {short_id}")


def trusted_signers(
    connection: Connection, seals: SealStore, at: datetime, where: str
) -> tuple[AllowedSigners, set[str]]:
    """The signer set as sealed, a tampered registry named with the agreement it would sign."""
    try:
        return allowed_signers(connection, seals, at)
    except Tampered as error:
        raise Tampered(f"{where}: {error.message}") from None


def check_binding(connection: Connection, stored: StoredVersion) -> None:
    """The identity inside the signed bytes is the row's own, and an amendment chains to the
    scope hash of the version it amends: signed columns copied from another version or another
    agreement are refused even where they verify."""
    where = f"agreement {stored.short_id} version {stored.version}"
    identity = stored.identity
    own = {
        "short_id": stored.short_id,
        "number": stored.number,
        "institution": stored.institution,
        "version": stored.version,
    }
    differing = sorted(key for key, value in own.items() if identity.get(key) != value)
    if differing:
        raise Tampered(
            f"{where}: the signed identity differs from the row it is stored in "
            f"({', '.join(differing)})"
        )
    if stored.version > 1:
        previous = _amended_row(connection, stored.agreement_id, stored.version)
        if previous is None or identity.get("previous_scope_hash") != previous["scope_hash"]:
            amended = (
                "the version it amends" if previous is None else f"version {previous['version']}"
            )
            raise Tampered(f"{where}: its previous_scope_hash is not the scope hash of {amended}")
