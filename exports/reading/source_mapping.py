"""Where each catalog element lives in the source database, and a check that the source has it.

Reads the `source` half of the catalog file (see `agreements.catalog` for the other half): the
person table and its key, the tables joined to it, the shape of the code tables, and per element a
`{table, column}`, a `{table, columns}` (the parts of a region code) or an `{expression}`, with how
to decode it (`codes` table, inline `values`, a flag's `true_when`). Another office's schema is
supported by editing this mapping; `check_source` tells the operator, before any delivery, which
table, column, join or code table the mapping names that the source does not have.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Select, inspect, literal_column, select
from sqlalchemy import table as sql_table
from sqlalchemy.exc import DBAPIError

from agreements.catalog import CatalogError, load_catalog
from agreements.errors import Invalid
from agreements.tables import Table

SOURCE_KEYS = ("person_table", "person_key", "code_key", "code_label", "joins")
ELEMENT_SOURCE_KEYS = ("table", "column", "columns", "expression", "codes", "values", "true_when")
# Kemendagri region codes: province 2 digits, kabupaten 2, kecamatan 2, village 4 (64.01.01.2009).
REGION_PART_WIDTHS = (2, 2, 2, 4)


@dataclass(frozen=True)
class ElementSource:
    """One element's place in the source. Exactly one of column, columns, expression is set."""

    key: str
    table: str
    column: str | None = None
    columns: tuple[str, ...] = ()  # region code parts, province first
    expression: str | None = None
    codes: str | None = None  # code table decoding `column`
    values: tuple[tuple[str, str], ...] = ()  # inline decoding: stored code -> label
    true_when: tuple[str | int, ...] = ()  # stored values of a flag that mean true


@dataclass(frozen=True)
class SourceMapping:
    person_table: str
    person_key: str
    code_key: str
    code_label: str
    joins: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]  # table, (person col, its col)
    elements: tuple[ElementSource, ...]

    def element(self, key: str) -> ElementSource:
        for source in self.elements:
            if source.key == key:
                return source
        raise KeyError(key)

    def join_of(self, table: str) -> tuple[tuple[str, str], ...]:
        return dict(self.joins)[table]


@dataclass(frozen=True)
class Mismatch:
    """Something the mapping names that the source does not have."""

    where: str  # the mapping's field, e.g. elements.agama.source.codes
    problem: str

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}"


def load_source_mapping(path: Path) -> SourceMapping:
    """The mapping of every deliverable element; CatalogError names the file and the field."""
    catalog = load_catalog(path)  # the element half first: its errors read better
    with path.open("rb") as file:
        raw = tomllib.load(file)
    try:
        return parse_source_mapping(raw, deliverable=[e.key for e in catalog if e.deliverable])
    except Invalid as exc:
        raise CatalogError(f"catalog file {path}: {exc.message}") from None


def parse_source_mapping(raw: Mapping[str, object], deliverable: list[str]) -> SourceMapping:
    top = Table(raw.get("source"), "source", SOURCE_KEYS)
    person_table = top.text("person_table", limit=128)
    joins = tuple(
        (str(name), _join(Table(value, f"source.joins.{name}", ("on",))))
        for name, value in Table(top.raw("joins"), "source.joins").data.items()
    )
    known_tables = {person_table, *(name for name, _ in joins)}
    elements_raw = raw["elements"]
    assert isinstance(elements_raw, Mapping)  # load_catalog checked the element half
    elements = tuple(_element_source(key, elements_raw[key], known_tables) for key in deliverable)
    mapping = SourceMapping(
        person_table=person_table,
        person_key=top.text("person_key", limit=128),
        code_key=top.text("code_key", limit=128),
        code_label=top.text("code_label", limit=128),
        joins=joins,
        elements=elements,
    )
    top.done()
    return mapping


def _join(table: Table) -> tuple[tuple[str, str], ...]:
    on = Table(table.raw("on"), table.at("on"))
    if not on.data:
        raise Invalid(table.at("on"), "must name at least one pair of columns")
    pairs = []
    for person_column, joined_column in on.data.items():
        if not isinstance(joined_column, str) or not joined_column:
            raise Invalid(on.at(str(person_column)), "must be a column name")
        pairs.append((str(person_column), joined_column))
    return tuple(pairs)


