"""What the schemathesis run over the API's document (test_openapi.py) found, each pinned here
on its own: a data balikan whose lines end in a lone CR (a spreadsheet's CSV export) or that the
csv module cannot read was a 500 with a traceback, now it is read, or refused with a 422 problem
that is audited; and a refusal the API chose itself (415, 413, 429) was logged as a failure of
the gateway, with a traceback, now it is not."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from gateway.app import create_app
from gateway.services import partner
from tests.harness import SHORT
from tests.office import Office

API = "/api/v1"


@pytest.fixture
def office(tmp_path: Path) -> Iterator[Office]:
    """A home on SQLite (what is tested here is the API's reading of a body, not a database)."""
    office = Office(tmp_path, {})
    try:
        yield office
    finally:
        office.engine.dispose()


def partner_client(office: Office) -> tuple[FlaskClient, dict[str, str]]:
    office.agree()
    token = str(office("token", "create", SHORT, "--as", "adb").stdout.strip())
    app = create_app(home=office.home, database_url=office.url)
    return app.test_client(), {"Authorization": f"Bearer {token}"}


def send(client: FlaskClient, bearer: dict[str, str], body: bytes) -> Any:
    headers = {**bearer, "Content-Type": "text/csv"}
    return client.post(f"{API}/reports/data-balikan", data=body, headers=headers)


NIKS = ["6401010101900001", "6401014101900002"]


def test_a_data_balikan_is_read_whatever_its_line_ends(office: Office) -> None:
    client, bearer = partner_client(office)
    for ending in ("\n", "\r\n", "\r"):
        body = ending.join(["nik", *NIKS, "bukan"]).encode() + ending.encode()
        receipt = send(client, bearer, body)
        assert receipt.status_code == 201, (repr(ending), receipt.status_code)
        assert (receipt.get_json()["rows"], receipt.get_json()["invalid_rows"]) == (3, 1)
    # A CR LF split across two reads of the stream is one line end, not two.
    padded = ("x" * (64 * 1024 - 1) + "\r\n" + NIKS[0] + "\n").encode()
    receipt = send(client, bearer, padded)
    assert receipt.status_code == 201
    assert (receipt.get_json()["rows"], receipt.get_json()["invalid_rows"]) == (2, 1)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b'"' + (b"x" * 1000 + b"\n") * 200, "not readable as CSV"),  # a quote never closed
        (b"x" * 200_000 + b"\n", "longer than 131,072 characters"),
        (NIKS[0].encode() + b"\n\xe2\x82", "not UTF-8"),  # cut inside a character
    ],
    ids=["unclosed-quote", "long-line", "truncated-utf8"],
)
def test_an_unreadable_data_balikan_is_a_422_problem_and_audited(
    office: Office, body: bytes, detail: str
) -> None:
    client, bearer = partner_client(office)
    refused = send(client, bearer, body)
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert detail in refused.get_json()["detail"]
    outcomes = [e["outcome"] for e in office.audit() if e["action"] == "report.received"]
    assert outcomes == ["refused"]


def test_a_refusal_the_api_chose_is_not_logged_as_a_failure(
    office: Office, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, bearer = partner_client(office)
    # The CLI that made the home set the root logger's handlers: listen on the API's own logger.
    routes_log = logging.getLogger("gateway.api.routes")
    routes_log.addHandler(caplog.handler)
    try:
        wrong = client.post(
            f"{API}/reports/semester",
            data=b"%PDF-1.7",
            headers={**bearer, "Content-Type": "text/plain"},
        )
        assert wrong.status_code == 415
        assert caplog.records == [], [r.getMessage() for r in caplog.records]
        # A failure inside the gateway still is logged, with its traceback.
        monkeypatch.setattr(partner, "agreement_view", _broken)
        assert client.get(f"{API}/agreements", headers=bearer).status_code == 500
        [logged] = caplog.records
        assert logged.levelno == logging.ERROR and logged.exc_info is not None
    finally:
        routes_log.removeHandler(caplog.handler)


def _broken(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("a bug")
