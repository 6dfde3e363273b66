"""The app factory and the health route."""

from __future__ import annotations

from pathlib import Path

from gateway import db
from gateway.app import create_app
from gateway.settings import Settings


def test_nothing_is_created_before_create_app(tmp_path: Path) -> None:
    import gateway.app  # noqa: F401  (importing must not touch the data directory)

    assert list(tmp_path.iterdir()) == []


def test_health_says_needs_migration_before_init(settings: Settings) -> None:
    settings.home.mkdir(parents=True)
    response = create_app(settings).test_client().get("/health")
    assert response.status_code == 503
    assert response.get_json()["status"] == "needs-migration"


def test_health_ok_after_migration(settings: Settings) -> None:
    settings.home.mkdir(parents=True)
    db.upgrade(db.metadata_engine(settings.metadata_url))
    response = create_app(settings).test_client().get("/health")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


def test_health_unavailable_when_database_cannot_open(tmp_path: Path) -> None:
    app = create_app(home=tmp_path, database_url=f"sqlite:///{tmp_path}/no/such/dir/x.db")
    response = app.test_client().get("/health")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert "no/such" not in response.get_data(as_text=True)
