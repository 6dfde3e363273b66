"""Every error of the partner API is one RFC 9457 problem shape, from the error table, with no
stack trace: refusals, unknown routes, wrong methods, bad parameters, ids with path tricks, and a
failure inside the gateway. Plus the parts of a request the API reads (bearer token, caller
address) and the setting that says how many proxies to believe."""

from __future__ import annotations

import json

import pytest
from werkzeug.datastructures import Headers

from gateway import errors
from gateway.api.callers import MalformedAuthorization, bearer_token, client_address
from gateway.api.problems import PROBLEM_JSON
from gateway.services import partner as partner_service
from gateway.settings import SettingsError, load_settings
from tests.api.partners import Partner, problem_of


def test_the_problem_shape_is_pinned(served: Partner) -> None:
    delivery_id = served.delivery_ids()[0]
    cases = {
        "/api/v1/agreements": (401, "unauthenticated", None),
        "/api/v1/no-such-route": (404, "not_found", "own"),
        "/api/v1/deliveries/x": (404, "not_found", "own"),
        "/api/v1/deliveries?page=0": (400, "usage", "own"),
    }
    for path, (status, code, bearer) in cases.items():
        response = served.get(path, bearer=None if bearer is None else served.token)
        body = problem_of(response)
        assert (body["status"], body["code"]) == (status, code), path
        kind = next(k for k in (*errors.KINDS, *_http_kinds()) if k.code == code)
        assert body["type"] == kind.problem_type and body["title"] == kind.title
        assert response.headers["Cache-Control"] == "no-store"
    posted = served.get("agreements", method="POST")
    body = problem_of(posted)
    assert body == {
        "type": "about:blank",
        "title": "Method Not Allowed",
        "status": 405,
        "detail": "this resource does not take this method (see the Allow header)",
        "code": "method_not_allowed",
    }
    assert "GET" in posted.headers["Allow"]
    deleted = served.get(f"deliveries/{delivery_id}/file", method="DELETE")
    assert problem_of(deleted)["status"] == 405
    # Outside /api/ the application answers as before (no problem+json on /health's neighbours).
    outside = served.client.get("/no-such-page")
    assert outside.status_code == 404 and outside.mimetype != PROBLEM_JSON


def _http_kinds() -> tuple[errors.ErrorKind, ...]:
    from gateway.api.problems import INTERNAL, UNAUTHENTICATED

    return (UNAUTHENTICATED, INTERNAL)


def test_a_failure_inside_the_gateway_is_a_problem_without_its_text_or_trace(
    served: Partner, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("driver said: value 6401234567890001 in column nik")

    monkeypatch.setattr(partner_service, "agreement_view", broken)
    response = served.get("agreements")
    body = problem_of(response)
    assert body["status"] == 500 and body["code"] == "internal"
    text = response.get_data(as_text=True)
    assert "6401234567890001" not in text and "RuntimeError" not in text and "driver" not in text


@pytest.mark.parametrize(
    "trick",
    [
        "..",
        "%2e%2e",
        "%00",
        "bank-kaltimtara-2026-20261203-abcdef%00",
        "bank-kaltimtara-2026-20261203-abcdef%0a",
        "..%5c..%5ckeys",
        "bank-k\u0430ltimtara-2026-20261203-abcdef",  # a Cyrillic а
        "bank-kaltimtara-2026-\uff12\uff10\uff12\uff16\uff11\uff12\uff10\uff13-abcdef",  # fullwidth
        "BANK-KALTIMTARA-2026-20261203-ABCDEF",
        "%252e%252e",
    ],
)
def test_ids_with_path_tricks_are_answered_as_any_unknown_id(served: Partner, trick: str) -> None:
    unknown = served.get("deliveries/bank-kaltimtara-2026-20260101-abcdef")
    for suffix in ("", "/file", "/manifest"):
        response = served.get(f"deliveries/{trick}{suffix}")
        assert response.status_code == 404, (trick, suffix)
        assert response.data == unknown.data
    refusal = served.refusals()[-1]
    assert refusal["action"] in ("token.use", "delivery.download")
    assert "\x00" not in json.dumps(refusal)


@pytest.mark.parametrize("trick", ["a%2f..%2f..%2fkeys", "..%2fmanifest", "%2e%2e/%2e%2e/keys"])
def test_slashes_in_ids_reach_no_route(served: Partner, trick: str) -> None:
    response = served.get(f"deliveries/{trick}/file")
    body = problem_of(response)
    assert body["status"] == 404 and body["code"] == "not_found"
    assert b"keys" not in response.data


def test_the_bearer_token_is_read_strictly() -> None:
    assert bearer_token(Headers()) is None
    assert bearer_token(Headers({"Authorization": "Bearer pks_x"})) == "pks_x"
    assert bearer_token(Headers({"Authorization": "bearer  pks_x "})) == "pks_x"
    for value in ("Basic abc", "Bearer", "Bearer a b", "Bearer " + "x" * 201, "Bearer p\u00e9"):
        with pytest.raises(MalformedAuthorization):
            bearer_token(Headers({"Authorization": value}))


def test_the_caller_is_the_address_the_outermost_trusted_proxy_saw() -> None:
    environ = {"REMOTE_ADDR": "192.0.2.9", "HTTP_X_FORWARDED_FOR": "10.0.0.1, 198.51.100.7"}
    assert client_address(environ, 0) == "192.0.2.9"
    assert client_address(environ, 1) == "198.51.100.7"
    assert client_address(environ, 2) == "10.0.0.1"
    assert client_address(environ, 3) is None  # fewer addresses than trusted proxies
    assert client_address({"REMOTE_ADDR": "not an address"}, 0) is None
    assert client_address({"HTTP_X_FORWARDED_FOR": "[2001:db8::1]"}, 1) == "2001:db8::1"


def test_trusted_proxy_hops_is_a_small_whole_number() -> None:
    assert load_settings({"trusted_proxy_hops": 2}, environ={}).trusted_proxy_hops == 2
    env = {"PKS_GATEWAY_TRUSTED_PROXY_HOPS": "1"}
    assert load_settings(environ=env).trusted_proxy_hops == 1
    for wrong in (11, "many"):
        with pytest.raises(SettingsError, match="trusted_proxy_hops"):
            load_settings({"trusted_proxy_hops": wrong}, environ={})


def test_a_missing_token_key_is_unavailable_not_a_refusal(
    served: Partner, caplog: pytest.LogCaptureFixture
) -> None:
    key = served.office.home / "keys" / "token.key"
    moved = key.with_name("token.key.away")
    key.rename(moved)
    try:
        response = served.get("agreements")
    finally:
        moved.rename(key)
    body = problem_of(response)
    assert body["status"] == 503 and body["code"] == "unavailable"
    assert "token.key" not in response.get_data(as_text=True)  # no path reaches the partner
    assert "token.key" in caplog.text  # the operator learns which file
    assert served.get("agreements").status_code == 200
