"""NIK verification over the API (issue 11; the rules are gateway/services/nik_verification.py):
`POST /api/v1/nik-verifications` with up to 1,000 items of a NIK and the fields to compare;
answered match or no match per field, never a stored value.

Rate-limited per token (the `nik_verification_rate` setting, e.g. `60/minute`) with the `limits`
library that Flask-Limiter is built on, a moving window kept in memory, or in Redis when the job
queue uses it so that every gateway process counts together. The limit is checked after the token
is (a caller without a valid token never reaches it); a call over it is answered 429 with
`Retry-After` and audited.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

from flask import Response, request
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from agreements.errors import Invalid, NotPermitted
from agreements.roles import Action
from gateway import errors
from gateway.api import base
from gateway.api.openapi import RequestBody, documented, integer, json_answer, obj, problem, schema
from gateway.api.problems import ApiProblem, StatusProblem
from gateway.api.routes import api
from gateway.services.nik_verification import MAX_ITEMS, Claim, verify_niks

BODY_LIMIT = 1024 * 1024  # 1,000 items with their fields fit many times over
SHAPE = 'the body must be JSON: {"items": [{"nik": "…", "fields": {"element": "value"}}]}'
EXAMPLE = {"items": [{"nik": "6401010101900001", "fields": {"nama_lengkap": "Siti Aminah"}}]}

ELEMENT_KEY = {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"}
REQUEST = schema(
    "NikVerificationRequest",
    {
        "type": "object",
        "description": "Up to 1,000 items of a NIK and the fields to compare: only elements the "
        "agreement grants, of a kind that compares (names and text, dates `YYYY-MM-DD`).",
        "required": ["items"],
        "properties": {
            "items": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_ITEMS,
                "items": {
                    "type": "object",
                    "required": ["nik", "fields"],
                    "properties": {
                        "nik": {
                            "type": "string",
                            "description": "a NIK: 16 digits, a real region and date",
                            "pattern": "^[0-9]{16}$",
                        },
                        "fields": {
                            "type": "object",
                            "description": "element key → the value to compare",
                            "minProperties": 1,
                            "propertyNames": ELEMENT_KEY,
                            "additionalProperties": {
                                "type": "string",
                                "minLength": 1,
                                "maxLength": 300,
                                "pattern": "\\S",
                            },
                        },
                    },
                },
            }
        },
    },
)
RESULT = schema(
    "NikVerificationResult",
    obj(
        {
            "items": {
                "type": "array",
                "items": obj(
                    {
                        "index": integer("the item's position in the request", minimum=0),
                        "found": {
                            "type": "boolean",
                            "description": "whether the register holds this NIK among the "
                            "people the agreement's filter selects",
                        },
                        "fields": {
                            "type": "object",
                            "description": "element key → whether it matches (never a value)",
                            "propertyNames": ELEMENT_KEY,
                            "additionalProperties": {"type": "boolean"},
                        },
                    }
                ),
            }
        },
        description="Match or no match per field, never a stored value.",
    ),
)


@api.post("/nik-verifications")
@documented(
    "Verify NIKs",
    description="Does the register hold this NIK with these facts? Names and text match after "
    "Unicode NFKC, case folding and collapsing white space; a date must be `YYYY-MM-DD` and "
    "equal. Rate-limited per token (`nik_verification_rate`); each call is audited with counts "
    "and truncated keyed NIK hashes only.",
    tag="NIK verification",
    body=RequestBody("The NIKs and the facts to check.", {"application/json": REQUEST}, EXAMPLE),
    answers={
        200: json_answer("One verdict per item, in order.", RESULT),
        400: problem(f"A body that is not this JSON shape, or larger than {BODY_LIMIT} bytes."),
        403: problem(
            "The agreement grants no `nik_verification`, or the token is used from an address "
            "outside the recipient's `ip_allow`."
        ),
        422: problem(
            "An item or field breaks a rule (named in `detail`, never its value): a NIK that is "
            "not one, an element not granted or not comparable, a date not `YYYY-MM-DD`, more "
            "than 1,000 items."
        ),
        429: problem("Over the token's rate; see `Retry-After`.", Retry_After=True),
    },
)
@base.audited_refusals(Action.NIK_VERIFY)
def nik_verification() -> Response:
    credential = base.credential()
    retry_after = _over_rate(credential.prefix)
    if retry_after is not None:
        raise StatusProblem(
            429,
            "too many NIK verification calls for this token; try again later",
            {"Retry-After": str(retry_after)},
        )
    claims = _claims(_body())
    try:
        verdicts = verify_niks(
            base.engine(),
            base.delivery_environment(),
            base.source(),
            base.acting_partner(),
            credential.short_id,
            claims,
            base.now(),
        )
    except Invalid as refused:  # names a field or an item's position, never a value
        raise base.problem_from(refused, errors.INVALID_INPUT) from None
    except NotPermitted as refused:
        raise base.problem_from(refused, errors.NOT_PERMITTED) from None
    items = [{"index": v.index, "found": v.found, "fields": v.fields} for v in verdicts]
    return base.json_response({"items": items})


def _body() -> Any:
    if request.content_length is not None and request.content_length > BODY_LIMIT:
        raise ApiProblem(errors.USAGE, f"the body is larger than {BODY_LIMIT // 1024} KiB")
    data = request.stream.read(BODY_LIMIT + 1)
    if len(data) > BODY_LIMIT:
        raise ApiProblem(errors.USAGE, f"the body is larger than {BODY_LIMIT // 1024} KiB")
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        raise ApiProblem(errors.USAGE, SHAPE) from None


def _claims(body: Any) -> list[Claim]:
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise ApiProblem(errors.USAGE, SHAPE)
    if len(items) > MAX_ITEMS:
        raise ApiProblem(errors.INVALID_INPUT, f"items: at most {MAX_ITEMS:,} a call")
    claims = []
    # `type(…) is`: json.loads makes exactly dict, list and str, and JSON names are strings.
    for index, item in enumerate(items):
        nik = item.get("nik") if type(item) is dict else None
        fields = item.get("fields") if type(item) is dict else None
        if type(nik) is not str or type(fields) is not dict:
            raise ApiProblem(errors.USAGE, f"items[{index}]: {SHAPE}")
        for value in fields.values():
            if type(value) is not str:
                at = f"items[{index}].fields"
                raise ApiProblem(errors.USAGE, f"{at}: names and values are strings")
        claims.append(Claim(nik, fields))
    return claims


def _over_rate(prefix: str) -> int | None:
    """None when the token may call now; else the seconds until it may."""
    settings = base.settings()
    item = parse(settings.nik_verification_rate)
    limiter = base.cached(
        "pks_nik_limiter",
        lambda: MovingWindowRateLimiter(
            storage_from_string(settings.jobs_redis_url or "memory://")
        ),
    )
    if limiter.hit(item, "nik-verifications", prefix):
        return None
    reset = limiter.get_window_stats(item, "nik-verifications", prefix).reset_time
    return max(1, math.ceil(reset - time.time()))
