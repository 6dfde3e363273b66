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

from agreements.canonical import SHORT_ID
from agreements.errors import NotFound, Tampered
from agreements.roles import Action
from agreements.scope import ACCESS_MODES, FORMATS, QUOTA_PERIODS, SCHEDULES
from agreements.workflow import AgreementStatus
from gateway import context, errors
from gateway.api import base, files, problems
from gateway.api.callers import MalformedAuthorization, bearer_token, client_address
from gateway.api.openapi import (
    Answer,
    documented,
    header,
    integer,
    json_answer,
    link,
    nullable,
    obj,
    path,
    problem,
    query,
    schema,
    text,
)
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
AGREEMENT_ID = text("an agreement's short id", pattern=SHORT_ID.pattern)
DELIVERY_NAME = text("a delivery's id", pattern=f"^(?:{partner.DELIVERY_ID.pattern})$")
MASK = schema(
    "Mask",
    {
        "type": "object",
        "description": "How an element is masked (docs/agreements.md, the mask vocabulary): "
        "`mask` names the kind, the other members are its options.",
        "properties": {"mask": text("the mask's kind (`keep`, `token`, `decode` …)")},
        "required": ["mask"],
    },
)
OFFICE_TIME = text("RFC 3339 with the office's offset (`+08:00`)", format="date-time")
DAY = text(format="date")
AGREEMENT = schema(
    "Agreement",
    obj(
        {
            "agreement": AGREEMENT_ID,
            "number": text("the agreement's number"),
            "institution": text("the partner institution"),
            "version": integer("the signed version in force", minimum=1),
            "status": text(enum=[s.value for s in AgreementStatus]),
            "current": {"type": "boolean", "description": "the version in force (always true)"},
            "valid_from": DAY,
            "valid_until": text("the last day it is valid", format="date"),
            "scope_hash": text(
                "SHA-256 of the signed scope, as a delivery's manifest cites it",
                pattern="^[0-9a-f]{64}$",
            ),
            "signed_at": nullable(OFFICE_TIME),
            "purpose": text(),
            "legal_basis": {"type": "array", "items": text()},
            "access_modes": {"type": "array", "items": text(enum=list(ACCESS_MODES))},
            "elements": {
                "type": "array",
                "description": "the elements granted, each with its mask (docs/agreements.md, "
                "the mask vocabulary): `mask` names the kind, `params` its options",
                "items": obj(
                    {
                        "key": text("the catalog's element key"),
                        "label": text("the catalog's label"),
                        "mask": text("the mask's kind (`keep`, `token`, `decode` …)"),
                        "params": {"type": "object", "description": "the mask's options"},
                    }
                ),
            },
            "regions": nullable(
                {
                    "type": "array",
                    "description": "the regions the filter selects; null for the whole kabupaten",
                    "items": obj({"code": text(), "name": text()}),
                }
            ),
            "min_age": integer(minimum=0),
            "max_age": integer(minimum=0),
            "delivery": nullable(
                obj(
                    {
                        "format": text(enum=list(FORMATS)),
                        "schedule": text(enum=list(SCHEDULES)),
                        "quota": integer("deliveries a period", minimum=0),
                        "quota_period": text(enum=list(QUOTA_PERIODS)),
                        "max_rows": integer(minimum=1),
                    },
                    description="the delivery terms; null for an agreement without them",
                )
            ),
            "quota": nullable(
                obj(
                    {
                        "quota": integer("deliveries a period", minimum=0),
                        "period": text(enum=list(QUOTA_PERIODS)),
                        "since": text("the period's first day (office date)", format="date"),
                        "used": integer("deliveries made since", minimum=0),
                        "left": integer(minimum=0),
                    },
                    description="this period's use of the quota",
                )
            ),
            "reporting": obj(
                {
                    "semester_report_due": {"type": "array", "items": DAY},
                    "data_balikan": {"type": "boolean"},
                    "data_balikan_note": text(),
                },
                description="the reports the agreement asks for",
            ),
            "report_state": {
                "type": "array",
                "description": "each semester report due, by date: received, due or late",
                "items": obj(
                    {
                        "due": DAY,
                        "received_at": nullable(OFFICE_TIME),
                        "state": text(enum=["received", "due", "late"]),
                    }
                ),
            },
            "recipient": obj(
                {
                    "name": text("the token's recipient"),
                    "fingerprint": text(
                        "its age key's fingerprint", pattern="^SHA256:[A-Za-z0-9+/]{43}$"
                    ),
                }
            ),
            "token": obj(
                {
                    "prefix": text("the token's public name", pattern="^pks_[a-z0-9]{8}$"),
                    "expires_at": OFFICE_TIME,
                }
            ),
        },
        description="The token's agreement as its signed current version states it, and its "
        "quota as used so far: the fields `pks-gateway agreement show --json` gives the office, "
        "named and written the same way, less the office's own records.",
    ),
)


