"""Every error of the partner API as an RFC 9457 problem (`application/problem+json`), from the
error table (gateway/errors.py), and never a stack trace.

The body is always `{"type", "title", "status", "detail", "code"}`: `type`, `title`, `status`
and `code` from the error's kind, `detail` a sentence written for the partner. Texts raised inside
the gateway are not shown: they name files, rows and rules of the office (they are recorded in
the audit log and the log instead). No `instance` member: the same refusal gets the same body
whatever was asked for, so that another partner's id and an id that never existed are answered
byte for byte alike.

Two kinds exist only over HTTP and sit beside the table here: `unauthenticated` (401, a missing
or refused token; the CLI's nearest is 4, not permitted) and, for the protocol's own statuses
(405, 406, 416 …), RFC 9457's `about:blank` with the status's phrase as its title.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from flask import Response
from werkzeug.exceptions import HTTPException

from gateway import errors
from gateway.errors import ErrorKind

PROBLEM_JSON = "application/problem+json"
UNAUTHENTICATED = ErrorKind(
    "unauthenticated", errors.NOT_PERMITTED.exit_code, 401, "Not authenticated"
)
INTERNAL = ErrorKind("internal", 1, 500, "Internal error")
# RFC 9110's reason phrases, for problems of type about:blank.
PHRASES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    410: "Gone",
    412: "Precondition Failed",
    413: "Content Too Large",
    414: "URI Too Long",
    415: "Unsupported Media Type",
    416: "Range Not Satisfiable",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
}
# What a partner is told for each kind when nothing more precise was written for it.
DETAILS = {
    errors.USAGE.code: "the request is malformed",
    errors.INVALID_INPUT.code: "the request breaks a rule of this API",
    errors.VERIFICATION_FAILED.code: "the gateway's records do not verify; it delivers nothing "
    "until the office has checked them",
    errors.NOT_PERMITTED.code: "this token may not do this",
    errors.NOT_FOUND.code: "no such resource",
    errors.CONFLICT.code: "the current state does not allow this",
    errors.UNAVAILABLE.code: "the gateway cannot answer now; try again later",
    UNAUTHENTICATED.code: "a valid partner token is needed (Authorization: Bearer pks_…)",
    INTERNAL.code: "the gateway failed to answer; the failure is logged",
}
# Server-side failures a partner cannot act on are answered as `unavailable` (503), whatever the
# table says for the CLI: a seal or signature that does not verify is the office's problem, not
# the request's.
_SERVER_SIDE = {errors.VERIFICATION_FAILED.code, errors.UNAVAILABLE.code}


class ApiProblem(Exception):
    """Raised inside the API to answer with one problem: a kind of the table (or the two above)
    and the partner-facing detail."""

    def __init__(
        self,
        kind: ErrorKind,
        detail: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail or DETAILS.get(kind.code, kind.title))
        self.kind = kind
        self.detail = detail or DETAILS.get(kind.code, kind.title)
        self.headers = dict(headers or {})
        self.recorded = False  # already in the audit log (by the service that refused)


class StatusProblem(Exception):
    """Raised inside the API to answer with a protocol status no kind stands for (413, 415,
    429 …): RFC 9457 `about:blank`, titled by the status's phrase."""

    def __init__(self, status: int, detail: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = dict(headers or {})


def problem(
    status: int,
    *,
    type_: str,
    title: str,
    code: str,
    detail: str,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body = {"type": type_, "title": title, "status": status, "detail": detail, "code": code}
    response = Response(
        json.dumps(body, ensure_ascii=False, sort_keys=True) + "\n",
        status=status,
        mimetype=PROBLEM_JSON,
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def of_kind(
    kind: ErrorKind, detail: str | None = None, headers: Mapping[str, str] | None = None
) -> Response:
    """The problem of an error kind (the table's type URI, title and code)."""
    if kind.code in _SERVER_SIDE and kind is not errors.UNAVAILABLE:
        kind, detail = errors.UNAVAILABLE, detail or DETAILS[kind.code]
    return problem(
        kind.http_status,
        type_=kind.problem_type,
        title=kind.title,
        code=kind.code,
        detail=detail or DETAILS.get(kind.code, kind.title),
        headers=headers,
    )


def of_status(status: int, detail: str, headers: Mapping[str, str] | None = None) -> Response:
    """A protocol status no kind of the table stands for: `about:blank`, titled by its phrase."""
    phrase = PHRASES.get(status, "Error")
    return problem(
        status,
        type_="about:blank",
        title=phrase,
        code=phrase.lower().replace(" ", "_"),
        detail=detail,
        headers=headers,
    )


_HTTP_KINDS = {
    400: errors.USAGE,
    401: UNAUTHENTICATED,
    403: errors.NOT_PERMITTED,
    404: errors.NOT_FOUND,
    409: errors.CONFLICT,
    503: errors.UNAVAILABLE,
}


def of_http_exception(error: HTTPException) -> Response:
    """Werkzeug's own refusals (unknown route, method not allowed, unsatisfiable range …)."""
    status = error.code or 500
    headers = {
        name: value
        for name, value in error.get_headers()
        if name.lower() in ("allow", "content-range", "www-authenticate", "retry-after")
    }
    kind = _HTTP_KINDS.get(status)
    if kind is not None:
        return of_kind(kind, headers=headers)
    if status >= 500:
        return of_kind(INTERNAL, headers=headers)
    return of_status(status, _http_detail(status), headers)


def of_exception(error: BaseException) -> Response:
    """Any other error: its kind from the table (unknown: internal), the kind's own detail."""
    if isinstance(error, ApiProblem):
        return of_kind(error.kind, error.detail, error.headers)
    if isinstance(error, StatusProblem):
        return of_status(error.status, error.detail, error.headers)
    if isinstance(error, HTTPException):
        return of_http_exception(error)
    kind = errors.kind_of(error)
    return of_kind(kind or INTERNAL)


def _http_detail(status: int) -> str:
    if status == 405:
        return "this resource does not take this method (see the Allow header)"
    if status == 416:
        return "the range is not satisfiable: ask for one range of bytes within the file"
    return PHRASES.get(status, "the request cannot be answered").lower()
