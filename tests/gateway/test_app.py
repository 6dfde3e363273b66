"""The app factory and the health route."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from gateway import context
from gateway.app import create_app
from gateway.settings import Settings
from tests.clock import OfficeClock


def test_nothing_is_created_before_create_app(tmp_path: Path) -> None:
    import gateway.app  # noqa: F401  (importing must not touch the data directory)

    assert list(tmp_path.iterdir()) == []


def test_health_says_needs_migration_before_init(client: FlaskClient) -> None:
    response = client.get("/health")
    assert response.status_code == 503
    assert response.get_json()["status"] == "needs-migration"


def test_health_ok_after_migration(engine: Engine, client: FlaskClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


def test_health_unavailable_when_database_cannot_open(tmp_path: Path) -> None:
    app = create_app(home=tmp_path, database_url=f"sqlite:///{tmp_path}/no/such/dir/x.db")
    response = app.test_client().get("/health")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert "no/such" not in response.get_data(as_text=True)


def test_the_app_reads_the_clock_it_is_given_and_the_real_one_by_default(
    app: Flask, clock: OfficeClock, settings: Settings
) -> None:
    later = clock.set(datetime(2027, 1, 4, 6, 30, tzinfo=UTC))
    assert app.extensions["pks_clock"]() == later  # the routes see the test's time, as set
    assert create_app(settings).extensions["pks_clock"] is context.now
