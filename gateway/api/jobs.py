"""On-demand deliveries (issue 11): a partner asks for a delivery of its agreement within the
quota; it runs in the job worker, never inside the request. `202 Accepted` with the job to poll
(`Location`); the job tells its status, rows so far, and its delivery once done. Another partner's
job id is answered exactly like one that never existed.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Response, url_for

from agreements.errors import Conflict, NotFound, NotPermitted
from agreements.roles import Action
from gateway import errors
from gateway.api import base
from gateway.api.problems import ApiProblem
from gateway.api.routes import api
from gateway.services import jobs
from gateway.services.jobs import ON_DEMAND, queue_delivery

JOB_ID = re.compile(r"[0-9a-f]{32}")
NO_JOB = "no such job for this token"
POLL_SECONDS = "5"


@api.post("/deliveries")
def request_delivery() -> Response:
    """Ask for a delivery of the token's agreement now (within its quota)."""
    credential = base.credential()
    try:
        job = queue_delivery(
            base.engine(),
            base.delivery_environment(),
            base.acting_partner(),
            credential.short_id,
            base.now(),
            kind=ON_DEMAND,
        )
    except Conflict as refused:  # audited by the service; the partner's own agreement's rule
        raise base.problem_from(refused, errors.CONFLICT) from None
    except NotPermitted as refused:
        raise base.problem_from(refused, errors.NOT_PERMITTED) from None
    base.job_queue().deliver(job.id)
    response = base.json_response(_document(job), 202)
    response.headers["Location"] = url_for("api.get_job", job_id=job.id, _external=True)
    response.headers["Retry-After"] = POLL_SECONDS
    return response


@api.get("/jobs/<job_id>")
def get_job(job_id: str) -> Response:
    """A job of the token's agreement: status, rows so far, its delivery when done."""
    credential = base.credential()
    job = None
    if job_id.isascii() and JOB_ID.fullmatch(job_id):
        try:
            with base.connection() as connection:
                job = jobs.show_job(connection, job_id)
        except NotFound:
            job = None
    if job is None or job.agreement != credential.short_id:
        missing = NotFound("job", "", NO_JOB)
        base.record_refusal(Action.TOKEN_USE, "job", job_id[:64], missing, credential.prefix)
        raise ApiProblem(errors.NOT_FOUND, NO_JOB)
    response = base.json_response(_document(job))
    if job.status in ("queued", "running"):
        response.headers["Retry-After"] = POLL_SECONDS
    return response


def _document(job: jobs.JobView) -> dict[str, Any]:
    shown = base.to_json(job, base.settings().zone)
    links = {"self": url_for("api.get_job", job_id=job.id, _external=True)}
    if job.delivery_id is not None:
        links["delivery"] = url_for("api.get_delivery", delivery_id=job.delivery_id, _external=True)
    return {**shown, "links": links}
