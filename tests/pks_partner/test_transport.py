"""The client's HTTP: the token goes to the gateway's API and nowhere else, every error answer is
one line from its RFC 9457 problem, listings are read page by page, and the answers are checked
for the shape the partner API promises (docs/api.md)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from pks_partner.client import Client
from pks_partner.errors import ApiError, PartnerError, TransportError
from pks_partner.transport import Api, gateway_origin
from tests.pks_partner.fake_gateway import (
    DELIVERY,
    ELEMENTS,
    SHORT,
    TOKEN,
    FakeGateway,
    Knobs,
    make_delivery,
)


def test_the_agreement_and_every_page_of_deliveries(client: Client, gateway: FakeGateway) -> None:
    [agreement] = client.agreements()
    assert (agreement.short_id, agreement.elements) == (SHORT, ELEMENTS)
    deliveries = client.deliveries()
    assert len(deliveries) == 250 and deliveries[0].id == DELIVERY
    assert client.newest().id == DELIVERY
    pages = [path for _, path, _ in gateway.knobs.seen if path.startswith("/api/v1/deliveries?")]
    assert len([p for p in pages if "per_page=100" in p]) >= 3
    sent = {headers["Authorization"] for _, _, headers in gateway.knobs.seen}
    assert sent == {f"Bearer {TOKEN}"}


def test_an_error_answer_is_its_problem_in_one_line(gateway: FakeGateway) -> None:
    client = Client(gateway.url, "pks_wrong000_" + "B" * 43)
    with pytest.raises(ApiError) as caught:
        client.agreements()
    assert caught.value.status == 401
    assert str(caught.value) == (
        "the gateway answered 401 Not authenticated: a valid partner token is needed"
    )
    assert "pks_wrong000" not in str(caught.value)
    with pytest.raises(ApiError, match="404 Not found: no such delivery for this token"):
        Client(gateway.url, TOKEN).delivery("bank-uji-2026-20000101-000000")


def test_a_redirect_is_not_followed_so_the_token_stays_home(knobs: Knobs) -> None:
    elsewhere: list[dict[str, Any]] = []

    class Catcher(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            elsewhere.append(dict(self.headers.items()))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    catcher = ThreadingHTTPServer(("127.0.0.1", 0), Catcher)
    threading.Thread(target=catcher.serve_forever, daemon=True).start()
    try:
        knobs.redirect_to = f"http://127.0.0.1:{catcher.server_address[1]}/steal"
        with (
            FakeGateway(make_delivery(), knobs) as gateway,
            pytest.raises(ApiError, match="302 Found: the gateway redirects"),
        ):
            Client(gateway.url, TOKEN).agreements()
    finally:
        catcher.shutdown()
        catcher.server_close()
    assert elsewhere == []


def test_plain_http_is_refused_off_this_machine_unless_allowed() -> None:
    with pytest.raises(PartnerError, match="plain HTTP, which would show the token"):
        Api("http://gateway.example", TOKEN)
    Api("http://gateway.example", TOKEN, allow_http=True)
    for local in ("http://127.0.0.1:8080", "http://localhost", "http://[::1]:9"):
        Api(local, TOKEN)
    assert Api("https://Gateway.Example:443/pks/api/v1/", TOKEN).base == (
        "https://gateway.example/pks/api/v1/"
    )


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://GW.example/", "https://gw.example"),
        ("https://gw.example:8443/x", "https://gw.example:8443"),
        ("http://127.0.0.1:80", "http://127.0.0.1"),
        ("http://[::1]:8080/api/v1", "http://[::1]:8080"),
    ],
)
def test_a_gateway_is_named_by_its_origin(url: str, origin: str) -> None:
    assert gateway_origin(url) == origin


@pytest.mark.parametrize("url", ["ftp://gw.example", "gw.example", "https://", "https://h:99999"])
def test_a_url_that_is_no_gateway_is_refused(url: str) -> None:
    with pytest.raises(PartnerError):
        gateway_origin(url)


@pytest.mark.parametrize("token", ["", "has space", "pks_ünïcode"])
def test_an_unusable_token_is_refused_without_being_shown(token: str) -> None:
    with pytest.raises(PartnerError) as caught:
        Api("https://gw.example", token)
    assert token not in str(caught.value) or not token


def test_an_unreachable_gateway_is_one_line() -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as closed:
        port = closed.server_address[1]
    with pytest.raises(TransportError, match=rf"cannot reach http://127.0.0.1:{port}"):
        Client(f"http://127.0.0.1:{port}", TOKEN, timeout=5).agreements()
