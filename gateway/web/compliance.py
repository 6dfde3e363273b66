"""The compliance pages: the audit log with filters and pages, the chain status, and an export
for an outside auditor (the same directory `pks-gateway audit export` writes, zipped)."""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import zipfile
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from flask import render_template, request, send_file

from agreements.errors import DomainError
from agreements.roles import View
from audit import log as audit_log
from audit.export import export_log
from gateway import context
from gateway.services.actions import recordable
from gateway.services.audit_check import chain_status
from gateway.services.subjects import subject_deliveries
from gateway.web import security, web
from gateway.web.access import allow
from gateway.web.i18n import _
from gateway.web.requests import error_message, error_status

PAGE_SIZE = 50
FILTERS = ("action", "actor_id", "object_type", "object_id", "outcome")
OUTCOMES = ("ok", "refused", "failed")


@web.get("/audit")
@allow(View.AUDIT)
def audit_log_page() -> Any:
    filters = {name: request.args.get(name, "").strip()[:200] for name in FILTERS}
    errors: dict[str, str] = {}
    if filters["outcome"] and filters["outcome"] not in OUTCOMES:
        errors["outcome"] = _("Choose one of the outcomes listed.")
    since = _day(request.args.get("since", ""), "since", errors)
    until = _day(request.args.get("until", ""), "until", errors)
    page = _page(request.args.get("page", "1"), errors)
    if errors:
        return _render([], 0, filters, page, errors), 422
    zone = security.settings().zone
    chosen: dict[str, Any] = {name: value or None for name, value in filters.items()}
    if since is not None:
        chosen["since"] = datetime.combine(since, time(), zone)
    if until is not None:
        chosen["until"] = datetime.combine(until + timedelta(days=1), time(), zone)
    with security.engine().connect() as connection:
        total = audit_log.count_entries(connection, **chosen)
        offset = (page - 1) * PAGE_SIZE
        entries = audit_log.list_entries(
            connection, **chosen, limit=PAGE_SIZE, offset=offset, newest_first=True
        )
    return _render(entries, total, filters, page, errors)


def _render(
    entries: list[Any], total: int, filters: dict[str, str], page: int, errors: dict[str, str]
) -> str:
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    # Only the filters go into the pager's links: url_for would honour other keys (_external).
    query = {k: v for k, v in request.args.items() if k in (*FILTERS, "since", "until") and v}
    return render_template(
        "audit.html", entries=entries, details_text=details_text, total=total,
        filters=filters, page=page, pages=pages, errors=errors, query=query, outcomes=OUTCOMES,
        since=request.args.get("since", ""), until=request.args.get("until", ""),
    )  # fmt: skip


def details_text(details: Any) -> str:
    """An entry's details as compact JSON (ids, counts and rules: the log holds no values)."""
    return json.dumps(dict(details), ensure_ascii=False, sort_keys=True, default=str)


def _day(text: str, field: str, errors: dict[str, str]) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        errors[field] = _("Enter a date as YYYY-MM-DD.")
        return None


def _page(text: str, errors: dict[str, str]) -> int:
    if text.isdigit() and 1 <= int(text) <= 1_000_000:
        return int(text)
    errors["page"] = _("The page number is not valid.")
    return 1


@web.get("/audit/chain")
@allow(View.AUDIT)
def chain() -> Any:
    with security.engine().connect() as connection:
        status = chain_status(connection, security.settings())
    return render_template("chain.html", status=status)


@web.get("/audit/export")
@allow(View.AUDIT)
def export() -> Any:
    """The whole log and its checkpoints, as `audit export` writes them, in one zip file."""
    settings = security.settings()
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="audit-export-", dir=settings.work_dir))
    try:
        with security.engine().connect() as connection:
            summary = export_log(connection, work / "export", origin=settings.audit_origin)
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
            for path in sorted((work / "export").rglob("*")):
                if path.is_file():
                    bundle.write(path, path.relative_to(work / "export").as_posix())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    current = security.acting_member()
    with security.engine().begin() as connection:
        audit_log.append(
            connection, actor_role=current.role.value, actor_id=current.name,
            action="audit.export", object_type="audit_log",
            object_id=recordable("object_id", settings.audit_origin), outcome="ok",
            details={"entries": summary.entries}, now=security.now(),
        )  # fmt: skip
    archive.seek(0)
    name = f"audit-export-{security.now().astimezone(settings.zone):%Y%m%d-%H%M}.zip"
    return send_file(archive, mimetype="application/zip", as_attachment=True, download_name=name)


@web.route("/subjek", methods=["GET", "POST"])
@allow(View.SUBJECTS)
def subject_lookup() -> Any:
    """A data subject asks which institutions received their record. The NIK comes in a form
    (never a URL, so no log keeps it), is never shown back, and the lookup is audited under its
    keyed hash (gateway/services/subjects.py)."""
    if request.method == "GET":
        return subject_page(None, {})
    current = security.acting_member()
    settings = security.settings()
    try:
        found = subject_deliveries(
            security.engine(), request.form.get("nik", "")[:64], keys_dir=settings.keys_dir,
            places=context.delivery_places(settings), actor_name=current.name,
            now=security.now(),
        )  # fmt: skip
    except DomainError as error:
        return subject_page(None, {"nik": error_message(error)}), error_status(error)
    return subject_page(found, {})


def subject_page(found: Any, errors: dict[str, str]) -> str:
    return render_template("subject.html", found=found, errors=errors)
