"""The partner API's routes (docs/api.md): the token's agreement, its deliveries, a delivery's
signed manifest and its encrypted file.

Each request is authenticated first (`_authenticate`): the bearer token, its agreement's trust
checks and the recipient's `ip_allow`, through gateway/services/tokens.py. A refusal is recorded
in the audit log under `token.use` and answered 401 (or 403 for an address outside `ip_allow`)
with the same body whatever the reason; the reason is the audit entry's. A delivery id the token
may not fetch — another partner's, a path trick, one that never existed — is recorded and
answered with the one 404 problem. Downloads are recorded when the response closes, with the
bytes served.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, NoReturn

from flask import Blueprint, Response, current_app, g, request, url_for
from sqlalchemy import Connection, Engine
from werkzeug.exceptions import HTTPException

from agreements.errors import DomainError, NotFound, Tampered
from agreements.roles import Action
from gateway import context, errors
from gateway.api import files, problems
from gateway.api.callers import MalformedAuthorization, bearer_token, client_address
from gateway.api.problems import UNAUTHENTICATED, ApiProblem
from gateway.keys import load_token_key
from gateway.seals import SealStore
from gateway.services import partner
from gateway.services.token_use import (
    AddressRefused,
    Credential,
    TokenRefused,
    authenticate,
    require_address,
)
from gateway.settings import Settings

log = logging.getLogger(__name__)
api = Blueprint("api", __name__)

DEFAULT_PER_PAGE = 20
CHALLENGE = 'Bearer realm="pks-gateway"'
REFUSED = (
    "the token is not valid: unknown, expired, revoked, rotated out, or its agreement or "
    "recipient is no longer in force"
)
NO_DELIVERY = "no such delivery for this token"
NO_AGREEMENT = "no such agreement for this token"


def _settings() -> Settings:
    settings: Settings = current_app.extensions["pks_settings"]
    return settings


def _engine() -> Engine:
    engine: Engine = current_app.extensions["pks_engine"]
    return engine


def _now() -> datetime:
    now: datetime = current_app.extensions["pks_clock"]()
    return now


@contextmanager
def _connection() -> Iterator[Connection]:
    with _engine().connect() as connection:
        yield connection


def _credential() -> Credential:
    credential: Credential = g.pks_credential
    return credential


# --- authentication and errors -----------------------------------------------------------------
@api.before_request
def _authenticate() -> None:
    settings = _settings()
    address = client_address(request.environ, settings.trusted_proxy_hops)
    g.pks_client = address
    try:
        token = bearer_token(request.headers)
    except MalformedAuthorization as error:
        _refuse_token(TokenRefused(str(error)))
    if token is None:
        _refuse_token(TokenRefused("no token (no Authorization header)"), challenge=CHALLENGE)
    key = load_token_key(settings.keys_dir)
    try:
        with _connection() as connection:
            credential = authenticate(
                connection,
                SealStore(settings.keys_dir),
                key,
                token,
                now=_now(),
                time_zone=settings.zone,
            )
    except TokenRefused as refused:
        _refuse_token(refused)
    try:
        require_address(credential, address)
    except AddressRefused as refused:
        _record_refusal(Action.TOKEN_USE, "token", credential.prefix, refused, credential.prefix)
        raise ApiProblem(
            errors.NOT_PERMITTED, "this token may not be used from this address"
        ) from None
    g.pks_credential = credential


def _refuse_token(refused: TokenRefused, *, challenge: str | None = None) -> NoReturn:
    _record_refusal(Action.TOKEN_USE, "token", refused.prefix or "(none)", refused, refused.prefix)
    header = challenge or f'{CHALLENGE}, error="invalid_token"'
    detail = None if challenge else REFUSED
    raise ApiProblem(UNAUTHENTICATED, detail, headers={"WWW-Authenticate": header})


def _record_refusal(
    action: Action,
    object_type: str,
    object_id: str,
    error: BaseException,
    prefix: str | None,
) -> None:
    """The refusal's audit entry; if it cannot be written, the refusal stands and the log says
    so (a refusal is never turned into an answer)."""
    rule = error.message if isinstance(error, DomainError) else type(error).__name__
    details = {"endpoint": request.endpoint or "-", "client": g.get("pks_client")}
    try:
        partner.record_refusal(
            _engine(),
            prefix=prefix,
            action=action,
            object_type=object_type,
            object_id=object_id,
            error=error,
            rule=rule,
            details=details,
            now=_now(),
        )
    except Exception:
        log.exception("a refused partner request (%s) could not be recorded", action.value)


@api.errorhandler(Exception)
def _problem(error: Exception) -> Response:
    # The partner is told the kind only; the operator gets the gateway's own (safe) text, and a
    # traceback for an error the table does not know (a bug).
    kind = errors.kind_of(error)
    if isinstance(error, ApiProblem | HTTPException):
        pass
    elif kind is None:
        log.exception("partner API: %s failed", request.endpoint)
    elif kind.http_status >= 500 or kind is errors.VERIFICATION_FAILED:
        log.error("partner API: %s: %s", request.endpoint, errors.shown(error))
    return problems.of_exception(error)


# --- agreements --------------------------------------------------------------------------------
@api.get("/agreements")
def list_agreements() -> Response:
    """The token's agreement (one item: a token is bound to one agreement)."""
    return _json({"items": [_summary()]})


