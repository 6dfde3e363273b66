"""Fixtures of the web UI tests: one gateway home with a signed agreement and staff who have
passwords (`web_office`), and its app (`web`) served by Flask's test client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask

from tests.clock import OfficeClock
from tests.office import Office
from tests.webapp import STAFF, give_passwords, web_app


@pytest.fixture
def web_office(tmp_path: Path) -> Iterator[Office]:
    """A home on SQLite (the adversarial suite runs the trust rules on PostgreSQL too)."""
    office = Office(tmp_path, {})
    office.agree()
    office("staff", "add", "kepatuhan", "--role", "compliance", "--as", "admin")
    office("staff", "add", "kabid", "--role", "kepala_bidang", "--as", "admin")
    give_passwords(office, (*STAFF, "kepatuhan", "kabid"))
    yield office
    office.engine.dispose()


@pytest.fixture
def web_clock() -> OfficeClock:
    """The web app's clock: the real time, until a test moves it."""
    return OfficeClock(datetime.now(UTC))


@pytest.fixture
def web(web_office: Office, web_clock: OfficeClock) -> Iterator[Flask]:
    app = web_app(web_office.home, web_clock)
    yield app
    app.extensions["pks_engine"].dispose()