def _element_source(key: str, data: object, known_tables: set[str]) -> ElementSource:
    element = Table(data, f"elements.{key}")
    table = Table(element.raw("source"), f"elements.{key}.source", ELEMENT_SOURCE_KEYS)
    where = table.text("table", limit=128)
    if where not in known_tables:
        raise Invalid(table.at("table"), "must be the person table or a table under source.joins")
    ways = [name for name in ("column", "columns", "expression") if name in table.data]
    if len(ways) != 1:
        raise Invalid(table.path, "needs exactly one of column, columns, expression")
    columns = table.texts("columns", limit=128) if "columns" in table.data else ()
    if len(columns) > len(REGION_PART_WIDTHS):
        raise Invalid(table.at("columns"), "a region code has at most 4 parts")
    values = table.table("values", required=False)
    source = ElementSource(
        key=key,
        table=where,
        column=table.text("column", limit=128) if "column" in table.data else None,
        columns=columns,
        expression=table.text("expression", limit=2000) if "expression" in table.data else None,
        codes=table.text("codes", limit=128) if "codes" in table.data else None,
        values=() if values is None else _labels(values),
        true_when=tuple(
            _scalar(v, table.at("true_when")) for v in table.items("true_when", required=False)
        ),
    )
    table.done()
    return source


def _labels(values: Table) -> tuple[tuple[str, str], ...]:
    labels = []
    for code, label in values.data.items():
        if not isinstance(label, str) or not label:
            raise Invalid(values.at(str(code)), "must be a label (text)")
        labels.append((str(code), label))
    return tuple(labels)


def _scalar(value: object, where: str) -> str | int:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Invalid(where, "each value must be a number or text as stored in the source")
    return value


def check_source(engine: Engine, mapping: SourceMapping) -> list[Mismatch]:
    """Every table, column, join column and code table the mapping names, checked by reflection."""
    inspector = inspect(engine)
    tables = set(inspector.get_table_names())
    columns: dict[str, set[str]] = {}

    def has(table: str, column: str | None = None) -> bool:
        if table not in tables:
            return False
        if table not in columns:
            columns[table] = {c["name"] for c in inspector.get_columns(table)}
        return column is None or column in columns[table]

    found: list[Mismatch] = []

    def need(where: str, table: str, column: str | None = None) -> None:
        if not has(table):
            found.append(Mismatch(where, f"no table {table}"))
        elif column is not None and not has(table, column):
            found.append(Mismatch(where, f"no column {table}.{column}"))

    need("source.person_table", mapping.person_table)
    need("source.person_key", mapping.person_table, mapping.person_key)
    for name, pairs in mapping.joins:
        for person_column, joined_column in pairs:
            need(f"source.joins.{name}.on", mapping.person_table, person_column)
            need(f"source.joins.{name}.on", name, joined_column)
    for source in mapping.elements:
        at = f"elements.{source.key}.source"
        for column in (source.column, *source.columns):
            if column is not None:
                need(at, source.table, column)
        if source.codes is not None:
            need(f"{at}.codes", source.codes, mapping.code_key)
            need(f"{at}.codes", source.codes, mapping.code_label)
        if source.expression is not None and has(source.table):
            problem = _expression_problem(engine, source.table, source.expression)
            if problem:
                found.append(Mismatch(f"{at}.expression", problem))
    return _unique(found)


def _expression_problem(engine: Engine, table: str, expression: str) -> str | None:
    """Let the database compile the expression over no rows; its first error line, or None."""
    probe: Select[Any] = select(literal_column(expression)).select_from(sql_table(table)).limit(0)
    try:
        with engine.connect() as connection:
            connection.execute(probe).close()
    except DBAPIError as exc:
        return "the database refuses it: " + str(exc.orig).splitlines()[0]
    return None


def _unique(found: list[Mismatch]) -> list[Mismatch]:
    return list(dict.fromkeys(found))