@api.get("/agreements")
@documented(
    "The token's agreement",
    description="The token's agreement (one item: a token belongs to one agreement), as its "
    "signed current version states it, and its quota as used so far.",
    tag="Agreements",
    answers={
        200: json_answer(
            "The agreement, as a list of one.",
            schema("AgreementList", obj({"items": {"type": "array", "items": AGREEMENT}})),
        )
    },
)
def list_agreements() -> Response:
    """The token's agreement (one item: a token is bound to one agreement)."""
    return base.json_response({"items": [_agreement()]})


@api.get("/agreements/<short_id>")
@documented(
    "One agreement",
    description="The token's own agreement; any other id answers 404, like one that never existed.",
    tag="Agreements",
    parameters=[path("short_id", "the agreement's short id", text(), "bank-kaltimtara-2026")],
    answers={
        200: json_answer("The agreement.", AGREEMENT),
        404: problem("Not the token's agreement (or no such agreement)."),
    },
)
def get_agreement(short_id: str) -> Response:
    credential = base.credential()
    if short_id != credential.short_id:
        error = NotFound("agreement", "", NO_AGREEMENT)
        base.record_refusal(Action.TOKEN_USE, "agreement", short_id, error, credential.prefix)
        raise ApiProblem(errors.NOT_FOUND, NO_AGREEMENT)
    return base.json_response(_agreement())


def _agreement() -> Any:
    settings, env = base.settings(), base.delivery_environment()
    with base.connection() as connection:
        view = partner.agreement_view(
            connection,
            base.credential(),
            catalog=env.catalog,
            region_codes=env.region_codes,
            region_names=context.region_names(settings),
            now=base.now(),
            time_zone=settings.zone,
        )
    return base.to_json(view, settings.zone)


# --- deliveries --------------------------------------------------------------------------------
DELIVERY_ID = path(
    "delivery_id",
    "a delivery's id (`<agreement>-<YYYYMMDD>-<6 hex>`); any other text answers 404",
    text(),
    "bank-kaltimtara-2026-20261203-96c5eb",
)
LINKS = schema(
    "DeliveryLinks",
    obj(
        {
            name: text(description, format="uri")
            for name, description in [
                ("self", "this delivery"),
                ("file", "its encrypted file"),
                ("manifest", "its signed manifest"),
                ("signature", "the manifest's signature"),
            ]
        }
    ),
)
WHEN = text(format="date-time")
DELIVERY_SUMMARY = schema(
    "DeliverySummary",
    obj(
        {
            "id": DELIVERY_NAME,
            "agreement": AGREEMENT_ID,
            "version": integer("the agreement version it was made under", minimum=1),
            "format": text(enum=list(FORMATS)),
            "started_at": nullable(OFFICE_TIME),
            "published_at": nullable(OFFICE_TIME),
            "links": LINKS,
        }
    ),
)
PAGE_LINK = nullable(text(format="uri"))
REFERENCED = {
    "number": text(),
    "short_id": AGREEMENT_ID,
    "version": integer(minimum=1),
    "scope_hash": text("SHA-256 of the signed scope", pattern="^[0-9a-f]{64}$"),
}
DELIVERY = schema(
    "Delivery",
    obj(
        {
            "id": DELIVERY_NAME,
            "agreement": obj(REFERENCED, description="the agreement version it was made under"),
            "created_at": text("as the signed manifest states it (UTC)", format="date-time"),
            "rows": integer("rows delivered", minimum=0),
            "elements": {
                "type": "array",
                "items": obj({"key": text(), "label": text(), "mask": MASK}),
            },
            "recipients": {
                "type": "array",
                "items": obj({"name": text(), "fingerprint": text(pattern="^SHA256:")}),
            },
            "file": obj(
                {
                    "name": text("the encrypted file's name"),
                    "format": text(enum=list(FORMATS)),
                    "size": integer("bytes", minimum=0),
                    "sha256": text("the ciphertext's SHA-256", pattern="^[0-9a-f]{64}$"),
                }
            ),
            "audit_seq": integer("the seq of the delivery's audit entry", minimum=0),
            "links": LINKS,
        },
        description="A delivery as its signed manifest states it.",
    ),
)
TO_DELIVERY = {
    name: link(operation, description, delivery_id=expression)
    for name, operation, description, expression in [
        ("delivery", "get_delivery", "the delivery", "$response.body#/items/0/id"),
        ("file", "get_file", "its encrypted file", "$response.body#/items/0/id"),
        ("manifest", "get_manifest", "its signed manifest", "$response.body#/items/0/id"),
        ("signature", "get_manifest_signature", "the signature", "$response.body#/items/0/id"),
    ]
}


