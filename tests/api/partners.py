"""A partner's view of a gateway home through the partner API, for the tests in tests/api/
(their fixtures, conftest.py beside, build the homes): `Partner` (a token and a test client of the
app), `issue` (a token through the CLI), and checks of a problem body and of a manifest."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, event
from werkzeug.test import TestResponse

from gateway.app import create_app
from tests.office import Office

API = "/api/v1"
OWN = "(the partner's own token)"


class Partner:
    """One partner's view of a gateway home: its token and a test client of the app."""

    def __init__(self, office: Office, token: str, **settings: Any) -> None:
        self.office = office
        self.token = token
        self.app: Flask = create_app(home=office.home, database_url=office.url, **settings)
        self.client: FlaskClient = self.app.test_client()

    @property
    def prefix(self) -> str:
        return self.token[:12]

    def get(
        self, path: str, *, bearer: str | None = OWN, method: str = "GET", **headers: str
    ) -> TestResponse:
        """GET `path` (under /api/v1 unless absolute) with this partner's token, or `bearer`
        (None: no Authorization header), the body read and the response closed."""
        sent = {name.replace("_", "-"): value for name, value in headers.items()}
        if bearer is not None:
            sent.setdefault("Authorization", f"Bearer {self.token if bearer is OWN else bearer}")
        url = path if path.startswith("/") else f"{API}/{path}"
        return self.client.open(url, method=method, headers=sent, buffered=True)

    def at(self, moment: datetime) -> None:
        """Let the app's clock say `moment` from now on."""
        self.app.extensions["pks_clock"] = lambda: moment

    def statements(self, path: str) -> tuple[TestResponse, list[str]]:
        """GET `path` as `get` does, and the SQL statements it ran on the metadata database
        (their text only, never their parameters): the work an answer costs, compared without a
        clock."""
        engine: Engine = self.app.extensions["pks_engine"]
        ran: list[str] = []

        def record(*args: Any) -> None:
            ran.append(str(args[2]))  # (connection, cursor, statement, parameters, …)

        event.listen(engine, "before_cursor_execute", record)
        try:
            response = self.get(path)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        return response, ran

    def delivery_ids(self) -> list[str]:
        return [item["id"] for item in self.get("deliveries").get_json()["items"]]

    def refusals(self) -> list[dict[str, Any]]:
        return [e for e in self.office.audit() if e["outcome"] == "refused"]


def issue(office: Office, *args: str) -> str:
    return str(office("token", "create", *args, "--as", "adb").stdout.strip())


def with_quota(scope: str, quota: int) -> str:
    return re.sub(r"\nquota = \d+", f"\nquota = {quota}", scope)


def problem_of(response: TestResponse) -> dict[str, Any]:
    """The RFC 9457 body, after checking its media type and its pinned shape."""
    assert response.mimetype == "application/problem+json", response.data
    body = response.get_json(force=True)
    assert set(body) == {"type", "title", "status", "detail", "code"}, body
    assert body["status"] == response.status_code
    assert "Traceback" not in response.get_data(as_text=True)
    return dict(body)


def manifest_of(office: Office, delivery_id: str) -> dict[str, Any]:
    path = next(Path(office.home, "deliveries").rglob(f"{delivery_id}.manifest.json"))
    return dict(json.loads(path.read_bytes()))
