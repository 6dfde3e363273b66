"""Deliveries and partners' tokens: the list with live progress of queued and running jobs, one
delivery with its re-identification report and manifest, "run now" as a job (never inside the
request), and tokens created (shown once), rotated and revoked — each through the service the
CLI and the API use."""

from __future__ import annotations

from typing import Any

from flask import jsonify, render_template, request

from agreements.errors import DomainError
from agreements.roles import Action, View
from gateway.api import base
from gateway.services import tokens as token_service
from gateway.services.delivery_views import list_deliveries, show_delivery
from gateway.services.jobs import OFFICER, list_jobs, queue_delivery, show_job
from gateway.web import security, web
from gateway.web.access import allow
from gateway.web.requests import error_message, error_status

OPEN_JOBS = ("queued", "running")


@web.get("/pengiriman")
@allow(View.DELIVERIES)
def deliveries_page() -> Any:
    return _page()


def _page(**extra: Any) -> Any:
    status = extra.pop("status", 200)
    with security.engine().connect() as connection:
        deliveries = list_deliveries(connection)
        jobs = [job for job in list_jobs(connection) if job.status in OPEN_JOBS]
    return render_template("deliveries.html", deliveries=deliveries, jobs=jobs, **extra), status


@web.post("/pengiriman/jalankan")
@allow(Action.DELIVERY_QUEUE)
def run_delivery() -> Any:
    short_id = request.form.get("agreement", "").strip()[:40]
    try:
        job = queue_delivery(
            security.engine(), base.delivery_environment(), _actor(), short_id, security.now(),
            kind=OFFICER,
        )  # fmt: skip
    except DomainError as error:
        return _page(error=error_message(error), status=error_status(error))
    base.job_queue().deliver(job.id)
    return _page(queued=job.id, status=202)


@web.get("/pengiriman/tugas/<job_id>")
@allow(View.DELIVERIES)
def job_progress(job_id: str) -> Any:
    """A job's state as JSON, for the page's progress script (rows so far, the delivery when
    done, the cause when it failed)."""
    with security.engine().connect() as connection:
        job = show_job(connection, job_id[:64])
    return jsonify(
        status=job.status, rows=job.rows, delivery=job.delivery_id, cause=job.cause,
        attempts=job.attempts,
    )  # fmt: skip


@web.get("/pengiriman/<delivery_id>")
@allow(View.DELIVERIES)
def delivery_page(delivery_id: str) -> Any:
    with security.engine().connect() as connection:
        view = show_delivery(connection, delivery_id[:80])
    return render_template("delivery.html", view=view)


@web.get("/token")
@allow(Action.TOKEN_LIST)
def tokens_page() -> Any:
    return _tokens()


def _tokens(**extra: Any) -> Any:
    status = extra.pop("status", 200)
    listed = token_service.list_tokens(
        security.engine(), _actor(), short_id=None, now=security.now()
    )
    return render_template("tokens.html", tokens=listed, **extra), status


@web.post("/token/baru")
@allow(Action.TOKEN_CREATE)
def token_create() -> Any:
    settings = security.settings()
    try:
        issued = token_service.create(
            security.engine(), security.seals(), settings.keys_dir, _actor(),
            request.form.get("agreement", "").strip()[:40], recipient=None,
            now=security.now(), time_zone=settings.zone,
        )  # fmt: skip
    except DomainError as error:
        return _tokens(error=error_message(error), status=error_status(error))
    return _tokens(issued=issued, status=201)


@web.post("/token/<prefix>/rotasi")
@allow(Action.TOKEN_ROTATE)
def token_rotate(prefix: str) -> Any:
    settings = security.settings()
    try:
        issued = token_service.rotate(
            security.engine(), security.seals(), settings.keys_dir, _actor(), prefix[:16],
            now=security.now(), time_zone=settings.zone,
        )  # fmt: skip
    except DomainError as error:
        return _tokens(error=error_message(error), status=error_status(error))
    return _tokens(issued=issued, status=201)


@web.post("/token/<prefix>/cabut")
@allow(Action.TOKEN_REVOKE)
def token_revoke(prefix: str) -> Any:
    reason = request.form.get("reason", "").strip()[:2000]
    try:
        token_service.revoke(
            security.engine(), security.seals(), _actor(), prefix[:16], now=security.now(),
            reason=reason,
        )  # fmt: skip
    except DomainError as error:
        return _tokens(error=error_message(error), status=error_status(error))
    return _tokens(revoked=prefix)


def _actor() -> str:
    return security.acting_member().name
