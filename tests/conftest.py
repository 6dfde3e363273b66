"""Fixtures shared by every test package: isolated settings and a data directory per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's own PKS_GATEWAY_* variables must not leak into tests.
    import os

    for name in list(os.environ):
        if name.startswith("PKS_GATEWAY_"):
            monkeypatch.delenv(name)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings({"home": tmp_path / "home"}, environ={})
