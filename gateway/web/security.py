"""The web UI's guard, run before every one of its views: who is logged in, whether their role
may reach the view, and whether a form carries its CSRF token; and the security headers on every
response of the gateway.

CSRF tokens are HMACs under `keys/web.key`: of the server-side session's id for a logged-in
member, and of a random pre-session cookie for the login form (a signed double submit), so no
token is stored anywhere. Every refusal here is audited (`web.refused`) with the path and the
rule, never a form's contents.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Any

from flask import Flask, Response, current_app, g, request

from audit import log as audit_log
from gateway import limits
from gateway.api.base import engine as engine
from gateway.api.base import now as now
from gateway.api.base import settings as settings
from gateway.api.callers import client_address
from gateway.keys import load_web_key
from gateway.seals import SealStore
from gateway.services.actions import recordable
from gateway.services.logins import Member, SessionPolicy, session_member
from gateway.web.access import declared_roles
from gateway.web.i18n import DEFAULT_LANGUAGE, LANGUAGES
from gateway.web.words import N_

SESSION_COOKIE = "pks_session"
PRESESSION_COOKIE = "pks_presession"
LANGUAGE_COOKIE = "pks_lang"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WEB_BODY_LIMIT = limits.DOCUMENT.max_bytes + limits.MIB

# No inline script or style anywhere: every script and stylesheet is a file the gateway serves.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


class Refusal(Exception):
    """A request the guard turns away: `status`, the message id shown, and the audit rule."""

    def __init__(self, status: int, message: str, rule: str) -> None:
        super().__init__(rule)
        self.status, self.message, self.rule = status, message, rule


def seals() -> SealStore:
    return SealStore(settings().keys_dir)


def web_key() -> bytes:
    key: bytes | None = current_app.extensions.get("pks_web_key")
    if key is None:
        key = current_app.extensions["pks_web_key"] = load_web_key(settings().keys_dir)
    return key


def member() -> Member | None:
    found: Member | None = g.get("member")
    return found


def acting_member() -> Member:
    """The member a view acts for: behind the guard, a view that declares roles has one."""
    current = member()
    if current is None:
        raise RuntimeError("a view that declares roles ran without a member")
    return current


def address() -> str:
    return client_address(request.environ, settings().trusted_proxy_hops) or "unknown"


def csrf_token() -> str:
    """The token every form of this page carries (a template global)."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if g.get("member") is not None and session_id:
        return _mac("session", session_id)
    return _mac("presession", _presession())


def _presession() -> str:
    value = request.cookies.get(PRESESSION_COOKIE) or g.get("new_presession")
    if not value:
        value = g.new_presession = secrets.token_urlsafe(24)
    return str(value)


def _mac(kind: str, value: str) -> str:
    return hmac.new(web_key(), f"csrf\x00{kind}\x00{value}".encode(), hashlib.sha256).hexdigest()


def guard() -> None:
    """Before every web view: the language, the member, the role, the CSRF token."""
    choose_language()
    if request.endpoint == "web.static":
        return  # the stylesheet and the script are public, and need no database
    g.member = _session_member()
    view = current_app.view_functions.get(request.endpoint or "")
    roles = declared_roles(view, settings().delivery_role_set)
    # Forms carry at most a document (20 MiB) and a little text: a bigger body is refused
    # (413) before it is parsed, logged in or not.
    request.max_content_length = WEB_BODY_LIMIT
    if request.method not in SAFE_METHODS:
        _check_csrf()
    if roles is None:
        return
    current = g.member
    if current is None:
        raise Refusal(401, N_("Please log in."), "not logged in")
    if current.role not in roles:
        raise Refusal(403, N_("Your role may not open this page."), f"role {current.role.value}")


def choose_language() -> None:
    chosen = request.cookies.get(LANGUAGE_COOKIE, DEFAULT_LANGUAGE)
    g.language = chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def _session_member() -> Member | None:
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id or len(session_id) > 128:
        return None
    config = settings()
    policy = SessionPolicy(
        idle=timedelta(minutes=config.web_session_idle_minutes),
        absolute=timedelta(hours=config.web_session_hours),
    )
    return session_member(engine(), seals(), session_id, policy, now=now())


def _check_csrf() -> None:
    sent = request.form.get(CSRF_FIELD, "")
    session_id = request.cookies.get(SESSION_COOKIE)
    expected = []
    if g.member is not None and session_id:
        expected.append(_mac("session", session_id))
    presession = request.cookies.get(PRESESSION_COOKIE)
    # The pre-session token is the login form's alone: a logged-in member's forms take the
    # session's, so a pre-session cookie planted from a sibling site opens nothing.
    if presession and g.member is None and request.endpoint == "web.log_in":
        expected.append(_mac("presession", presession))
    if not sent or not any(hmac.compare_digest(sent, token) for token in expected):
        raise Refusal(
            400, N_("The form has expired. Please try again."), "missing or wrong CSRF token"
        )


def audit_refusal(refusal: Refusal) -> None:
    """The audit entry of a refusal by the guard: who (if anyone), where, which rule."""
    current = g.get("member")
    with engine().begin() as connection:
        audit_log.append(
            connection,
            actor_role=current.role.value if current else "unknown",
            actor_id=current.name if current else recordable("actor_id", address()),
            action="web.refused",
            object_type="page",
            object_id=recordable("object_id", request.path[:200]),
            outcome="refused",
            details={"rule": refusal.rule, "method": request.method, "status": refusal.status},
            now=now(),
        )


def set_cookies(response: Response) -> Response:
    """The pre-session cookie a page's login form was given, if it made one."""
    new = g.get("new_presession")
    if new:
        response.set_cookie(PRESESSION_COOKIE, new, **cookie_options())
    return response


def cookie_options() -> dict[str, Any]:
    return {"secure": settings().web_cookie_secure, "httponly": True, "samesite": "Lax"}


def add_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.blueprint == "web":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def install(app: Flask) -> None:
    app.after_request(add_security_headers)
