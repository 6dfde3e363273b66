"""The partner tokens table: one row per credential a partner's recipient calls the API with.

A row never holds the token: only its visible prefix (`pks_xxxxxxxx`, what logs and the audit
name) and a keyed hash of the whole token under `keys/token.key`. Every row is sealed
(gateway/seals.py, row `token:<prefix>`), so that a database writer can neither mint a token, nor
point one at another agreement or recipient, nor un-revoke or lengthen one
(gateway/services/tokens.py).
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, String, Table

from gateway.store.tables import UtcDateTime, metadata

_WHEN = UtcDateTime()

partner_tokens = Table(
    "partner_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("prefix", String(16), nullable=False, unique=True),
    Column("agreement_id", ForeignKey("agreements.id"), nullable=False, index=True),
    # The recipient's age key fingerprint (`SHA256:…`, exports.age.recipient_fingerprint).
    Column("recipient_fingerprint", String(64), nullable=False),
    # HMAC-SHA-256 of the whole token under keys/token.key, hex.
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", _WHEN, nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("expires_at", _WHEN, nullable=False),
    Column("revoked_at", _WHEN, nullable=True),
    # The prefix of the token that replaced this one (rotation); it then expires at the end of
    # the overlap window.
    Column("replaced_by", String(16), nullable=True),
)
