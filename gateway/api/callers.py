"""What the partner API reads from a request besides its route: the bearer token (RFC 6750) and
the caller's address behind the trusted proxies (the `trusted_proxy_hops` setting).

The address: with no trusted hop, the peer of the connection. With N hops, the N-th address from
the right of `X-Forwarded-For`, which the N-th proxy from the gateway wrote (each proxy appends
the address it was called from; what a caller wrote itself is further left and never read). A
header with fewer than N addresses did not pass the N proxies: no address, which only a recipient
without an `ip_allow` accepts.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from werkzeug.datastructures import Headers

TOKEN_LIMIT = 200  # far above a token's 56 characters; longer is refused unread


class MalformedAuthorization(ValueError):
    """An Authorization header that is not `Bearer <token>` (the text names no value)."""


def bearer_token(headers: Headers) -> str | None:
    """The token of `Authorization: Bearer <token>`, None when there is no such header."""
    value = headers.get("Authorization")
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token or len(token) > TOKEN_LIMIT:
        raise MalformedAuthorization("the Authorization header is not `Bearer <token>`")
    if not token.isascii() or not token.isprintable():
        raise MalformedAuthorization("the bearer token holds characters a token never has")
    return token


def client_address(environ: Mapping[str, Any], trusted_hops: int) -> str | None:
    """The caller's IP address as text (see the module docstring), or None if unknown."""
    if trusted_hops <= 0:
        return _address(environ.get("REMOTE_ADDR"))
    forwarded = str(environ.get("HTTP_X_FORWARDED_FOR") or "")
    hops = [part.strip() for part in forwarded.split(",") if part.strip()]
    if len(hops) < trusted_hops:
        return None
    return _address(hops[-trusted_hops])


def _address(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None
