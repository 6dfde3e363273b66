"""Partner tokens: the credential an agreement's recipient calls the partner API with.

A token is bound to one agreement and one recipient of its signed scope (by the recipient's age
key fingerprint). It reads `pks_<8 letters>_<43 characters>`: the first part is its *prefix*,
which identifies it in logs, the audit log and `token list`; the rest is 256 random bits. It is
shown once, when it is made, and stored only as a keyed hash (HMAC-SHA-256 under
`keys/token.key`). The row is sealed (gateway/seals.py, `token:<prefix>`): its agreement,
recipient, hash, expiry, revocation and successor are what the gateway wrote, or the token is
refused. So a database writer can neither mint a token (no token key, no state key), nor move one
to another agreement or recipient, nor un-revoke or lengthen one, nor restore a rotated-out one.

A token works while its hash matches, its row is as sealed, it is neither revoked nor expired (a
rotated token expires at the end of its overlap window), its agreement passes the trust checks a
delivery passes (so suspending, revoking or letting the agreement expire ends it at once), its
recipient is still in the signed scope and the caller's address is in that recipient's
`ip_allow`: checked at every request by gateway/services/token_use.py (`authenticate`,
`require_address`).

Who may issue, rotate, revoke and list is the role table's (agreements/roles.py). Each is one
`perform` (one transaction and its audit entry, which names the prefix, never the token); a
refused use is recorded by the API (gateway/api/) under `token.use`.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, insert, select, update

from ageformat.keys import recipient_fingerprint
from agreements.errors import Conflict, Invalid, NotFound, Tampered
from agreements.roles import Action, require
from audit.log import as_utc
from gateway.keys import load_token_key
from gateway.seals import SealStore
from gateway.services.actions import Actor, Outcome, perform, recordable
from gateway.services.agreements import StoredVersion, executable_version
from gateway.services.token_use import (
    TokenRow,
    agreement_short_id,
    check_seal,
    token_hash,
    token_row,
    token_seal,
    token_state,
)

# Checking a token at each request is token_use.py's; re-exported, as this is the token service.
from gateway.services.token_use import authenticate as authenticate
from gateway.store.tables import agreements
from gateway.store.tokens import partner_tokens

DEFAULT_DAYS = 90
MAX_DAYS = 366  # "at most one year", a leap year's included
DEFAULT_OVERLAP_HOURS = 24
MAX_OVERLAP_HOURS = 30 * 24
_LETTERS = "abcdefghijklmnopqrstuvwxyz234567"


@dataclass(frozen=True)
class Issued:
    """A token just made: `token` is shown once and never stored."""

    token: str
    prefix: str
    short_id: str
    recipient: str
    fingerprint: str
    expires_at: datetime
    replaces: str | None = None
    old_expires_at: datetime | None = None


def create(
    engine: Engine,
    seals: SealStore,
    keys_dir: Path,
    by: str,
    short_id: str,
    *,
    recipient: str | None,
    now: datetime,
    time_zone: ZoneInfo,
    days: int = DEFAULT_DAYS,
) -> Issued:
    """A new token for a recipient of the agreement's current, executable version."""
    key = load_token_key(keys_dir)

    def work(connection: Connection, actor: Actor) -> Outcome:
        require(Action.TOKEN_CREATE, actor.role)
        _check_days(days)
        stored, name, fingerprint = _issuable(
            connection, seals, short_id, recipient, now, time_zone
        )
        issued = _insert(
            connection, seals, key, stored, name, fingerprint, actor, now, now + timedelta(days)
        )
        details = {
            "token": issued.prefix,
            "version": stored.version,
            "recipient": fingerprint,
            "expires_at": issued.expires_at.isoformat(),
        }
        return Outcome(short_id, details, issued)

    outcome = perform(
        engine,
        by,
        action=Action.TOKEN_CREATE.value,
        object_type="agreement",
        object_id=short_id,
        now=now,
        work=work,
        seals=seals,
    )
    issued: Issued = outcome.value
    return issued


