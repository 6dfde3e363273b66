"""Seals (gateway/seals.py): the first sealing of an existing data directory, the kept file under
a failed commit, and what a seal covers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, event, text

from agreements.canonical import SIGNATURE_NAMESPACE
from agreements.errors import Tampered
from agreements.signing import public_key_line, sign
from agreements.workflow import Role
from gateway import db
from gateway.keys import KeyFileError, ensure_keys
from gateway.seals import SealStore
from gateway.services import agreements, staff
from gateway.services.actions import Actor, Outcome, perform
from tests.clock import OfficeClock
from tests.harness import CATALOG, REGIONS, SHORT, Gateway
from tests.office import current_example

NOW = datetime(2026, 12, 2, 9, tzinfo=UTC)


def test_an_existing_data_directory_is_sealed_once_by_init(tmp_path: Path) -> None:
    """A data directory from before seals existed: rows in its database, no state key, no kept
    seals or checkpoint, no `seals.created` entry. `init` seals it once, audited; a state key lost
    later is not answered by sealing again."""
    home = tmp_path / "home"
    home.mkdir()
    engine = db.metadata_engine(f"sqlite:///{home / 'gateway.db'}")
    db.upgrade(engine)
    elsewhere = SealStore(tmp_path / "old-code-keys")  # the rows are written, not sealed here
    ensure_keys(elsewhere.keys_dir)
    elsewhere.replace_all({})
    staff.add_staff(engine, "admin", Role.ADMIN, by=None, now=NOW)
    staff.add_staff(engine, "kadis", Role.KEPALA_DINAS, by="admin", now=NOW)
    staff.add_staff(engine, "pf", Role.PEJABAT_FUNGSIONAL, by="admin", now=NOW)
    key = Ed25519PrivateKey.generate()
    staff.add_signer(engine, elsewhere, "kadis", public_key_line(key), by="admin", now=NOW)
    agreements.import_scope(engine, elsewhere, "pf", current_example(), CATALOG, REGIONS, now=NOW)
    with engine.connect() as connection:
        data = agreements.load_version(connection, SHORT, 1).canonical_bytes()
    signature = sign(data, key, SIGNATURE_NAMESPACE)
    agreements.attach_signature(engine, elsewhere, "kadis", SHORT, signature, now=NOW)
    engine.dispose()

    gateway = Gateway(home, {})
    first = gateway("init")
    assert "2 signer and agreement rows sealed (first sealing)" in first.output
    gateway("agreement", "verify", SHORT)
    entries = [
        json.loads(line)
        for line in gateway("audit", "list", "--json").stdout.split("\n")
        if line.startswith("{")
    ]
    assert [e["details"]["rows"] for e in entries if e["action"] == "seals.created"] == [2]
    assert "sealed" not in gateway("init").output  # once
    # The state key lost later (a restore without keys/, or deleted): init does not seal again.
    (home / "keys" / "state.key").unlink()
    again = gateway("init")
    assert "NOT sealed" in again.output and "re-anchor" in again.output
    assert gateway("agreement", "verify", SHORT, ok=False).exit_code == 1


def test_a_failed_commit_puts_the_kept_seals_back(
    engine: Engine, clock: OfficeClock, seals: SealStore
) -> None:
    staff.add_staff(engine, "admin", Role.ADMIN, by=None, now=clock())
    seals.keep({"signer:kept": "before"})

    def work(connection, actor: Actor) -> Outcome:  # type: ignore[no-untyped-def]
        seals.stage(connection, "signer:kept", {"changed": True})
        return Outcome("x", {})

    def refuse_commit(connection) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("the disk is gone")

    event.listen(engine, "commit", refuse_commit)
    with pytest.raises(RuntimeError, match="disk"):
        perform(
            engine,
            "admin",
            action="t",
            object_type="t",
            object_id="x",
            now=clock(),
            work=work,
            seals=seals,
        )
    event.remove(engine, "commit", refuse_commit)
    assert seals.kept() == {"signer:kept": "before"}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM audit_entries")).scalar() == 1


def test_a_seal_covers_every_field_and_the_row_name(seals: SealStore) -> None:
    fields = {"principal": "kadis", "revoked_at": None}
    tag = seals.seal("signer:a", fields)
    assert len(tag) == 64 and tag == seals.seal("signer:a", dict(fields))
    assert seals.seal("signer:b", fields) != tag  # a row's seal is not another row's
    assert seals.seal("signer:a", {**fields, "revoked_at": "2026-12-01T00:00:00+00:00"}) != tag
    other = SealStore(seals.keys_dir.parent / "other-keys")
    from gateway.keys import ensure_keys

    ensure_keys(other.keys_dir)
    assert other.seal("signer:a", fields) != tag  # it takes the state key to make one


def test_a_missing_or_malformed_seals_file_is_named(seals: SealStore) -> None:
    seals.path.write_text(json.dumps({"format": "other", "seals": {}}), encoding="utf-8")
    with pytest.raises(KeyFileError, match="not a seals file"):
        seals.kept()
    seals.path.unlink()
    with pytest.raises(KeyFileError, match="missing"):
        seals.kept()


def test_check_names_the_row_and_the_kind_of_mismatch(seals: SealStore, tmp_path: Path) -> None:
    engine = db.metadata_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as connection:
        with pytest.raises(Tampered, match="signer key K was not written by the gateway"):
            seals.check(connection, "signer:k", {"a": 1}, "signer key K")
        seals.keep({"signer:k": seals.seal("signer:k", {"a": 1})})
        seals.check(connection, "signer:k", {"a": 1}, "signer key K")
        with pytest.raises(Tampered, match="signer key K was changed outside the gateway"):
            seals.check(connection, "signer:k", {"a": 2}, "signer key K")
        with pytest.raises(Tampered, match="signer:k was removed"):
            seals.check_absent(connection, "signer:", set(), "signer registry")
    engine.dispose()
