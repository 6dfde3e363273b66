"""The partner's reports over the API (issue 11; the rules are gateway/services/reports.py):
`POST /api/v1/reports/semester` (a PDF, at most 20 MiB) and `POST /api/v1/reports/data-balikan`
(a CSV of the NIKs the partner used, at most 64 MiB, read as a stream and never kept: only keyed
hashes and counts). Acknowledged with `201 Created` and the receipt.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Callable, Iterable, Iterator

from flask import Response, request

from agreements.errors import Conflict, Invalid, NotPermitted
from agreements.roles import Action
from gateway import context, errors, limits
from gateway.api import base
from gateway.api.openapi import (
    RequestBody,
    documented,
    integer,
    json_answer,
    nullable,
    obj,
    problem,
    schema,
    text,
)
from gateway.api.problems import ApiProblem, StatusProblem
from gateway.api.routes import AGREEMENT_ID, api
from gateway.services import reports
from gateway.services.reports import ReportView
from gateway.store.tables import DATA_BALIKAN, SEMESTER

RECEIPT = schema(
    "ReportReceipt",
    obj(
        {
            "id": integer("the receipt's number", minimum=1),
            "agreement": AGREEMENT_ID,
            "kind": text(enum=[SEMESTER, DATA_BALIKAN]),
            "due": nullable(text("the due date this report answers", format="date")),
            "received_at": text("RFC 3339 with the office's offset", format="date-time"),
            "received_by": text("the token's prefix"),
            "document_sha256": nullable(text("the PDF's SHA-256", pattern="^[0-9a-f]{64}$")),
            "size": integer("bytes received", minimum=0),
            "rows": integer("data balikan: NIK lines read", minimum=0),
            "invalid_rows": integer("data balikan: lines that are no valid NIK", minimum=0),
        },
        description="The acknowledgement of a report.",
    ),
)
_NEWLINE = re.compile(r"\r\n|\r|\n")
MAX_LINE = csv.field_size_limit()  # characters: the csv module refuses a longer field

REPORT_ANSWERS = {
    201: json_answer("Received: the receipt.", RECEIPT),
    403: problem(
        "The token's actor may not send reports, or the token is used from an address outside "
        "the recipient's `ip_allow`."
    ),
    409: problem(
        "Every report the agreement asks for has come already, or it asks for no data balikan."
    ),
    413: problem("Larger than the limit."),
    415: problem("Not of the media type this report is sent as."),
}


@api.post("/reports/semester")
@documented(
    "Send the semester report",
    description="The semester report the agreement's `[reporting]` asks for, as a PDF of at "
    f"most {limits.describe_size(limits.DOCUMENT.max_bytes)}; it answers the earliest open due "
    "date. A report that ends an overdue-report suspension resumes the agreement.",
    tag="Reports",
    body=RequestBody(
        "The report, a PDF.",
        {"application/pdf": text(format="binary")},
    ),
    answers={**REPORT_ANSWERS, 422: problem("Not a PDF.")},
)
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
@documented(
    "Send the data balikan",
    description="The NIKs the partner used, one a line (a header `nik` may come first), as "
    f"CSV of at most {limits.describe_size(limits.DATA_BALIKAN.max_bytes)}. The gateway keeps "
    "only keyed hashes and counts, never the NIKs.",
    tag="Reports",
    body=RequestBody(
        "The NIKs used, one a line.",
        {"text/csv": text()},
    ),
    answers={
        **REPORT_ANSWERS,
        422: problem(
            f"Not UTF-8 text, not readable as CSV, or a line longer than {MAX_LINE:,} characters."
        ),
    },
)
@base.audited_refusals(Action.REPORT_RECEIVE)
def data_balikan() -> Response:
    """A data balikan (text/csv: the NIKs used, one a line, a header `nik` allowed)."""
    limit = limits.DATA_BALIKAN.max_bytes
    _expect("text/csv", limit)
    try:
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
    except csv.Error:  # e.g. a quoted field never closed, longer than the csv module reads
        raise ApiProblem(errors.INVALID_INPUT, "the data balikan is not readable as CSV") from None


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
    """The body as text lines, decoded as UTF-8 while it streams; refused past `limit`, or with
    a line longer than the csv module reads (a NIK's line is short). Lines end at CR LF, LF or a
    lone CR (a spreadsheet's export), which the csv module would otherwise refuse mid-line."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    pending, seen = "", 0
    while chunk := request.stream.read(64 * 1024):
        seen += len(chunk)
        if seen > limit:
            raise _too_large(limit)
        text = pending + _decoded(decoder, chunk)
        held = text.endswith("\r")  # a CR LF may straddle two chunks
        *complete, pending = _NEWLINE.split(text[:-1] if held else text)
        pending += "\r" if held else ""
        yield from _short(complete)
        _short_enough(pending)
    yield from _short(
        part for part in _NEWLINE.split(pending + _decoded(decoder, b"", True)) if part
    )


def _decoded(decoder: codecs.IncrementalDecoder, chunk: bytes, final: bool = False) -> str:
    try:
        return decoder.decode(chunk, final)
    except UnicodeDecodeError:
        raise ApiProblem(errors.INVALID_INPUT, "the data balikan is not UTF-8 text") from None


def _short(lines: Iterable[str]) -> Iterator[str]:
    for line in lines:
        _short_enough(line)
        yield line


def _short_enough(line: str) -> None:
    if len(line) > MAX_LINE:
        detail = f"a line of the data balikan is longer than {MAX_LINE:,} characters"
        raise ApiProblem(errors.INVALID_INPUT, detail)


def _too_large(limit: int) -> StatusProblem:
    return StatusProblem(413, f"the report is larger than {limits.describe_size(limit)}, its limit")
