"""The partner API's OpenAPI 3.1 document, made from the code: each route declares next to itself
(`@documented(...)` under its `@api.get`/`@api.post`) its summary, parameters, request body and
every status it answers, with the real JSON Schemas of its bodies and the headers it sends; this
module walks the app's URL map and puts the declarations together (`document(app)`), served at
`GET /api/v1/openapi.json` and rendered as HTML at `GET /api/v1/docs` (gateway/api/docs.py).

A route under `/api/v1` without a declaration, a declaration whose path parameters are not its
route's, or one for a view no route serves is a mistake `check(app)` names; the tests call it.

What every route with a token answers besides its own statuses (401 without a valid token, 403
from an address outside the recipient's `ip_allow`, 500 for a failure inside the gateway, 503
when the gateway cannot answer or its own records do not verify) is added here, once, so that no
route can forget it. Errors are RFC 9457 problems of one shape (`Problem`, gateway/api/
problems.py).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Flask

from gateway import __version__
from gateway.api.problems import PROBLEM_JSON

JSON = dict[str, Any]
F = TypeVar("F", bound=Callable[..., Any])

PREFIX = "/api/v1"
OPENAPI_VERSION = "3.1.0"
SECURITY_SCHEME = "partnerToken"
_VARIABLE = re.compile(r"<(?:[a-z_]+(?:\([^)]*\))?:)?([a-z_][a-z0-9_]*)>")
# Methods Flask answers by itself on every route (HEAD for each GET, OPTIONS): not operations.
_IMPLIED = {"HEAD", "OPTIONS"}


# --- shared schemas and headers ------------------------------------------------------------------
_SCHEMAS: dict[str, JSON] = {}


def schema(name: str, definition: JSON) -> JSON:
    """Register a named schema (components/schemas) and return a reference to it."""
    if name in _SCHEMAS and _SCHEMAS[name] != definition:
        raise ValueError(f"schema {name} is defined twice, differently")
    _SCHEMAS[name] = definition
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(definition: JSON) -> JSON:
    """`definition` or null (JSON Schema 2020-12, as OpenAPI 3.1 uses it)."""
    return {"anyOf": [definition, {"type": "null"}]}


def text(description: str = "", **more: Any) -> JSON:
    return {"type": "string", **({"description": description} if description else {}), **more}


def integer(description: str = "", **more: Any) -> JSON:
    return {"type": "integer", **({"description": description} if description else {}), **more}


def obj(properties: Mapping[str, JSON], *, optional: Sequence[str] = (), **more: Any) -> JSON:
    """An object with these properties, all required but `optional`; no others."""
    return {
        "type": "object",
        "properties": dict(properties),
        "required": [name for name in properties if name not in optional],
        "additionalProperties": False,
        **more,
    }


PROBLEM = schema(
    "Problem",
    obj(
        {
            "type": text(
                "the problem's type: a URI of the gateway's error table, or about:blank for a "
                "protocol status",
                format="uri",
            ),
            "title": text("the type's short title"),
            "status": integer("the HTTP status", minimum=400, maximum=599),
            "detail": text("what went wrong, written for the partner (names no value)"),
            "code": text("the error table's code (`not_found`, `usage` …)", pattern="^[a-z_]+$"),
        },
        description="An RFC 9457 problem: every error under /api/ has this shape, and no "
        "`instance`: the same refusal gets the same bytes whatever was asked for.",
    ),
)

HEADERS: dict[str, JSON] = {
    "Location": {
        "description": "The URL of the resource made (a job to poll).",
        "schema": text(format="uri"),
    },
    "Retry-After": {
        "description": "Seconds to wait before asking again.",
        "schema": text(pattern="^[0-9]+$"),
    },
    "ETag": {
        "description": 'A strong validator: `"<sha256 hex>"`, the ciphertext\'s SHA-256 from the '
        "signed manifest.",
        "schema": text(pattern='^"[0-9a-f]{64}"$'),
    },
    "Repr-Digest": {
        "description": "RFC 9530: `sha-256=:<base64>:`, the SHA-256 of the whole file (on a 206 "
        "too).",
        "schema": text(pattern="^sha-256=:[A-Za-z0-9+/]{43}=:$"),
    },
    "Content-Range": {
        "description": "On a 206: `bytes FIRST-LAST/SIZE`; on a 416: `bytes */SIZE`.",
        "schema": text(pattern="^bytes ([0-9]+-[0-9]+|\\*)/[0-9]+$"),
    },
    "Accept-Ranges": {"description": "`bytes`: ranges are served.", "schema": text(enum=["bytes"])},
    "Content-Length": {
        "description": "The bytes of this response.",
        "schema": text(pattern="^[0-9]+$"),
    },
    "Content-Disposition": {
        "description": '`attachment; filename="<the file\'s name in the manifest>"`.',
        "schema": text(),
    },
    "WWW-Authenticate": {
        "description": '`Bearer realm="pks-gateway"`, with `error="invalid_token"` when a token '
        "was sent.",
        "schema": text(pattern='^Bearer realm="pks-gateway"'),
    },
    "Content-Security-Policy": {
        "description": "What the page may load: only the gateway's own stylesheet.",
        "schema": text(),
    },
}


# --- what a route declares -----------------------------------------------------------------------
@dataclass(frozen=True)
class Parameter:
    name: str
    where: str  # "path", "query" or "header"
    description: str
    schema: JSON
    required: bool = False
    example: Any = None

    def to_json(self) -> JSON:
        found: JSON = {
            "name": self.name,
            "in": self.where,
            "description": self.description,
            "required": self.required or self.where == "path",
            "schema": self.schema,
        }
        if self.example is not None:
            found["example"] = self.example
        return found


def path(name: str, description: str, definition: JSON, example: str | None = None) -> Parameter:
    return Parameter(name, "path", description, definition, True, example)


def query(name: str, description: str, definition: JSON, *, required: bool = False) -> Parameter:
    return Parameter(name, "query", description, definition, required)


def header(name: str, description: str, definition: JSON) -> Parameter:
    return Parameter(name, "header", description, definition)


@dataclass(frozen=True)
class Answer:
    """One response: its description, its bodies by media type (none: no body), its headers
    (name → whether always sent), and OpenAPI links to the operations it leads to."""

    description: str
    content: Mapping[str, JSON] = field(default_factory=dict)
    headers: Mapping[str, bool] = field(default_factory=dict)
    links: Mapping[str, JSON] = field(default_factory=dict)

    def to_json(self) -> JSON:
        found: JSON = {"description": self.description}
        if self.headers:
            found["headers"] = {
                name: {"$ref": f"#/components/headers/{name}"}
                if not required
                else {**HEADERS[name], "required": True}
                for name, required in self.headers.items()
            }
        if self.content:
            found["content"] = {
                media: {"schema": definition} for media, definition in self.content.items()
            }
        if self.links:
            found["links"] = dict(self.links)
        return found


def json_answer(
    description: str,
    definition: JSON,
    *,
    headers: Mapping[str, bool] | None = None,
    links: Mapping[str, JSON] | None = None,
) -> Answer:
    return Answer(description, {"application/json": definition}, headers or {}, links or {})


def problem(description: str, **headers: bool) -> Answer:
    """An error answer: an RFC 9457 problem, with these headers (name → always sent)."""
    names = {name.replace("_", "-"): required for name, required in headers.items()}
    return Answer(description, {PROBLEM_JSON: PROBLEM}, names)


def link(operation_id: str, description: str, **parameters: str) -> JSON:
    """An OpenAPI link: where an answer leads (`parameters` name → runtime expression)."""
    return {"operationId": operation_id, "description": description, "parameters": parameters}


@dataclass(frozen=True)
class RequestBody:
    description: str
    content: Mapping[str, JSON]
    example: Any = None  # a JSON body's example (the docs page's curl sends it)

    def to_json(self) -> JSON:
        content: JSON = {}
        for media, definition in self.content.items():
            content[media] = {"schema": definition}
            if self.example is not None and media == "application/json":
                content[media]["example"] = self.example
        return {"description": self.description, "required": True, "content": content}


@dataclass(frozen=True)
class Operation:
    summary: str
    description: str
    tag: str
    answers: Mapping[int, Answer]
    parameters: tuple[Parameter, ...] = ()
    body: RequestBody | None = None
    public: bool = False  # no token: describes, releases nothing

    def to_json(self, operation_id: str) -> JSON:
        answers = dict(self.answers)
        if not self.public:
            for status, answer in TOKEN_ANSWERS.items():
                answers.setdefault(status, answer)
        for status, answer in COMMON_ANSWERS.items():
            answers.setdefault(status, answer)
        found: JSON = {
            "operationId": operation_id,
            "summary": self.summary,
            "description": self.description,
            "tags": [self.tag],
        }
        if self.parameters:
            found["parameters"] = [parameter.to_json() for parameter in self.parameters]
        if self.body is not None:
            found["requestBody"] = self.body.to_json()
        found["responses"] = {str(s): answers[s].to_json() for s in sorted(answers)}
        if self.public:
            found["security"] = []
        return found


TOKEN_ANSWERS = {
    401: problem(
        "No token, or one that is not valid (unknown, expired, revoked, rotated out, or its "
        "agreement or recipient no longer in force): the same body whatever the reason.",
        WWW_Authenticate=True,
    ),
    403: problem("A valid token used from an address outside the recipient's `ip_allow`."),
    503: problem(
        "The metadata database or a key file is unavailable, or the gateway's own records do "
        "not verify: it answers nothing until the office has checked."
    ),
}
COMMON_ANSWERS = {
    500: problem("A failure inside the gateway (logged for the office; no detail is shown)."),
}

_OPERATIONS: dict[Callable[..., Any], Operation] = {}


def documented(
    summary: str,
    *,
    description: str,
    tag: str,
    answers: Mapping[int, Answer],
    parameters: Sequence[Parameter] = (),
    body: RequestBody | None = None,
    public: bool = False,
) -> Callable[[F], F]:
    """Declare a view's operation; put it directly under the route decorator."""
    operation = Operation(summary, description, tag, dict(answers), tuple(parameters), body, public)

    def attach(view: F) -> F:
        _OPERATIONS[view] = operation
        return view

    return attach


