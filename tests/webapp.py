"""The web UI driven through Flask's test client against a real gateway home (tests/office.py):
staff with passwords, a logged-in client per member, and the CSRF token a page's form carries.

Shared by tests/web/ as fixtures (tests/web/conftest.py); no test module imports another.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from gateway.app import create_app
from gateway.cli import main
from gateway.settings import load_settings
from tests.clock import OfficeClock
from tests.office import Office

PASSWORD = "correct horse battery staple"
STAFF = ("admin", "kadis", "pf", "adb")
_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def give_passwords(office: Office, names: tuple[str, ...] = STAFF) -> None:
    """The first Admin's password by bootstrap, the others by that Admin."""
    for name in names:
        by = () if name == "admin" else ("--as", "admin")
        outcome = CliRunner().invoke(
            main,
            ["staff", "password", name, "--password-stdin", *by],
            input=PASSWORD + "\n",
            env=office.gateway.env,
        )
        assert outcome.exit_code == 0, outcome.output


def web_app(home: Path, clock: OfficeClock | None = None, **overrides: object) -> Flask:
    """The app of `home`, on an office clock set to the real time (what the CLI wrote its rows
    at) unless one is given."""
    settings = load_settings({"home": home, **overrides}, environ={})
    app = create_app(settings, clock=clock or OfficeClock(datetime.now(UTC)))
    app.config["TESTING"] = True
    return app


def csrf(page: TestResponse) -> str:
    found = _CSRF.search(page.get_data(as_text=True))
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def log_in(client: FlaskClient, name: str, password: str = PASSWORD) -> TestResponse:
    form = client.get("/login")
    return client.post(
        "/login", data={"name": name, "password": password, "csrf_token": csrf(form)}
    )


PDF = b"%PDF-1.4 a scanned letter"


def intake(client: FlaskClient, letter: bytes = PDF, **changes: str) -> tuple[int, str]:
    """Step 1 through the intake form as `client` (a Petugas ADB): (status, the new request's
    location, or the page when refused)."""
    form = client.get("/permohonan/baru")
    fields = {
        "csrf_token": csrf(form),
        "institution": "RSUD Panglima Sebaya",
        "letter_number": "445/12/RSUD/2026",
        "letter_date": "2026-12-01",
        "duration": "12",
        "purpose": "Verifikasi identitas pasien",
        "legal_basis": "UU 24/2013\nPermendagri 17/2023",
        "data_balikan": "laporan semester",
        "elements_text": "nik\nnama_lengkap",
        "access_mode": "bulk_delivery",
        **changes,
    }
    answer = client.post(
        "/permohonan/baru",
        data={**fields, "letter": (io.BytesIO(letter), "surat.pdf")},
        content_type="multipart/form-data",
    )
    return answer.status_code, answer.headers.get("Location", "") or answer.get_data(as_text=True)


def post(client: FlaskClient, path: str, **fields: object) -> int:
    """A step's form posted with the token of the page it is on; the status."""
    page = client.get(re.sub(r"/[a-z-]+$", "", path))
    data = {"csrf_token": csrf(page), **fields}
    return client.post(path, data=data, content_type="multipart/form-data").status_code
