"""Fixtures shared by every test package: isolated settings and a data directory per test, a
gateway home set up through the CLI, and the adversarial suite's office."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from gateway.settings import Settings, load_settings
from tests.harness import Gateway, setup_gateway
from tests.office import Office
from tests.services import postgres_url, scratch_database

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

# No per-example deadline anywhere: a test must not depend on how busy the machine is (a loaded CI
# box made a 0.4 ms example take 400 ms once). Tests that set their own settings keep them.
hypothesis_settings.register_profile("pks", deadline=None)
hypothesis_settings.load_profile("pks")


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


@pytest.fixture
def gateway(tmp_path: Path) -> Gateway:
    """A data directory set up by `init` in tmp_path/home: staff admin, kadis, pf and adb, and
    kadis's ssh-keygen key (tmp_path/kadis) as a signer (tests/harness.py `setup_gateway`)."""
    return setup_gateway(tmp_path)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def metadata_env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """The metadata database: the embedded SQLite file, or a scratch PostgreSQL database."""
    if request.param == "sqlite":
        yield {}
        return
    with scratch_database(postgres_url(), "pks_adversarial") as url:
        yield {"PKS_GATEWAY_DATABASE_URL": url}


@pytest.fixture
def office(tmp_path: Path, metadata_env: dict[str, str]) -> Iterator[Office]:
    office = Office(tmp_path, metadata_env)
    try:
        yield office
    finally:
        office.engine.dispose()
