"""Fixtures of the reading tests: the extraction tests' demo source (extraction.py beside)."""

from __future__ import annotations

import pytest

from tests.exports.reading.extraction import build


@pytest.fixture(scope="module")
def extraction_source(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of a SQLite demo source built by tests/exports/reading/extraction.py `build`, once a
    module; tests read it or copy it, never change it."""
    return build(f"sqlite:///{tmp_path_factory.mktemp('extract') / 'demo.db'}")