@api.get("/agreements/<short_id>")
def get_agreement(short_id: str) -> Response:
    credential = _credential()
    if short_id != credential.short_id:
        error = NotFound("agreement", "", NO_AGREEMENT)
        _record_refusal(Action.TOKEN_USE, "agreement", short_id, error, credential.prefix)
        raise ApiProblem(errors.NOT_FOUND, NO_AGREEMENT)
    return _json(_summary())


def _summary() -> dict[str, Any]:
    with _connection() as connection:
        return partner.agreement_summary(
            connection, _credential(), now=_now(), time_zone=_settings().zone
        )


# --- deliveries --------------------------------------------------------------------------------
@api.get("/deliveries")
def list_deliveries() -> Response:
    """The published deliveries made for the token's recipient, newest first, a page at a time."""
    page = _whole_number("page", 1, 10**9)
    per_page = _whole_number("per_page", DEFAULT_PER_PAGE, partner.MAX_PER_PAGE)
    with _connection() as connection:
        items, total = partner.delivery_page(
            connection, _credential(), page=page, per_page=per_page
        )
    for item in items:
        item["links"] = _links(item["id"])
    last = max(1, -(-total // per_page))

    def page_link(number: int) -> str | None:
        if not 1 <= number <= last:
            return None
        return url_for("api.list_deliveries", page=number, per_page=per_page, _external=True)

    return _json(
        {
            "items": items,
            "page": page,
            "per_page": per_page,
            "total": total,
            "links": {"next": page_link(page + 1), "prev": page_link(min(page - 1, last))},
        }
    )


@api.get("/deliveries/<delivery_id>")
def get_delivery(delivery_id: str) -> Response:
    found = _find(delivery_id, Action.TOKEN_USE)
    document = partner.delivery_document(found)
    document["links"] = _links(found.delivery_id)
    return _json(document)


@api.get("/deliveries/<delivery_id>/manifest")
def get_manifest(delivery_id: str) -> Response:
    """The manifest's exact signed bytes (RFC 8785 JSON)."""
    found = _find(delivery_id, Action.TOKEN_USE)
    return Response(found.manifest_bytes, mimetype="application/json")


@api.get("/deliveries/<delivery_id>/manifest.sig")
def get_manifest_signature(delivery_id: str) -> Response:
    """The manifest's SSHSIG signature (armored text, namespace pks-manifest)."""
    found = _find(delivery_id, Action.TOKEN_USE)
    return Response(
        found.signature, mimetype="text/plain", content_type="text/plain; charset=us-ascii"
    )


@api.get("/deliveries/<delivery_id>/file")
def get_file(delivery_id: str) -> Response:
    """The encrypted file, streamed, with ETag, Repr-Digest, Range and If-Range (gateway/api/
    files.py); recorded in the audit log when the response closes."""
    credential = _credential()
    found = _find(delivery_id, Action.DELIVERY_DOWNLOAD)
    described = found.manifest.file
    etag = files.etag_of(described.sha256)
    try:
        handle = files.open_delivery_file(found.data, described.size)
    except (files.FileChanged, OSError) as error:
        log.error("delivery %s: its file cannot be served (%s)", delivery_id, type(error).__name__)
        reason = Tampered(f"delivery {delivery_id}: its data file is missing or not as published")
        _record_refusal(
            Action.DELIVERY_DOWNLOAD, "delivery", delivery_id, reason, credential.prefix
        )
        raise ApiProblem(errors.UNAVAILABLE) from None
    if files.none_match(request.headers.get("If-None-Match"), etag):
        handle.close()
        response = Response(status=304)
        response.headers["ETag"] = etag
        return response
    try:
        byte_range = files.requested_range(
            request.headers.get("Range"), request.headers.get("If-Range"), etag, described.size
        )
    except files.Unsatisfiable:
        handle.close()
        return problems.of_status(
            416,
            "the range is not satisfiable: ask for one range of bytes within the file",
            {"Content-Range": f"bytes */{described.size}"},
        )
    engine, clock, client = _engine(), current_app.extensions["pks_clock"], g.get("pks_client")
    head = request.method == "HEAD"

    def recorded(served: files.Served) -> None:
        # Runs when the server closes the response, outside the request: everything it needs is
        # bound here. A HEAD served no bytes and is the access log's only.
        if head:
            return
        chosen = served.byte_range
        details = {
            "status": served.status,
            "range": None if chosen is None else f"{chosen.start}-{chosen.end}",
            "bytes": served.bytes,
            "expected": served.expected,
            "size": described.size,
            "sha256": described.sha256,
            "client": client,
        }
        try:
            partner.record_download(
                engine,
                credential,
                delivery_id,
                outcome="ok" if served.complete else "incomplete",
                details=details,
                now=clock(),
            )
        except Exception:
            log.exception(
                "download of delivery %s by token %s (%d bytes) could not be recorded",
                delivery_id,
                credential.prefix,
                served.bytes,
            )

    return files.file_response(
        handle,
        size=described.size,
        sha256_hex=described.sha256,
        name=described.name,
        byte_range=byte_range,
        on_close=recorded,
    )


def _find(delivery_id: str, action: Action) -> partner.PartnerDelivery:
    credential = _credential()
    settings = _settings()
    try:
        with _connection() as connection:
            return partner.find_delivery(
                connection,
                credential,
                delivery_id,
                places=context.delivery_places(settings),
                keys_dir=settings.keys_dir,
            )
    except NotFound as error:
        _record_refusal(action, "delivery", delivery_id, error, credential.prefix)
        raise ApiProblem(errors.NOT_FOUND, NO_DELIVERY) from None
    except Tampered as error:
        log.error("partner API: %s", error.message)
        _record_refusal(action, "delivery", delivery_id, error, credential.prefix)
        raise ApiProblem(errors.UNAVAILABLE) from None


def _links(delivery_id: str) -> dict[str, str]:
    def url(endpoint: str) -> str:
        return url_for(endpoint, delivery_id=delivery_id, _external=True)

    return {
        "self": url("api.get_delivery"),
        "file": url("api.get_file"),
        "manifest": url("api.get_manifest"),
        "signature": url("api.get_manifest_signature"),
    }


def _whole_number(name: str, default: int, maximum: int) -> int:
    text = request.args.get(name)
    if text is None:
        return default
    if not (text.isascii() and text.isdigit() and len(text) <= 10) or not 1 <= int(text) <= maximum:
        raise ApiProblem(errors.USAGE, f"{name} must be a whole number from 1 to {maximum}")
    return int(text)


def _json(document: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(document, ensure_ascii=False, indent=1) + "\n",
        status=status,
        mimetype="application/json",
    )
