"""A writer of the metadata database, holding none of the key files, against the web UI's logins
(issue 12, item 1): whatever they write to the staff table — a raised role, a copied or emptied
password hash, a forged member — gains no login and no role, on SQLite and on PostgreSQL.
docs/security.md lists these threats with these tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agreements.errors import Tampered
from gateway.keys import load_web_key
from gateway.seals import SealStore
from gateway.services import logins, staff
from tests.office import Office
from tests.webapp import PASSWORD, give_passwords

POLICY = logins.SessionPolicy(idle=timedelta(minutes=30), absolute=timedelta(hours=12))


def log_in(office: Office, name: str, password: str = PASSWORD) -> str:
    keys = office.home / "keys"
    return logins.log_in(
        office.engine, SealStore(keys), load_web_key(keys), name, password,
        address="192.0.2.10", now=datetime.now(UTC),
    )  # fmt: skip


def test_a_raised_role_ends_the_session_and_refuses_the_login(office: Office) -> None:
    give_passwords(office, ("admin", "adb"))
    session = log_in(office, "adb")
    office.sql("UPDATE staff SET role = 'kepala_dinas' WHERE name = 'adb'")
    seals = SealStore(office.home / "keys")
    with pytest.raises(Tampered):
        logins.session_member(office.engine, seals, session, POLICY, now=datetime.now(UTC))
    with pytest.raises(Tampered):
        log_in(office, "adb")


def test_a_password_reset_does_not_seal_a_raised_role(office: Office) -> None:
    give_passwords(office, ("admin", "adb"))
    office.sql("UPDATE staff SET role = 'admin' WHERE name = 'adb'")
    seals = SealStore(office.home / "keys")
    new = logins.hash_password("a brand new passphrase")
    with pytest.raises(Tampered):
        staff.set_password(office.engine, seals, "adb", new, by="admin", now=datetime.now(UTC))


def test_a_first_login_takes_the_role_the_audit_log_records(office: Office) -> None:
    give_passwords(office, ("admin",))
    office.sql("UPDATE staff SET role = 'admin' WHERE name = 'pf'")  # no login yet
    seals = SealStore(office.home / "keys")
    new = logins.hash_password("a brand new passphrase")
    with pytest.raises(Tampered):
        staff.set_password(office.engine, seals, "pf", new, by="admin", now=datetime.now(UTC))


def test_a_copied_hash_or_a_forged_member_gets_no_login(office: Office) -> None:
    give_passwords(office, ("admin", "pf"))
    known = office.sql("SELECT password_hash FROM staff WHERE name = 'pf'")[0][0]
    office.sql("UPDATE staff SET password_hash = :h WHERE name = 'kadis'", h=known)
    with pytest.raises(Tampered):
        log_in(office, "kadis")
    office.sql(
        "INSERT INTO staff (name, role, created_at, active, password_hash) "
        "VALUES ('intruder', 'kepala_dinas', :t, :a, :h)",
        t=datetime.now(UTC), a=True, h=known,
    )  # fmt: skip
    with pytest.raises(Tampered):
        log_in(office, "intruder")


def test_emptied_hashes_do_not_reopen_the_first_admins_login(office: Office) -> None:
    give_passwords(office, ("admin",))
    office.sql("UPDATE staff SET password_hash = NULL")
    seals = SealStore(office.home / "keys")
    new = logins.hash_password("a brand new passphrase")
    with pytest.raises(Tampered):
        staff.set_password(office.engine, seals, "admin", new, by=None, now=datetime.now(UTC))
