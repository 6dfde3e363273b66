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


def test_0004_links_each_version_to_the_request_that_drafted_it(tmp_path: Path) -> None:
    """Version 1 drafted through request 1 keeps that request; version 2, imported on paper
    later (the old per-agreement link still naming request 1), gets none."""
    from alembic import command

    engine = db.metadata_engine(f"sqlite:///{tmp_path / 'gateway.db'}")
    command.upgrade(db.alembic_config(engine), "0003_deliveries")
    drafted, imported = "2026-11-02 01:00:00.000000", "2026-11-20 01:00:00.000000"
    statements = [
        "INSERT INTO requests (id, institution, letter_number, letter_date, facts, "
        "duration_months, received_at, status) VALUES (1, 'i', 'n', '2026-11-01', '{}', 12, "
        f"'{drafted}', 'signed')",
        "INSERT INTO request_events (request_id, transition, actor, role, at, notes, documents) "
        f"VALUES (1, 'draft', 'pf', 'pejabat_fungsional', '{drafted}', '', '[]')",
        "INSERT INTO agreements (id, short_id, number, institution, request_id) "
        "VALUES (1, 'a', 'n', 'i', 1)",
    ]
    for version, at in ((1, drafted), (2, imported)):
        statements.append(
            "INSERT INTO agreement_versions (agreement_id, version, identity_json, scope_json, "
            f"scope_hash, status, created_at) VALUES (1, {version}, '{{}}', '{{}}', 'h', "
            f"'active', '{at}')"
        )
        statements.append(
            "INSERT INTO agreement_events (agreement_id, version, action, actor, role, at, notes) "
            f"VALUES (1, {version}, 'draft', 'pf', 'pejabat_fungsional', '{at}', '')"
        )
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))
    db.upgrade(engine)
    with engine.connect() as connection:
        links = connection.execute(
            text("SELECT version, request_id FROM agreement_versions ORDER BY version")
        ).all()
        columns = [row[1] for row in connection.execute(text("PRAGMA table_info(agreements)"))]
    assert [tuple(row) for row in links] == [(1, 1), (2, None)]
    assert "request_id" not in columns
    engine.dispose()


def test_the_head_the_gateway_checks_against_is_alembics(tmp_path: Path) -> None:
    engine = db.metadata_engine(f"sqlite:///{tmp_path / 'gateway.db'}")
    assert db.head_revision(engine) == db.HEAD_REVISION
    assert db.current_revision(engine) is None and not db.is_current(engine)
    db.upgrade(engine)
    assert db.current_revision(engine) == db.HEAD_REVISION and db.is_current(engine)
    engine.dispose()
