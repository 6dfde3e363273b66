"""The agreement scope: everything step 8 may do, as frozen values validated in one place.

`Scope.from_dict` is the only way in (TOML import, drafts from the UI, scopes re-read from the
database) and refuses anything it does not know, naming the field and the rule; `to_json` gives the
plain JSON that `agreements.canonical` signs. Every filter switch (alive only, active rows only,
minors) must be stated: a scope never relies on a default, because a signed default cannot be
changed later. After the structure, `agreements.policy` applies the legal guards (protected
elements, high-risk grants, the cross-column leak guard).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from agreements.errors import Invalid, NotFound
from agreements.masks import Mask, validate_mask
from agreements.policy import CatalogLike, ElementInfo, check_policy
from agreements.recipients import decode_age_recipient
from agreements.tables import Table, read_date

SCHEMA_VERSION = 1
FORMATS = ("parquet", "csv", "xlsx")
SCHEDULES = ("on_demand", "monthly", "quarterly")
QUOTA_PERIODS = ("month", "quarter", "year")
REIDENTIFICATION_ACTIONS = ("report", "suppress", "refuse")
ACCESS_MODES = ("bulk_delivery", "nik_verification")
PREDICATE_OPS = ("in", "not_in")
MAX_AGE = 150
# Which element types a filter predicate may test, and the TOML/JSON type of their values.
PREDICATE_VALUE_TYPES: Mapping[str, type] = {"code": int, "flag": bool, "string": str}
_REGION_CODE = re.compile(r"^\d{2}\.\d{2}\.\d{2}(\.\d{4})?$")
ALL_REGIONS = "all"


@dataclass(frozen=True)
class GrantedElement:
    key: str
    mask: Mask


@dataclass(frozen=True)
class Predicate:
    """`element` `op` `values`, e.g. pekerjaan in [5, 6]; values typed by the element's type."""

    element: str
    op: str
    values: tuple[int | bool | str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"element": self.element, "op": self.op, "values": list(self.values)}


@dataclass(frozen=True)
class RowFilter:
    """Which rows: regions (kecamatan/village codes, or "all"), age range at the delivery date,
    living people only, active rows only (FLAG_STATUS = '0'), minors in or out, predicates."""

    regions: tuple[str, ...] | None  # None: the whole kabupaten, stated as "all"
    min_age: int
    max_age: int
    alive_only: bool
    active_only: bool
    include_minors: bool
    predicates: tuple[Predicate, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "regions": ALL_REGIONS if self.regions is None else list(self.regions),
            "min_age": self.min_age,
            "max_age": self.max_age,
            "alive_only": self.alive_only,
            "active_only": self.active_only,
            "include_minors": self.include_minors,
            "predicates": [p.to_json() for p in self.predicates],
        }


@dataclass(frozen=True)
class Recipient:
    """Who receives deliveries: `age_recipient` is an age X25519 public key (`age1...`)."""

    name: str
    contact: str
    age_recipient: str
    ip_allow: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "contact": self.contact,
            "age_recipient": self.age_recipient,
            "ip_allow": list(self.ip_allow),
        }


@dataclass(frozen=True)
class Validity:
    start: date
    end: date  # inclusive


@dataclass(frozen=True)
class Delivery:
    format: str
    schedule: str
    quota: int  # deliveries per quota_period
    quota_period: str
    max_rows: int


@dataclass(frozen=True)
class Reidentification:
    k: int
    action: str
    rare_category_threshold: int


@dataclass(frozen=True)
class Reporting:
    semester_report_due: tuple[date, ...]
    data_balikan: bool
    data_balikan_note: str = ""


