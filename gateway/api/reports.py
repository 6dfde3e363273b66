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
from gateway.api.problems import ApiProblem, StatusProblem
from gateway.api.routes import api
from gateway.services import reports
from gateway.services.reports import ReportView

_NEWLINE = re.compile(r"\r\n|\r|\n")
MAX_LINE = csv.field_size_limit()  # characters: the csv module refuses a longer field


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