def operation_of(view: Callable[..., Any]) -> Operation | None:
    found: Callable[..., Any] | None = view
    while found is not None:
        if found in _OPERATIONS:
            return _OPERATIONS[found]
        found = getattr(found, "__wrapped__", None)
    return None


# --- the document --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Route:
    """An operation of the URL map: `/deliveries/{delivery_id}` (below the prefix), GET."""

    path: str
    method: str
    endpoint: str
    variables: tuple[str, ...]


def routes(app: Flask) -> Iterator[Route]:
    """The API's operations as Flask serves them (HEAD and OPTIONS left out: implied)."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX + "/"):
            continue
        templated = _VARIABLE.sub(lambda m: "{" + m.group(1) + "}", rule.rule[len(PREFIX) :])
        for method in sorted((rule.methods or set()) - _IMPLIED):
            yield Route(templated, method, rule.endpoint, tuple(sorted(rule.arguments)))


def check(app: Flask) -> list[str]:
    """What is wrong between the URL map and the declarations (empty: nothing)."""
    mistakes = []
    served = set()
    for route in routes(app):
        view = app.view_functions[route.endpoint]
        served.add(view)
        operation = operation_of(view)
        if operation is None:
            mistakes.append(f"{route.method} {PREFIX}{route.path}: not documented")
            continue
        declared = tuple(sorted(p.name for p in operation.parameters if p.where == "path"))
        if declared != route.variables:
            mistakes.append(
                f"{route.method} {PREFIX}{route.path}: path parameters {declared} declared, "
                f"{route.variables} routed"
            )
    for view in _OPERATIONS:
        if not any(operation_of(s) is _OPERATIONS[view] for s in served):
            mistakes.append(f"{view.__module__}.{view.__qualname__}: documented, not routed")
    return mistakes


def document(app: Flask) -> JSON:
    """The OpenAPI 3.1 document of the API `app` serves (routes without a declaration are left
    out; `check` names them)."""
    paths: dict[str, JSON] = {}
    for route in routes(app):
        operation = operation_of(app.view_functions[route.endpoint])
        if operation is None:
            continue
        operation_id = route.endpoint.rpartition(".")[2]
        paths.setdefault(route.path, {})[route.method.lower()] = operation.to_json(operation_id)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "PKS Gateway partner API",
            "version": __version__,
            "summary": "A partner institution's door to its agreement, deliveries, NIK "
            "verification and reports.",
            "description": INTRODUCTION,
        },
        "servers": [{"url": PREFIX, "description": "this gateway"}],
        "security": [{SECURITY_SCHEME: []}],
        "tags": [{"name": name, "description": text_} for name, text_ in TAGS.items()],
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A partner token (`pks_<prefix>_<secret>`) the office issued "
                    "for one agreement and one recipient: `Authorization: Bearer pks_…`.",
                }
            },
            "schemas": copy.deepcopy(dict(sorted(_SCHEMAS.items()))),
            "headers": copy.deepcopy(HEADERS),
        },
    }


INTRODUCTION = (
    "A partner institution's systems read their agreement, list and download their encrypted "
    "deliveries, ask for a delivery within the quota, verify NIKs where the agreement allows it, "
    "send the reports the agreement asks for, and check the office's audit log, with a token the "
    "office issues (docs/api.md). Every answer carries `Cache-Control: no-store`; times are RFC "
    "3339. Every error is an RFC 9457 problem (`application/problem+json`). Another partner's "
    "ids answer exactly like ids that never existed."
)
TAGS = {
    "Agreements": "The token's agreement.",
    "Deliveries": "Deliveries made for the token's recipient: list, manifest, the encrypted file; "
    "on-demand deliveries and their jobs.",
    "NIK verification": "Match or no match per field, where the agreement grants it.",
    "Reports": "The reports the agreement asks of the partner.",
    "Audit log": "The office's audit log: its latest checkpoint and consistency proofs.",
    "Documentation": "This document and its HTML rendering (no token needed).",
}
