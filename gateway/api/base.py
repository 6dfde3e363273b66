"""What every route of the partner API shares: the app's settings, engine and clock, the
authenticated credential of the request, JSON answers, query-number parsing, and recording a
refusal in the audit log (a refusal is never turned into an answer if that fails)."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

from flask import Response, current_app, g, request
from sqlalchemy import Connection, Engine

from agreements.errors import DomainError
from agreements.roles import Action
from exports.reading.source import Source, open_source, parse_source_url
from gateway import context, errors
from gateway.api.problems import ApiProblem, StatusProblem
from gateway.readmodel import to_json as to_json
from gateway.services import partner
from gateway.services.actions import Actor
from gateway.services.actions import partner as partner_actor
from gateway.services.deliveries import DeliveryEnvironment
from gateway.services.token_use import Credential
from gateway.settings import Settings

if TYPE_CHECKING:
    from gateway.worker import JobQueue

T = TypeVar("T")
P = ParamSpec("P")

log = logging.getLogger("gateway.api.routes")


def settings() -> Settings:
    settings: Settings = current_app.extensions["pks_settings"]
    return settings


def engine() -> Engine:
    engine: Engine = current_app.extensions["pks_engine"]
    return engine


def now() -> datetime:
    now: datetime = current_app.extensions["pks_clock"]()
    return now


@contextmanager
def connection() -> Iterator[Connection]:
    with engine().connect() as connection:
        yield connection


def credential() -> Credential:
    credential: Credential = g.pks_credential
    return credential


def record_refusal(
    action: Action,
    object_type: str,
    object_id: str,
    error: BaseException,
    prefix: str | None,
) -> None:
    """The refusal's audit entry; if it cannot be written, the refusal stands and the log says
    so (a refusal is never turned into an answer)."""
    if isinstance(error, ApiProblem | StatusProblem):
        rule = error.detail  # written for the partner: names no value
    else:
        rule = error.message if isinstance(error, DomainError) else type(error).__name__
    details = {"endpoint": request.endpoint or "-", "client": g.get("pks_client")}
    try:
        partner.record_refusal(
            engine(),
            prefix=prefix,
            action=action,
            object_type=object_type,
            object_id=object_id,
            error=error,
            rule=rule,
            details=details,
            now=now(),
        )
    except Exception:
        log.exception("a refused partner request (%s) could not be recorded", action.value)


def whole_number(name: str, default: int, maximum: int) -> int:
    text = request.args.get(name)
    if text is None:
        return default
    if not (text.isascii() and text.isdigit() and len(text) <= 10) or not 1 <= int(text) <= maximum:
        raise ApiProblem(errors.USAGE, f"{name} must be a whole number from 1 to {maximum}")
    return int(text)


def json_response(document: Any, status: int = 200) -> Response:
    return Response(
        # Compact: an indent makes the json module fall back to its slow pure-Python encoder
        # (5 ms against 1 ms for a 1,000-item NIK verification answer, bench/README.md).
        json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n",
        status=status,
        mimetype="application/json",
    )


def cached(name: str, make: Callable[[], T]) -> T:
    """One per app, made on first use (a race makes two, and one is kept: harmless here)."""
    found = current_app.extensions.get(name)
    if found is None:
        found = current_app.extensions[name] = make()
    return cast(T, found)


def delivery_environment() -> DeliveryEnvironment:
    return cached("pks_delivery_environment", lambda: context.delivery_environment(settings()))


def job_queue() -> JobQueue:
    from gateway.worker import build_queue  # huey loads when a job is first asked for

    return cached("pks_job_queue", lambda: build_queue(settings()))


def source() -> Source:
    """The source database, opened once for the app with a connection pool (NIK verification
    reads it on every call; a delivery opens its own in the worker)."""

    def opened() -> Source:
        url = parse_source_url(settings().source_database_url)
        return Source(url, open_source(url, pooled=True))

    return cached("pks_source", opened)


def acting_partner() -> Actor:
    """The request's partner actor: its token prefix (`pks_…`) (never the token)."""
    return partner_actor(credential().prefix)


def view_response(view: object, status: int = 200) -> Response:
    """A service's view in the one JSON shape (gateway/readmodel.py)."""
    return json_response(to_json(view, settings().zone), status)


def problem_from(error: DomainError, kind: errors.ErrorKind) -> ApiProblem:
    """A refusal whose text was written for this door (a rule of the partner's own agreement or
    request, naming fields and positions, never values) passed on as the problem's detail. The
    service that raised it has already audited it."""
    problem = ApiProblem(kind, error.message)
    problem.recorded = True
    return problem


def audited_refusals(action: Action) -> Callable[[Callable[P, Response]], Callable[P, Response]]:
    """A route whose refusals of the request itself (its media type, size, shape: raised before
    any service, which audits its own) are recorded in the audit log under `action`."""

    def wrap(view: Callable[P, Response]) -> Callable[P, Response]:
        @functools.wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> Response:
            try:
                return view(*args, **kwargs)
            except (ApiProblem, StatusProblem) as refused:
                if not getattr(refused, "recorded", False):
                    found = credential()
                    record_refusal(action, "agreement", found.short_id, refused, found.prefix)
                raise

        return guarded

    return wrap
