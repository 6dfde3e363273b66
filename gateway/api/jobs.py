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
from gateway.api.openapi import (
    documented,
    integer,
    json_answer,
    link,
    nullable,
    obj,
    path,
    problem,
    schema,
    text,
)
from gateway.api.problems import ApiProblem
from gateway.api.routes import AGREEMENT_ID, DELIVERY_NAME, api
from gateway.services import jobs
from gateway.services.jobs import OFFICER, ON_DEMAND, SCHEDULED, queue_delivery
from gateway.store.tables import DONE, JOB_FAILED, JOB_RUNNING, QUEUED

JOB_ID = re.compile(r"[0-9a-f]{32}")
NO_JOB = "no such job for this token"
POLL_SECONDS = "5"

OFFICE_TIME = text("RFC 3339 with the office's offset", format="date-time")
JOB = schema(
    "Job",
    obj(
        {
            "id": text("the job's id", pattern="^[0-9a-f]{32}$"),
            "agreement": AGREEMENT_ID,
            "kind": text(enum=[ON_DEMAND, SCHEDULED, OFFICER]),
            "requested_by": text("who asked: a token's prefix, `system`, or an officer"),
            "status": text(enum=[QUEUED, JOB_RUNNING, DONE, JOB_FAILED]),
            "attempts": integer(minimum=0),
            "rows": nullable(integer("rows written so far; the delivery's rows when done")),
            "delivery_id": nullable(DELIVERY_NAME),
            "cause": nullable(text("why it failed: a rule that refused it, or what failed")),
            "created_at": OFFICE_TIME,
            "started_at": nullable(OFFICE_TIME),
            "finished_at": nullable(OFFICE_TIME),
            "links": obj(
                {"self": text(format="uri"), "delivery": text(format="uri")},
                optional=["delivery"],
            ),
        },
        description="A delivery job: `queued`, `running` (with `rows` so far), `done` (with "
        "`delivery_id` and `links.delivery`) or `failed` (with `cause`).",
    ),
)
JOB_PARAMETER = path("job_id", "a job's id (32 hex digits); any other text answers 404", text())


@api.post("/deliveries")
@documented(
    "Ask for a delivery now",
    description="Queue a delivery of the token's agreement within its quota; it runs in the "
    "gateway's job worker, never inside the request. Poll the job at `Location` while "
    "`Retry-After` is sent.",
    tag="Deliveries",
    answers={
        202: json_answer(
            "The job, queued.",
            JOB,
            headers={"Location": True, "Retry-After": True},
            links={
                "job": link("get_job", "the job to poll", job_id="$response.body#/id"),
            },
        ),
        409: problem(
            "The agreement may not deliver now (suspended, expired), or its quota for the "
            "period is spent (deliveries made plus those queued); the rule is in `detail`."
        ),
    },
)
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
@documented(
    "A delivery job",
    description="A job of the token's agreement: its status, rows so far, and its delivery "
    "once done. Another partner's job id answers exactly like one that never existed.",
    tag="Deliveries",
    parameters=[JOB_PARAMETER],
    answers={
        200: json_answer(
            "The job; `Retry-After` while it is queued or running.",
            JOB,
            headers={"Retry-After": False},
            links={
                "delivery": link(
                    "get_delivery", "the delivery made", delivery_id="$response.body#/delivery_id"
                )
            },
        ),
        404: problem("No such job for this token."),
    },
)
def get_job(job_id: str) -> Response:
    """A job of the token's agreement: status, rows so far, its delivery when done."""
    credential = base.credential()
    try:
        if not (job_id.isascii() and JOB_ID.fullmatch(job_id)):
            raise NotFound("job", "", NO_JOB)  # never reaches the database
        with base.connection() as connection:
            # Filtered by the token's agreement in the one query: another partner's job is not
            # read, and takes the path of a job that never existed (status, body and work).
            job = jobs.show_job(connection, job_id, agreement_id=credential.agreement_id)
    except NotFound:
        missing = NotFound("job", "", NO_JOB)
        base.record_refusal(Action.TOKEN_USE, "job", job_id[:64], missing, credential.prefix)
        raise ApiProblem(errors.NOT_FOUND, NO_JOB) from None
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
