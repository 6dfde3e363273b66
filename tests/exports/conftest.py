"""Exports fixtures: the extraction tests' demo source (tests/exports/extraction.py)."""

from __future__ import annotations

import pytest

from tests.exports.extraction import build


@pytest.fixture(scope="module")
def extraction_source(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of a SQLite demo source built by tests/exports/extraction.py `build`, once a
    module; tests read it or copy it, never change it."""
    return build(f"sqlite:///{tmp_path_factory.mktemp('extract') / 'demo.db'}")
