"""The office's web UI: server-rendered pages (Jinja templates, a little JavaScript served by the
gateway, no CDN) in Bahasa Indonesia by default and English on request (docs/web.md).

Every view declares the roles it is open to (gateway/web/access.py) and runs behind the guard
(gateway/web/security.py: session, role, CSRF); every page is built from the services and read
models the CLI uses, so the two doors cannot disagree.
"""

from __future__ import annotations

import traceback
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.exceptions import HTTPException

from gateway.api import in_api, problems
from gateway.errors import kind_of, shown
from gateway.web import i18n, security, words
from gateway.web.access import declared_roles
from gateway.web.i18n import _
from gateway.web.words import N_, error_title

web = Blueprint(
    "web",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/web",
)

# The views attach themselves to `web` when imported.
from gateway.web import (  # noqa: E402, F401  isort: skip
    agreements,
    auth,
    compliance,
    dashboard,
    deliveries,
    letter_pages,
    mask_preview,
    notices,
    requests,
    scope_editor,
    signing,
    staff_admin,
)


def register_web(app: Flask) -> None:
    """Mount the web UI on `app` (called by `create_app`)."""
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True
    )
    app.register_blueprint(web)
    security.install(app)
    app.register_error_handler(HTTPException, _any_http_error)


def _any_http_error(error: HTTPException) -> Any:
    # An unknown URL or method is found before any blueprint is: the API's paths answer with a
    # problem, the rest of the site with a page.
    if in_api():
        return problems.of_http_exception(error)
    security.choose_language()
    return http_error(error)


@web.before_request
def _guard() -> None:
    security.guard()


@web.after_request
def _cookies(response: Response) -> Response:
    return security.set_cookies(response)


@web.context_processor
def _globals() -> dict[str, Any]:
    zone = security.settings().zone
    return {
        "csrf_token": security.csrf_token,
        "member": security.member(),
        "language": i18n.language(),
        "long_date": lambda value: i18n.long_date(value, zone),
        "office_time": lambda value: i18n.office_time(value, zone),
        "month_name": lambda value: i18n.month_name(value),
        "role_label": words.role_label,
        "status_label": words.status_label,
        "agreement_status_label": words.agreement_status_label,
        "transition_label": words.transition_label,
        "menu": menu,
        "may": may,
        "notice_count": notices.notice_count,
    }


# The main menu: a page appears for the roles its view is open to.
MENU = (
    ("web.dashboard", N_("Dashboard")),
    ("web.requests_page", N_("Requests")),
    ("web.agreements_page", N_("Agreements")),
    ("web.deliveries_page", N_("Deliveries")),
    ("web.tokens_page", N_("Partner tokens")),
    ("web.subject_lookup", N_("Data subjects")),
    ("web.audit_log_page", N_("Audit log")),
    ("web.staff_page", N_("Staff")),
)


def may(endpoint: str) -> bool:
    """Whether the member may use the view `endpoint` (a template shows its form or link)."""
    current = security.member()
    if current is None:
        return False
    view = current_app.view_functions.get(endpoint)
    roles = declared_roles(view, security.settings().delivery_role_set)
    return roles is None or current.role in roles


def menu() -> list[tuple[str, str]]:
    current = security.member()
    if current is None:
        return []
    shown = []
    for endpoint, label in MENU:
        view = current_app.view_functions.get(endpoint)
        if view is None:
            raise LookupError(f"the menu names {endpoint}, which is no view")
        roles = declared_roles(view, security.settings().delivery_role_set)
        if roles is None or current.role in roles:
            shown.append((endpoint, label))
    return shown


@web.errorhandler(security.Refusal)
def _refused(refusal: security.Refusal) -> Any:
    if refusal.status == 401 and request.method == "GET":
        # A page asked for without a session is navigation, not an attack: the login form,
        # coming back here after it (unaudited, so anonymous visits cannot flood the log).
        return redirect(url_for("web.login_form", next=request.full_path.rstrip("?")))
    security.audit_refusal(refusal)
    if refusal.status == 401:
        return render_template("login.html", message=_(refusal.message)), 401
    return error_page(refusal.status, _(refusal.message))


@web.errorhandler(Exception)
def _failure(error: Exception) -> Any:
    """Any other error of a web view: a page in the error table's words, never a stack trace."""
    if isinstance(error, HTTPException):
        return http_error(error)
    kind = kind_of(error)
    if kind is None:
        # Where it failed, without the error's text: a driver's message could quote a value.
        frames = "".join(traceback.format_tb(error.__traceback__))
        current_app.logger.error("web view failed: %s\n%s", type(error).__name__, frames)
        return error_page(500, _("Something went wrong. The error was recorded."))
    return error_page(kind.http_status, error_title(kind.code), shown(error))


def error_page(status: int, message: str, detail: str | None = None) -> Any:
    return render_template("error.html", status=status, message=message, detail=detail), status


def http_error(error: HTTPException) -> Any:
    """A page for a URL the web UI does not have, or a method it does not take."""
    return error_page(error.code or 500, _(HTTP_MESSAGES.get(error.code or 500, N_("Error"))))


HTTP_MESSAGES = {
    404: N_("This page does not exist."),
    405: N_("This page does not take that kind of request."),
    413: N_("The upload is too large."),
}
