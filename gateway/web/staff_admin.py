"""The Admin's staff page: who is registered, in which role, whether they can log in; a new
password for a member (their sessions end), and deactivation — through the services the CLI's
`staff password` and `staff deactivate` use, so the rules (the last Admin stays, passwords of 12
characters or more, rows sealed) are the same."""

from __future__ import annotations

from typing import Any

from flask import render_template, request

from agreements.errors import DomainError
from agreements.roles import Action, View
from gateway.services import logins
from gateway.services import staff as service
from gateway.web import security, web
from gateway.web.access import allow
from gateway.web.requests import error_message, error_status


@web.get("/staf")
@allow(View.STAFF)
def staff_page() -> Any:
    return _page()


def _page(**extra: Any) -> Any:
    status = extra.pop("status", 200)
    with security.engine().connect() as connection:
        members = service.staff_rows(connection)
    return render_template("staff.html", members=members, **extra), status


@web.post("/staf/<name>/kata-sandi")
@allow(Action.STAFF_PASSWORD)
def staff_password(name: str) -> Any:
    password = request.form.get("password", "")
    try:
        service.check_password_rule(name, password)
        service.set_password(
            security.engine(), security.seals(), name[:100], logins.hash_password(password),
            by=_actor(), now=security.now(),
        )  # fmt: skip
    except DomainError as error:
        return _page(error=error_message(error), failed=name, status=error_status(error))
    return _page(done=name)


@web.post("/staf/<name>/nonaktifkan")
@allow(Action.STAFF_DEACTIVATE)
def staff_deactivate(name: str) -> Any:
    try:
        service.deactivate(
            security.engine(), security.seals(), name[:100], by=_actor(), now=security.now(),
            reason=request.form.get("reason", "").strip()[:2000],
        )  # fmt: skip
    except DomainError as error:
        return _page(error=error_message(error), failed=name, status=error_status(error))
    return _page(done=name)


def _actor() -> str:
    return security.acting_member().name
