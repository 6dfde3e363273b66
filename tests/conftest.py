"""Fixtures shared by every test package: isolated settings and a data directory per test; for
services and HTTP routes without click, the metadata `engine`, a fixed office `clock`, the Flask
`app` and its test `client`, all on the test's settings; a gateway home set up through the CLI;
and the adversarial suite's office."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine

from gateway import db
from gateway.app import create_app
from gateway.settings import Settings, load_settings
from tests.clock import OfficeClock
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
    """The defaults with the data directory at tmp_path/home (not created), no environment."""
    return load_settings({"home": tmp_path / "home"}, environ={})


@pytest.fixture
def clock() -> OfficeClock:
    """The office clock, fixed at tests/clock.py START until the test sets or advances it."""
    return OfficeClock()


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    """The metadata database of `settings` (SQLite in its home), migrated to the newest schema,
    with no staff, keys or rows: what a service needs, without `init` or the CLI. (The audit
    tests' own `engine`, tests/audit/conftest.py, holds the audit tables only.)"""
    settings.home.mkdir(parents=True, exist_ok=True)
    engine = db.metadata_engine(settings.metadata_url)
    db.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def app(settings: Settings, clock: OfficeClock) -> Iterator[Flask]:
    """gateway.app.create_app on `settings` and `clock`. Its database is `engine`'s: ask for
    `engine` too for a migrated one, as `init` leaves it."""
    settings.home.mkdir(parents=True, exist_ok=True)
    app = create_app(settings, clock=clock)
    app.config["TESTING"] = True
    yield app
    app.extensions["pks_engine"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """The app's test client: HTTP requests without a server."""
    return app.test_client()


@pytest.fixture
def gateway(tmp_path: Path) -> Gateway:
    """A data directory set up by `init` in tmp_path/home: staff admin, kadis, pf and adb, and
    kadis's ssh-keygen key (tmp_path/kadis) as a signer (tests/harness.py `setup_gateway`)."""
    return setup_gateway(tmp_path)


# The PostgreSQL twin of a test is slow (a scratch database and `init` on it, about a second);
# its SQLite twin stays in a developer's `-m "not slow"` run.
@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.slow])]
)
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
