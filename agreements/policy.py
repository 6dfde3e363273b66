"""The legal guards a scope must pass whatever the entry point, with the reason in every refusal.

- Protected elements (UU 24/2013 art. 84: fingerprints, iris, signature, *aib*) are never granted,
  neither as a column nor as a filter.
- High-risk grants (disability; children's records under UU 27/2022) need `high_risk = true` and a
  written reason in the scope, so that the Kepala Dinas signs them knowingly.
- At least one element and one recipient; the validity fits in the requested duration.
- The cross-column leak guard: a NIK is `PP KK CC DDMMYY SSSS` (region, birth date with day +40
  for women, serial), so what its kept digits disclose may not exceed what the scope grants for
  the birth date and sex; a KK number's digits 5-6 are the issuing kecamatan, which may not exceed
  the granted address or region precision. A mask that hides a column in one place must not let
  it through another.

`Scope.from_dict` calls `check_policy` last, so every scope that exists has passed it.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Protocol

from agreements.errors import Invalid
from agreements.masks import REGION_LEVELS, Mask

if TYPE_CHECKING:
    from agreements.scope import Scope

MINOR_AGE = 18
OWN_NIK = "nik"
BIRTH_DATE = "tanggal_lahir"
SEX = "jenis_kelamin"
ADDRESS = "alamat"
# Region elements and the level their kept value shows (1 province ... 4 village); the address
# itself is finer than any code.
REGION_ELEMENT_LEVEL = {"no_prop": 1, "no_kab": 2, "no_kec": 3, "no_kel": 4}
ADDRESS_LEVEL = 5
KECAMATAN_LEVEL = 3
DATE_PRECISION = ("nothing", "the birth year", "the birth month", "the exact birth date")


class ElementInfo(Protocol):
    """What the guards need of a catalog element."""

    @property
    def key(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def deliverable(self) -> bool: ...
    @property
    def high_risk(self) -> bool: ...


class CatalogLike(Protocol):
    def get(self, key: str) -> ElementInfo: ...


def check_policy(scope: Scope, catalog: CatalogLike, request_duration: int | None) -> None:
    """Raise Invalid (field + rule, with the reason) for the first guard the scope breaks."""
    if not scope.elements:
        raise Invalid("elements", "at least one element must be granted")
    if not scope.recipients:
        raise Invalid("recipients", "at least one recipient is required")
    for granted in scope.elements:
        _grantable(catalog.get(granted.key), f"elements.{granted.key}", scope.high_risk)
    for i, predicate in enumerate(scope.row_filter.predicates):
        _grantable(
            catalog.get(predicate.element), f"filter.predicates[{i}].element", scope.high_risk
        )
    _minors(scope)
    _validity(scope, request_duration)
    check_leaks(scope, catalog)


def _grantable(element: ElementInfo, where: str, high_risk: bool) -> None:
    if not element.deliverable:
        raise Invalid(
            where,
            "protected element (UU 24/2013 art. 84) can never be granted or filtered on",
        )
    if element.high_risk and not high_risk:
        raise Invalid(
            where,
            "high-risk element: needs high_risk = true and high_risk_reason in the scope",
        )


def _minors(scope: Scope) -> None:
    rows = scope.row_filter
    if rows.include_minors and not scope.high_risk:
        raise Invalid(
            "filter.include_minors",
            "children's records are specific personal data (UU 27/2022): include_minors = true "
            "needs high_risk = true and high_risk_reason",
        )
    if rows.include_minors and rows.min_age >= MINOR_AGE:
        raise Invalid("filter.include_minors", f"true, but min_age {MINOR_AGE}+ excludes minors")
    if not rows.include_minors and rows.max_age < MINOR_AGE:
        raise Invalid("filter.max_age", "below 18 while include_minors = false selects nobody")


def add_months(start: date, months: int) -> date:
    """The same day `months` later (clamped to the month's end)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def _validity(scope: Scope, request_duration: int | None) -> None:
    validity = scope.validity
    if request_duration is not None:
        last_day = add_months(validity.start, request_duration) - timedelta(days=1)
        if validity.end > last_day:
            raise Invalid(
                "validity.end",
                f"beyond the requested duration of {request_duration} months from the start",
            )
    for due in scope.reporting.semester_report_due:
        if due <= validity.start:
            raise Invalid("reporting.semester_report_due", "each must fall after validity.start")


@dataclass(frozen=True)
class Disclosure:
    """What the kept digits of a 16-digit NIK or KK show."""

    date_precision: int  # index into DATE_PRECISION
    sex: bool
    kecamatan: bool


def digits_disclosed(mask: Mask | None) -> Disclosure:
    """Read a NIK/KK mask: positions 0-5 region, 6-7 day (+40: sex), 8-9 month, 10-11 year."""
    if mask is None or mask.kind not in ("keep", "partial"):
        return Disclosure(0, False, False)
    if mask.kind == "keep":
        kept = set(range(16))
    else:
        kept = set(range(mask.get("first"))) | set(range(16 - mask.get("last"), 16))
    precision = 3 if kept & {6, 7} else 2 if kept & {8, 9} else 1 if kept & {10, 11} else 0
    return Disclosure(precision, 6 in kept, bool(kept & {4, 5}))


def date_precision_granted(mask: Mask | None) -> int:
    """How precisely the granted birth date shows it (an exact age shows the year, roughly)."""
    if mask is None:
        return 0
    if mask.kind == "keep":
        return 3
    if mask.kind == "generalize_date":
        return {"year_month": 2, "year": 1, "age": 1}.get(str(mask.get("to")), 0)
    return 0


def region_level_granted(scope: Scope) -> int:
    """The finest residence region the scope shows (0 none ... 4 village, 5 the address)."""
    levels = [0]
    for granted in scope.elements:
        mask = granted.mask
        if granted.key == ADDRESS and mask.kind not in ("redact", "token"):
            levels.append(ADDRESS_LEVEL if mask.kind == "keep" else 0)
        if granted.key in REGION_ELEMENT_LEVEL and mask.kind != "redact":
            own = REGION_ELEMENT_LEVEL[granted.key]
            if mask.kind == "generalize_region":
                own = min(own, REGION_LEVELS.index(str(mask.get("to"))) + 1)
            levels.append(own if mask.kind in ("keep", "generalize_region", "decode") else 0)
    return max(levels)


def check_leaks(scope: Scope, catalog: CatalogLike) -> None:
    """The cross-column leak guard (see the module docstring)."""
    birth = date_precision_granted(scope.mask_of(BIRTH_DATE))
    sex_mask = scope.mask_of(SEX)
    sex_granted = sex_mask is not None and sex_mask.kind not in ("redact", "token")
    for granted in scope.elements:
        element_type = catalog.get(granted.key).type
        where = f"elements.{granted.key}.mask"
        shown = digits_disclosed(granted.mask)
        if element_type == "nik" and granted.key != OWN_NIK and (shown.date_precision or shown.sex):
            raise Invalid(
                where,
                "leaks another person's birth date: digits 7-12 of a NIK are the birth date (day "
                "+40 for women), and no element grants that person's birth date or sex; keep at "
                "most the first 6 and last 4 digits, or use token",
            )
        if element_type == "nik" and shown.date_precision > birth:
            granted_as = f"granted only as {DATE_PRECISION[birth]}" if birth else "withheld"
            raise Invalid(
                where,
                f"leaks the birth date: the NIK's kept digits show "
                f"{DATE_PRECISION[shown.date_precision]} (digits 7-12 are DDMMYY), but "
                f"{BIRTH_DATE} is {granted_as}; keep at most the first 6 and last 4 digits, "
                f"use token, or grant {BIRTH_DATE} that precisely",
            )
        if element_type == "nik" and shown.sex and not sex_granted:
            raise Invalid(
                where,
                f"leaks sex: digit 7 of a NIK is the birth day +40 for women, but {SEX} is "
                f"withheld; keep at most the first 6 digits or grant {SEX}",
            )
        if element_type == "kk" and shown.kecamatan and region_level_granted(scope) < 3:
            raise Invalid(
                where,
                f"leaks the address: digits 5-6 of a KK number are the issuing kecamatan, but "
                f"{ADDRESS} and the region elements are withheld or generalised above "
                f"kecamatan; keep at most the first 4 digits, use token, or grant the kecamatan",
            )
