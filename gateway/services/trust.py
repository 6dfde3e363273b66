"""The trust anchors kept outside the database: their first sealing and a deliberate re-anchoring.

`anchor_first_time` runs once per data directory, when `init` creates the state key: every signer
and agreement version row present is sealed, the sealing audited, and a first checkpoint kept (a
data directory made before seals existed is migrated this way). It never runs again — not even if
the state key goes missing later, which the log's `seals.created` entry tells — so a database
writer cannot get a row sealed by waiting for it.

`reanchor` is the operator's audited answer to a deliberate restore from a backup: the rows as
they now are get new seals, and a checkpoint of the log as it now is becomes the kept one, even
though it does not extend the previous one (docs/audit.md, docs/security.md).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, select

from agreements.errors import Invalid
from agreements.roles import Action, require
from audit import log as audit_log
from audit import tree
from gateway.checkpoints import kept_checkpoint, replace_kept
from gateway.keys import load_signing_key
from gateway.seals import SealStore
from gateway.services.actions import Actor, Outcome, perform
from gateway.services.agreements import load_version, version_seal
from gateway.services.staff import signer_rows, signer_seal, staff_seals
from gateway.store.tables import agreement_versions, agreements

REASON_LIMIT = 2000


def current_seals(connection: Connection, seals: SealStore) -> dict[str, str]:
    """A seal for every signer, staff login and agreement version row as the database holds it
    now."""
    sealed = staff_seals(connection, seals)
    for row in signer_rows(connection):
        name, fields = signer_seal(row)
        sealed[name] = seals.seal(name, fields)
    versions = connection.execute(
        select(agreements.c.short_id, agreement_versions.c.version).join(
            agreement_versions, agreement_versions.c.agreement_id == agreements.c.id
        )
    )
    for short_id, number in versions:
        name, fields = version_seal(load_version(connection, short_id, int(number)))
        sealed[name] = seals.seal(name, fields)
    return sealed


def sealed_before(engine: Engine) -> bool:
    """Whether this log already records a first sealing: then a missing state key is a loss to
    repair (restore `keys/`, or re-anchor), never a reason to seal again."""
    with engine.connect() as connection:
        return bool(audit_log.count_entries(connection, action="seals.created"))


def anchor_first_time(
    engine: Engine, seals: SealStore, keys_dir: Path, origin: str, now: datetime
) -> int:
    """The first sealing of this data directory and its first kept checkpoint (see the module
    docstring); how many rows were sealed."""
    with engine.begin() as connection:
        sealed = current_seals(connection, seals)
        audit_log.append(
            connection,
            actor_role="system",
            actor_id="pks-gateway init",
            action="seals.created",
            object_type="key",
            object_id="state",
            outcome="ok",
            details={"rows": len(sealed)},
            now=now,
        )
        seals.replace_all(sealed)
    _keep_new_checkpoint(engine, keys_dir, origin, now)
    return len(sealed)


def _keep_new_checkpoint(engine: Engine, keys_dir: Path, origin: str, now: datetime) -> int:
    """A checkpoint of the log as it is, kept although it need not extend a kept one."""
    with engine.begin() as connection:
        audit_key = load_signing_key(keys_dir, "audit")
        stored = tree.create_checkpoint(connection, audit_key, origin, now)
        replace_kept(keys_dir, stored.note)
    return stored.tree_size


def reanchor(
    engine: Engine,
    seals: SealStore,
    keys_dir: Path,
    origin: str,
    *,
    by: str,
    reason: str,
    now: datetime,
) -> tuple[int, int]:
    """Re-seal every row and keep a new checkpoint of the log as it is; (rows, tree size)."""
    if not reason.strip() or len(reason) > REASON_LIMIT:
        raise Invalid("reason", f"required, at most {REASON_LIMIT} characters")
    before = kept_checkpoint(keys_dir, origin)

    def work(connection: Connection, actor: Actor) -> Outcome:
        require(Action.AUDIT_REANCHOR, actor.role)
        sealed = current_seals(connection, seals)
        details = {
            "reason": reason,
            "rows": len(sealed),
            "kept_size_before": None if before is None else before.tree_size,
            "log_size_before": audit_log.tree_size(connection),
        }
        seals.replace_all(sealed)
        return Outcome("state", details, len(sealed))

    outcome = perform(
        engine,
        by,
        action="audit.reanchor",
        object_type="key",
        object_id="state",
        now=now,
        work=work,
    )
    return int(outcome.value), _keep_new_checkpoint(engine, keys_dir, origin, now)
