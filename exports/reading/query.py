"""The SELECT one extraction runs, built from an `ExtractionRequest` and the catalog mapping.

`build_query` turns a request (granted elements, row filter, delivery date) into one SQLAlchemy
Core SELECT over the source as the catalog mapping describes it: it selects only the requested
elements, each labelled with its element key, joins a table only when an element needs it, and
filters in the database, so rows and columns the agreement does not grant never leave the source.
Filter columns appear in WHERE only. Every value is a bind parameter; the only SQL text taken as
is comes from the catalog's `expression` mappings (trusted configuration). A decoded code or flag
is selected as stored (a flag as 1/0) and gets its label in Arrow (`exports.reading.decoding`), so
no code table is joined. `arrow_schema` is the schema every batch has once read and decoded
(`exports.reading.extract`).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import pyarrow as pa
from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    and_,
    case,
    column,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy import table as sql_table
from sqlalchemy.sql.expression import TableClause

from agreements.catalog import Catalog, DataElement
from agreements.errors import Invalid
from agreements.scope import Predicate, RowFilter
from exports.element_types import ARROW_TYPES
from exports.reading.batch_shape import region_part_name
from exports.reading.source_mapping import ElementSource, SourceMapping

# The elements the row filter is defined on (docs/catalog.md): birth date for the age range,
# the two record-status flags.
BIRTH_DATE = "tanggal_lahir"
ALIVE = "hidup"
ACTIVE = "aktif"
ADULT_AGE = 18  # UU PDP: records of people under 18 are children's data
COUNT_COLUMN = "n"  # the group size in `grouped_query`


@dataclass(frozen=True)
class ColumnRequest:
    """One delivered column: the element, and whether codes and flags come as their labels."""

    key: str
    decode: bool = False


@dataclass(frozen=True)
class ExtractionRequest:
    """Everything one extraction needs: what to read, which rows, and where it lives.

    `as_of` is the delivery date: ages in the row filter are counted at it.
    """

    catalog: Catalog
    mapping: SourceMapping
    columns: tuple[ColumnRequest, ...]
    row_filter: RowFilter
    as_of: date


def arrow_schema(request: ExtractionRequest) -> pa.Schema:
    """The schema of every batch `extract` yields: one field per requested column, in order."""
    _check_columns(request)
    fields = []
    for wanted in request.columns:
        element = request.catalog.get(wanted.key)
        decoded = wanted.decode and element.type in ("code", "flag")
        fields.append(pa.field(wanted.key, pa.string() if decoded else ARROW_TYPES[element.type]))
    return pa.schema(fields)


def build_query(request: ExtractionRequest) -> Select[Any]:
    """The SELECT of the requested columns over the filtered rows (see the module docstring)."""
    _check_columns(request)
    query = _QueryBuilder(request)
    items = [item for wanted in request.columns for item in query.items(wanted)]
    conditions = query.conditions()
    return select(*items).select_from(query.from_clause()).where(*conditions)


def grouped_query(request: ExtractionRequest) -> Select[Any]:
    """`SELECT <columns>, count(*) AS n FROM (build_query) GROUP BY <columns>`; NULL is a group.

    Over a subquery, because a CASE with bind parameters in both SELECT and GROUP BY counts as two
    different expressions on PostgreSQL.
    """
    rows = build_query(request).subquery("filtered")
    return select(*rows.c, func.count().label(COUNT_COLUMN)).group_by(*rows.c)


def narrowed(request: ExtractionRequest, keys: tuple[str, ...]) -> ExtractionRequest:
    """`request` reading only `keys`: decoded where `request` decodes them, else stored values."""
    asked = {wanted.key: wanted for wanted in request.columns}
    return replace(request, columns=tuple(asked.get(k, ColumnRequest(k)) for k in keys))


def latest_birth_date(as_of: date, age: int) -> date:
    """The latest birth date of someone at least `age` full years old on `as_of`.

    Someone born on 29 February is a year older on 1 March in common years; so on 29 February
    of a leap year, the latest birth date `age` years back is 28 February of a common year.
    """
    year = as_of.year - age
    if (as_of.month, as_of.day) == (2, 29) and not calendar.isleap(year):
        return date(year, 2, 28)
    return as_of.replace(year=year)


def _check_columns(request: ExtractionRequest) -> None:
    seen: set[str] = set()
    for wanted in request.columns:
        at = f"columns.{wanted.key}"
        if wanted.key in seen:
            raise Invalid(at, "is requested twice")
        seen.add(wanted.key)
        element = _element(request, wanted.key, at)
        if wanted.decode and element.type not in ("code", "flag"):
            raise Invalid(at, f"a {element.type} element has no labels to decode")
        if wanted.decode and element.type == "code":
            source = request.mapping.element(wanted.key)
            if source.codes is None and not source.values:
                raise Invalid(at, "its source mapping has no codes table or values to decode")


def _element(request: ExtractionRequest, key: str, at: str) -> DataElement:
    if key not in request.catalog:
        raise Invalid(at, "unknown element (not in the catalog)")
    element = request.catalog.get(key)
    if not element.deliverable:
        raise Invalid(at, "is never delivered")
    try:
        request.mapping.element(key)
    except KeyError:
        raise Invalid(at, "has no source mapping") from None
    if element.type not in ARROW_TYPES:
        raise Invalid(at, f"unknown element type {element.type}")
    return element


def filter_elements(request: ExtractionRequest) -> set[str]:
    """The elements the request's row filter reads (in WHERE only, never delivered)."""
    used = {p.element for p in request.row_filter.predicates}
    used |= {BIRTH_DATE}
    if request.row_filter.alive_only:
        used.add(ALIVE)
    if request.row_filter.active_only:
        used.add(ACTIVE)
    if request.row_filter.regions is not None:
        used.add(_finest_region(request).key)
    return used


