"""The partner's reports over the API (issue 11; the rules are gateway/services/reports.py):
`POST /api/v1/reports/semester` (a PDF, at most 20 MiB) and `POST /api/v1/reports/data-balikan`
(a CSV of the NIKs the partner used, at most 64 MiB, read as a stream and never kept: only keyed
hashes and counts). Acknowledged with `201 Created` and the receipt.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterator

from flask import Response, request

from agreements.errors import Conflict, Invalid, NotPermitted
from agreements.roles import Action
from gateway import context, errors, limits
from gateway.api import base
from gateway.api.problems import ApiProblem, StatusProblem
from gateway.api.routes import api
from gateway.services import reports
from gateway.services.reports import ReportView


@api.post("/reports/semester")
@base.audited_refusals(Action.REPORT_RECEIVE)
def semester_report() -> Response:
    """A semester report (application/pdf)."""
    limit = limits.DOCUMENT.max_bytes
    _expect("application/pdf", limit)
    data = request.stream.read(limit + 1)
    if len(data) > limit:
        raise _too_large(limit)
    settings = base.settings()
    return _receipt(
        lambda: reports.receive_semester_report(
            base.engine(),
            context.seal_store(settings),
            base.acting_partner(),
            base.credential().short_id,
            data,
            documents_dir=settings.documents_dir,
            now=base.now(),
            grace_days=settings.report_grace_days,
            zone=settings.zone,
        )
    )


@api.post("/reports/data-balikan")
@base.audited_refusals(Action.REPORT_RECEIVE)
def data_balikan() -> Response:
    """A data balikan (text/csv: the NIKs used, one a line, a header `nik` allowed)."""
    limit = limits.DATA_BALIKAN.max_bytes
    _expect("text/csv", limit)
    return _receipt(
        lambda: reports.receive_data_balikan(
            base.engine(),
            base.acting_partner(),
            base.credential().short_id,
            _lines(limit),
            keys_dir=base.settings().keys_dir,
            now=base.now(),
        )
    )


def _receipt(receive: Callable[[], ReportView]) -> Response:
    try:
        receipt = receive()
    except Invalid as refused:
        raise base.problem_from(refused, errors.INVALID_INPUT) from None
    except Conflict as refused:
        raise base.problem_from(refused, errors.CONFLICT) from None
    except NotPermitted as refused:
        raise base.problem_from(refused, errors.NOT_PERMITTED) from None
    return base.view_response(receipt, 201)


def _expect(media_type: str, limit: int) -> None:
    if (request.mimetype or "").lower() != media_type:
        raise StatusProblem(415, f"send the report as {media_type}")
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)


def _lines(limit: int) -> Iterator[str]:
    """The body as text lines, decoded as UTF-8 while it streams; refused past `limit`."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    pending, seen = "", 0
    while chunk := request.stream.read(64 * 1024):
        seen += len(chunk)
        if seen > limit:
            raise _too_large(limit)
        try:
            pending += decoder.decode(chunk)
        except UnicodeDecodeError:
            raise ApiProblem(errors.INVALID_INPUT, "the data balikan is not UTF-8 text") from None
        *complete, pending = pending.split("\n")
        yield from complete
    if pending:
        yield pending


def _too_large(limit: int) -> StatusProblem:
    return StatusProblem(413, f"the report is larger than {limits.describe_size(limit)}, its limit")
