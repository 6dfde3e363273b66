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

import logging
from datetime import datetime
from typing import Any, NoReturn

from flask import Blueprint, Response, current_app, g, request, url_for
from werkzeug.exceptions import HTTPException

from agreements.errors import NotFound, Tampered
from agreements.roles import Action
from gateway import context, errors
from gateway.api import base, files, problems
from gateway.api.callers import MalformedAuthorization, bearer_token, client_address
from gateway.api.problems import UNAUTHENTICATED, ApiProblem, StatusProblem
from gateway.keys import load_token_key
from gateway.readmodel import rfc3339
from gateway.seals import SealStore
from gateway.services import partner
from gateway.services.token_use import (
    AddressRefused,
    TokenRefused,
    authenticate,
    require_address,
)

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


# --- authentication and errors -----------------------------------------------------------------
@api.before_request
def _authenticate() -> None:
    settings = base.settings()
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
        with base.connection() as connection:
            credential = authenticate(
                connection,
                SealStore(settings.keys_dir),
                key,
                token,
                now=base.now(),
                time_zone=settings.zone,
            )
    except TokenRefused as refused:
        _refuse_token(refused)
    try:
        require_address(credential, address)
    except AddressRefused as refused:
        base.record_refusal(
            Action.TOKEN_USE, "token", credential.prefix, refused, credential.prefix
        )
        raise ApiProblem(
            errors.NOT_PERMITTED, "this token may not be used from this address"
        ) from None
    g.pks_credential = credential


def _refuse_token(refused: TokenRefused, *, challenge: str | None = None) -> NoReturn:
    base.record_refusal(
        Action.TOKEN_USE, "token", refused.prefix or "(none)", refused, refused.prefix
    )
    header = challenge or f'{CHALLENGE}, error="invalid_token"'
    detail = None if challenge else REFUSED
    raise ApiProblem(UNAUTHENTICATED, detail, headers={"WWW-Authenticate": header})


@api.errorhandler(Exception)
def _problem(error: Exception) -> Response:
    # The partner is told the kind only; the operator gets the gateway's own (safe) text, and a
    # traceback for an error the table does not know (a bug).
    kind = errors.kind_of(error)
    if isinstance(error, ApiProblem | StatusProblem | HTTPException):
        pass  # an answer the API chose (a refusal, 413, 415, 429 …), not a failure
    elif kind is None:
        log.exception("partner API: %s failed", request.endpoint)
    elif kind.http_status >= 500 or kind is errors.VERIFICATION_FAILED:
        log.error("partner API: %s: %s", request.endpoint, errors.shown(error))
    return problems.of_exception(error)


# --- agreements --------------------------------------------------------------------------------
@api.get("/agreements")
def list_agreements() -> Response:
    """The token's agreement (one item: a token is bound to one agreement)."""
    return base.json_response({"items": [_summary()]})


@api.get("/agreements/<short_id>")
def get_agreement(short_id: str) -> Response:
    credential = base.credential()
    if short_id != credential.short_id:
        error = NotFound("agreement", "", NO_AGREEMENT)
        base.record_refusal(Action.TOKEN_USE, "agreement", short_id, error, credential.prefix)
        raise ApiProblem(errors.NOT_FOUND, NO_AGREEMENT)
    return base.json_response(_summary())


def _summary() -> dict[str, Any]:
    with base.connection() as connection:
        return partner.agreement_summary(
            connection, base.credential(), now=base.now(), time_zone=base.settings().zone
        )


# --- deliveries --------------------------------------------------------------------------------
@api.get("/deliveries")
def list_deliveries() -> Response:
    """The published deliveries made for the token's recipient, newest first, a page at a time."""
    page = base.whole_number("page", 1, 10**9)
    per_page = base.whole_number("per_page", DEFAULT_PER_PAGE, partner.MAX_PER_PAGE)
    with base.connection() as connection:
        items, total = partner.delivery_page(
            connection, base.credential(), page=page, per_page=per_page
        )
    for item in items:
        item["links"] = _links(item["id"])
    last = max(1, -(-total // per_page))

    def page_link(number: int) -> str | None:
        if not 1 <= number <= last:
            return None
        return url_for("api.list_deliveries", page=number, per_page=per_page, _external=True)

    return base.json_response(
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
    return base.json_response(document)


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
    credential = base.credential()
    found = _find(delivery_id, Action.DELIVERY_DOWNLOAD)
    described = found.manifest.file
    etag = files.etag_of(described.sha256)
    if found.expired_at is not None:
        # Retention deleted it (docs/deliveries.md): gone, not missing; its manifest stays.
        expired = zone_time(found.expired_at)
        raise StatusProblem(410, f"the file was deleted on {expired} after its retention period")
    try:
        handle = files.open_delivery_file(found.data, described.size)
    except (files.FileChanged, OSError) as error:
        log.error("delivery %s: its file cannot be served (%s)", delivery_id, type(error).__name__)
        reason = Tampered(f"delivery {delivery_id}: its data file is missing or not as published")
        base.record_refusal(
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
    engine, clock, client = base.engine(), current_app.extensions["pks_clock"], g.get("pks_client")
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


def zone_time(moment: datetime) -> str:
    return rfc3339(moment, base.settings().zone)


def _find(delivery_id: str, action: Action) -> partner.PartnerDelivery:
    credential = base.credential()
    settings = base.settings()
    try:
        with base.connection() as connection:
            return partner.find_delivery(
                connection,
                credential,
                delivery_id,
                places=context.delivery_places(settings),
                keys_dir=settings.keys_dir,
            )
    except NotFound as error:
        base.record_refusal(action, "delivery", delivery_id, error, credential.prefix)
        raise ApiProblem(errors.NOT_FOUND, NO_DELIVERY) from None
    except Tampered as error:
        log.error("partner API: %s", error.message)
        base.record_refusal(action, "delivery", delivery_id, error, credential.prefix)
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
