"""Appending inside the caller's transaction, queries, checkpoints and proofs from the database."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Column, Connection, Engine, Integer, MetaData, Table, select, text
from sqlalchemy.exc import IntegrityError

from audit import log, tree
from audit.schema import audit_entries
from pks_partner import merkle
from pks_partner.checkpoint import note_verifier, open_checkpoint
from pks_partner.tlog_proof import verify_tlog_proof
from tests.audit.logs import ORIGIN, START, add, fill, sqlite_engine
from tests.audit.rfc6962 import ref_consistent, ref_mth, ref_path, ref_proof, ref_root_from_path


def stored_leaves(connection: Connection) -> list[bytes]:
    query = select(audit_entries.c.leaf).order_by(audit_entries.c.seq)
    return [bytes(leaf) for (leaf,) in connection.execute(query)]


def test_append_returns_dense_seqs_and_stores_the_hashed_leaf(engine: Engine) -> None:
    with engine.begin() as connection:
        appended = [add(connection, i) for i in range(5)]
    assert [entry.seq for entry in appended] == [0, 1, 2, 3, 4]
    with engine.connect() as connection:
        assert stored_leaves(connection) == [entry.leaf for entry in appended]
        assert log.tree_size(connection) == 5 == log.head_size(connection)
        assert tree.root_at(connection, 5) == ref_mth([entry.leaf for entry in appended])


def test_queries_filter_page_and_count(engine: Engine) -> None:
    fill(engine, 20)
    with engine.connect() as connection:
        refused = log.list_entries(connection, outcome="refused")
        assert [e.seq for e in refused] == [0, 5, 10, 15]
        assert log.count_entries(connection, outcome="refused") == 4
        one = log.list_entries(connection, object_id="PKS-2025-001", actor_id="user-1")
        assert [e.seq for e in one] == [1, 13]  # i % 4 == 1 and i % 3 == 1
        window = log.list_entries(
            connection, since=START + timedelta(minutes=3), until=START + timedelta(minutes=6)
        )
        assert [e.seq for e in window] == [3, 4, 5]
        page = log.list_entries(connection, limit=3, offset=3, newest_first=True)
        assert [e.seq for e in page] == [16, 15, 14]
        entry = log.list_entries(connection, action="agreement.transition", limit=1)[0]
        assert entry.details == {"step": 0, "fields": ["nik", "nama_lgkp"]}
        assert entry.created_at == START
        with pytest.raises(TypeError):
            entry.details["step"] = 1  # type: ignore[index]


def test_an_action_that_fails_after_its_entry_leaves_no_entry(engine: Engine) -> None:
    with pytest.raises(RuntimeError), engine.begin() as connection:
        add(connection, 0)
        raise RuntimeError("the action failed after writing its entry")
    with engine.connect() as connection:
        assert log.tree_size(connection) == 0
        assert log.head_size(connection) in (None, 0)
    fill(engine, 1)
    with engine.connect() as connection:
        assert [e.seq for e in log.list_entries(connection)] == [0]


def test_an_entry_that_cannot_be_written_takes_the_action_with_it(engine: Engine) -> None:
    actions = Table("actions_under_test", MetaData(), Column("id", Integer, primary_key=True))
    actions.create(engine)
    try:
        fill(engine, 2)
        with engine.begin() as connection:
            # Make the next insert collide: the head says 2 but seq 2 is already taken.
            connection.execute(text("UPDATE audit_head SET tree_size = 1"))
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(actions.insert().values(id=1))
            add(connection, 2)
        with engine.connect() as connection:
            assert connection.execute(select(actions)).all() == []
            assert log.tree_size(connection) == 2
    finally:
        actions.drop(engine)


def test_details_with_a_nik_write_nothing_even_if_the_caller_carries_on(engine: Engine) -> None:
    with engine.begin() as connection:
        with pytest.raises(ValueError):
            add(connection, 0, details={"nik": "9999999999990001"})
        add(connection, 1)  # the caller caught the error and went on in the same transaction
    with engine.connect() as connection:
        assert [e.seq for e in log.list_entries(connection)] == [0]
        assert log.head_size(connection) == 1


def test_concurrent_appenders_get_dense_unique_seqs(engine: Engine) -> None:
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(15):
                with engine.begin() as connection:
                    add(connection, n * 100 + i)
        except BaseException as error:  # reported below; a thread cannot fail the test itself
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with engine.connect() as connection:
        seqs = [seq for (seq,) in connection.execute(select(audit_entries.c.seq))]
        assert sorted(seqs) == list(range(60))
        assert log.head_size(connection) == 60


def test_checkpoints_are_signed_stored_and_not_repeated(
    engine: Engine, audit_key: Ed25519PrivateKey
) -> None:
    fill(engine, 6)
    verifier = note_verifier(ORIGIN, audit_key.public_key())
    with engine.begin() as connection:
        first = tree.create_checkpoint(connection, audit_key, ORIGIN, START)
        again = tree.create_checkpoint(connection, audit_key, ORIGIN, START)
        assert again == first
        add(connection, 6)
        second = tree.create_checkpoint(connection, audit_key, ORIGIN, START)
    assert (first.tree_size, second.tree_size) == (6, 7)
    assert second.id != first.id
    with engine.connect() as connection:
        assert tree.latest_checkpoint(connection) == second
        assert [c.id for c in tree.list_checkpoints(connection)] == [first.id, second.id]
        checkpoint = open_checkpoint(second.note, verifier, ORIGIN)
        assert checkpoint.root_hash == ref_mth(stored_leaves(connection)) == second.root_hash


def test_no_checkpoint_is_signed_over_a_rewritten_history(
    engine: Engine, audit_key: Ed25519PrivateKey
) -> None:
    fill(engine, 4)
    with engine.begin() as connection:
        tree.create_checkpoint(connection, audit_key, ORIGIN, START)
        add(connection, 4)
        connection.execute(
            text("UPDATE audit_entries SET leaf_hash = :h WHERE seq = 1"), {"h": bytes(32)}
        )
    with pytest.raises(log.LogIntegrityError, match="seq 4"), engine.begin() as connection:
        tree.create_checkpoint(connection, audit_key, ORIGIN, START)


@pytest.mark.parametrize("batch", [4, merkle.BATCH])
def test_proofs_from_the_database_match_the_rfc_definitions(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    monkeypatch.setattr(merkle, "BATCH", batch)  # small batches exercise the batch seams
    fill(engine, 13)
    with engine.connect() as connection:
        leaves = stored_leaves(connection)
        for size in (1, 7, 8, 13):
            root = ref_mth(leaves[:size])
            for seq in range(size):
                proof = tree.inclusion_proof(connection, seq, size)
                assert list(proof.hashes) == ref_path(seq, leaves[:size])
                assert ref_root_from_path(proof.leaf_hash, seq, size, list(proof.hashes)) == root
                assert proof.verify(root)
        for old in range(0, 14):
            consistency = tree.consistency_proof(connection, old, 13)
            if old:
                hashes = list(consistency.hashes)
                assert hashes == ref_proof(old, leaves)
                assert ref_consistent(old, 13, ref_mth(leaves[:old]), ref_mth(leaves), hashes)
            assert consistency.verify(ref_mth(leaves[:old]), ref_mth(leaves))
        with pytest.raises(ValueError):
            tree.inclusion_proof(connection, 3, 14)


def test_an_entry_proof_for_a_manifest_verifies_offline(
    engine: Engine, audit_key: Ed25519PrivateKey
) -> None:
    fill(engine, 9)
    with engine.begin() as connection:
        checkpoint = tree.create_checkpoint(connection, audit_key, ORIGIN, START)
        text_proof = tree.entry_proof(connection, 5, checkpoint)
        leaf = stored_leaves(connection)[5]
    verified = verify_tlog_proof(text_proof, leaf, audit_key.public_key(), ORIGIN)
    assert (verified.tree_size, verified.root_hash) == (9, checkpoint.root_hash)


@pytest.mark.parametrize("batch", [2, merkle.BATCH])
def test_a_gap_stops_proofs_naming_the_missing_seq(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    monkeypatch.setattr(merkle, "BATCH", batch)
    engine = sqlite_engine(tmp_path / "gap.sqlite")
    fill(engine, 6)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_entries WHERE seq = 2"))
    with engine.connect() as connection:
        with pytest.raises(log.LogIntegrityError, match="seq 2"):
            tree.inclusion_proof(connection, 4, 5)
        with pytest.raises(log.LogIntegrityError, match="seq 2"):
            tree.root_at(connection, 5)
