"""The SOP pages, steps 1–7: the list of requests, one request with its history and the actions
the member's role may take at its step, the intake form with the letter upload, and one form per
step. Each form calls the same service the CLI calls; a refusal is shown next to its field in
the page's language, with the error table's status, and nothing is stored."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from flask import redirect, render_template, request, url_for

from agreements.errors import DomainError, Invalid
from agreements.roles import Action, View
from agreements.workflow import STEPS, Document, Role, Status, Transition
from gateway import context, limits
from gateway.errors import kind_of, shown
from gateway.services import requests as service
from gateway.services.request_views import (
    draft_revisions,
    list_requests,
    revision_diff,
    show_request,
)
from gateway.services.requests import ASSIGNEES_OWN
from gateway.services.staff import staff_rows
from gateway.web import security, web
from gateway.web.access import allow
from gateway.web.i18n import _
from gateway.web.rule_words import rule_words
from gateway.web.words import error_title

PDF_MAGIC = b"%PDF-"
# The form of each step: its endpoint, and which transition it posts.
FORMS = {
    Transition.DISPOSE: "web.request_dispose",
    Transition.ASSIGN: "web.request_assign",
    Transition.REJECT: "web.request_reject",
    Transition.DRAFT: "web.request_draft",
    Transition.RETURN: "web.request_return",
    Transition.FORWARD: "web.request_forward",
    Transition.SIGN: "web.request_sign",
    Transition.CANCEL: "web.request_cancel",
}


@web.get("/permohonan")
@allow(View.REQUESTS)
def requests_page() -> Any:
    wanted = request.args.get("status", "")
    status = Status(wanted) if wanted in {s.value for s in Status} else None
    with security.engine().connect() as connection:
        listed = list_requests(connection, security.now(), _calendar(), status=status)
    return render_template("requests.html", requests=listed, statuses=list(Status), chosen=wanted)


@web.get("/permohonan/<int:request_id>")
@allow(View.REQUESTS)
def request_page(request_id: int) -> Any:
    return _show(request_id)


def _show(request_id: int, errors: dict[str, str] | None = None, status: int = 200) -> Any:
    current = security.acting_member()
    with security.engine().connect() as connection:
        view = show_request(connection, request_id, security.now(), _calendar())
        members = staff_rows(connection)
    forms = [
        (step, FORMS[step.transition])
        for step in STEPS
        if view.status in step.sources and step.role is current.role
        and not (step.transition in ASSIGNEES_OWN and view.assignee not in (None, current.name))
    ]  # fmt: skip
    assignees = [
        m["name"] for m in members if m["role"] == Role.PEJABAT_FUNGSIONAL.value and m["active"]
    ]
    page = render_template(
        "request.html", view=view, forms=forms, assignees=assignees, errors=errors or {},
        changes=_last_changes(request_id),
    )  # fmt: skip
    return page, status


def _last_changes(request_id: int) -> Any:
    """What the newest draft changed against the one before (the review's diff), or None when
    there is only one draft or none."""
    settings = security.settings()
    with security.engine().connect() as connection:
        revisions = draft_revisions(connection, request_id)
    if len(revisions) < 2:
        return None
    return revision_diff(
        revisions, None, None, settings.documents_dir, context.catalog_of(settings),
        context.region_codes(settings),
    )  # fmt: skip


@web.route("/permohonan/baru", methods=["GET", "POST"])
@allow(Action.REQUEST_SUBMIT)
def request_new() -> Any:
    if request.method == "GET":
        return render_template("request_new.html", errors={}, form={})
    form = request.form
    errors: dict[str, str] = {}
    try:
        letter = service.Letter(
            institution=_text("institution", limits.INSTITUTION),
            letter_number=_text("letter_number", limits.LETTER_NUMBER),
            letter_date=_date("letter_date"),
            purpose=_text("purpose", limits.FREE_TEXT),
            legal_basis=tuple(
                line.strip()
                for line in _text("legal_basis", limits.FREE_TEXT).splitlines()
                if line.strip()
            ),
            requested_elements=tuple(
                line.strip() for line in form.get("elements_text", "").splitlines() if line.strip()
            ),
            access_modes=tuple(form.getlist("access_mode")),
            duration_months=_number("duration"),
            data_balikan_plan=_text("data_balikan", limits.FREE_TEXT),
        )
        document = _pdf("letter")
        request_id = service.submit(
            security.engine(), _actor(), letter, document, now=security.now(),
            catalog_keys=context.catalog_of(security.settings()).keys(),
        )  # fmt: skip
    except DomainError as error:
        errors[_field_of(error)] = error_message(error)
        return render_template("request_new.html", errors=errors, form=form), error_status(error)
    return redirect(url_for("web.request_page", request_id=request_id), code=303)


def _step_form(request_id: int, work: Callable[[], object], field: str = "notes") -> Any:
    try:
        work()
    except DomainError as error:
        errors = {_field_of(error, field): error_message(error)}
        return _show(request_id, errors, error_status(error))
    return redirect(url_for("web.request_page", request_id=request_id), code=303)


@web.post("/permohonan/<int:request_id>/disposisi")
@allow(Action.REQUEST_DISPOSE)
def request_dispose(request_id: int) -> Any:
    def work() -> object:
        note = _text("note", limits.FREE_TEXT)
        return service.dispose(
            security.engine(), _actor(), request_id, note=note, now=security.now()
        )

    return _step_form(request_id, work, "note")


@web.post("/permohonan/<int:request_id>/tugaskan")
@allow(Action.REQUEST_ASSIGN)
def request_assign(request_id: int) -> Any:
    def work() -> object:
        assignee = _text("assignee", limits.STAFF_NAME)
        return service.assign(
            security.engine(), _actor(), request_id, assignee=assignee, now=security.now()
        )

    return _step_form(request_id, work, "assignee")


@web.post("/permohonan/<int:request_id>/tolak")
@allow(Action.REQUEST_REJECT)
def request_reject(request_id: int) -> Any:
    def work() -> object:
        reason = _text("reason", limits.FREE_TEXT)
        letter = _pdf("rejection_letter")
        return service.reject(
            security.engine(), _actor(), request_id, reason=reason, letter=letter,
            now=security.now(),
        )  # fmt: skip

    return _step_form(request_id, work, "reason")


@web.post("/permohonan/<int:request_id>/konsep")
@allow(Action.REQUEST_DRAFT)
def request_draft(request_id: int) -> Any:
    def work() -> object:
        data = upload("scope", limits.SCOPE_FILE)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise Invalid("scope", "must be a UTF-8 TOML file") from None
        document = service.attach(_name("scope"), data, security.settings().documents_dir)
        settings = security.settings()
        return service.draft(
            security.engine(), security.seals(), _actor(), request_id, scope_text=text,
            document=document, catalog=context.catalog_of(settings),
            region_codes=context.region_codes(settings), now=security.now(),
        )  # fmt: skip

    return _step_form(request_id, work, "scope")


@web.post("/permohonan/<int:request_id>/kembalikan")
@allow(Action.REQUEST_RETURN)
def request_return(request_id: int) -> Any:
    def work() -> object:
        notes = _text("notes", limits.FREE_TEXT)
        return service.return_draft(
            security.engine(), _actor(), request_id, notes=notes, now=security.now()
        )

    return _step_form(request_id, work)


@web.post("/permohonan/<int:request_id>/teruskan")
@allow(Action.REQUEST_FORWARD)
def request_forward(request_id: int) -> Any:
    def work() -> object:
        notes = request.form.get("notes", "").strip()[: limits.FREE_TEXT]
        return service.forward(
            security.engine(), _actor(), request_id, notes=notes, now=security.now()
        )

    return _step_form(request_id, work)


@web.post("/permohonan/<int:request_id>/tandatangani")
@allow(Action.REQUEST_SIGN)
def request_sign(request_id: int) -> Any:
    def work() -> object:
        acknowledged = request.form.get("acknowledged") == "yes"
        signed = _pdf("signed_pks")
        return service.sign(
            security.engine(), security.seals(), _actor(), request_id,
            acknowledged=acknowledged, signed_pks=signed, now=security.now(),
        )  # fmt: skip

    return _step_form(request_id, work, "signed_pks")


@web.post("/permohonan/<int:request_id>/batal")
@allow(Action.REQUEST_CANCEL)
def request_cancel(request_id: int) -> Any:
    def work() -> object:
        reason = _text("reason", limits.FREE_TEXT)
        return service.cancel(
            security.engine(), _actor(), request_id, reason=reason, now=security.now()
        )

    return _step_form(request_id, work, "reason")


# --- form fields ------------------------------------------------------------------------------


def _actor() -> str:
    return security.acting_member().name


def _calendar() -> Any:
    return context.work_calendar(security.settings())


def _text(field: str, limit: int) -> str:
    value = request.form.get(field, "").strip()
    if not value:
        raise Invalid(field, "required")
    if len(value) > limit:
        raise Invalid(field, f"at most {limit} characters")
    return value


def _date(field: str) -> date:
    try:
        return date.fromisoformat(request.form.get(field, "").strip())
    except ValueError:
        raise Invalid(field, "a date, YYYY-MM-DD") from None


def _number(field: str) -> int:
    text = request.form.get(field, "").strip()
    if not text.isdigit() or len(text) > 4:
        raise Invalid(field, "a whole number")
    return int(text)


def upload(field: str, limit: limits.FileLimit) -> bytes:
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        raise Invalid(field, "choose a file")
    data = upload.stream.read(limit.max_bytes + 1)
    if len(data) > limit.max_bytes:
        raise Invalid(field, f"a {limit.what} of at most {limit.max_bytes // limits.MIB} MiB")
    if not data:
        raise Invalid(field, "the file is empty")
    return data


def _name(field: str) -> str:
    upload = request.files[field]
    name = (upload.filename or field).replace("/", "_").replace("\\", "_")
    return name[-100:]


def _pdf(field: str) -> Document:
    data = upload(field, limits.DOCUMENT)
    if not data.startswith(PDF_MAGIC):
        raise Invalid(field, "must be a PDF")
    return service.attach(_name(field), data, security.settings().documents_dir)


def _field_of(error: DomainError, default: str = "form") -> str:
    return error.field if isinstance(error, Invalid) else default


def error_message(error: DomainError) -> str:
    """The error table's title in the page's language, then, for a scope rule an officer meets
    often, the rule in their words, and the service's own text (ids, fields, rules; no values)."""
    kind = kind_of(error)
    title = error_title(kind.code) if kind else _("Error")
    words = rule_words(error.rule) if isinstance(error, Invalid) else None
    if words is not None:
        return f"{title}: {words} ({shown(error)})"
    return f"{title}: {shown(error)}"


def error_status(error: DomainError) -> int:
    kind = kind_of(error)
    return kind.http_status if kind else 400
