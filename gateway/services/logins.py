"""Staff logins to the web UI: argon2id passwords, server-side sessions, and guessing slowed down.

What makes a login hold against a writer of the metadata database: the staff row (name, role,
active, password hash) is sealed under the state key (gateway/services/staff.py `staff_seal`), so
a swapped hash, a raised role or a re-activated member is refused as Tampered at login and on
every request after it. A session is a random 256-bit id in the browser's cookie; the database
keeps only its SHA-256, so reading the table gives no session away. Logging out everywhere,
deactivation and a new password delete the member's session rows: they end at once.

Failed logins slow down, never lock out: each failure counts against the account from that
address, the address, and the account from anywhere, each with its own threshold and a delay that
doubles up to a cap. An attacker can make their own address wait a quarter of an hour, but makes
the Kepala Dinas, logging in from another address, wait at most `ACCOUNT_CAP` seconds.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from agreements.errors import DomainError, NotPermitted, SafeError, Tampered
from agreements.workflow import Role
from audit import log as audit_log
from gateway.db import for_update
from gateway.seals import SealStore
from gateway.services.actions import recordable
from gateway.services.staff import staff_seal
from gateway.store.tables import staff
from gateway.store.web import login_failures, web_sessions

# argon2-cffi's defaults are RFC 9106's second recommended option (argon2id, 64 MiB, 3 passes).
_HASHER = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """A hash of a password nobody has, checked when the name is unknown, so that an unknown
    name and a wrong password take the same time (made at the first login, not at import)."""
    return _HASHER.hash(secrets.token_hex(16))


@dataclass(frozen=True)
class Throttle:
    """After `free` failures, each next one makes this key wait 2**(n - free) seconds, to `cap`."""

    kind: str
    free: int
    cap: int

    def wait(self, failures: int) -> int:
        if failures < self.free:
            return 0
        return int(min(2 ** (failures - self.free), self.cap))


# A key's failures count while they keep coming: after WINDOW without one, it starts again (and
# its row is deleted), so months of ordinary typos never add up to a wait.
WINDOW = timedelta(hours=1)
PAIR = Throttle("account+address", free=3, cap=900)
ADDRESS = Throttle("address", free=10, cap=900)
ACCOUNT_CAP = 30
ACCOUNT = Throttle("account", free=20, cap=ACCOUNT_CAP)


class LoginRefused(SafeError):
    """A login that did not happen: wrong name or password (never said which), or too soon after
    failures (`retry_after` seconds), or a staff row the gateway did not seal as it is."""

    def __init__(self, reason: str, retry_after: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


@dataclass(frozen=True)
class Member:
    """Who a live session belongs to."""

    name: str
    role: Role


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta
    absolute: timedelta


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def _keys(web_key: bytes, name: str, address: str) -> dict[Throttle, str]:
    def keyed(*parts: str) -> str:
        text = "\x00".join(parts).encode("utf-8")
        return hmac.new(web_key, text, hashlib.sha256).hexdigest()

    folded = name.strip().casefold()
    keys = {PAIR: keyed("pair", folded, address), ACCOUNT: keyed("account", folded)}
    if not _shared(address):
        keys[ADDRESS] = keyed("address", address)
    return keys


def _shared(address: str) -> bool:
    """An address every caller may share: a reverse proxy's own (loopback, when
    `trusted_proxy_hops` is not set) or none at all. Slowing it down would slow everyone."""
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return True


def _wait(connection: Connection, keys: dict[Throttle, str], now: datetime) -> int:
    """Seconds until these keys allow another try (0: now)."""
    rows = connection.execute(
        select(login_failures).where(login_failures.c.key_hash.in_(keys.values()))
    ).mappings()
    by_hash = {row["key_hash"]: row for row in rows}
    longest = 0
    for throttle, key in keys.items():
        row = by_hash.get(key)
        if row is None or now - row["last_failure_at"] > WINDOW:
            continue
        until = row["last_failure_at"] + timedelta(seconds=throttle.wait(row["failures"]))
        longest = max(longest, int((until - now).total_seconds() + 0.999))
    return longest


def _count_failure(connection: Connection, keys: dict[Throttle, str], now: datetime) -> None:
    connection.execute(
        delete(login_failures).where(login_failures.c.last_failure_at < now - WINDOW)
    )
    for key in keys.values():
        done = connection.execute(
            update(login_failures)
            .where(login_failures.c.key_hash == key)
            .values(failures=login_failures.c.failures + 1, last_failure_at=now)
        )
        if not done.rowcount:
            connection.execute(
                insert(login_failures).values(key_hash=key, failures=1, last_failure_at=now)
            )


def log_in(
    engine: Engine,
    seals: SealStore,
    web_key: bytes,
    name: str,
    password: str,
    *,
    address: str,
    now: datetime,
) -> str:
    """A new session id for `name`, or LoginRefused. Every attempt is audited (`staff.login`):
    refusals with their reason, never the password."""
    keys = _keys(web_key, name, address)
    wait = _claim_attempt(engine, keys, now)
    if wait:
        _audit(engine, name, "refused", {"rule": "too many failed logins", "wait": wait}, now)
        raise LoginRefused("too many failed logins: try again later", retry_after=wait)
    try:
        with engine.begin() as connection:
            member = _verified_member(connection, seals, name, password)
            session_id = secrets.token_urlsafe(32)
            connection.execute(
                insert(web_sessions).values(
                    id_hash=session_hash(session_id),
                    staff_name=member.name,
                    created_at=now,
                    last_seen_at=now,
                )
            )
            _take_back(connection, keys)
            audit_log.append(
                connection, actor_role=member.role.value, actor_id=member.name,
                action="staff.login", object_type="staff", object_id=member.name,
                outcome="ok", details={}, now=now,
            )  # fmt: skip
        return session_id
    except (LoginRefused, DomainError) as error:
        reason = error.reason if isinstance(error, LoginRefused) else str(error)
        _audit(engine, name, "refused", {"rule": reason, "error": type(error).__name__}, now)
        if isinstance(error, Tampered):
            raise
        raise LoginRefused("wrong name or password") from None


def _claim_attempt(engine: Engine, keys: dict[Throttle, str], now: datetime) -> int:
    """Seconds to wait; or 0, having counted this attempt as a failure already (a success takes
    it back). Checked and counted in one transaction holding the counters' rows, so parallel
    guesses queue behind each other instead of all passing one expired wait."""
    for key in keys.values():  # the rows to lock exist first (a parallel insert loses, harmlessly)
        try:
            with engine.begin() as connection:
                connection.execute(
                    insert(login_failures).values(key_hash=key, failures=0, last_failure_at=now)
                )
        except IntegrityError:
            pass
    with engine.begin() as connection:
        _lock(connection, keys)
        wait = _wait(connection, keys, now)
        if not wait:
            _count_failure(connection, keys, now)
    return wait


def _lock(connection: Connection, keys: dict[Throttle, str]) -> None:
    """Hold the counters until the transaction ends (gateway/db.py `for_update`)."""
    query = select(login_failures.c.key_hash).where(login_failures.c.key_hash.in_(keys.values()))
    connection.execute(for_update(connection, query)).all()


def _take_back(connection: Connection, keys: dict[Throttle, str]) -> None:
    """A login that succeeded: its attempt was no failure after all."""
    connection.execute(delete(login_failures).where(login_failures.c.key_hash == keys[PAIR]))
    connection.execute(
        update(login_failures)
        .where(login_failures.c.key_hash.in_(keys.values()), login_failures.c.failures > 0)
        .values(failures=login_failures.c.failures - 1)
    )


def _verified_member(connection: Connection, seals: SealStore, name: str, password: str) -> Member:
    row = connection.execute(select(staff).where(staff.c.name == name)).mappings().first()
    stored = row["password_hash"] if row is not None else None
    try:
        _HASHER.verify(stored or _dummy_hash(), password)
        matched = stored is not None
    except (VerificationError, InvalidHashError):
        matched = False
    if row is None or not matched:
        raise LoginRefused("wrong name or password")
    seals.check(connection, *staff_seal(row), f"staff member {row['name']}")
    if not row["active"]:
        raise NotPermitted("deactivated")
    return Member(row["name"], Role(row["role"]))


def session_member(
    engine: Engine, seals: SealStore, session_id: str, policy: SessionPolicy, *, now: datetime
) -> Member | None:
    """Who this session belongs to, its last-seen time moved on; None if there is no such
    session, it was idle or open too long, or its member was deactivated (the row is deleted).
    Tampered if the member's row is not as the gateway sealed it."""
    key = session_hash(session_id)
    with engine.begin() as connection:
        found = connection.execute(
            select(web_sessions, staff)
            .join(staff, staff.c.name == web_sessions.c.staff_name)
            .where(web_sessions.c.id_hash == key)
        ).mappings().first()  # fmt: skip
        if found is None:
            return None
        # Held to its seal first: an emptied hash or a re-activated member is a tampered row,
        # not an expired session.
        seals.check(connection, *staff_seal(found), f"staff member {found['name']}")
        expired = (
            now - found["last_seen_at"] > policy.idle
            or now - found["created_at"] > policy.absolute
            or not found["active"]
            or found["password_hash"] is None
        )
        if expired:
            connection.execute(delete(web_sessions).where(web_sessions.c.id_hash == key))
            return None
        connection.execute(
            update(web_sessions).where(web_sessions.c.id_hash == key).values(last_seen_at=now)
        )
        return Member(found["name"], Role(found["role"]))


