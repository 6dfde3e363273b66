"""The scope editor's form, turned into the scope document the SOP's step 5 takes (the same TOML
`request draft --scope` reads, written with tomli-w): the editor is a way of writing a scope, and
every rule about what a scope may grant stays in `agreements` (structure, masks, the leak guard),
which the draft service applies to what this builds. Pure: a form's fields in, a dict out.

Field names: `el.KEY` (granted), `mask.KEY`, and a mask's parameters as `KEY.first`, `KEY.last`,
`KEY.length`, `KEY.to`, `KEY.edges` ("17, 25, 60"), `KEY.mapping` (lines "code = label");
`region` (repeated: kecamatan or desa codes; none = the whole regency); `rcp.N.name|contact|age|ip`
for up to RECIPIENT_ROWS recipients.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import tomli_w
from werkzeug.datastructures import MultiDict

from agreements.catalog import Catalog
from agreements.errors import Invalid

RECIPIENT_ROWS = 3
MASK_PARAMS = {
    "partial": ("first", "last"),
    "token": ("length",),
    "generalize_date": ("to", "band"),
    "generalize_region": ("to",),
    "bucket": ("edges",),
    "recode": ("mapping",),
}
INTEGER_PARAMS = frozenset({"first", "last", "length", "band"})


def scope_document(form: MultiDict[str, str], catalog: Catalog) -> dict[str, Any]:
    """The scope as a TOML-ready dict; Invalid naming the form field for what cannot be read."""
    return {
        "schema_version": 1,
        "purpose": _text(form, "purpose"),
        "legal_basis": _lines(form, "legal_basis"),
        "access_modes": form.getlist("access_mode"),
        "high_risk": form.get("high_risk") == "yes",
        **(
            {"high_risk_reason": _text(form, "high_risk_reason")}
            if form.get("high_risk") == "yes"
            else {}
        ),
        "agreement": {
            "number": _text(form, "number"),
            "short_id": _text(form, "short_id"),
            "institution": _text(form, "institution"),
            "version": 1,
        },
        "elements": _elements(form, catalog),
        "filter": {
            "regions": form.getlist("region") or "all",
            "min_age": _int(form, "min_age"),
            "max_age": _int(form, "max_age"),
            "alive_only": form.get("alive_only") == "yes",
            "active_only": form.get("active_only") == "yes",
            "include_minors": form.get("include_minors") == "yes",
            "predicates": [],
        },
        "recipients": _recipients(form),
        "validity": {"start": _date(form, "start"), "end": _date(form, "end")},
        "delivery": {
            "format": _text(form, "format"),
            "schedule": _text(form, "schedule"),
            "quota": _int(form, "quota"),
            "quota_period": _text(form, "quota_period"),
            "max_rows": _int(form, "max_rows"),
        },
        "reidentification": {
            "k": _int(form, "k"),
            "action": _text(form, "reid_action"),
            "rare_category_threshold": _int(form, "rare_category_threshold"),
        },
        "reporting": {
            "semester_report_due": [
                _parse_date(line, "semester_report_due")
                for line in _lines(form, "semester_report_due")
            ],
            "data_balikan": form.get("data_balikan") == "yes",
            "data_balikan_note": form.get("data_balikan_note", "").strip(),
        },
    }


def scope_toml(document: Mapping[str, Any]) -> str:
    return tomli_w.dumps(dict(document))


def granted_outside_request(document: Mapping[str, Any], requested: list[str]) -> list[str]:
    """The elements the draft grants that the request letter did not ask for."""
    return [key for key in document["elements"] if key not in requested]


def _elements(form: MultiDict[str, str], catalog: Catalog) -> dict[str, Any]:
    elements: dict[str, Any] = {}
    for element in catalog:
        if form.get(f"el.{element.key}") != "yes":
            continue
        kind = form.get(f"mask.{element.key}", "keep")
        params = {}
        for name in MASK_PARAMS.get(kind, ()):
            raw = form.get(f"{element.key}.{name}", "").strip()
            if raw:
                params[name] = _param(element.key, name, raw)
        elements[element.key] = {"mask": kind, **params} if params else kind
    if not elements:
        raise Invalid("elements", "grant at least one data element")
    return elements


def _param(key: str, name: str, raw: str) -> Any:
    field = f"{key}.{name}"
    if name in INTEGER_PARAMS:
        if not raw.isdigit() or len(raw) > 6:
            raise Invalid(field, "a whole number")
        return int(raw)
    if name == "edges":
        parts = [p.strip() for p in raw.split(",") if p.strip()]
        if not parts or not all(p.isdigit() and len(p) <= 3 for p in parts):
            raise Invalid(field, "ages separated by commas, e.g. 17, 25, 60")
        return [int(p) for p in parts]
    if name == "mapping":
        mapping = {}
        for line in raw.splitlines():
            if not line.strip():
                continue
            code, separator, label = line.partition("=")
            if not separator or not code.strip() or not label.strip():
                raise Invalid(field, "one 'code = label' per line")
            mapping[code.strip()] = label.strip()
        return mapping
    return raw


def _recipients(form: MultiDict[str, str]) -> list[dict[str, Any]]:
    recipients = []
    for row in range(RECIPIENT_ROWS):
        name = form.get(f"rcp.{row}.name", "").strip()
        key = form.get(f"rcp.{row}.age", "").strip()
        if not name and not key:
            continue
        recipients.append({
            "name": name,
            "contact": form.get(f"rcp.{row}.contact", "").strip(),
            "age_recipient": key,
            "ip_allow": [p.strip() for p in form.get(f"rcp.{row}.ip", "").split(",") if p.strip()],
        })  # fmt: skip
    if not recipients:
        raise Invalid("recipients", "name at least one recipient and their age key")
    return recipients


def _text(form: MultiDict[str, str], name: str) -> str:
    value = form.get(name, "").strip()
    if not value:
        raise Invalid(name, "required")
    return value


def _lines(form: MultiDict[str, str], name: str) -> list[str]:
    return [line.strip() for line in form.get(name, "").splitlines() if line.strip()]


def _int(form: MultiDict[str, str], name: str) -> int:
    raw = form.get(name, "").strip()
    if not raw.isdigit() or len(raw) > 9:
        raise Invalid(name, "a whole number")
    return int(raw)


def _date(form: MultiDict[str, str], name: str) -> date:
    return _parse_date(form.get(name, ""), name)


def _parse_date(raw: str, name: str) -> date:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise Invalid(name, "a date, YYYY-MM-DD") from None