def rotate(
    engine: Engine,
    seals: SealStore,
    keys_dir: Path,
    by: str,
    prefix: str,
    *,
    now: datetime,
    time_zone: ZoneInfo,
    overlap_hours: int = DEFAULT_OVERLAP_HOURS,
    days: int = DEFAULT_DAYS,
) -> Issued:
    """A successor for a working token (same agreement and recipient); the old one keeps working
    for `overlap_hours` (never beyond its own expiry), so that the partner can switch over."""
    key = load_token_key(keys_dir)

    def work(connection: Connection, actor: Actor) -> Outcome:
        require(Action.TOKEN_ROTATE, actor.role)
        _check_days(days)
        if not 0 <= overlap_hours <= MAX_OVERLAP_HOURS:
            raise Invalid("overlap", f"0 to {MAX_OVERLAP_HOURS} hours")
        old = token_row(connection, prefix)
        short_id = agreement_short_id(connection, old["agreement_id"])
        check_seal(connection, seals, old, short_id)
        state = token_state(old, now)
        if state != "active":
            raise Conflict(f"token {prefix} is {state}: only a working token is rotated")
        stored, name, fingerprint = _issuable(
            connection, seals, short_id, old["recipient_fingerprint"], now, time_zone
        )
        issued = _insert(
            connection, seals, key, stored, name, fingerprint, actor, now, now + timedelta(days)
        )
        old_expiry = min(as_utc(old["expires_at"]), _second(now + timedelta(hours=overlap_hours)))
        connection.execute(
            update(partner_tokens)
            .where(partner_tokens.c.prefix == prefix)
            .values(expires_at=old_expiry, replaced_by=issued.prefix)
        )
        _stage(connection, seals, prefix)
        details = {
            "agreement": short_id,
            "token": issued.prefix,
            "recipient": fingerprint,
            "expires_at": issued.expires_at.isoformat(),
            "old_expires_at": old_expiry.isoformat(),
        }
        value = dataclasses.replace(issued, replaces=prefix, old_expires_at=old_expiry)
        return Outcome(prefix, details, value)

    outcome = perform(
        engine,
        by,
        action=Action.TOKEN_ROTATE.value,
        object_type="token",
        object_id=recordable("object_id", prefix),
        now=now,
        work=work,
        seals=seals,
    )
    issued: Issued = outcome.value
    return issued


def revoke(
    engine: Engine, seals: SealStore, by: str, prefix: str, *, now: datetime, reason: str
) -> None:
    """The token stops working now. Stopping is never blocked by a tampered row, but a row that
    was not as sealed is not sealed again (it stays refused; `left_unsealed` in the entry)."""
    if not reason.strip():
        raise Invalid("reason", "required to revoke")

    def work(connection: Connection, actor: Actor) -> Outcome:
        require(Action.TOKEN_REVOKE, actor.role)
        row = token_row(connection, prefix)
        short_id = agreement_short_id(connection, row["agreement_id"])
        if row["revoked_at"] is not None:
            raise Conflict(f"token {prefix} is already revoked")
        try:
            check_seal(connection, seals, row, short_id)
            honest = True
        except Tampered:
            honest = False
        connection.execute(
            update(partner_tokens)
            .where(partner_tokens.c.prefix == prefix)
            .values(revoked_at=_second(now))
        )
        details: dict[str, Any] = {"agreement": short_id, "reason": reason}
        if honest:
            _stage(connection, seals, prefix)
        else:
            details["left_unsealed"] = True
        return Outcome(prefix, details)

    perform(
        engine,
        by,
        action=Action.TOKEN_REVOKE.value,
        object_type="token",
        object_id=recordable("object_id", prefix),
        now=now,
        work=work,
        seals=seals,
    )


def list_tokens(
    engine: Engine, by: str, *, short_id: str | None, now: datetime
) -> list[dict[str, Any]]:
    """Every token (of one agreement, or all), newest first, with its state; never a secret.
    Audited: who looked at which partners' credentials is a question compliance asks."""

    def work(connection: Connection, actor: Actor) -> Outcome:
        require(Action.TOKEN_LIST, actor.role)
        query = (
            select(partner_tokens, agreements.c.short_id)
            .join(agreements, agreements.c.id == partner_tokens.c.agreement_id)
            .order_by(partner_tokens.c.created_at.desc(), partner_tokens.c.prefix)
        )
        if short_id is not None:
            if (
                connection.execute(
                    select(agreements.c.id).where(agreements.c.short_id == short_id)
                ).first()
                is None
            ):
                raise NotFound("agreement", recordable("object_id", short_id))
            query = query.where(agreements.c.short_id == short_id)
        rows = [_listed(row, now) for row in connection.execute(query).mappings()]
        return Outcome(short_id or "all", {"count": len(rows)}, rows)

    outcome = perform(
        engine,
        by,
        action=Action.TOKEN_LIST.value,
        object_type="agreement",
        object_id=recordable("object_id", short_id or "all"),
        now=now,
        work=work,
    )
    listed: list[dict[str, Any]] = outcome.value
    return listed


