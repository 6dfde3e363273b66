"""The API describing itself, with no token (it describes, it releases nothing): the OpenAPI 3.1
document at `GET /api/v1/openapi.json` (gateway/api/openapi.py makes it from the routes' own
declarations) and an HTML page rendered from the same document at `GET /api/v1/docs`, each
endpoint with its parameters, bodies, responses and a `curl` example.

The page is the gateway's own: a Jinja template and a stylesheet this blueprint serves
(`/api/v1/docs.css`), nothing from another site; its Content-Security-Policy lets it load that
stylesheet and nothing else. A blueprint of its own, beside `api`, so that the token check of
`api` never runs for it.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request
from markupsafe import Markup, escape

from gateway.api import base
from gateway.api.openapi import (
    JSON,
    PREFIX,
    TAGS,
    Answer,
    document,
    documented,
    obj,
    schema,
    text,
)

api_docs = Blueprint("api_docs", __name__, template_folder="templates")

OPENAPI_SCHEMA = schema(
    "OpenApiDocument",
    {
        "type": "object",
        "description": "An OpenAPI 3.1 document (https://spec.openapis.org/oas/v3.1.0).",
        "required": ["openapi", "info", "paths", "components"],
        "properties": {
            "openapi": text(pattern="^3\\.1\\.[0-9]+$"),
            "info": obj(
                {"title": text(), "version": text(), "summary": text(), "description": text()}
            ),
            "paths": {"type": "object"},
            "components": {"type": "object"},
        },
    },
)
UPLOADS = {"application/pdf": "laporan-semester.pdf", "text/csv": "data-balikan.csv"}
POLICY = (
    "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


@api_docs.get("/openapi.json")
@documented(
    "This document",
    description="The OpenAPI 3.1 document of the partner API, made from the gateway's routes.",
    tag="Documentation",
    public=True,
    answers={200: Answer("The document.", {"application/json": OPENAPI_SCHEMA})},
)
def get_openapi() -> Response:
    return base.json_response(_document())


@api_docs.get("/docs")
@documented(
    "This API's documentation page",
    description="The same document as HTML: every endpoint, its parameters, bodies, responses "
    "and a `curl` example. Its stylesheet is the gateway's own (`/docs.css`).",
    tag="Documentation",
    public=True,
    answers={
        200: Answer(
            "The page.",
            {"text/html": text()},
            {"Content-Security-Policy": True},
        )
    },
)
def get_docs() -> Response:
    spec = _document()
    origin = request.host_url.rstrip("/")
    page = render_template(
        "api_docs.html",
        info=spec["info"],
        version=spec["openapi"],
        groups=list(_groups(spec, origin)),
        schemas=[(name, _pretty(found)) for name, found in spec["components"]["schemas"].items()],
        document_url=f"{PREFIX}/openapi.json",
        stylesheet_url=f"{PREFIX}/docs.css",
        base_url=origin + PREFIX,
        prose=prose,
    )
    response = Response(page, mimetype="text/html")
    response.headers["Content-Security-Policy"] = POLICY
    return response


@api_docs.get("/docs.css")
@documented(
    "The documentation page's stylesheet",
    description="The stylesheet of `/docs`, served by the gateway itself.",
    tag="Documentation",
    public=True,
    answers={200: Answer("The stylesheet.", {"text/css": text()})},
)
def get_docs_stylesheet() -> Response:
    css = resources.files("gateway.api").joinpath("static/api_docs.css").read_text("utf-8")
    return Response(css, mimetype="text/css")


def _document() -> JSON:
    found: JSON = base.cached("pks_openapi", lambda: document(current_app))
    return found


# --- the page's view of the document -------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    """One line of a table: a parameter, a response or a header."""

    name: str
    kind: str
    required: bool
    description: str


@dataclass(frozen=True)
class Shown:
    """A response as the page shows it."""

    status: str
    description: str
    media_types: list[str]
    headers: list[Row]
    schema: str  # the name of a schema below, or a short type
    schema_is_ref: bool


@dataclass(frozen=True)
class Endpoint:
    anchor: str
    method: str
    path: str
    summary: str
    description: str
    public: bool
    parameters: list[Row]
    body: list[Row]  # media type → schema
    responses: list[Shown]
    curl: str


def _groups(spec: JSON, origin: str) -> Iterator[tuple[str, str, list[Endpoint]]]:
    endpoints: dict[str, list[Endpoint]] = {}
    for path_, methods in spec["paths"].items():
        for method, operation in methods.items():
            tag = operation["tags"][0]
            endpoints.setdefault(tag, []).append(_endpoint(spec, path_, method, operation, origin))
    for tag, description in TAGS.items():
        if tag in endpoints:
            yield tag, description, endpoints[tag]


def _endpoint(spec: JSON, path_: str, method: str, operation: JSON, origin: str) -> Endpoint:
    public = operation.get("security") == []
    parameters = [
        Row(
            f"{p['name']}",
            f"{p['in']}, {_type(p['schema'])}",
            bool(p.get("required")),
            p.get("description", ""),
        )
        for p in operation.get("parameters", [])
    ]
    body: JSON = operation.get("requestBody") or {}
    body_rows = [
        Row(media, _type(found["schema"]), True, body.get("description", ""))
        for media, found in body.get("content", {}).items()
    ]
    responses = [
        _response(spec, status, answer) for status, answer in operation["responses"].items()
    ]
    return Endpoint(
        anchor=operation["operationId"],
        method=method.upper(),
        path=path_,
        summary=operation["summary"],
        description=operation.get("description", ""),
        public=public,
        parameters=parameters,
        body=body_rows,
        responses=responses,
        curl=_curl(method, path_, operation, origin, public),
    )


def _response(spec: JSON, status: str, answer: JSON) -> Shown:
    content: Mapping[str, Any] = answer.get("content", {})
    headers = []
    for name, found in answer.get("headers", {}).items():
        described = _resolve(spec, found)
        headers.append(Row(name, "", bool(found.get("required")), described.get("description", "")))
    first: JSON = next(iter(content.values()), {})
    schema_: JSON = first.get("schema", {})
    reference = str(schema_.get("$ref", ""))
    return Shown(
        status=status,
        description=answer.get("description", ""),
        media_types=list(content),
        headers=headers,
        schema=reference.rpartition("/")[2] if reference else (_type(schema_) if content else ""),
        schema_is_ref=bool(reference),
    )


def _resolve(spec: JSON, found: JSON) -> JSON:
    reference = found.get("$ref")
    if not isinstance(reference, str):
        return found
    resolved: Any = spec
    for part in reference.removeprefix("#/").split("/"):
        resolved = resolved[part]
    return dict(resolved)


def _type(definition: JSON) -> str:
    """A schema in a few words: `integer, 1–100, default 20`."""
    if "$ref" in definition:
        return str(definition["$ref"]).rpartition("/")[2]
    words = [str(definition.get("type", "any"))]
    if "format" in definition:
        words[0] += f" ({definition['format']})"
    if "minimum" in definition or "maximum" in definition:
        words.append(f"{definition.get('minimum', '…')}–{definition.get('maximum', '…')}")
    if "default" in definition:
        words.append(f"default {definition['default']}")
    if "enum" in definition:
        words.append(" | ".join(str(v) for v in definition["enum"]))
    return ", ".join(words)


def _curl(method: str, path_: str, operation: JSON, origin: str, public: bool) -> str:
    url = origin + PREFIX + re.sub(r"\{(\w+)\}", lambda m: "$" + m.group(1).upper(), path_)
    required = [
        p for p in operation.get("parameters", []) if p["in"] == "query" and p.get("required")
    ]
    if required:
        url += "?" + "&".join(f"{p['name']}=${p['name'].upper()}" for p in required)
    words = ["curl", "-sS"]
    if not public:
        words += ["-H", '"Authorization: Bearer $PKS_TOKEN"']
    if method != "get":
        words += ["-X", method.upper()]
    body = operation.get("requestBody")
    if body is not None:
        media, found = next(iter(body["content"].items()))
        words += ["-H", shlex.quote(f"Content-Type: {media}")]
        if "example" in found:
            words += ["-d", shlex.quote(json.dumps(found["example"], ensure_ascii=False))]
        else:
            words += ["--data-binary", "@" + UPLOADS.get(media, "body")]
    ok = operation["responses"].get("200", {}).get("content", {})
    if "application/octet-stream" in ok:
        words += ["-o", "delivery.age"]
    if any(status == "202" for status in operation["responses"]):
        words += ["-D", "-"]
    words.append(f'"{url}"')
    return " ".join(words)


def _pretty(definition: JSON) -> str:
    return json.dumps(definition, indent=2, ensure_ascii=False)


def prose(value: str) -> Markup:
    """Description text as HTML: escaped, with `code` spans."""
    escaped = str(escape(value))
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped))  # noqa: S704  (escaped)
