"""The gateway's keys: created once with mode 0600, never overwritten, usable by ssh-keygen."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gateway.keys import (
    KeyFileError,
    ensure_keys,
    load_pseudonym_secret,
    load_signing_key,
    private_key_path,
    public_key_line,
)
from tests.services import require_tool


def test_keys_are_created_private_and_never_overwritten(tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    first = ensure_keys(keys_dir)
    assert [k.created for k in first] == [True] * 5
    contents = {k.name: k.path.read_bytes() for k in first}
    for key in first:
        assert key.path.stat().st_mode & 0o777 == 0o600
    assert keys_dir.stat().st_mode & 0o777 == 0o700
    second = ensure_keys(keys_dir)
    assert [k.created for k in second] == [False] * 5
    assert {k.name: k.path.read_bytes() for k in second} == contents
    assert len(load_pseudonym_secret(keys_dir)) == 32


def test_public_line_matches_private_key(tmp_path: Path) -> None:
    ensure_keys(tmp_path)
    line = public_key_line(tmp_path, "audit")
    assert line.startswith("ssh-ed25519 ") and line.endswith(" pks-gateway-audit")
    assert (tmp_path / "audit_ed25519.pub").read_text().strip() == line
    assert public_key_line(tmp_path, "manifest") != line


def test_a_key_others_can_read_is_refused(tmp_path: Path) -> None:
    ensure_keys(tmp_path)
    path = private_key_path(tmp_path, "manifest")
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match="readable by others"):
        load_signing_key(tmp_path, "manifest")


def test_missing_and_malformed_keys_are_named(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="manifest_ed25519 is missing"):
        load_signing_key(tmp_path, "manifest")
    path = private_key_path(tmp_path, "audit")
    path.write_bytes(b"not a key")
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match="not an unencrypted OpenSSH private key"):
        load_signing_key(tmp_path, "audit")


def test_stock_ssh_keygen_reads_our_key(tmp_path: Path) -> None:
    ssh_keygen = require_tool("ssh-keygen", "openssh-client")
    ensure_keys(tmp_path)
    derived = subprocess.run(
        [ssh_keygen, "-y", "-f", str(private_key_path(tmp_path, "manifest"))],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    ours = public_key_line(tmp_path, "manifest").split()
    assert derived[:2] == ours[:2]
