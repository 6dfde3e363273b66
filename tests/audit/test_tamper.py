"""Tampering done directly in the database is found by verify_log, naming the first bad seq.

Each case builds a log of 10 entries with checkpoints at sizes 6 and 10 (the one at 10 also kept
"elsewhere"), changes the tables with plain SQL as an intruder or a careless operator would, and
checks the first problem's kind and seq. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, Engine, select, text

from audit import tree
from audit.entry import build_leaf, validate_fields
from audit.schema import audit_entries
from audit.verify import VerifyReport, verify_log
from pks_partner import merkle
from pks_partner.checkpoint import Checkpoint, note_verifier, sign_checkpoint
from tests.audit.logs import ORIGIN, add

NOW = datetime(2025, 3, 4, tzinfo=UTC)


@dataclass
class Log:
    engine: Engine
    key: Ed25519PrivateKey
    kept_at_6: str
    kept_at_10: str

    def verify(self, kept: str | None = None) -> VerifyReport:
        with self.engine.connect() as connection:
            return verify_log(connection, self.key.public_key(), ORIGIN, kept)

    def sql(self, statement: str, **params: object) -> None:
        with self.engine.begin() as connection:
            connection.execute(text(statement), params)


@pytest.fixture
def built(engine: Engine, audit_key: Ed25519PrivateKey) -> Log:
    with engine.begin() as connection:
        for i in range(6):
            add(connection, i)
        at_6 = tree.create_checkpoint(connection, audit_key, ORIGIN, NOW)
        for i in range(6, 10):
            add(connection, i)
        at_10 = tree.create_checkpoint(connection, audit_key, ORIGIN, NOW)
    return Log(engine, audit_key, at_6.note, at_10.note)


def leaf_at(connection: Connection, seq: int) -> bytes:
    query = select(audit_entries.c.leaf).where(audit_entries.c.seq == seq)
    return bytes(connection.execute(query).scalar_one())


def forge(log: Log, seq: int, actor_id: str) -> dict[str, object]:
    """A complete, self-consistent row as someone who knows the format would write it."""
    fields = validate_fields(
        actor_role="officer",
        actor_id=actor_id,
        action="delivery.published",
        object_type="agreement",
        object_id="PKS-2025-009",
        outcome="ok",
        details={},
    )
    leaf, details = build_leaf(fields, seq, NOW)
    return {
        "seq": seq,
        # As SQLAlchemy writes it: SQLite keeps text, PostgreSQL a timestamptz.
        "created_at": NOW if log.engine.dialect.name == "postgresql" else _sqlite_text(NOW),
        "actor_role": "officer",
        "actor_id": actor_id,
        "action": "delivery.published",
        "object_type": "agreement",
        "object_id": "PKS-2025-009",
        "outcome": "ok",
        "details": details,
        "leaf": leaf,
        "leaf_hash": merkle.leaf_hash(leaf),
    }


def _sqlite_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


INSERT_ROW = (
    "INSERT INTO audit_entries (seq, created_at, actor_role, actor_id, action, object_type, "
    "object_id, outcome, details, leaf, leaf_hash) VALUES (:seq, :created_at, :actor_role, "
    ":actor_id, :action, :object_type, :object_id, :outcome, :details, :leaf, :leaf_hash)"
)


def swap_seqs(log: Log, a: int, b: int) -> None:
    # Through a free value: primary keys must stay unique after every single statement.
    log.sql("UPDATE audit_entries SET seq = -1 WHERE seq = :a", a=a)
    log.sql("UPDATE audit_entries SET seq = :a WHERE seq = :b", a=a, b=b)
    log.sql("UPDATE audit_entries SET seq = :b WHERE seq = -1", b=b)


def first(report: VerifyReport) -> tuple[str, int | None]:
    assert not report.ok
    return report.problems[0].kind, report.problems[0].seq


def test_an_untouched_log_verifies_with_its_kept_checkpoints(built: Log) -> None:
    for kept in (None, built.kept_at_6, built.kept_at_10):
        report = built.verify(kept)
        assert report.ok, report.problems
        assert (report.tree_size, report.checkpoints_checked, report.unsigned_entries) == (10, 2, 0)


def test_an_edited_column(built: Log) -> None:
    built.sql("UPDATE audit_entries SET actor_id = 'someone-else' WHERE seq = 3")
    report = built.verify()
    assert first(report) == ("column_mismatch", 3)
    assert "actor_id" in report.problems[0].message
    assert "someone-else" not in report.problems[0].message


@pytest.mark.parametrize("column", ["created_at", "details", "outcome"])
def test_other_edited_columns(built: Log, column: str) -> None:
    value = {
        "created_at": datetime(2024, 1, 1),
        "details": '{"fields":["nik","nama_lgkp"],"step":8}',
        "outcome": "failed",
    }[column]
    built.sql(f"UPDATE audit_entries SET {column} = :v WHERE seq = 7", v=value)
    report = built.verify()
    assert first(report) == ("column_mismatch", 7)
    assert column in report.problems[0].message


def test_an_edited_leaf(built: Log) -> None:
    with built.engine.connect() as connection:
        leaf = leaf_at(connection, 4).replace(b'"outcome":"ok"', b'"outcome":"no"')
    built.sql("UPDATE audit_entries SET leaf = :leaf WHERE seq = 4", leaf=leaf)
    assert first(built.verify()) == ("leaf_hash", 4)


def test_a_carefully_forged_entry_is_caught_by_the_checkpoints(built: Log) -> None:
    # Leaf, hash and every column rewritten consistently: only the signed roots can tell.
    row = forge(built, 4, "forger")
    built.sql("DELETE FROM audit_entries WHERE seq = 4")
    built.sql(INSERT_ROW, **row)
    report = built.verify()
    assert first(report) == ("checkpoint_mismatch", None)
    assert "seq 0 and seq 5" in report.problems[0].message  # the checkpoint at 6 is the first


def test_a_deleted_entry(built: Log) -> None:
    built.sql("DELETE FROM audit_entries WHERE seq = 5")
    report = built.verify()
    assert first(report) == ("missing_entry", 5)
    assert {p.kind for p in report.problems} >= {"head_mismatch", "checkpoint_mismatch"}


def test_an_inserted_entry(built: Log) -> None:
    # Make room at seq 7 and put a well-formed entry there.
    built.sql("UPDATE audit_entries SET seq = seq + 1000 WHERE seq >= 7")
    built.sql("UPDATE audit_entries SET seq = seq - 999 WHERE seq >= 1000")
    built.sql(INSERT_ROW, **forge(built, 7, "forger"))
    report = built.verify()
    # The inserted row is self-consistent; the entry pushed out of its place is the first sign.
    assert first(report) == ("misplaced_entry", 8)
    assert "inserted" in report.problems[0].message


def test_an_entry_copied_to_the_end(built: Log) -> None:
    with built.engine.connect() as connection:
        row = connection.execute(select(audit_entries).where(audit_entries.c.seq == 2)).one()
    copy = dict(row._mapping, seq=10)
    built.sql(INSERT_ROW, **copy)
    report = built.verify()
    assert first(report) == ("misplaced_entry", 10)
    assert "head_mismatch" in {p.kind for p in report.problems}


def test_two_entries_swapped(built: Log) -> None:
    swap_seqs(built, 2, 3)
    assert first(built.verify()) == ("misplaced_entry", 2)


def test_the_tail_truncated_below_a_kept_checkpoint(built: Log) -> None:
    # A thorough intruder also removes the stored checkpoints and resets the head.
    built.sql("DELETE FROM audit_entries WHERE seq >= 8")
    built.sql("DELETE FROM audit_checkpoints")
    built.sql("UPDATE audit_head SET tree_size = 8")
    assert built.verify().ok  # nothing inside the database can tell any more...
    report = built.verify(built.kept_at_10)  # ...but the checkpoint kept elsewhere can
    assert first(report) == ("truncated", 8)
    assert built.verify(built.kept_at_6).ok  # the part a kept checkpoint covers is intact


def test_the_tail_truncated_below_a_stored_checkpoint(built: Log) -> None:
    built.sql("DELETE FROM audit_entries WHERE seq >= 8")
    report = built.verify()
    assert ("truncated", 8) in {(p.kind, p.seq) for p in report.problems}


def replace_note(log: Log, size: int, note: str) -> None:
    log.sql(
        "UPDATE audit_checkpoints SET note = :note WHERE tree_size = :size", note=note, size=size
    )


def test_a_replaced_checkpoint_note(built: Log) -> None:
    forged = built.kept_at_6.replace("\n6\n", "\n5\n")  # keeps the old signature line
    replace_note(built, 6, forged)
    assert first(built.verify()) == ("checkpoint_signature", None)


def test_a_checkpoint_signed_by_another_key(built: Log) -> None:
    with built.engine.connect() as connection:
        root = tree.root_at(connection, 6)
    other = sign_checkpoint(Checkpoint(ORIGIN, 6, root), Ed25519PrivateKey.generate())
    replace_note(built, 6, other)
    assert first(built.verify()) == ("checkpoint_key", None)


def test_a_checkpoint_from_another_log(built: Log) -> None:
    with built.engine.connect() as connection:
        root = tree.root_at(connection, 6)
    body = Checkpoint("example.org/another-log", 6, root).body()
    from pks_partner.checkpoint import sign_note

    replace_note(built, 6, sign_note(body, ORIGIN, built.key))
    assert first(built.verify()) == ("checkpoint_origin", None)


def test_kept_checkpoints_from_elsewhere_are_checked_too(built: Log) -> None:
    other_key = sign_checkpoint(Checkpoint(ORIGIN, 6, bytes(32)), Ed25519PrivateKey.generate())
    assert first(built.verify(other_key)) == ("kept_checkpoint_key", None)
    assert first(built.verify("not a note")) == ("kept_checkpoint_malformed", None)


def test_history_rewritten_and_resigned_with_the_key_is_caught_only_by_a_kept_checkpoint(
    built: Log,
) -> None:
    # The documented limit: an operator holding the audit key rewrites seq 2 and re-signs.
    built.sql("DELETE FROM audit_entries WHERE seq = 2")
    built.sql(INSERT_ROW, **forge(built, 2, "rewritten"))
    built.sql("DELETE FROM audit_checkpoints")
    with built.engine.begin() as connection:
        tree.create_checkpoint(connection, built.key, ORIGIN, NOW)
    assert built.verify().ok
    report = built.verify(built.kept_at_6)
    assert first(report) == ("kept_checkpoint_mismatch", None)


CASES: list[tuple[str, Callable[[Log], None]]] = [
    ("edit", lambda log: log.sql("UPDATE audit_entries SET action = 'x' WHERE seq = 1")),
    ("delete", lambda log: log.sql("DELETE FROM audit_entries WHERE seq = 1")),
    ("reorder", lambda log: swap_seqs(log, 1, 8)),
]


@pytest.mark.parametrize(("name", "tamper"), CASES, ids=[name for name, _ in CASES])
def test_messages_name_kinds_and_seqs_never_values(
    built: Log, name: str, tamper: Callable[[Log], None]
) -> None:
    tamper(built)
    report = built.verify(built.kept_at_10)
    assert report.problems[0].seq == 1
    for problem in report.problems:
        assert "PKS-2025" not in problem.message and "user-" not in problem.message
        assert problem.kind in {
            "column_mismatch",
            "missing_entry",
            "misplaced_entry",
            "head_mismatch",
            "checkpoint_mismatch",
            "kept_checkpoint_mismatch",
        }
    assert note_verifier(ORIGIN, built.key.public_key()).name == ORIGIN