@api.get("/deliveries")
@documented(
    "The deliveries made for the token's recipient",
    description="The published deliveries made for the token's recipient, newest first, a page "
    "at a time; `links.next` and `links.prev` are the neighbouring pages, or null.",
    tag="Deliveries",
    parameters=[
        query("page", "the page, from 1", integer(minimum=1, maximum=10**9, default=1)),
        query(
            "per_page",
            f"items a page, 1 to {partner.MAX_PER_PAGE}",
            integer(minimum=1, maximum=partner.MAX_PER_PAGE, default=DEFAULT_PER_PAGE),
        ),
    ],
    answers={
        200: json_answer(
            "One page of deliveries.",
            schema(
                "DeliveryPage",
                obj(
                    {
                        "items": {"type": "array", "items": DELIVERY_SUMMARY},
                        "page": integer(minimum=1),
                        "per_page": integer(minimum=1, maximum=partner.MAX_PER_PAGE),
                        "total": integer("deliveries in all", minimum=0),
                        "links": obj({"next": PAGE_LINK, "prev": PAGE_LINK}),
                    }
                ),
            ),
            links=TO_DELIVERY,
        ),
        400: problem("`page` or `per_page` is not a whole number in its range."),
    },
)
def list_deliveries() -> Response:
    """The published deliveries made for the token's recipient, newest first, a page at a time."""
    page = base.whole_number("page", 1, 10**9)
    per_page = base.whole_number("per_page", DEFAULT_PER_PAGE, partner.MAX_PER_PAGE)
    with base.connection() as connection:
        items, total = partner.delivery_page(
            connection,
            base.credential(),
            page=page,
            per_page=per_page,
            time_zone=base.settings().zone,
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


NO_SUCH_DELIVERY = problem(
    "No such delivery for this token: another partner's, one not made for this recipient, an id "
    "of the wrong shape or a random one, all answered alike."
)


@api.get("/deliveries/<delivery_id>")
@documented(
    "One delivery",
    description="One delivery as its signed manifest states it: the agreement version and scope "
    "hash, rows, elements and masks, recipients, the file's name, format, size and SHA-256, the "
    "audit entry's seq, and the links.",
    tag="Deliveries",
    parameters=[DELIVERY_ID],
    answers={200: json_answer("The delivery.", DELIVERY), 404: NO_SUCH_DELIVERY},
)
def get_delivery(delivery_id: str) -> Response:
    found = _find(delivery_id, Action.TOKEN_USE)
    document = partner.delivery_document(found)
    document["links"] = _links(found.delivery_id)
    return base.json_response(document)


@api.get("/deliveries/<delivery_id>/manifest")
@documented(
    "A delivery's signed manifest",
    description="The manifest's exact signed bytes (RFC 8785 JSON, docs/manifest.md); verify "
    "them with the signature and the gateway's manifest key (`ssh-keygen -Y verify -n "
    "pks-manifest`).",
    tag="Deliveries",
    parameters=[DELIVERY_ID],
    answers={
        200: json_answer(
            "The manifest's bytes as signed.",
            schema(
                "Manifest",
                {
                    "type": "object",
                    "description": "The signed delivery manifest (docs/manifest.md).",
                    "required": [
                        "manifest_version",
                        "delivery_id",
                        "agreement",
                        "recipients",
                        "elements",
                        "filter",
                        "rows",
                        "reidentification",
                        "file",
                        "created_at",
                        "software",
                        "audit",
                    ],
                    "properties": {
                        "manifest_version": integer(minimum=1),
                        "delivery_id": DELIVERY_NAME,
                        "agreement": obj(REFERENCED),
                        "rows": integer(minimum=0),
                        "file": {
                            "type": "object",
                            "required": ["name", "format", "size", "sha256"],
                            "properties": {
                                "size": integer(minimum=0),
                                "sha256": text(pattern="^[0-9a-f]{64}$"),
                            },
                        },
                        "created_at": WHEN,
                        "audit": {
                            "type": "object",
                            "required": ["seq", "leaf", "proof"],
                            "properties": {"seq": integer(minimum=0)},
                        },
                    },
                },
            ),
        ),
        404: NO_SUCH_DELIVERY,
    },
)
def get_manifest(delivery_id: str) -> Response:
    """The manifest's exact signed bytes (RFC 8785 JSON)."""
    found = _find(delivery_id, Action.TOKEN_USE)
    return Response(found.manifest_bytes, mimetype="application/json")


@api.get("/deliveries/<delivery_id>/manifest.sig")
@documented(
    "The manifest's signature",
    description="The manifest's SSHSIG signature, armored text, namespace `pks-manifest`.",
    tag="Deliveries",
    parameters=[DELIVERY_ID],
    answers={
        200: Answer(
            "The armored SSH signature.",
            {"text/plain": text(pattern="^-----BEGIN SSH SIGNATURE-----")},
        ),
        404: NO_SUCH_DELIVERY,
    },
)
def get_manifest_signature(delivery_id: str) -> Response:
    """The manifest's SSHSIG signature (armored text, namespace pks-manifest)."""
    found = _find(delivery_id, Action.TOKEN_USE)
    return Response(
        found.signature, mimetype="text/plain", content_type="text/plain; charset=us-ascii"
    )


FILE_HEADERS = {
    "Content-Length": True,
    "ETag": True,
    "Repr-Digest": True,
    "Accept-Ranges": True,
    "Content-Disposition": True,
}


@api.get("/deliveries/<delivery_id>/file")
@documented(
    "A delivery's encrypted file",
    description="The age-encrypted file, streamed from the gateway's disk, with a strong `ETag` "
    "and `Repr-Digest` (both the ciphertext's SHA-256 of the signed manifest). Resume with "
    "`Range: bytes=FIRST-LAST`, `bytes=FIRST-` or `bytes=-COUNT` (one range), ideally with "
    '`If-Range: "<etag>"` so that parts of two different files are never joined. `HEAD` answers '
    "the same headers without the body. Every download is audited with the bytes served.",
    tag="Deliveries",
    parameters=[
        DELIVERY_ID,
        header(
            "Range",
            "one range of bytes: `bytes=FIRST-LAST`, `bytes=FIRST-` or `bytes=-COUNT`; several, "
            "a malformed one or one beyond the end answer 416; another unit is ignored",
            text(),
        ),
        header(
            "If-Range",
            "the ETag the partner's part came from: the range is served only if the file "
            "still has it (else the whole file, 200)",
            text(),
        ),
        header("If-None-Match", "an ETag (or `*`): 304 if it is the file's", text()),
    ],
    answers={
        200: Answer(
            "The whole file.",
            {"application/octet-stream": text(format="binary")},
            FILE_HEADERS,
        ),
        206: Answer(
            "The range asked for.",
            {"application/octet-stream": text(format="binary")},
            {**FILE_HEADERS, "Content-Range": True},
        ),
        304: Answer("The partner's copy is this file (If-None-Match).", headers={"ETag": True}),
        404: NO_SUCH_DELIVERY,
        410: problem("The file was deleted by retention (its manifest and signature stay)."),
        416: problem(
            "Several ranges, a malformed one, or one starting at or beyond the end.",
            Content_Range=True,
        ),
    },
)
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
