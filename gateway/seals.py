"""Seals: the security-relevant rows a writer of the metadata database can neither forge nor roll
back (DESIGN.md §3a, docs/decisions/0003-trust-roots.md, docs/security.md).

A row that decides whether data may leave — a signer key (principal, key, added and revoked
times) and an agreement version (its identity, the canonical bytes of its scope, the accepted
signature, signer and signing time, its status) — is sealed whenever the gateway writes it: an
HMAC-SHA-256, under the state key in the keys directory, of the row's fields in RFC 8785 form.
The current seal of every such row is kept in `state.seals` beside the keys, outside the
database. A row with no kept seal was written behind the gateway's back; a row whose seal differs
from the kept one was changed, or restored from an older state (an un-revoked key, a suspended
version set back to `active`, version 1's signed columns copied over version 2). Either is
refused with `Tampered`, naming the row.

A seal is staged on the connection that writes the row and kept (the file replaced atomically,
under a lock) just before that transaction commits; if the commit fails, the previous seals are
put back. A crash in between leaves the database behind its kept seals: refused, fail closed,
until an operator re-anchors (`audit re-anchor`, audited).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from hashlib import sha256
from pathlib import Path
from typing import Any

import rfc8785
from sqlalchemy import Connection

from agreements.errors import Tampered
from gateway.keys import (
    KeyFileError,
    kept_file_lock,
    load_state_key,
    read_kept_file,
    replace_kept_file,
)

SEALS_FILE = "state.seals"
FORMAT = "pks-gateway-seals/1"
_STAGED = "pks_staged_seals"

# What finds code that runs inside the database on our writes: a trigger (or, on PostgreSQL, a
# rewrite rule) could set a row back after the gateway wrote it, and the gateway would then seal
# the attacker's state. The gateway creates none, so any is refused.
_FOREIGN_CODE = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'trigger'",
    "postgresql": (
        "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE NOT t.tgisinternal AND n.nspname = current_schema() "
        "UNION ALL SELECT rulename FROM pg_rules WHERE schemaname = current_schema()"
    ),
    "mysql": "SELECT trigger_name FROM information_schema.triggers "
    "WHERE trigger_schema = DATABASE()",
}


def ensure_no_foreign_triggers(connection: Connection) -> None:
    """Tampered if the metadata database runs code of its own on writes (triggers, rules)."""
    query = _FOREIGN_CODE.get(connection.dialect.name)
    if query is None:
        return
    names = sorted(str(name) for name in connection.exec_driver_sql(query).scalars())
    if names:
        raise Tampered(
            f"the metadata database has triggers or rules the gateway did not create "
            f"({', '.join(names[:3])}): they could rewrite what the gateway writes; remove them"
        )


class SealStore:
    """The state key and the kept seals of one keys directory."""

    def __init__(self, keys_dir: Path) -> None:
        self.keys_dir = keys_dir
        self.path = keys_dir / SEALS_FILE
        self._key: bytes | None = None

    def seal(self, row: str, fields: Mapping[str, Any]) -> str:
        if self._key is None:
            self._key = load_state_key(self.keys_dir)
        document = rfc8785.dumps({"row": row, "fields": dict(fields)})
        return hmac.new(self._key, document, sha256).hexdigest()

    def kept(self) -> dict[str, str]:
        data = read_kept_file(self.path)
        if data is None:
            raise KeyFileError(
                f"{self.path} is missing: `pks-gateway init` seals a data directory made before "
                "seals existed; after a restore without it, `audit re-anchor`"
            )
        try:
            document = json.loads(data)
            seals = document["seals"]
            if document.get("format") != FORMAT or not isinstance(seals, dict):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise KeyFileError(f"{self.path} is not a seals file of {FORMAT}") from None
        return {str(row): str(tag) for row, tag in seals.items()}

    def current(self, connection: Connection) -> dict[str, str]:
        """The kept seals, with what `connection`'s own transaction has staged over them."""
        return {**self.kept(), **connection.info.get(_STAGED, {})}

    def matches(self, connection: Connection, row: str, fields: Mapping[str, Any]) -> bool:
        """Whether the row's fields carry the seal kept (or staged here) for it."""
        kept = self.current(connection).get(row)
        return kept is not None and hmac.compare_digest(kept, self.seal(row, fields))

    def check(self, connection: Connection, row: str, fields: Mapping[str, Any], what: str) -> None:
        """Tampered unless the row's fields carry the seal kept (or staged here) for it."""
        kept = self.current(connection).get(row)
        if kept is None:
            raise Tampered(f"{what} was not written by the gateway (it has no kept seal)")
        if not hmac.compare_digest(kept, self.seal(row, fields)):
            raise Tampered(
                f"{what} was changed outside the gateway (its fields differ from their kept seal)"
            )

    def check_absent(
        self, connection: Connection, prefix: str, present: set[str], what: str
    ) -> None:
        """Tampered if a row the gateway sealed under `prefix` is no longer in the database."""
        sealed = self.current(connection)
        missing = sorted(row for row in sealed if row.startswith(prefix) and row not in present)
        if missing:
            raise Tampered(f"{what}: {missing[0]} was removed from the database")

    def stage(self, connection: Connection, row: str, fields: Mapping[str, Any]) -> None:
        """Seal a row this connection's transaction has written, once it is sure no trigger or
        rule of someone else's rewrote it on the way; `perform` keeps the staged seals just
        before the commit. Staged on the connection itself, so that every part of one use case
        stages into the same transaction whichever store object it holds."""
        ensure_no_foreign_triggers(connection)
        connection.info.setdefault(_STAGED, {})[row] = self.seal(row, fields)

    @staticmethod
    def take_staged(connection: Connection) -> dict[str, str]:
        staged: dict[str, str] = connection.info.pop(_STAGED, {})
        return staged

    def keep(self, seals: Mapping[str, str | None]) -> dict[str, str | None]:
        """Replace these rows' kept seals (None removes one); returns what they were, for undo."""
        with kept_file_lock(self.path):
            current = self.kept() if self.path.exists() else {}
            before = {row: current.get(row) for row in seals}
            for row, tag in seals.items():
                if tag is None:
                    current.pop(row, None)
                else:
                    current[row] = tag
            self._write(current)
        return before

    def replace_all(self, seals: Mapping[str, str]) -> None:
        """Keep exactly these seals (the first sealing of a data directory, and re-anchoring)."""
        with kept_file_lock(self.path):
            self._write(dict(seals))

    def _write(self, seals: Mapping[str, str]) -> None:
        document = {"format": FORMAT, "seals": dict(sorted(seals.items()))}
        replace_kept_file(self.path, json.dumps(document, indent=1).encode("utf-8") + b"\n")