def log_out(engine: Engine, session_id: str, *, everywhere: bool, now: datetime) -> None:
    """End this session (or every session of its member), audited as `staff.logout`."""
    key = session_hash(session_id)
    with engine.begin() as connection:
        name = connection.execute(
            select(web_sessions.c.staff_name).where(web_sessions.c.id_hash == key)
        ).scalar_one_or_none()
        if name is None:
            return
        which = web_sessions.c.staff_name == name if everywhere else web_sessions.c.id_hash == key
        ended = connection.execute(delete(web_sessions).where(which)).rowcount
        role = connection.execute(select(staff.c.role).where(staff.c.name == name)).scalar_one()
        audit_log.append(
            connection, actor_role=role, actor_id=name, action="staff.logout",
            object_type="staff", object_id=name, outcome="ok",
            details={"everywhere": everywhere, "sessions": ended}, now=now,
        )  # fmt: skip


UNKNOWN_NAME = "(unknown name)"


def _audit(
    engine: Engine, name: str, outcome: str, details: dict[str, object], now: datetime
) -> None:
    """A login attempt's entry, naming the member only if the name is a member's: what was typed
    as a name may be a password typed into the wrong field, and the log keeps it for good."""
    with engine.begin() as connection:
        known = connection.execute(select(staff.c.name).where(staff.c.name == name)).first()
        shown = recordable("actor_id", name) if known is not None else UNKNOWN_NAME
        audit_log.append(
            connection, actor_role="unknown", actor_id=shown, action="staff.login",
            object_type="staff", object_id=shown, outcome=outcome, details=details, now=now,
        )  # fmt: skip
