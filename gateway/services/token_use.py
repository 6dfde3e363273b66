"""What a partner token opens, checked at every request of the partner API (gateway/api/).

`authenticate` takes the presented token to its credential, or refuses it (`TokenRefused`, the
reason named for the audit log) unless all of this holds: the token has this gateway's shape; a
row has its prefix and the keyed hash of the whole token (compared in constant time; an unknown
prefix costs the same hash); the row is as the gateway sealed it (gateway/seals.py,
`token:<prefix>`: a row written, moved to another agreement or recipient, lengthened or
un-revoked in the database is refused); it is neither revoked nor expired (a rotated token
expires at the end of its overlap); its agreement passes the checks a delivery passes
(`executable_version`: every version row as sealed, the signature verifying against the sealed
signer set, the current version active and valid today — a suspension, revocation or expiry
ends the token at once); and its recipient is still in that signed scope (an amendment that
drops the recipient ends it). `require_address` then holds the caller to the recipient's
`ip_allow`.

Reads only: the API records refusals (gateway/services/partner.py); issuing, rotating and
revoking are the officers' use cases in gateway/services/tokens.py.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from hashlib import sha256
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from ageformat.keys import recipient_fingerprint
from agreements.errors import BadSignature, Conflict, NotFound, NotPermitted, Tampered
from agreements.roles import Action
from audit.log import as_utc
from gateway.seals import SealStore
from gateway.services.actions import recordable
from gateway.services.agreements import StoredVersion, executable_version
from gateway.store.tables import agreements
from gateway.store.tokens import partner_tokens

TOKEN_ROW = "token:"  # noqa: S105  (a seal name prefix, not a secret)
TOKEN_SHAPE = re.compile(r"(pks_[a-z2-7]{8})_[A-Za-z0-9_-]{43}")
# A partner_tokens row as SQLAlchemy reads it (a RowMapping).
TokenRow = Mapping[Any, Any]
_HASH_DOMAIN = b"pks-gateway/partner-token\x00"
# Compared against when no row has the presented prefix, so that an unknown token costs what a
# wrong one does.
_NO_ROW = b"0" * 64


class TokenRefused(NotPermitted):
    """A token that does not (or no longer) open the API. `message` names the reason for the
    audit log; a partner is told only that the token is not valid."""

    def __init__(self, message: str, prefix: str | None = None) -> None:
        super().__init__(message, action=Action.TOKEN_USE.value)
        self.prefix = prefix


class AddressRefused(NotPermitted):
    """A valid token used from an address outside its recipient's `ip_allow`."""


@dataclass(frozen=True)
class Credential:
    """An authenticated token: its agreement's verified current version and its recipient."""

    prefix: str
    agreement_id: int
    stored: StoredVersion
    recipient: str
    fingerprint: str
    ip_allow: tuple[str, ...]
    expires_at: datetime

    @property
    def short_id(self) -> str:
        return self.stored.short_id


def token_hash(key: bytes, token: str) -> str:
    """What the database holds of a token: HMAC-SHA-256 under the token key, hex."""
    return hmac.new(key, _HASH_DOMAIN + token.encode("ascii"), sha256).hexdigest()


def prefix_of(token: str) -> str | None:
    """The prefix of a token of the right shape, else None."""
    found = TOKEN_SHAPE.fullmatch(token)
    return found.group(1) if found else None