def _finest_region(request: ExtractionRequest) -> ElementSource:
    regions = [
        source
        for source in request.mapping.elements
        if source.columns and request.catalog.get(source.key).type == "region"
    ]
    if not regions:
        raise Invalid("filter.regions", "the catalog maps no region element to code parts")
    return max(regions, key=lambda source: len(source.columns))


class _QueryBuilder:
    """Table clauses made on demand, and the joins the chosen elements need."""

    def __init__(self, request: ExtractionRequest) -> None:
        self.request = request
        self.mapping = request.mapping
        self.tables: dict[str, TableClause] = {}
        self.joined: list[str] = []  # joined tables in first-use order

    def use(self, table: str) -> TableClause:
        """The table's clause; a table other than the person table gets joined."""
        clause = self.tables.get(table)
        if clause is None:
            clause = self.tables[table] = sql_table(table)
        if table != self.mapping.person_table and table not in self.joined:
            self.joined.append(table)
        return clause

    def column(self, table: str, name: str) -> ColumnElement[Any]:
        clause = self.use(table)
        if name not in clause.c:
            clause.append_column(column(name))
        return clause.c[name]

    def raw(self, source: ElementSource) -> ColumnElement[Any]:
        """The stored value of a single-valued element (column or trusted expression)."""
        if source.column is not None:
            return self.column(source.table, source.column)
        if source.expression is not None:
            self.use(source.table)
            return literal_column(source.expression)
        raise Invalid(f"elements.{source.key}.source", "a region code is not a single value")

    def items(self, wanted: ColumnRequest) -> list[ColumnElement[Any]]:
        """The labelled SELECT items delivering one element."""
        element = self.request.catalog.get(wanted.key)
        source = self.mapping.element(wanted.key)
        key = wanted.key
        if source.columns:
            return [
                self.column(source.table, name).label(region_part_name(key, i))
                for i, name in enumerate(source.columns)
            ]
        value = self.raw(source)
        if element.type == "flag":
            return [case((self.flag_true(source, value), 1), else_=0).label(key)]
        # A decoded code is read as stored too: its label comes in Arrow (exports.reading.decoding).
        return [value.label(key)]

    def flag_true(self, source: ElementSource, value: ColumnElement[Any]) -> ColumnElement[Any]:
        if not source.true_when:
            raise Invalid(f"elements.{source.key}.source.true_when", "a flag needs true_when")
        return value.in_(list(source.true_when))

    def conditions(self) -> list[ColumnElement[Any]]:
        row_filter = self.request.row_filter
        found = [*self.age_bounds(row_filter)]
        for key, wanted in ((ALIVE, row_filter.alive_only), (ACTIVE, row_filter.active_only)):
            if wanted:
                source = self.mapping.element(key)
                found.append(self.flag_true(source, self.raw(source)))
        if row_filter.regions is not None:
            found.append(self.regions(row_filter.regions))
        found.extend(self.predicate(p, i) for i, p in enumerate(row_filter.predicates))
        return found

    def age_bounds(self, row_filter: RowFilter) -> list[ColumnElement[Any]]:
        born = self.raw(self.mapping.element(BIRTH_DATE))
        youngest = (
            row_filter.min_age if row_filter.include_minors else max(row_filter.min_age, ADULT_AGE)
        )
        as_of = self.request.as_of
        # age <= max_age  <=>  not yet max_age + 1  <=>  born after that birthday's latest date.
        # A missing birth date has no age and never falls in the range.
        return [
            born <= literal(latest_birth_date(as_of, youngest)),
            born > literal(latest_birth_date(as_of, row_filter.max_age + 1)),
        ]

    def regions(self, codes: tuple[str, ...]) -> ColumnElement[Any]:
        finest = _finest_region(self.request)
        alternatives = []
        for code in codes:
            parts = code.split(".")
            if len(parts) > len(finest.columns):
                raise Invalid("filter.regions", f"the source maps no region part for {code}")
            alternatives.append(
                and_(
                    *(
                        self.column(finest.table, name) == literal(int(part))
                        for name, part in zip(finest.columns, parts, strict=False)
                    )
                )
            )
        return or_(false(), *alternatives)

    def predicate(self, predicate: Predicate, index: int) -> ColumnElement[Any]:
        at = f"filter.predicates[{index}]"
        element = _element(self.request, predicate.element, f"{at}.element")
        source = self.mapping.element(predicate.element)
        value = self.raw(source)
        if predicate.op not in ("in", "not_in"):
            raise Invalid(f"{at}.op", "must be in or not_in")
        if element.type == "flag":
            # A flag is true or false on every row (a missing value is false, as delivered), so
            # `not_in` is `in` the other value.
            listed = set(predicate.values)
            wanted = listed if predicate.op == "in" else {True, False} - listed
            yes = self.flag_true(source, value)
            matches = {True: yes, False: or_(~yes, value.is_(None))}
            return or_(false(), *(matches[v] for v in (True, False) if v in wanted))
        if element.type not in ("code", "string"):
            raise Invalid(f"{at}.element", f"cannot filter on a {element.type} element")
        hit = value.in_(list(predicate.values))
        if predicate.op == "in":
            return hit
        # A missing value is not among the listed ones, but NOT IN alone would drop it.
        return or_(~hit, value.is_(None))

    def from_clause(self) -> FromClause:
        joined: FromClause = self.use(self.mapping.person_table)
        for name in self.joined:
            pairs = self.mapping.join_of(name)
            on = [
                self.column(self.mapping.person_table, mine) == self.column(name, theirs)
                for mine, theirs in pairs
            ]
            joined = joined.outerjoin(self.tables[name], and_(true(), *on))
        return joined
