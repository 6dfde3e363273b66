"""Exports verify with verify_export and with the recipe in docs/audit.md; edits do not."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine

from audit import tree
from audit.export import export_log, verify_export
from pks_partner.checkpoint import note_verifier
from tests.audit.logs import ORIGIN, add, fill
from tests.services import require_tool

DOC = Path(__file__).resolve().parents[2] / "docs" / "audit.md"
NOW = datetime(2025, 3, 4, tzinfo=UTC)


def doc_block(marker: str, language: str) -> str:
    text = DOC.read_text("utf-8")
    start = text.index(marker)
    match = re.compile(rf"```{language}\n(.*?)```", re.DOTALL).search(text, start)
    assert match is not None, f"docs/audit.md has no {language} block after {marker!r}"
    return match.group(1)


@pytest.fixture
def exported(engine: Engine, audit_key: Ed25519PrivateKey, tmp_path: Path) -> tuple[Path, str]:
    fill(engine, 7)
    with engine.begin() as connection:
        tree.create_checkpoint(connection, audit_key, ORIGIN, NOW)
    fill_more(engine)
    with engine.begin() as connection:
        tree.create_checkpoint(connection, audit_key, ORIGIN, NOW)
        key = note_verifier(ORIGIN, audit_key.public_key()).key_string
        summary = export_log(connection, tmp_path / "export", origin=ORIGIN, verifier_key=key)
    assert (summary.entries, summary.checkpoints) == (12, 2)
    return tmp_path / "export", key


def fill_more(engine: Engine) -> None:
    with engine.begin() as connection:
        for i in range(7, 12):
            add(connection, i)


def run_auditor_script(
    tmp_path: Path, directory: Path, key: str
) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "verify_audit_export.py"
    script.write_text(doc_block("<!-- auditor-script -->", "python"), "utf-8")
    return subprocess.run(
        [sys.executable, str(script), str(directory), key, ORIGIN],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_an_export_verifies_here_and_with_the_documented_recipe(
    exported: tuple[Path, str], tmp_path: Path
) -> None:
    directory, key = exported
    report = verify_export(directory, key, ORIGIN)
    assert report.ok, report.problems
    assert (report.tree_size, report.checkpoints_checked, report.unsigned_entries) == (12, 2, 0)
    manifest = json.loads((directory / "export.json").read_text())
    assert manifest["entries"] == 12 and len(manifest["checkpoints"]) == 2
    result = run_auditor_script(tmp_path, directory, key)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK: 12 entries; 2 checkpoints verified")


def test_an_edited_export_line_is_caught_by_both(
    exported: tuple[Path, str], tmp_path: Path
) -> None:
    directory, key = exported
    jsonl = directory / "entries.jsonl"
    lines = jsonl.read_bytes().splitlines(keepends=True)
    lines[3] = lines[3].replace(b'"outcome":"ok"', b'"outcome":"no"')
    jsonl.write_bytes(b"".join(lines))
    report = verify_export(directory, key, ORIGIN)
    assert (report.problems[0].kind, report.problems[0].seq) == ("export_mismatch", 3)
    assert "leaf_hash" in {p.kind for p in report.problems}
    result = run_auditor_script(tmp_path, directory, key)
    assert result.returncode == 1 and "before seq 7 differ" in result.stdout


def test_a_deleted_export_line_is_caught_by_both(
    exported: tuple[Path, str], tmp_path: Path
) -> None:
    directory, key = exported
    jsonl = directory / "entries.jsonl"
    lines = jsonl.read_bytes().splitlines(keepends=True)
    jsonl.write_bytes(b"".join(lines[:5] + lines[6:]))
    (directory / "entries.parquet").unlink()
    report = verify_export(directory, key, ORIGIN)
    kinds = [(p.kind, p.seq) for p in report.problems]
    assert kinds[0] == ("export_missing", None)
    assert ("misplaced_entry", 5) in kinds
    result = run_auditor_script(tmp_path, directory, key)
    assert result.returncode == 1 and "line 6 is not the entry with seq 5" in result.stdout


def test_an_edited_parquet_column_is_caught(exported: tuple[Path, str]) -> None:
    directory, key = exported
    table = pq.read_table(directory / "entries.parquet")
    actors = table.column("actor_id").to_pylist()
    actors[9] = "someone-else"
    index = table.schema.get_field_index("actor_id")
    table = table.set_column(index, table.schema.field(index), pa.array(actors, pa.string()))
    pq.write_table(table, directory / "entries.parquet")
    report = verify_export(directory, key, ORIGIN)
    assert (report.problems[0].kind, report.problems[0].seq) == ("column_mismatch", 9)


def test_a_replaced_checkpoint_file_is_caught_by_both(
    exported: tuple[Path, str], tmp_path: Path
) -> None:
    directory, key = exported
    path = sorted((directory / "checkpoints").iterdir())[0]
    path.write_text(path.read_text().replace("\n7\n", "\n6\n"))
    report = verify_export(directory, key, ORIGIN)
    assert report.problems[0].kind == "checkpoint_signature"
    result = run_auditor_script(tmp_path, directory, key)
    assert result.returncode == 1 and "is not signed by" in result.stdout


def test_another_key_is_refused_by_both(exported: tuple[Path, str], tmp_path: Path) -> None:
    directory, _ = exported
    stranger = note_verifier(ORIGIN, Ed25519PrivateKey.generate().public_key()).key_string
    assert verify_export(directory, stranger, ORIGIN).problems[0].kind == "checkpoint_key"
    assert run_auditor_script(tmp_path, directory, stranger).returncode == 1


def test_exports_go_only_into_an_empty_directory(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file").write_text("x")
    with engine.connect() as connection, pytest.raises(FileExistsError):
        export_log(connection, tmp_path / "busy", origin=ORIGIN)


def test_the_documented_openssl_recipe_checks_a_checkpoint(
    exported: tuple[Path, str], tmp_path: Path
) -> None:
    require_tool("openssl", "openssl")
    directory, key = exported
    recipe = doc_block("Without Python", "sh")
    checkpoint = sorted((directory / "checkpoints").iterdir())[-1]
    recipe = re.sub(r"^KEY=.*$", f"KEY='{key}'", recipe, flags=re.MULTILINE)
    recipe = re.sub(r"^CP=.*$", f"CP='{checkpoint}'", recipe, flags=re.MULTILINE)
    run = subprocess.run(
        ["bash", "-c", recipe], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0 and "Signature Verified Successfully" in run.stdout, run.stderr
    checkpoint.write_text(checkpoint.read_text().replace("\n12\n", "\n11\n"))
    run = subprocess.run(
        ["bash", "-c", recipe], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert run.returncode != 0