@dataclass(frozen=True)
class Scope:
    """A complete, validated scope (schema version 1). Build it with `from_dict`."""

    purpose: str
    legal_basis: tuple[str, ...]
    elements: tuple[GrantedElement, ...]
    row_filter: RowFilter
    recipients: tuple[Recipient, ...]
    validity: Validity
    delivery: Delivery | None
    reidentification: Reidentification
    reporting: Reporting
    access_modes: tuple[str, ...]
    high_risk: bool = False
    high_risk_reason: str = ""
    schema_version: int = SCHEMA_VERSION

    def element(self, key: str) -> GrantedElement | None:
        return next((e for e in self.elements if e.key == key), None)

    def mask_of(self, key: str) -> Mask | None:
        granted = self.element(key)
        return None if granted is None else granted.mask

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, object],
        catalog: CatalogLike,
        request_duration: int | None = None,
        *,
        region_codes: Collection[str],
    ) -> Scope:
        """Validate `data` (TOML or JSON shape) into a Scope, then apply the policy guards.

        `request_duration` is the requested duration in months (the validity must fit in it);
        `region_codes` are the valid region codes (config/wilayah_paser.csv).
        """
        top = Table(data, "", SCOPE_KEYS)
        version = top.raw("schema_version")
        if version != SCHEMA_VERSION:
            raise Invalid("schema_version", f"must be {SCHEMA_VERSION}")
        access_modes = tuple(sorted({str(m) for m in top.items("access_modes")}))
        for mode in access_modes:
            if mode not in ACCESS_MODES:
                raise Invalid("access_modes", f"each must be one of: {', '.join(ACCESS_MODES)}")
        delivery_table = top.table(
            "delivery", keys_of(Delivery), required="bulk_delivery" in access_modes
        )
        if delivery_table is not None and "bulk_delivery" not in access_modes:
            raise Invalid("delivery", "only with access mode bulk_delivery")
        high_risk = top.flag("high_risk", required=False)
        scope = cls(
            purpose=top.text("purpose", limit=2000),
            legal_basis=top.texts("legal_basis"),
            elements=_elements(top, catalog),
            row_filter=_row_filter(
                top.section("filter", keys_of(RowFilter)), catalog, region_codes
            ),
            recipients=_recipients(top),
            validity=_validity(top.section("validity", keys_of(Validity))),
            delivery=None if delivery_table is None else _delivery(delivery_table),
            reidentification=_reidentification(
                top.section("reidentification", keys_of(Reidentification))
            ),
            reporting=_reporting(top.section("reporting", keys_of(Reporting))),
            access_modes=access_modes,
            high_risk=high_risk,
            high_risk_reason=top.text("high_risk_reason", limit=2000, required=high_risk),
        )
        top.done()
        if scope.high_risk_reason and not high_risk:
            raise Invalid("high_risk_reason", "only with high_risk = true")
        check_policy(scope, catalog, request_duration)
        return scope

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "schema_version": self.schema_version,
            "purpose": self.purpose,
            "legal_basis": list(self.legal_basis),
            "high_risk": self.high_risk,
            "high_risk_reason": self.high_risk_reason,
            "access_modes": list(self.access_modes),
            "elements": {e.key: e.mask.to_json() for e in self.elements},
            "filter": self.row_filter.to_json(),
            "recipients": [r.to_json() for r in self.recipients],
            "validity": {
                "start": self.validity.start.isoformat(),
                "end": self.validity.end.isoformat(),
            },
            "reidentification": vars_of(self.reidentification),
            "reporting": {
                "semester_report_due": [d.isoformat() for d in self.reporting.semester_report_due],
                "data_balikan": self.reporting.data_balikan,
                "data_balikan_note": self.reporting.data_balikan_note,
            },
        }
        if self.delivery is not None:
            data["delivery"] = vars_of(self.delivery)
        return data


def keys_of(cls: type) -> frozenset[str]:
    """The input keys of a section: its dataclass's field names."""
    return frozenset(f.name for f in fields(cls))


SCOPE_KEYS = (keys_of(Scope) - {"row_filter"}) | {"filter"}


def vars_of(value: Delivery | Reidentification) -> dict[str, Any]:
    return dict(vars(value))


def lookup(catalog: CatalogLike, key: str, where: str) -> ElementInfo:
    """The catalog element, or Invalid naming the field (never the catalog's own error)."""
    try:
        return catalog.get(key)
    except (NotFound, KeyError, LookupError):
        raise Invalid(where, "unknown element (not in the catalog)") from None


def _elements(top: Table, catalog: CatalogLike) -> tuple[GrantedElement, ...]:
    table = top.section("elements")
    granted = []
    for key in sorted(map(str, table.data)):
        element = lookup(catalog, key, f"elements.{key}")
        spec = table.raw(key)
        if not isinstance(spec, str | Mapping):
            raise Invalid(f"elements.{key}", "must be a mask name or a table with mask = ...")
        granted.append(GrantedElement(key, validate_mask(element, spec)))
    return tuple(granted)


