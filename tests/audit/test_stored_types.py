"""Values of the wrong type written straight into the audit tables (text where bytes belong, a
word or a fraction for a size, an unreadable time, details that are not JSON) are reported by
`verify_log` as `column_type` problems naming the seq or checkpoint, never crash it, and stop
`require_readable`, `export_log` and `list_entries` with one LogIntegrityError naming the first.

SQLite keeps whatever it is given, so every case runs there; PostgreSQL's column types refuse all
but details that are not JSON, which runs on both."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, text

from audit import log, tree
from audit.export import export_log
from audit.verify import VerifyReport, verify_log
from tests.audit.logs import ORIGIN, add, sqlite_engine

NOW = datetime(2025, 3, 4, tzinfo=UTC)
# The bad values below: none of them may appear in a message.
BAD_VALUES = ("abc", "yesterday", "not json", "2.5", "many")


def build(engine: Engine, key: Ed25519PrivateKey, entries: int = 6) -> None:
    """`entries` entries with a checkpoint at 4 and one at the end."""
    with engine.begin() as connection:
        for i in range(entries):
            add(connection, i)
            if i + 1 in (4, entries):
                tree.create_checkpoint(connection, key, ORIGIN, NOW)


def sql(engine: Engine, statement: str) -> None:
    with engine.begin() as connection:
        connection.execute(text(statement))


def verify(engine: Engine, key: Ed25519PrivateKey) -> VerifyReport:
    with engine.connect() as connection:
        return verify_log(connection, key.public_key(), ORIGIN)


@pytest.fixture
def sqlite_log(tmp_path: Path, audit_key: Ed25519PrivateKey) -> Engine:
    engine = sqlite_engine(tmp_path / "audit.sqlite")
    build(engine, audit_key)
    return engine


ENTRY = "UPDATE audit_entries SET {} WHERE seq = 3"
# case: (statement, the column named, what the column is not)
ENTRY_CASES = {
    "leaf as text": (ENTRY.format("leaf = CAST(leaf AS TEXT)"), "leaf is not bytes"),
    "leaf as a number": (ENTRY.format("leaf = 5"), "leaf is not bytes"),
    "leaf_hash as text": (ENTRY.format("leaf_hash = 'abc'"), "leaf_hash is not bytes"),
    "created_at unreadable": (ENTRY.format("created_at = 'yesterday'"), "created_at is not a time"),
    "created_at a number": (ENTRY.format("created_at = 12"), "created_at is not a time"),
    "details not JSON": (ENTRY.format("details = 'not json'"), "details is not a JSON object"),
    "details as bytes": (ENTRY.format("details = x'7b7d'"), "details is not a JSON object"),
    "details a JSON list": (ENTRY.format("details = '[1]'"), "details is not a JSON object"),
    "object_id as bytes": (ENTRY.format("object_id = x'00'"), "object_id is not text"),
}
CHECKPOINT = "UPDATE audit_checkpoints SET {} WHERE id = 1"
OTHER_CASES = {
    "checkpoint size a word": (
        CHECKPOINT.format("tree_size = 'many'"),
        "checkpoint 1: tree_size is not a whole number",
    ),
    "checkpoint size a fraction": (
        CHECKPOINT.format("tree_size = 2.5"),
        "checkpoint 1: tree_size is not a whole number",
    ),
    "checkpoint root as text": (
        CHECKPOINT.format("root_hash = 'abc'"),
        "checkpoint 1: root_hash is not bytes",
    ),
    "checkpoint time unreadable": (
        CHECKPOINT.format("created_at = 'yesterday'"),
        "checkpoint 1: created_at is not a time",
    ),
    "checkpoint note as bytes": (
        CHECKPOINT.format("note = x'00ff'"),
        "checkpoint 1: note is not text",
    ),
    "head a word": (
        "UPDATE audit_head SET tree_size = 'abc'",
        "the audit head: tree_size is not a whole number",
    ),
}


def assert_no_value(*texts: str) -> None:
    for shown in texts:
        for value in BAD_VALUES:
            assert value not in shown, (value, shown)


# Every case: (statement, the seq named or None, the message). An entry's problem stops
# `list_entries` too; a checkpoint's or the head's only what reads them.
CASES = {
    **{case: (sql, 3, f"audit entry seq 3: {named}") for case, (sql, named) in ENTRY_CASES.items()},
    **{case: (sql, None, message) for case, (sql, message) in OTHER_CASES.items()},
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_value_of_the_wrong_type_is_a_problem_naming_where_it_is(
    sqlite_log: Engine, audit_key: Ed25519PrivateKey, case: str, tmp_path: Path
) -> None:
    statement, seq, message = CASES[case]
    sql(sqlite_log, statement)
    report = verify(sqlite_log, audit_key)
    assert [(p.kind, p.seq, p.message) for p in report.problems] == [("column_type", seq, message)]
    unreadable_note = message.endswith("note is not text")  # that checkpoint cannot be opened
    assert report.tree_size == 6 and report.checkpoints_checked == 2 - unreadable_note
    refused = refusals(sqlite_log, tmp_path / "export")
    assert refused == [message] * (2 if seq is None else 3)
    assert_no_value(message, *refused)


def refusals(engine: Engine, export_to: Path) -> list[str]:
    """What `require_readable`, `export_log` and (if an entry is named) `list_entries` raise;
    the export must not have written anything."""
    found = []
    with engine.connect() as connection:
        with pytest.raises(log.LogIntegrityError) as refused:
            log.require_readable(connection)
        found.append(str(refused.value).split("; ")[0])
        with pytest.raises(log.LogIntegrityError) as refused:
            export_log(connection, export_to, origin=ORIGIN)
        found.append(str(refused.value).split("; ")[0])
        assert not export_to.exists()
        try:
            log.list_entries(connection)
        except log.LogIntegrityError as error:
            found.append(str(error))
    return found


def test_several_bad_values_are_each_reported_and_counted(
    sqlite_log: Engine, audit_key: Ed25519PrivateKey
) -> None:
    sql(sqlite_log, "UPDATE audit_entries SET leaf = 'abc', details = 'not json' WHERE seq = 1")
    sql(sqlite_log, "UPDATE audit_entries SET created_at = 'yesterday' WHERE seq = 4")
    sql(sqlite_log, "UPDATE audit_checkpoints SET tree_size = 'many' WHERE id = 2")
    report = verify(sqlite_log, audit_key)
    assert [(p.kind, p.seq, p.message) for p in report.problems] == [
        ("column_type", None, "checkpoint 2: tree_size is not a whole number"),
        ("column_type", 1, "audit entry seq 1: leaf is not bytes, details is not a JSON object"),
        ("column_type", 4, "audit entry seq 4: created_at is not a time"),
    ]
    with sqlite_log.connect() as connection, pytest.raises(log.LogIntegrityError) as refused:
        log.require_readable(connection)
    assert str(refused.value).startswith(
        "checkpoint 2: tree_size is not a whole number (and 2 more)"
    )


def test_leaf_and_hash_both_unreadable_fail_the_checkpoints_too(
    sqlite_log: Engine, audit_key: Ed25519PrivateKey
) -> None:
    sql(sqlite_log, ENTRY.format("leaf = 'abc', leaf_hash = 'abc'"))
    report = verify(sqlite_log, audit_key)
    kinds = [(p.kind, p.seq) for p in report.problems]
    assert kinds[0] == ("column_type", 3)
    assert ("checkpoint_mismatch", None) in kinds  # the tree cannot be recomputed past seq 3


def test_an_unreadable_head_of_an_empty_log_is_a_problem(
    tmp_path: Path, audit_key: Ed25519PrivateKey
) -> None:
    engine = sqlite_engine(tmp_path / "empty.sqlite")
    sql(engine, "INSERT INTO audit_head (id, tree_size) VALUES (1, 'abc')")
    report = verify(engine, audit_key)
    assert [(p.kind, p.message) for p in report.problems] == [
        ("column_type", "the audit head: tree_size is not a whole number")
    ]
    with engine.connect() as connection, pytest.raises(log.LogIntegrityError, match="head"):
        log.head_size(connection)


def test_a_leaf_hash_of_the_wrong_type_stops_a_checkpoint_cleanly(
    sqlite_log: Engine, audit_key: Ed25519PrivateKey
) -> None:
    """create_checkpoint reads the stored leaf hashes: one that is not a 32-byte hash is a
    LogIntegrityError naming its seq, not a TypeError, and nothing is signed."""
    with sqlite_log.begin() as connection:
        add(connection, 6)
    sql(sqlite_log, ENTRY.format("leaf_hash = 'abc'"))
    with (
        sqlite_log.begin() as connection,
        pytest.raises(log.LogIntegrityError, match=r"^audit entry seq 3: leaf_hash is not"),
    ):
        tree.create_checkpoint(connection, audit_key, ORIGIN, NOW)
    with sqlite_log.connect() as connection:
        assert len(tree.list_checkpoints(connection)) == 2


def test_details_that_are_not_json_on_either_database(
    engine: Engine, audit_key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    build(engine, audit_key)
    sql(engine, "UPDATE audit_entries SET details = 'not json' WHERE seq = 2")
    report = verify(engine, audit_key)
    assert [(p.kind, p.seq, p.message) for p in report.problems] == [
        ("column_type", 2, "audit entry seq 2: details is not a JSON object")
    ]
    assert (
        refusals(engine, tmp_path / "export")
        == ["audit entry seq 2: details is not a JSON object"] * 3
    )
