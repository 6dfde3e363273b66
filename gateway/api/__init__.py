"""The partner API: a Flask blueprint under `/api/v1` (docs/api.md).

Partners call it with a bearer token (gateway/services/tokens.py) to read their agreement and
deliveries and to download their encrypted files (gateway/api/routes.py). It describes itself,
with no token, in an OpenAPI 3.1 document made from the routes' declarations and an HTML page of
the same (gateway/api/openapi.py, gateway/api/docs.py). Every error under
`/api/` — refusals, unknown routes, wrong methods, unsatisfiable ranges, failures — is an RFC 9457
problem (gateway/api/problems.py), never a stack trace. Every request under `/api/` is written to
the access log (logger `gateway.api.access`: method, path, status, token prefix, length, time);
downloads and refusals also to the audit log.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from gateway import context
from gateway.api import problems
from gateway.api.docs import api_docs
from gateway.api.routes import api

# The routes of these modules attach themselves to `api` when imported.
from gateway.api import jobs, reports, transparency, verification  # noqa: F401  isort: skip

PREFIX = "/api/v1"
access_log = logging.getLogger("gateway.api.access")


def register_api(app: Flask) -> None:
    """Mount the partner API on `app` (called by `create_app`)."""
    app.extensions.setdefault("pks_clock", context.now)
    app.register_blueprint(api, url_prefix=PREFIX)
    app.register_blueprint(
        api_docs, url_prefix=PREFIX
    )  # no token: it describes, it releases nothing
    app.register_error_handler(HTTPException, _routing_problem)
    app.before_request(_start_clock)
    app.after_request(_log_access)


def in_api() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def _routing_problem(error: HTTPException) -> Any:
    # An unknown route or a method a route does not take is found before any blueprint is: the
    # application's handler answers for the API's paths and leaves the others as they were.
    if in_api():
        return problems.of_http_exception(error)
    return error


def _start_clock() -> None:
    g.pks_started = time.perf_counter()


def _log_access(response: Response) -> Response:
    if not in_api():
        return response
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    credential = g.get("pks_credential")
    started = g.get("pks_started")
    elapsed = 0.0 if started is None else (time.perf_counter() - started) * 1000
    # The path only, escaped: the query string is not the access log's, and a path may hold
    # anything a caller typed (line breaks included).
    path = request.path[:200].encode("unicode_escape").decode("ascii")
    access_log.info(
        "%s %s %s token=%s client=%s length=%s %.1fms",
        request.method,
        path,
        response.status_code,
        credential.prefix if credential is not None else "-",
        g.get("pks_client") or "-",
        response.headers.get("Content-Length", "-"),
        elapsed,
    )
    return response