def authenticate(
    connection: Connection,
    seals: SealStore,
    key: bytes,
    token: str,
    *,
    now: datetime,
    time_zone: ZoneInfo,
) -> Credential:
    """The credential `token` stands for, or TokenRefused naming why (see the module docstring).
    Reads only; the caller records a refusal."""
    prefix = prefix_of(token)
    if prefix is None:
        raise TokenRefused("not a token of this gateway's shape")
    presented = token_hash(key, token).encode("ascii")
    try:
        row = (
            connection.execute(select(partner_tokens).where(partner_tokens.c.prefix == prefix))
            .mappings()
            .first()
        )
    except (ValueError, TypeError):  # only a write behind the gateway's back leaves such a row
        raise TokenRefused(
            f"token {prefix}: its row holds values the gateway never writes", prefix
        ) from None
    if row is None:
        hmac.compare_digest(_NO_ROW, presented)
        raise TokenRefused(f"token {prefix} is not known", prefix)
    if not hmac.compare_digest(str(row["secret_hash"]).encode("utf-8"), presented):
        raise TokenRefused(f"token {prefix}: the secret does not match", prefix)
    try:
        short_id = agreement_short_id(connection, row["agreement_id"])
        check_seal(connection, seals, row, short_id)
    except (Tampered, NotFound) as error:
        raise TokenRefused(error.message, prefix) from None
    state = token_state(row, now)
    if state not in ("active", "rotating"):
        raise TokenRefused(f"token {prefix} is {state}", prefix)
    today = now.astimezone(time_zone).date()
    try:
        stored, _verified = executable_version(connection, seals, short_id, today)
    except (Conflict, Tampered, BadSignature, NotFound) as error:
        raise TokenRefused(f"token {prefix}: {error.message}", prefix) from None
    found = recipient_in(stored, str(row["recipient_fingerprint"]))
    if found is None:
        raise TokenRefused(
            f"token {prefix}: its recipient is not in the signed scope of agreement {short_id} "
            f"version {stored.version}",
            prefix,
        )
    return Credential(
        prefix=prefix,
        agreement_id=int(row["agreement_id"]),
        stored=stored,
        recipient=str(found["name"]),
        fingerprint=str(row["recipient_fingerprint"]),
        ip_allow=tuple(str(net) for net in found.get("ip_allow") or ()),
        expires_at=as_utc(row["expires_at"]),
    )


def require_address(credential: Credential, address: str | None) -> None:
    """AddressRefused unless `address` is in the recipient's `ip_allow` (empty: any address; an
    address that could not be determined passes only then)."""
    if not credential.ip_allow:
        return
    try:
        client = ipaddress.ip_address(address or "")
    except ValueError:
        client = None
    if client is not None:
        mapped = getattr(client, "ipv4_mapped", None)  # ::ffff:a.b.c.d is a.b.c.d
        client = mapped or client
        for network in credential.ip_allow:
            if client in ipaddress.ip_network(network, strict=False):
                return
    raise AddressRefused(
        f"token {credential.prefix}: the caller's address is not in the ip_allow of recipient "
        f"{credential.fingerprint}",
        role="partner",
        action=Action.TOKEN_USE.value,
    )


# --- rows and seals ----------------------------------------------------------------------------
def token_seal(row: TokenRow, short_id: str) -> tuple[str, dict[str, Any]]:
    """A token row's name among the seals and the fields its seal covers."""

    def when(value: datetime | None) -> str | None:
        return None if value is None else as_utc(value).isoformat()

    return f"{TOKEN_ROW}{row['prefix']}", {
        "prefix": row["prefix"],
        "agreement": short_id,
        "recipient_fingerprint": row["recipient_fingerprint"],
        "secret_hash": row["secret_hash"],
        "created_at": when(row["created_at"]),
        "created_by": row["created_by"],
        "expires_at": when(row["expires_at"]),
        "revoked_at": when(row["revoked_at"]),
        "replaced_by": row["replaced_by"],
    }


def check_seal(connection: Connection, seals: SealStore, row: TokenRow, short_id: str) -> None:
    name, fields = token_seal(row, short_id)
    seals.check(connection, name, fields, f"token {row['prefix']}")


def token_row(connection: Connection, prefix: str) -> TokenRow:
    row = (
        connection.execute(select(partner_tokens).where(partner_tokens.c.prefix == prefix))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound("token", recordable("object_id", prefix))
    return row


def agreement_short_id(connection: Connection, agreement_id: int) -> str:
    found = connection.execute(
        select(agreements.c.short_id).where(agreements.c.id == agreement_id)
    ).scalar_one_or_none()
    if found is None:
        raise NotFound("agreement", str(agreement_id))
    return str(found)


def token_state(row: TokenRow, now: datetime) -> str:
    """active, rotating (replaced, within its overlap), rotated out, expired or revoked."""
    if row["revoked_at"] is not None:
        return "revoked"
    expires = as_utc(row["expires_at"])
    if now >= expires:
        return "rotated out" if row["replaced_by"] else "expired"
    if row["replaced_by"]:
        return "rotating"
    return "active"


def recipient_in(stored: StoredVersion, fingerprint: str) -> Mapping[str, Any] | None:
    for listed in stored.scope.get("recipients") or ():
        if isinstance(listed, Mapping) and hmac.compare_digest(
            recipient_fingerprint(str(listed.get("age_recipient"))).encode(),
            fingerprint.encode("utf-8"),
        ):
            return listed
    return None
