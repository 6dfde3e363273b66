"""The scope editor's live preview of a mask: a few made-up values of the element's type, before
and after the mask, computed by the same masking code a delivery runs (exports.masking).

Never a person's values: the samples below are invented and marked as such (their NIKs start
with province code 99, which no province has), and the pseudonym key is a fixed preview key, not
the gateway's secret, so a preview token matches no delivered one.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pyarrow as pa
from flask import jsonify, request

from agreements.errors import DomainError, Invalid
from agreements.masks import validate_mask
from agreements.roles import Action
from exports.element_types import ARROW_TYPES
from exports.masking.operators import MaskContext, apply_mask
from gateway import context
from gateway.web import security, web
from gateway.web.access import allow
from gateway.web.i18n import _
from gateway.web.scope_form import MASK_PARAMS, mask_parameter

PREVIEW_KEY = b"pks-gateway mask preview key, not a secret"
SAMPLES: dict[str, list[Any]] = {
    "nik": ["9901011201900001", "9901024506850002", "9901030101200003"],
    "kk": ["9901010101000001", "9901020202000002", "9901030303000003"],
    "name": ["SITI CONTOH", "BUDI CONTOH SANTOSO", "AHMAD CONTOH"],
    "string": ["BALIKPAPAN", "TANA PASER", "SAMARINDA"],
    "text": ["JL. CONTOH NO. 1", "GG. CONTOH RT 02", "JL. CONTOH RAYA 9"],
    "date": [date(1990, 1, 12), date(2008, 6, 30), date(1955, 11, 2)],
    "code": [1, 5, 15, 88],
    "flag": [True, False],
    "region": ["64.01.01.2009", "64.01.02.2001", "64.01.03.1001"],
}


@web.post("/penyamaran/pratinjau")
@allow(Action.REQUEST_DRAFT)
def mask_preview() -> Any:
    settings = security.settings()
    key = request.form.get("element", "")[:64]
    kind = request.form.get("mask", "keep")[:32]
    try:
        element = context.catalog_of(settings).get(key)
        spec: dict[str, Any] = {"mask": kind}
        for name in MASK_PARAMS.get(kind, ()):
            raw = request.form.get(name, "").strip()[:2000]
            if raw:
                spec[name] = mask_parameter(key, name, raw)
        mask = validate_mask(element, spec)
        if kind == "decode":
            raise Invalid("mask", "a code is replaced by its label from the catalog")
        samples = SAMPLES[element.type]
        column = pa.array(samples, type=ARROW_TYPES[element.type])
        today = security.now().astimezone(settings.zone).date()
        masked = apply_mask(key, element.type, mask, column, MaskContext(today, PREVIEW_KEY))
    except DomainError as error:
        # A mask half-typed is the usual state while choosing one: its rule is the preview's
        # answer, not a failed request.
        return jsonify(error=str(error))
    rows = [
        [_shown(before), _shown(after)]
        for before, after in zip(samples, masked.to_pylist(), strict=True)
    ]
    return jsonify(rows=rows, note=_("Invented values, not a person's."))


def _shown(value: Any) -> str:
    if value is None:
        return "∅"
    return value.isoformat() if isinstance(value, date) else str(value)
