"""The Alembic migrations build exactly the tables the code defines, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, text

from gateway import db
from gateway.models import metadata
from tests.services import postgres_url


def assert_no_drift(engine: Engine) -> None:
    db.upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == [], f"models and migrations disagree: {differences}"
    assert db.current_revision(engine) == db.head_revision(engine)


def test_sqlite_schema_matches_models(tmp_path: Path) -> None:
    engine = db.metadata_engine(f"sqlite:///{tmp_path / 'gateway.db'}")
    assert_no_drift(engine)
    db.upgrade(engine)  # a second run is a no-op
    assert db.current_revision(engine) == db.head_revision(engine)


@pytest.fixture
def postgres_database() -> Iterator[str]:
    url = postgres_url()
    name = f"pks_migrations_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield str(admin.url.set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_postgres_schema_matches_models(postgres_database: str) -> None:
    engine = db.metadata_engine(postgres_database)
    try:
        assert_no_drift(engine)
    finally:
        engine.dispose()