def _stage(connection: Connection, seals: SealStore, prefix: str) -> None:
    """Seal the row as the database now holds it (read back, so that every backend's rounding of
    times is what is sealed)."""
    row = token_row(connection, prefix)
    name, fields = token_seal(row, agreement_short_id(connection, row["agreement_id"]))
    seals.stage(connection, name, fields)


def _listed(row: TokenRow, now: datetime) -> dict[str, Any]:
    def when(value: datetime | None) -> str | None:
        return None if value is None else as_utc(value).isoformat()

    return {
        "prefix": row["prefix"],
        "agreement": row["short_id"],
        "recipient": row["recipient_fingerprint"],
        "state": token_state(row, now),
        "created_at": when(row["created_at"]),
        "created_by": row["created_by"],
        "expires_at": when(row["expires_at"]),
        "revoked_at": when(row["revoked_at"]),
        "replaced_by": row["replaced_by"],
    }


def _check_days(days: int) -> None:
    if not 1 <= days <= MAX_DAYS:
        raise Invalid("days", f"a token lives 1 to {MAX_DAYS} days (at most one year)")


def _second(moment: datetime) -> datetime:
    # Whole seconds: every backend stores them alike (MariaDB drops fractions by default).
    return as_utc(moment).replace(microsecond=0)


def _issuable(
    connection: Connection,
    seals: SealStore,
    short_id: str,
    recipient: str | None,
    now: datetime,
    time_zone: ZoneInfo,
) -> tuple[StoredVersion, str, str]:
    """The agreement's executable version and the chosen recipient's name and fingerprint: a
    token is issued only for an agreement that could deliver today."""
    stored, _verified = executable_version(
        connection, seals, short_id, now.astimezone(time_zone).date()
    )
    listed = [r for r in stored.scope.get("recipients") or () if isinstance(r, Mapping)]
    if recipient is None:
        if len(listed) != 1:
            raise Invalid(
                "recipient",
                f"agreement {short_id} has {len(listed)} recipients: name one (its name, age key "
                "or fingerprint)",
            )
        chosen = listed[0]
    else:
        matching = [
            r
            for r in listed
            if recipient
            in (r.get("name"), r.get("age_recipient"), recipient_fingerprint(r["age_recipient"]))
        ]
        if len(matching) != 1:
            raise Invalid(
                "recipient",
                f"not one recipient of agreement {short_id} version {stored.version} "
                "(give its name, age key or fingerprint)",
            )
        chosen = matching[0]
    return stored, str(chosen["name"]), recipient_fingerprint(chosen["age_recipient"])


def _insert(
    connection: Connection,
    seals: SealStore,
    key: bytes,
    stored: StoredVersion,
    name: str,
    fingerprint: str,
    actor: Actor,
    now: datetime,
    expires_at: datetime,
) -> Issued:
    for _attempt in range(5):
        prefix = "pks_" + "".join(secrets.choice(_LETTERS) for _ in range(8))
        taken = connection.execute(
            select(partner_tokens.c.id).where(partner_tokens.c.prefix == prefix)
        ).first()
        if taken is None:
            break
    else:  # 40 bits of prefix: five collisions in a row mean the generator is broken
        raise RuntimeError("could not draw an unused token prefix")
    token = f"{prefix}_{secrets.token_urlsafe(32)}"
    connection.execute(
        insert(partner_tokens).values(
            prefix=prefix,
            agreement_id=stored.agreement_id,
            recipient_fingerprint=fingerprint,
            secret_hash=token_hash(key, token),
            created_at=_second(now),
            created_by=actor.name,
            expires_at=_second(expires_at),
        )
    )
    _stage(connection, seals, prefix)
    return Issued(token, prefix, stored.short_id, name, fingerprint, _second(expires_at))