def _row_filter(table: Table, catalog: CatalogLike, region_codes: Collection[str]) -> RowFilter:
    regions_raw = table.raw("regions")
    regions: tuple[str, ...] | None = None
    if regions_raw != ALL_REGIONS:
        items = table.items("regions")
        for code in items:
            if not isinstance(code, str) or not _REGION_CODE.match(code):
                raise Invalid(
                    "filter.regions",
                    "each must be a kecamatan (64.01.01) or village (64.01.01.2009) code, "
                    'or regions = "all"',
                )
            if code not in region_codes:
                raise Invalid("filter.regions", f"unknown region code {code}")
        regions = tuple(sorted({str(c) for c in items}))
    row_filter = RowFilter(
        regions=regions,
        min_age=table.whole("min_age", 0, MAX_AGE),
        max_age=table.whole("max_age", 0, MAX_AGE),
        alive_only=table.flag("alive_only"),
        active_only=table.flag("active_only"),
        include_minors=table.flag("include_minors"),
        predicates=tuple(
            _predicate(item, f"filter.predicates[{i}]", catalog)
            for i, item in enumerate(table.items("predicates", required=False, allow_empty=True))
        ),
    )
    table.done()
    if row_filter.min_age > row_filter.max_age:
        raise Invalid("filter.max_age", "must not be below min_age")
    return row_filter


def _predicate(data: object, where: str, catalog: CatalogLike) -> Predicate:
    table = Table(data, where, keys_of(Predicate))
    key = table.text("element", limit=100)
    element = lookup(catalog, key, f"{where}.element")
    expected = PREDICATE_VALUE_TYPES.get(element.type)
    if expected is None:
        raise Invalid(
            f"{where}.element",
            f"cannot filter on a {element.type} element (use regions or the age range)",
        )
    op = table.choice("op", PREDICATE_OPS)
    values = table.items("values")
    for value in values:
        if type(value) is not expected:
            raise Invalid(f"{where}.values", f"{key} takes {expected.__name__} values")
    table.done()
    unique = sorted(set(values))  # type: ignore[type-var]
    return Predicate(key, op, tuple(unique))  # type: ignore[arg-type]


def _recipients(top: Table) -> tuple[Recipient, ...]:
    recipients: list[Recipient] = []
    for i, item in enumerate(top.items("recipients", allow_empty=True)):
        table = Table(item, f"recipients[{i}]", keys_of(Recipient))
        age_key = table.text("age_recipient", limit=100)
        decode_age_recipient(age_key, table.at("age_recipient"))
        networks = []
        for net in table.items("ip_allow", required=False, allow_empty=True):
            try:
                networks.append(str(ipaddress.ip_network(str(net), strict=False)))
            except ValueError:
                raise Invalid(
                    table.at("ip_allow"), "each must be an IP address or network"
                ) from None
        recipient = Recipient(
            name=table.text("name", limit=200),
            contact=table.text("contact", limit=200),
            age_recipient=age_key,
            ip_allow=tuple(sorted(set(networks))),
        )
        table.done()
        if any(r.name == recipient.name for r in recipients):
            raise Invalid(table.at("name"), "recipient names must be unique")
        if any(r.age_recipient == age_key for r in recipients):
            raise Invalid(table.at("age_recipient"), "each recipient needs its own key")
        recipients.append(recipient)
    return tuple(recipients)


def _validity(table: Table) -> Validity:
    validity = Validity(
        read_date(table.raw("start"), table.at("start")),
        read_date(table.raw("end"), table.at("end")),
    )
    table.done()
    if validity.end < validity.start:
        raise Invalid("validity.end", "must not be before validity.start")
    return validity


def _delivery(table: Table) -> Delivery:
    delivery = Delivery(
        format=table.choice("format", FORMATS),
        schedule=table.choice("schedule", SCHEDULES),
        quota=table.whole("quota", 1, 1000),
        quota_period=table.choice("quota_period", QUOTA_PERIODS),
        max_rows=table.whole("max_rows", 1, 100_000_000),
    )
    table.done()
    return delivery


def _reidentification(table: Table) -> Reidentification:
    settings = Reidentification(
        k=table.whole("k", 2, 1000),
        action=table.choice("action", REIDENTIFICATION_ACTIONS),
        rare_category_threshold=table.whole("rare_category_threshold", 0, 10_000),
    )
    table.done()
    return settings


def _reporting(table: Table) -> Reporting:
    due = tuple(
        sorted(
            {
                read_date(v, table.at("semester_report_due"))
                for v in table.items("semester_report_due")
            }
        )
    )
    reporting = Reporting(
        semester_report_due=due,
        data_balikan=table.flag("data_balikan"),
        data_balikan_note=table.text("data_balikan_note", limit=2000, required=False),
    )
    table.done()
    return reporting
