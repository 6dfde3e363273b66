"""Fixtures of the gateway tests: the key material a service needs beside its database, and the
template home the delivery tests copy (tests/gateway/delivery_homes.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.keys import ensure_keys
from gateway.seals import SealStore
from tests.gateway.delivery_homes import build_template


@pytest.fixture
def seals(tmp_path: Path) -> SealStore:
    """A fresh keys directory's state key with its (empty) kept seals, as `init` leaves them."""
    keys_dir = tmp_path / "keys"
    ensure_keys(keys_dir)
    store = SealStore(keys_dir)
    store.replace_all({})
    return store


@pytest.fixture(scope="session")
def delivery_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Staff, signer key, a demo source and a partner key, built once for the whole run: tests
    never change it, they work on a copy (tests/gateway/delivery_homes.py copy_home)."""
    return build_template(tmp_path_factory.mktemp("delivery-template"))
