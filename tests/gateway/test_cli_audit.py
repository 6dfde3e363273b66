"""`pks-gateway audit …` end to end on a real metadata database, including tampering with it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.harness import invoke


@pytest.fixture
def home(tmp_path: Path) -> Path:
    result = invoke(tmp_path, "init")  # writes five key.created entries and seals.created
    assert result.exit_code == 0, result.output
    return tmp_path


def test_init_records_key_creation(home: Path) -> None:
    result = invoke(home, "audit", "list", "--json")
    rows = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert [(r["action"], r["object_id"]) for r in rows] == [
        ("key.created", "manifest"),
        ("key.created", "audit"),
        ("key.created", "pseudonym"),
        ("key.created", "state"),
        ("key.created", "token"),
        ("seals.created", "state"),
    ]
    assert rows[0]["time"].endswith("+08:00")  # shown in WITA
    again = invoke(home, "init")
    assert again.exit_code == 0
    assert "(6 entries)" in invoke(home, "audit", "list").output


def test_list_filters_and_pages(home: Path) -> None:
    only_audit = invoke(home, "audit", "list", "--json", "--object-id", "audit")
    assert only_audit.output.count('"seq"') == 1
    page_three = invoke(home, "audit", "list", "--csv", "--limit", "2", "--page", "3")
    lines = [line for line in page_three.output.splitlines() if line and line[0].isdigit()]
    assert len(lines) == 2 and lines[0].startswith("4,")
    assert "page 3 of 3 (6 entries)" in page_three.output


def test_checkpoint_verify_and_prove(home: Path, tmp_path: Path) -> None:
    kept = tmp_path / "kept.checkpoint"
    made = invoke(home, "audit", "checkpoint", "--out", str(kept))
    assert made.exit_code == 0, made.output
    assert kept.read_text().startswith("paserkab.go.id/pks-gateway/audit\n6\n")
    verified = invoke(home, "audit", "verify", "--checkpoint", str(kept))
    assert verified.exit_code == 0, verified.output
    assert "audit log verifies" in verified.output
    proof = invoke(home, "audit", "prove", "--entry", "1")
    assert proof.exit_code == 0
    assert proof.output.startswith("c2sp.org/tlog-proof@v1\nindex 1\n")
    consistency = invoke(home, "audit", "prove", "--from", "1")
    assert consistency.output.startswith("consistency 1 6\n")
    assert invoke(home, "audit", "prove").exit_code == 2
    assert invoke(home, "audit", "prove", "--entry", "7").exit_code == 1


@pytest.mark.parametrize(
    ("tamper", "kind"),
    [
        ("UPDATE audit_entries SET action = 'key.deleted' WHERE seq = 1", "seq 1"),
        ("DELETE FROM audit_entries WHERE seq = 1", "seq 1"),
        ("DELETE FROM audit_entries WHERE seq = 2", "seq 2"),
    ],
)
def test_tampering_in_the_database_fails_verify(home: Path, tamper: str, kind: str) -> None:
    assert invoke(home, "audit", "checkpoint").exit_code == 0
    with sqlite3.connect(home / "gateway.db") as connection:
        connection.execute(tamper)
    result = invoke(home, "audit", "verify")
    assert result.exit_code == 1
    assert "does NOT verify" in result.output
    assert kind in result.output


def test_export_and_verify_export(home: Path, tmp_path: Path) -> None:
    invoke(home, "audit", "checkpoint")
    target = tmp_path / "export"
    exported = invoke(home, "audit", "export", str(target))
    assert exported.exit_code == 0, exported.output
    assert (target / "entries.jsonl").read_bytes().count(b"\n") == 6
    assert invoke(home, "audit", "verify-export", str(target)).exit_code == 0
    lines = (target / "entries.jsonl").read_bytes().splitlines(keepends=True)
    (target / "entries.jsonl").write_bytes(lines[0] + lines[2] + lines[1])
    assert invoke(home, "audit", "verify-export", str(target)).exit_code == 1
    assert invoke(home, "audit", "export", str(target)).exit_code == 6  # not empty: refused


def test_audit_before_init_says_what_to_do(tmp_path: Path) -> None:
    result = invoke(tmp_path / "fresh", "audit", "verify")
    assert result.exit_code == 7  # unavailable: not set up
    assert "pks-gateway init" in result.output


@pytest.mark.parametrize(
    ("tamper", "named"),
    [
        ("UPDATE audit_entries SET leaf = CAST(leaf AS TEXT) WHERE seq = 1", "seq 1: leaf"),
        ("UPDATE audit_entries SET created_at = 'yesterday' WHERE seq = 2", "seq 2: created_at"),
        ("UPDATE audit_entries SET details = 'not json' WHERE seq = 0", "seq 0: details"),
        ("UPDATE audit_checkpoints SET tree_size = 'many'", "checkpoint 1: tree_size"),
        ("UPDATE audit_head SET tree_size = 'unknown'", "the audit head: tree_size"),
    ],
)
def test_values_of_the_wrong_type_fail_verify_and_stop_checkpoint_and_export(
    home: Path, tmp_path: Path, tamper: str, named: str
) -> None:
    assert invoke(home, "audit", "checkpoint").exit_code == 0
    assert invoke(home, "staff", "add", "admin", "--role", "admin").exit_code == 0  # entry 3
    with sqlite3.connect(home / "gateway.db") as connection:
        connection.execute(tamper)
    verified = invoke(home, "audit", "verify")
    assert verified.exit_code == 1
    assert "PROBLEM column_type" in verified.output and named in verified.output
    assert "does NOT verify" in verified.output

    signed = invoke(home, "audit", "checkpoint")  # the log grew: it would sign size 4
    assert signed.exit_code == 1
    [line] = signed.output.splitlines()
    assert line.startswith("Error: refusing to sign: ") and named in line
    with sqlite3.connect(home / "gateway.db") as connection:
        assert connection.execute("SELECT count(*) FROM audit_checkpoints").fetchone() == (1,)
    target = tmp_path / "export"
    exported = invoke(home, "audit", "export", str(target))
    assert exported.exit_code == 1
    [line] = exported.output.splitlines()
    assert line.startswith("Error: refusing to export: ") and named in line
    assert not target.exists()
    shown = verified.output + signed.output + exported.output
    assert not [value for value in ("many", "unknown", "yesterday", "not json") if value in shown]


def test_every_key_option_takes_the_key_as_text_or_as_a_file(home: Path, tmp_path: Path) -> None:
    invoke(home, "audit", "checkpoint")
    export = tmp_path / "export"
    invoke(home, "audit", "export", str(export))
    verifier = invoke(home, "keys", "public", "audit", "--verifier-key").output.strip()
    line = invoke(home, "keys", "public", "audit").output.strip()
    key_file = tmp_path / "verifier.txt"
    key_file.write_text(verifier + "\n", encoding="utf-8")
    for given in (verifier, str(key_file), line):
        result = invoke(home, "audit", "verify-export", str(export), "--verifier-key", given)
        assert result.exit_code == 0, result.output
    bad = invoke(home, "audit", "verify-export", str(export), "--verifier-key", "not a key")
    assert bad.exit_code == 3 and "Traceback" not in bad.output and "audit key" in bad.output


def test_office_times_are_taken_as_the_docs_write_them(home: Path) -> None:
    for written in ("2026-12-01 08:00", "2026-12-01T08:00", "2026-12-01 08:00:00", "2026-12-01"):
        result = invoke(home, "audit", "list", "--since", written, "--until", "2099-01-01 00:00")
        assert result.exit_code == 0, (written, result.output)
        assert "(6 entries)" in result.output
