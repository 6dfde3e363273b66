"""Logging in and out, and the language switch."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import g, redirect, render_template, request, url_for

from agreements.roles import View
from gateway.services import logins
from gateway.web import security, web
from gateway.web.access import allow, public
from gateway.web.i18n import LANGUAGES, _

NAME_LIMIT = 100


def local_target(target: str | None) -> str:
    """`next` when it is a path of this site, else the dashboard: a login link never sends a
    member elsewhere (no scheme, no host, no `//` or backslash tricks)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("web.dashboard")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return url_for("web.dashboard")
    return target


@web.get("/login")
@public
def login_form() -> Any:
    if security.member() is not None:
        return redirect(local_target(request.args.get("next")))
    return render_template("login.html", next=request.args.get("next", ""))


@web.post("/login")
@public
def log_in() -> Any:
    name = request.form.get("name", "").strip()[:NAME_LIMIT]
    password = request.form.get("password", "")
    target = request.form.get("next", "")
    if not name or not password:
        message = _("Enter your name and password.")
        return render_template("login.html", message=message, name=name, next=target), 400
    try:
        session_id = logins.log_in(
            security.engine(), security.seals(), security.web_key(), name, password,
            address=security.address(), now=security.now(),
        )  # fmt: skip
    except logins.LoginRefused as refused:
        if refused.retry_after:
            minutes = max(1, (refused.retry_after + 59) // 60)
            message = _(
                "Too many failed logins. Try again in %(minutes)s minutes.", minutes=minutes
            )
            page = render_template("login.html", message=message, name=name, next=target)
            return page, 429, {"Retry-After": str(refused.retry_after)}
        message = _("Wrong name or password.")
        return render_template("login.html", message=message, name=name, next=target), 401
    response = redirect(local_target(target), code=303)
    response.set_cookie(security.SESSION_COOKIE, session_id, **security.cookie_options())
    response.delete_cookie(security.PRESESSION_COOKIE)
    return response


@web.post("/logout")
@allow(View.DASHBOARD)
def log_out() -> Any:
    everywhere = request.form.get("everywhere") == "1"
    session_id = request.cookies.get(security.SESSION_COOKIE, "")
    logins.log_out(security.engine(), session_id, everywhere=everywhere, now=security.now())
    g.member = None
    response = redirect(url_for("web.login_form"), code=303)
    response.delete_cookie(security.SESSION_COOKIE)
    return response


@web.get("/bahasa/<code>")
@public
def choose_language(code: str) -> Any:
    response = redirect(local_target(request.args.get("next")))
    if code in LANGUAGES:
        response.set_cookie(
            security.LANGUAGE_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax",
            secure=security.settings().web_cookie_secure,
        )  # fmt: skip
    return response
