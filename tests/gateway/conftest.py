"""Fixtures of the gateway tests: the key material a service needs beside its database."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.keys import ensure_keys
from gateway.seals import SealStore


@pytest.fixture
def seals(tmp_path: Path) -> SealStore:
    """A fresh keys directory's state key with its (empty) kept seals, as `init` leaves them."""
    keys_dir = tmp_path / "keys"
    ensure_keys(keys_dir)
    store = SealStore(keys_dir)
    store.replace_all({})
    return store
