"""A scope in words an officer reads: each mask as a sentence, in the page's language. The Konsep
PKS letter (gateway/letters/) says the same in Indonesian on paper."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.web.i18n import _
from gateway.web.words import N_

DATE_LEVELS = {
    "year": N_("the date cut to its year"),
    "year_month": N_("the date cut to its year and month"),
    "age": N_("the age in years at the delivery date"),
    "age_band": N_("the age at the delivery date in bands of %(band)s years"),
}
REGION_LEVELS = {
    "province": N_("the region cut to its province"),
    "kabupaten": N_("the region cut to its regency"),
    "kecamatan": N_("the region cut to its district (kecamatan)"),
    "village": N_("the region cut to its village (desa/kelurahan)"),
}


def mask_words(kind: str, params: Mapping[str, Any]) -> str:
    """The mask `kind` with `params` as one sentence."""
    if kind == "keep":
        return _("as stored")
    if kind == "partial":
        return _(
            "the first %(first)s and last %(last)s characters shown, the rest hidden",
            first=params.get("first", 0), last=params.get("last", 0),
        )  # fmt: skip
    if kind == "token":
        return _(
            "replaced by a keyed pseudonym (%(length)s hex digits)", length=params.get("length", 32)
        )
    if kind == "redact":
        return _("left empty")
    if kind == "generalize_date":
        level = str(params.get("to", ""))
        return _(DATE_LEVELS.get(level, N_("the date generalized")), band=params.get("band", ""))
    if kind == "generalize_region":
        return _(REGION_LEVELS.get(str(params.get("to", "")), N_("the region generalized")))
    if kind == "bucket":
        edges = ", ".join(str(edge) for edge in params.get("edges", ()))
        return _("the age at the delivery date in bands starting at %(edges)s", edges=edges)
    if kind == "recode":
        return _("codes grouped into %(count)s labels, the rest as LAINNYA",
                 count=len(params.get("mapping", {})))  # fmt: skip
    if kind == "decode":
        return _("the code replaced by its label")
    return kind
