"""The partner API's OpenAPI document (gateway/api/openapi.py) and its docs page
(gateway/api/docs.py): served without a token, a valid OpenAPI 3.1 document, describing exactly
the routes Flask serves under /api/v1; and a schemathesis run over every operation of the served
document against the real server finds every answer as documented (status, media type, headers,
body schema), no server error, requests without the token refused, bad input rejected.

The server is the app `create_app` builds, served by waitress (what `pks-gateway serve` runs) on
127.0.0.1 in a thread of this process: requests cross a real HTTP stack, and the test owns the
home and stops the server (docs/decisions/0008 says why not schemathesis' WSGI transport). The
home is the demo agreement granting NIK verification, signed, delivered once, with a token.

Failure messages name the operation, phase, status and check only: no body, no header (the
token), no value of the population.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from typing import Any

import pytest
import schemathesis
from flask import Flask
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.engine import events
from schemathesis.openapi.checks import JsonSchemaError

from gateway.api import openapi
from gateway.app import create_app
from tests.harness import SHORT
from tests.live import serve
from tests.office import Office, current_example

DOCUMENT = "/api/v1/openapi.json"
NIK_MODES = 'access_modes = ["bulk_delivery", "nik_verification"]'
# Examples per operation and phase, and the seed: every operation in well under two minutes on
# the two shared cores CI has. A deeper hunt: PKS_SCHEMATHESIS_EXAMPLES=500 PKS_SCHEMATHESIS_SEED=7.
EXAMPLES = int(os.environ.get("PKS_SCHEMATHESIS_EXAMPLES", "100"))
SEED = int(os.environ.get("PKS_SCHEMATHESIS_SEED", "20261203"))


@dataclass(frozen=True)
class Home:
    office: Office
    app: Flask
    token: str = field(repr=False)
    delivery_id: str
    job_id: str
    nik: str = field(repr=False)  # a person the agreement's filter selects (never printed)

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Home]:
    office = Office(tmp_path_factory.mktemp("openapi"), {})
    scope = current_example().replace('access_modes = ["bulk_delivery"]', NIK_MODES)
    office.agree(re.sub(r"\nquota = \d+", "\nquota = 3", scope))
    assert office.extract().exit_code == 0
    token = str(office("token", "create", SHORT, "--as", "adb").stdout.strip())
    # A rate no fuzzing run reaches: the 429 is tested in test_partner_requests.
    app = create_app(
        home=office.home, database_url=office.url, nik_verification_rate="100000/minute"
    )
    client = app.test_client()
    bearer = {"Authorization": f"Bearer {token}"}
    [delivery] = client.get("/api/v1/deliveries", headers=bearer).get_json()["items"]
    job = client.post("/api/v1/deliveries", headers=bearer).get_json()
    with sqlite3.connect(office.home / "demo-source.db") as source:
        (nik,) = source.execute(
            "SELECT NIK FROM BIODATA_WNI WHERE STAT_HIDUP = 1 AND FLAG_STATUS = '0' "
            "AND TGL_LHR BETWEEN '1950-01-01' AND '2000-01-01' ORDER BY NIK LIMIT 1"
        ).fetchone()
    try:
        yield Home(office, app, token, delivery["id"], job["id"], str(nik))
    finally:
        office.engine.dispose()


# --- the document --------------------------------------------------------------------------------
def test_the_document_is_served_without_a_token_and_is_valid_openapi_3_1(home: Home) -> None:
    client = home.app.test_client()
    served = client.get(DOCUMENT)
    assert served.status_code == 200 and served.mimetype == "application/json"
    spec = served.get_json()
    assert spec["openapi"] == "3.1.0"
    schemathesis.openapi.from_dict(spec).validate()  # the OpenAPI 3.1 meta-schema
    assert spec["components"]["securitySchemes"]["partnerToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["partnerToken"]["description"],
    }
    # Every refusal of every route with a token is the one problem shape, 401 with its challenge.
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            public = operation.get("security") == []
            assert public == (path in ("/openapi.json", "/docs", "/docs.css")), (method, path)
            for status, answer in operation["responses"].items():
                if status >= "400":
                    assert answer["content"] == {
                        "application/problem+json": {"schema": {"$ref": PROBLEM_REF}}
                    }, (method, path, status)
            if not public:
                assert "WWW-Authenticate" in operation["responses"]["401"]["headers"]


PROBLEM_REF = "#/components/schemas/Problem"


def test_every_api_route_is_documented_and_every_documented_one_exists(home: Home) -> None:
    assert openapi.check(home.app) == []
    spec = home.app.test_client().get(DOCUMENT).get_json()
    documented = {(m.upper(), p) for p, methods in spec["paths"].items() for m in methods}
    routed = {(r.method, r.path) for r in openapi.routes(home.app)}
    assert documented == routed
    # The URL map itself, read independently of `routes`: every /api/v1 rule and method.
    from_map = {
        (method, re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1")))
        for rule in home.app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    assert documented == from_map


def test_the_check_names_an_undocumented_route_and_an_unrouted_declaration(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(home=home.office.home, database_url=home.office.url)

    def extra() -> str:
        return "x"

    def forgotten() -> str:
        return "y"

    app.add_url_rule("/api/v1/extra/<thing>", "extra", extra)
    declared = openapi.Operation("x", "x", "Agreements", {200: openapi.Answer("x")})
    monkeypatch.setitem(openapi._OPERATIONS, forgotten, declared)
    mistakes = openapi.check(app)
    assert "GET /api/v1/extra/{thing}: not documented" in mistakes
    assert any(m.endswith("forgotten: documented, not routed") for m in mistakes)
    monkeypatch.setitem(openapi._OPERATIONS, extra, declared)  # without its path parameter
    assert "GET /api/v1/extra/{thing}: path parameters () declared, ('thing',) routed" in (
        openapi.check(app)
    )


# --- the docs page -------------------------------------------------------------------------------
class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.loads: list[str] = []  # what the page would fetch

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.add(str(found["id"]))
        if tag in ("link", "script", "img", "iframe") and (found.get("href") or found.get("src")):
            self.loads.append(str(found.get("href") or found.get("src")))


def test_the_docs_page_shows_every_endpoint_and_loads_only_the_gateways_own_files(
    home: Home,
) -> None:
    client = home.app.test_client()
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    html = page.get_data(as_text=True)
    parsed = _Page()
    parsed.feed(html)
    spec = client.get(DOCUMENT).get_json()
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            assert operation["operationId"] in parsed.ids, (method, path)
            assert f"<code>{path}</code>" in html
    assert {f"schema-{name}" for name in spec["components"]["schemas"]} <= parsed.ids
    assert parsed.loads == ["/api/v1/docs.css"]
    assert "<script" not in html and "<style" not in html and " style=" not in html
    css = client.get(parsed.loads[0])
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert "url(" not in css.get_data(as_text=True) and "@import" not in css.get_data(as_text=True)
    # The examples: a curl per endpoint, with the token for those that need one.
    shown = unescape(html)
    bearer = '-H "Authorization: Bearer $PKS_TOKEN"'
    assert f'curl -sS {bearer} "http://localhost/api/v1/agreements"' in shown
    assert (
        f'curl -sS {bearer} -o delivery.age "http://localhost/api/v1/deliveries/$DELIVERY_ID/file"'
        in (shown)
    )
    assert '-H \'Content-Type: application/json\' -d \'{"items": [{"nik"' in shown
    assert "--data-binary @laporan-semester.pdf" in shown
    assert 'curl -sS "http://localhost/api/v1/openapi.json"' in shown


# --- schemathesis ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(home: Home) -> Iterator[str]:
    """The app served by waitress (what `pks-gateway serve` runs) on 127.0.0.1, in a thread of
    this process (tests/live.py); its base URL."""
    with serve(home.app, name="openapi-waitress") as base:
        yield base


# Where a valid request by the schema may still break a rule no JSON Schema can state, the
# documented refusal counts as an answer to valid data too (schemathesis' positive-data check):
# - a consistency proof between sizes the log does not have (`from` > `to`, `to` beyond the
#   latest checkpoint): 400, as docs/api.md says;
# - a NIK of 16 digits whose region or date is not real, an element the agreement does not
#   grant: 422 naming the item;
# - a semester report that is not a PDF: 422;
# - a `Range` of bytes beyond the end of the file, whose size the schema cannot know: 416 (a
#   stricter `Range` schema would not do: a range of another unit is ignored, RFC 9110).
# And a data balikan is any text (non-NIK lines are counted as `invalid_rows` in the receipt),
# so there is no schema-violating body of `text/csv` to send: its body is generated valid only.
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429"]  # schemathesis' own, less 5xx
SEMANTIC_RULES = [
    {
        "include-operation-id": "consistency_proof",
        "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "400"]}},
    },
    {
        "include-operation-id-regex": "^(nik_verification|semester_report)$",
        "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "422"]}},
    },
    {
        "include-operation-id": "get_file",
        "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "416"]}},
    },
    {"include-operation-id": "data_balikan", "generation": {"mode": "positive"}},
]


@pytest.fixture(scope="module")
def api_schema(home: Home, server: str) -> Any:
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"max-examples": EXAMPLES, "database": "none"},
            "auth": {"openapi": {"partnerToken": {"bearer": home.token}}},
            "operations": SEMANTIC_RULES,
        }
    )
    loaded = schemathesis.openapi.from_url(server + DOCUMENT, config=config)

    @loaded.hook
    def map_headers(context: Any, headers: dict[str, Any] | None) -> dict[str, Any] | None:
        # Extra headers schemathesis adds to negative cases are any names; one that frames the
        # message (`Content-Length: 7` on a GET with no body) leaves the server waiting for
        # bytes that never come, which tests the client, not the API.
        if not headers:
            return headers
        return {k: v for k, v in headers.items() if k.lower() not in FRAMING}

    return loaded


FRAMING = {"content-length", "transfer-encoding", "connection", "host", "expect", "te", "upgrade"}


# The reports' bodies are sent as they are: bytes for the PDF, text for the CSV.
schemathesis.serializer.alias("application/pdf", "application/octet-stream")
schemathesis.serializer.alias("text/csv", "text/plain")


def test_real_resources_answer_as_documented(api_schema: Any, home: Home) -> None:
    """The answers fuzzing rarely reaches, each checked by the same schemathesis checks: a
    delivery, its manifest, signature and file (whole, a range, not modified, unsatisfiable),
    the agreement, the job, a NIK found, the reports, the audit log's proofs. Before the run
    below, which may send a PDF first."""
    operations = {op.ok().label: op.ok() for op in api_schema.get_all_operations()}

    def call(label: str, status: int, **parts: Any) -> Any:
        __tracebackhide__ = True  # pytest would show `parts`, which may hold a NIK
        response = _validated(operations[label].Case(**parts), headers=home.bearer)
        assert response.status_code == status, (label, response.status_code)
        return response

    delivery = {"delivery_id": home.delivery_id}
    call("GET /agreements", 200)
    call("GET /agreements/{short_id}", 200, path_parameters={"short_id": SHORT})
    call("GET /deliveries", 200, query={"page": 1, "per_page": 1})
    call("GET /deliveries/{delivery_id}", 200, path_parameters=delivery)
    call("GET /deliveries/{delivery_id}/manifest", 200, path_parameters=delivery)
    call("GET /deliveries/{delivery_id}/manifest.sig", 200, path_parameters=delivery)
    whole = call("GET /deliveries/{delivery_id}/file", 200, path_parameters=delivery)
    [etag] = whole.headers["etag"]
    part = {"Range": "bytes=10-19", "If-Range": etag}
    call("GET /deliveries/{delivery_id}/file", 206, path_parameters=delivery, headers=part)
    same = {"If-None-Match": etag}
    call("GET /deliveries/{delivery_id}/file", 304, path_parameters=delivery, headers=same)
    several = {"Range": "bytes=0-1,5-9"}
    call("GET /deliveries/{delivery_id}/file", 416, path_parameters=delivery, headers=several)
    call("GET /jobs/{job_id}", 200, path_parameters={"job_id": home.job_id})
    item = {"nik": home.nik, "fields": {"tanggal_lahir": "1970-01-01", "nama_lengkap": "x"}}
    found = call("POST /nik-verifications", 200, body={"items": [item]})
    assert found.json()["items"][0]["found"] is True
    pdf = {"Content-Type": "application/pdf"}
    call(
        "POST /reports/semester",
        201,
        body=b"%PDF-1.7 laporan",
        headers=pdf,
        media_type="application/pdf",
    )
    csv = {"Content-Type": "text/csv"}
    balikan = "nik\r\n6401010101900001\r\n"
    call("POST /reports/data-balikan", 201, body=balikan, headers=csv, media_type="text/csv")
    call("GET /audit/checkpoint", 200)
    call("GET /audit/consistency", 200, query={"from": 1})
    call("GET /docs", 200)
    call("GET /docs.css", 200)


def test_the_api_answers_as_its_document_says(api_schema: Any) -> None:
    """A schemathesis run over every operation of the served document, all its phases (the
    document's examples, coverage of boundaries and bad input, fuzzing, and stateful sequences
    along the document's links), with every check: no server error; statuses, media types,
    headers and bodies as documented; a request without the token refused; bad input rejected,
    valid input accepted."""
    failures: set[str] = set()
    answered: dict[str, Counter[int]] = {}
    for event in schemathesis.engine.from_schema(api_schema).execute():
        if isinstance(event, events.ScenarioFinished):
            failures |= _failures_of(event, answered)
        elif isinstance(event, events.NonFatalError):
            failures.add(f"{event.label}: schemathesis failed ({type(event.value).__name__})")
        elif isinstance(event, events.FatalError):
            failures.add(f"schemathesis stopped ({type(event.exception).__name__})")
    statuses = "\n".join(f"{label} {dict(sorted(answered[label].items()))}" for label in answered)
    assert not failures, "\n".join(sorted(failures)) + "\n\nanswers:\n" + statuses
    every = {result.ok().label for result in api_schema.get_all_operations()}
    assert set(answered) == every, statuses


def _failures_of(event: events.ScenarioFinished, answered: dict[str, Counter[int]]) -> set[str]:
    """What a scenario's checks found, by operation, phase, status and check; and the statuses
    each operation answered."""
    recorder = event.recorder
    status: dict[str, int] = {}
    for case_id, interaction in recorder.interactions.items():
        if interaction.response is not None:
            status[case_id] = interaction.response.status_code
            label = recorder.cases[case_id].value.operation.label
            answered.setdefault(label, Counter())[status[case_id]] += 1
    found = set()
    for case_id, checks in recorder.checks.items():
        for check in checks:
            if check.failure_info is not None:
                label = recorder.cases[case_id].value.operation.label
                where = f"{label} [{event.phase.value}] {status.get(case_id, 'no answer')}"
                found.add(f"{where}: {_summary(check.failure_info.failure)}")
    return found


def _validated(case: Any, **kwargs: Any) -> Any:
    __tracebackhide__ = True  # pytest would show `case`, and its body may hold a NIK
    try:
        return case.call_and_validate(**kwargs)
    except (Failure, FailureGroup) as failed:
        failures = failed.exceptions if isinstance(failed, FailureGroup) else (failed,)
        raise AssertionError(
            f"{case.operation.label}: " + "; ".join(_summary(f) for f in failures)
        ) from None


def _summary(failure: Failure) -> str:
    """A failure by its check and where, never a value (a body may hold what it should not)."""
    if isinstance(failure, JsonSchemaError):
        return f"{failure.title} at {list(failure.instance_path)} ({list(failure.schema_path)})"
    first = failure.message.splitlines()[0] if failure.message else ""
    return f"{failure.code} {failure.title}: {first[:200]}"
