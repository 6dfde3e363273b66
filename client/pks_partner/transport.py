"""HTTP to the partner API (`/api/v1`) on the standard library: the bearer token, JSON, problems.

One `Api` per gateway. It sends the token on every request and nowhere else: redirects are not
followed (urllib would carry the Authorization header to wherever a redirect points), and a plain
`http://` URL is refused unless it is the machine itself or the caller allows it. Every error
answer is read as an RFC 9457 problem and raised as `ApiError` with its title and detail; bodies
are read up to a limit, so a wrong server cannot make the client hold gigabytes.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from pks_partner.errors import ApiError, PartnerError, TransportError

API_PATH = "/api/v1"
USER_AGENT = "pks-partner/0.1"
JSON_LIMIT = 16 * 1024 * 1024
PROBLEM_LIMIT = 64 * 1024
PROBLEM_TYPE = "application/problem+json"
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises the 3xx as an HTTPError, which `_problem` reports


def gateway_origin(url: str) -> str:
    """`scheme://host[:port]` of a gateway URL, lower-cased, default port dropped: how the gateway
    is named in the known-keys file and in messages."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise PartnerError("the gateway URL must be http(s)://HOST[:PORT][/...]")
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        raise PartnerError("the gateway URL has an invalid port") from None
    default = 443 if parts.scheme == "https" else 80
    return f"{parts.scheme}://{host}" + (f":{port}" if port not in (None, default) else "")


def _loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Api:
    """The partner API of one gateway, called with one token."""

    def __init__(
        self, url: str, token: str, *, timeout: float = 60.0, allow_http: bool = False
    ) -> None:
        if not token or not token.isascii() or any(ch.isspace() for ch in token):
            raise PartnerError("no usable token: give the partner token the office issued")
        self.origin = gateway_origin(url)
        path = urllib.parse.urlsplit(url.strip()).path.rstrip("/")
        if path.endswith(API_PATH):
            path = path[: -len(API_PATH)]
        self.base = f"{self.origin}{path}{API_PATH}/"
        scheme, _, host = self.origin.partition("://")
        if scheme == "http" and not allow_http and not _loopback(host.rsplit(":", 1)[0]):
            raise PartnerError(
                f"{self.origin} is plain HTTP, which would show the token to anyone on the way: "
                "use https://, or allow plain HTTP explicitly"
            )
        self._token = token
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirects())

    def url(self, path: str, query: Mapping[str, object] | None = None) -> str:
        """`path` under /api/v1 of this gateway, never anywhere else (quoted, not joined)."""
        encoded = f"?{urllib.parse.urlencode(dict(query))}" if query else ""
        return self.base + urllib.parse.quote(path.lstrip("/"), safe="/") + encoded

    def open(
        self,
        path: str,
        *,
        query: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        accept: str = "application/json",
    ) -> http.client.HTTPResponse:
        """The response to one request, not yet read (the caller closes it); ApiError for an
        error answer, TransportError when the gateway cannot be reached."""
        sent = {"Authorization": f"Bearer {self._token}", "Accept": accept}
        sent.update({"User-Agent": USER_AGENT, **(headers or {})})
        if body is not None:
            sent["Content-Type"] = "application/json"
        # The URL is always base + path: its scheme was checked to be http(s) in __init__.
        request = urllib.request.Request(  # noqa: S310
            self.url(path, query), data=body, headers=sent, method="POST" if body else "GET"
        )
        try:
            response = self._opener.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as error:
            with error:
                raise _problem(error) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            reason = getattr(error, "reason", None) or error
            raise TransportError(f"cannot reach {self.origin}: {_reason(reason)}") from None
        assert isinstance(response, http.client.HTTPResponse)  # an http(s) URL: urllib says so
        return response

    def get_json(self, path: str, query: Mapping[str, object] | None = None) -> Any:
        with self.open(path, query=query) as response:
            return _json_of(read_limited(response, JSON_LIMIT, path), path)

    def post_json(self, path: str, document: object) -> Any:
        body = json.dumps(document, ensure_ascii=False).encode("utf-8")
        with self.open(path, body=body) as response:
            return _json_of(read_limited(response, JSON_LIMIT, path), path)

    def get_bytes(
        self, path: str, limit: int, accept: str, query: Mapping[str, object] | None = None
    ) -> bytes:
        with self.open(path, query=query, accept=accept) as response:
            return read_limited(response, limit, path)


def read_limited(response: http.client.HTTPResponse, limit: int, what: str) -> bytes:
    try:
        data = response.read(limit + 1)
    except (OSError, http.client.HTTPException) as error:
        raise TransportError(f"{what}: the answer stopped ({_reason(error)})") from None
    if len(data) > limit:
        raise TransportError(f"{what}: the answer is larger than {limit} bytes")
    return data


def _json_of(data: bytes, what: str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        raise TransportError(f"{what}: the answer is not JSON") from None


def _problem(error: urllib.error.HTTPError) -> ApiError:
    """The error answer as an ApiError: the problem's title and detail when it is one."""
    status = error.code
    title, detail, code = http.client.responses.get(status, "Error"), "", ""
    if 300 <= status < 400:
        detail = "the gateway redirects, which is not followed (the token would go along)"
    elif (error.headers.get_content_type() if error.headers else "") == PROBLEM_TYPE:
        try:
            problem = json.loads(error.read(PROBLEM_LIMIT + 1)[:PROBLEM_LIMIT])
        except (ValueError, RecursionError, OSError, http.client.HTTPException):
            problem = None
        if isinstance(problem, dict):
            title = _line(problem.get("title"), title)
            detail = _line(problem.get("detail"), "")
            code = _line(problem.get("code"), "")
    retry = error.headers.get("Retry-After", "") if error.headers else ""
    return ApiError(status, title, detail, code, float(retry) if retry.isdigit() else None)


def _line(value: object, default: str) -> str:
    if not isinstance(value, str):
        return default
    return " ".join(value.split())[:500]


def _reason(error: object) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__
