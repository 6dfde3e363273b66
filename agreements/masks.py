"""The mask vocabulary: which kinds exist, their parameters, and the element types each accepts.

Every granted element carries exactly one mask. This module holds the rules (what a mask may say);
`exports.masking.operators` holds one implementation per kind and a test there fails when a kind in
`MASK_KINDS` has none. A validated `Mask` is frozen and lists every parameter explicitly, defaults
filled in, so the signed canonical form says exactly what will be done even if a default changes
later.

Kinds (see docs/agreements.md for the full table):
  keep                 the value as stored
  partial              keep the first `first` and last `last` characters, the rest as `*`
  token                keyed pseudonym (HMAC-SHA-256 under the gateway's secret), `length` hex
  redact               the column stays, every value empty
  generalize_date      to year, year_month, age, or age_band (`band` years), ages from `top_code`
                       up shown as "N+"; ages are counted at the delivery date
  generalize_region    a region code cut to province, kabupaten, kecamatan or village
  bucket               age at delivery into bands with the given `edges` (and optional `labels`)
  recode               codes mapped to labels by `mapping`, unmapped to `other`; categories rarer
                       than `rare_threshold` rows in the delivery also become `other`
  decode               a code replaced by its label from the code table
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from agreements.errors import Invalid

ParamValue = int | str | tuple[int, ...] | tuple[str, ...] | tuple[tuple[str, str], ...]
ParamType = Literal["int", "str", "enum", "int_list", "str_list", "map"]
OTHER_LABEL = "LAINNYA"


class ElementLike(Protocol):
    """What masks need of a catalog element."""

    @property
    def key(self) -> str: ...

    @property
    def type(self) -> str: ...


@dataclass(frozen=True)
class Param:
    """One parameter of a mask kind: its type, range and default (None: optional, absent)."""

    name: str
    type: ParamType
    required: bool = False
    default: ParamValue | None = None
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    doc: str = ""


Check = Callable[[str, str, dict[str, ParamValue]], None]


def _no_check(key: str, element_type: str, params: dict[str, ParamValue]) -> None:
    return None


@dataclass(frozen=True)
class MaskKind:
    """A kind: its parameters, the element types it accepts, and its cross-parameter rules."""

    name: str
    types: frozenset[str]
    params: tuple[Param, ...] = ()
    doc: str = ""
    check: Check = field(default=_no_check, compare=False)


@dataclass(frozen=True)
class Mask:
    """A validated mask: kind plus every parameter (sorted by name, defaults filled in)."""

    kind: str
    params: tuple[tuple[str, ParamValue], ...] = ()

    def get(self, name: str) -> Any:
        return dict(self.params).get(name)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"mask": self.kind}
        for name, value in self.params:
            spec = _param(self.kind, name)
            if spec.type == "map":
                data[name] = dict(value)  # type: ignore[arg-type]
            elif spec.type in ("int_list", "str_list"):
                data[name] = list(value)  # type: ignore[arg-type]
            else:
                data[name] = value
        return data


ALL_TYPES = frozenset({"nik", "kk", "string", "name", "date", "code", "flag", "region", "text"})
# How many characters `partial` may keep in total: a NIK or KK must hide at least 4 of its 16
# digits (the serial), a name at most its initials.
PARTIAL_MAX_KEPT = {"nik": 12, "kk": 12, "name": 4, "string": 8}
REGION_LEVELS = ("province", "kabupaten", "kecamatan", "village")
DATE_LEVELS = ("year", "year_month", "age", "age_band")


def _check_partial(key: str, element_type: str, params: dict[str, ParamValue]) -> None:
    first, last = params["first"], params["last"]
    assert isinstance(first, int) and isinstance(last, int)
    limit = PARTIAL_MAX_KEPT[element_type]
    if first + last == 0:
        raise Invalid(f"elements.{key}.mask", "partial must keep at least one character")
    if first + last > limit:
        raise Invalid(
            f"elements.{key}.mask",
            f"partial keeps at most {limit} characters of a {element_type} (first + last)",
        )


def _check_date(key: str, element_type: str, params: dict[str, ParamValue]) -> None:
    to, band, top = params["to"], params.get("band"), params.get("top_code")
    if to != "age_band" and band is not None:
        raise Invalid(f"elements.{key}.band", "only with to = age_band")
    if to == "age_band" and band is None:
        params["band"] = band = 5
    if to in ("year", "year_month") and top is not None:
        raise Invalid(f"elements.{key}.top_code", "only with to = age or age_band")
    if isinstance(top, int) and isinstance(band, int) and top % band:
        raise Invalid(f"elements.{key}.top_code", "must be a multiple of band")


def _check_bucket(key: str, element_type: str, params: dict[str, ParamValue]) -> None:
    edges, labels = params["edges"], params.get("labels")
    assert isinstance(edges, tuple) and (labels is None or isinstance(labels, tuple))
    ages = [edge for edge in edges if isinstance(edge, int)]
    if ages != sorted(set(ages)):
        raise Invalid(f"elements.{key}.edges", "must be strictly increasing")
    if labels is not None and len(labels) != len(edges) + 1:
        raise Invalid(f"elements.{key}.labels", "one label per band: len(edges) + 1")


def _check_recode(key: str, element_type: str, params: dict[str, ParamValue]) -> None:
    if not params["mapping"]:
        raise Invalid(f"elements.{key}.mapping", "must map at least one code")


_TEXTUAL = frozenset({"nik", "kk", "string", "name"})
MASK_KINDS: Mapping[str, MaskKind] = {
    kind.name: kind
    for kind in (
        MaskKind("keep", ALL_TYPES, doc="the value as stored"),
        MaskKind(
            "partial",
            _TEXTUAL,
            (
                Param("first", "int", default=0, minimum=0, maximum=16, doc="leading characters"),
                Param("last", "int", default=0, minimum=0, maximum=16, doc="trailing characters"),
            ),
            "keep the first and last characters, the rest become *",
            _check_partial,
        ),
        MaskKind(
            "token",
            _TEXTUAL,
            (
                Param(
                    "length",
                    "int",
                    default=32,
                    minimum=32,
                    maximum=64,
                    doc="hex digits, at least 128 bits",
                ),
            ),
            "keyed pseudonym: HMAC-SHA-256 under a secret the gateway holds, as hex",
        ),
        MaskKind("redact", ALL_TYPES, doc="the column stays, every value is empty"),
        MaskKind(
            "generalize_date",
            frozenset({"date"}),
            (
                Param("to", "enum", required=True, choices=DATE_LEVELS),
                Param("band", "int", minimum=2, maximum=50, doc="years per band (age_band)"),
                Param("top_code", "int", minimum=1, maximum=120, doc="ages from here are N+"),
            ),
            "a date cut to year or year-month, or an age (band) at the delivery date",
            _check_date,
        ),
        MaskKind(
            "generalize_region",
            frozenset({"region"}),
            (Param("to", "enum", required=True, choices=REGION_LEVELS),),
            "a region code cut to a coarser level",
        ),
        MaskKind(
            "bucket",
            frozenset({"date"}),
            (
                Param("edges", "int_list", required=True, minimum=0, maximum=150),
                Param("labels", "str_list"),
            ),
            "age at the delivery date into bands [edge, next edge)",
            _check_bucket,
        ),
        MaskKind(
            "recode",
            frozenset({"code", "string"}),
            (
                Param("mapping", "map", required=True, doc="source code -> label"),
                Param("other", "str", default=OTHER_LABEL, doc="label for unmapped and rare"),
                Param("rare_threshold", "int", default=0, minimum=0, maximum=1000),
            ),
            "codes mapped to labels, unmapped and rare categories to LAINNYA",
            _check_recode,
        ),
        MaskKind("decode", frozenset({"code", "flag"}), doc="a code replaced by its label"),
    )
}


def _param(kind: str, name: str) -> Param:
    return next(p for p in MASK_KINDS[kind].params if p.name == name)


def _coerce(param: Param, value: object, where: str) -> ParamValue:
    def bad(rule: str) -> Invalid:
        return Invalid(where, rule)

    def whole(item: object) -> int:
        if isinstance(item, bool) or not isinstance(item, int):
            raise bad("must be a whole number")
        if param.minimum is not None and item < param.minimum:
            raise bad(f"must be at least {param.minimum}")
        if param.maximum is not None and item > param.maximum:
            raise bad(f"must be at most {param.maximum}")
        return item

    def text(item: object) -> str:
        if not isinstance(item, str) or not item.strip() or len(item) > 100:
            raise bad("must be text of 1-100 characters")
        return item

    if param.type == "int":
        return whole(value)
    if param.type == "str":
        return text(value)
    if param.type == "enum":
        if value not in param.choices:
            raise bad(f"must be one of: {', '.join(param.choices)}")
        return str(value)
    if param.type in ("int_list", "str_list"):
        if not isinstance(value, list | tuple) or not 1 <= len(value) <= 50:
            raise bad("must be a list of 1-50 items")
        if param.type == "int_list":
            return tuple(whole(item) for item in value)
        return tuple(text(item) for item in value)
    if not isinstance(value, Mapping) or len(value) > 200:
        raise bad("must be a table of at most 200 code = label pairs")
    return tuple(sorted((text(str(k)), text(v)) for k, v in value.items()))


def validate_mask(element: ElementLike, spec: str | Mapping[str, object]) -> Mask:
    """The `Mask` for `element` from `"keep"` or `{"mask": "partial", "first": 6, ...}`.

    Raises Invalid naming the element and the parameter (``elements.nik.first``) or, for the kind
    and rules spanning parameters, the mask (``elements.nik.mask``).
    """
    given: dict[str, object] = {"mask": spec} if isinstance(spec, str) else dict(spec)
    where = f"elements.{element.key}.mask"
    name = given.pop("mask", None)
    if not isinstance(name, str) or name not in MASK_KINDS:
        raise Invalid(where, f"must be one of: {', '.join(MASK_KINDS)}")
    kind = MASK_KINDS[name]
    if element.type not in kind.types:
        raise Invalid(
            where,
            f"{name} does not fit a {element.type} element "
            f"(it takes: {', '.join(sorted(kind.types))})",
        )
    known = {p.name for p in kind.params}
    for extra in sorted(set(given) - known):
        raise Invalid(f"elements.{element.key}.{extra}", f"not a parameter of {name}")
    params: dict[str, ParamValue] = {}
    for param in kind.params:
        path = f"elements.{element.key}.{param.name}"
        if param.name in given:
            params[param.name] = _coerce(param, given[param.name], path)
        elif param.required:
            raise Invalid(path, f"required by {name}")
        elif param.default is not None:
            params[param.name] = param.default
    kind.check(element.key, element.type, params)
    return Mask(name, tuple(sorted(params.items())))


def mask_from_json(element: ElementLike, data: Mapping[str, object]) -> Mask:
    """Re-read a stored `Mask.to_json()`; identical to `validate_mask` (and as strict)."""
    return validate_mask(element, data)
