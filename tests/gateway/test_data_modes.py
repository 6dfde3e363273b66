"""The data directory is private to the gateway's user whatever the umask: folders 0700, files
0600 (the metadata database and its WAL files, stored documents, keys, lock files), and `init`
tightens a data directory made before that, saying so."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from gateway import db
from gateway.services.delivery_recovery import held
from gateway.services.requests import attach
from tests.harness import invoke


@pytest.fixture(autouse=True)
def _permissive_umask() -> Iterator[None]:
    """The default umask of most systems, under which files are created world-readable."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def modes(root: Path) -> dict[str, int]:
    """Every path under `root` (and root itself as '.') with its permission bits."""
    found = {".": mode(root)}
    for folder, _folders, files in os.walk(root):
        for name in [*_folders, *files]:
            path = Path(folder) / name
            found[str(path.relative_to(root))] = mode(path)
    return found


def test_init_makes_everything_owner_only(tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = invoke(home, "init")
    assert result.exit_code == 0, result.output
    assert "modes tightened" not in result.output
    engine = db.metadata_engine(f"sqlite:///{home / 'gateway.db'}")
    try:
        with engine.begin() as connection:  # WAL mode: the -wal and -shm files exist meanwhile
            connection.execute(text("CREATE TABLE probe (x INTEGER)"))
            found = modes(home)
    finally:
        engine.dispose()
    assert {"gateway.db-wal", "gateway.db-shm", "keys/audit_ed25519.pub"} <= set(found)
    for folder in (".", "keys", "deliveries", "subjects", "documents", "work"):
        assert found.pop(folder) == 0o700, folder
    assert found and all(bits == 0o600 for bits in found.values()), found


def test_a_metadata_database_made_by_any_command_is_owner_only(tmp_path: Path) -> None:
    database = tmp_path / "elsewhere.db"
    engine = db.metadata_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    finally:
        engine.dispose()
    assert mode(database) == 0o600


def test_init_tightens_an_existing_data_directory_and_says_so(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert invoke(home, "init").exit_code == 0
    outside = tmp_path / "shared.txt"
    outside.write_text("not the gateway's")
    (home / "documents" / ("0" * 64)).write_bytes(b"%PDF")
    (home / "deliveries" / "bank").mkdir()
    (home / "link").symlink_to(outside)
    loose = [home, home / "gateway.db", home / "documents", home / "documents" / ("0" * 64)]
    loose += [home / "deliveries" / "bank", home / "keys" / "audit_ed25519.pub"]
    for path in loose:
        path.chmod(0o755 if path.is_dir() else 0o644)
    result = invoke(home, "init")
    assert result.exit_code == 0, result.output
    assert f"modes tightened  {len(loose)} existing path(s)" in result.output
    for path in loose:
        assert mode(path) == (0o700 if path.is_dir() else 0o600), path
    assert mode(outside) == 0o644  # a symbolic link is neither changed nor followed
    again = invoke(home, "init")
    assert "modes tightened" not in again.output


def test_documents_and_lock_files_are_owner_only(tmp_path: Path) -> None:
    documents = tmp_path / "home" / "documents"
    kept = attach("surat.pdf", b"%PDF-1.7", documents)
    assert mode(documents) == 0o700
    assert mode(documents / kept.sha256) == 0o600
    lock = tmp_path / "home" / "work" / "locks" / "d.lock"
    with held(lock):
        assert mode(lock) == 0o600
        assert mode(lock.parent) == 0o700
