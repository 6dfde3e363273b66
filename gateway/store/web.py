"""The web UI's server-side state: staff sessions and failed-login counters.

A session row holds only the SHA-256 of the session id the browser's cookie carries, so a reader
of the database cannot take over a session; deleting a member's rows logs them out everywhere.
A failure counter is keyed by a keyed hash of what it counts (an account, an address, or both),
so the table names no address in clear.
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table

from gateway.store.tables import UtcDateTime, metadata

_WHEN = UtcDateTime()

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("staff_name", String(100), nullable=False, index=True),
    Column("created_at", _WHEN, nullable=False),
    Column("last_seen_at", _WHEN, nullable=False),
)

login_failures = Table(
    "login_failures",
    metadata,
    Column("key_hash", String(64), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failure_at", _WHEN, nullable=False),
)

# Which notice (gateway/services/notifications.py, by its stable key) each member was e-mailed.
notices_sent = Table(
    "notices_sent",
    metadata,
    Column("staff_name", String(100), primary_key=True),
    Column("notice_key", String(200), primary_key=True),
    Column("sent_at", _WHEN, nullable=False),
)
