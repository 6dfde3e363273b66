"""Labels for decoded codes and flags, applied in Arrow after the read (the `decode` mask's source).

The SELECT reads a decoded element's stored value (the code; a flag as 1/0), and each batch maps it
to its label through a lookup made once per extraction: the source's code table (its `code_key`
and `code_label` columns, read whole: tens of rows), the mapping's inline `values`, or Ya/Tidak for
a flag. Why not a JOIN per code table: each one is a per-row index lookup in the source that hands
back text the driver then copies row by row; on the benchmark's scope (five code tables, four
flags, 629 k rows) reading the codes and mapping them in Arrow takes the read from ~3.3 to ~2.8 s
of CPU (docs/decisions/0002-decode-in-arrow.md). As with the LEFT JOIN it replaces: a NULL code,
and a code the table does not list, decode to NULL; a key that no stored code can equal (NULL,
not a whole number) matches nothing. A code listed twice takes the label that sorts first.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine, column, select
from sqlalchemy import table as sql_table

from exports.element_types import ARROW_TYPES
from exports.reading.batch_shape import SourceValueError
from exports.reading.query import ExtractionRequest
from exports.reading.readers import fetch_all

FLAG_LABELS = ("Ya", "Tidak")  # what a decoded flag delivers for true and false


@dataclass(frozen=True)
class Labels:
    """One decoded element's lookup: stored codes (of the element's Arrow type) -> labels."""

    codes: pa.Array
    labels: pa.Array

    def apply(self, stored: pa.Array) -> pa.Array:
        # skip_nulls: a NULL code stays NULL even if a code table were to list a NULL key.
        positions = pc.index_in(stored, value_set=self.codes, skip_nulls=True)
        return pc.take(self.labels, positions)


def decoded_keys(request: ExtractionRequest) -> tuple[str, ...]:
    """The request's columns delivered as labels (the catalog types that have them)."""
    return tuple(
        wanted.key
        for wanted in request.columns
        if wanted.decode and request.catalog.get(wanted.key).type in ("code", "flag")
    )


def stored_schema(schema: pa.Schema, request: ExtractionRequest) -> pa.Schema:
    """`schema` (as delivered) with each decoded column back at its stored type: what to read."""
    for key in decoded_keys(request):
        at = schema.get_field_index(key)
        if at >= 0:
            stored = ARROW_TYPES[request.catalog.get(key).type]
            schema = schema.set(at, pa.field(key, stored))
    return schema


def read_labels(engine: Engine | None, request: ExtractionRequest) -> dict[str, Labels]:
    """The lookup of every decoded column; code tables are read through `engine` (needed only
    when a decoded element has a code table)."""
    found: dict[str, Labels] = {}
    for key in decoded_keys(request):
        element_type = request.catalog.get(key).type
        source = request.mapping.element(key)
        if element_type == "flag":
            found[key] = Labels(pa.array([True, False]), pa.array(FLAG_LABELS, pa.string()))
            continue
        if source.codes is not None:
            if engine is None:
                raise ValueError(f"decoding {key} needs the source's code table {source.codes}")
            mapping = request.mapping
            table = sql_table(source.codes, column(mapping.code_key), column(mapping.code_label))
            code, label = table.c[mapping.code_key], table.c[mapping.code_label]
            # Ordered, so that a code listed twice has the same first label in every read.
            pairs = [tuple(r) for r in fetch_all(engine, select(code, label).order_by(code, label))]
        else:
            pairs = list(source.values)
        found[key] = _lookup(pairs, ARROW_TYPES[element_type], key)
    return found


def decode(batch: pa.RecordBatch, labels: Mapping[str, Labels]) -> pa.RecordBatch:
    """`batch` with each column in `labels` replaced by its labels (strings)."""
    if not labels:
        return batch
    arrays, fields = [], []
    for field, array in zip(batch.schema, batch.columns, strict=True):
        lookup = labels.get(field.name)
        if lookup is not None:
            array, field = lookup.apply(array), pa.field(field.name, pa.string())
        arrays.append(array)
        fields.append(field)
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))


def _lookup(pairs: list[tuple[Any, ...]], to: pa.DataType, key: str) -> Labels:
    """Codes -> labels of one element. A key that can never equal a stored code (NULL, or not a
    whole number of the code type) is left out, as a JOIN never matched it; a key held as text
    (`'01'`) or as an integral decimal (`1.0`) is the number it spells."""
    kept = [(code, label) for raw, label in pairs if (code := _whole_number(raw)) is not None]
    codes = pa.array([code for code, _ in kept], pa.int64()).cast(to)
    return Labels(codes, pa.array([_text(label, key) for _, label in kept], pa.string()))


_INT32 = range(-(2**31), 2**31)


def _whole_number(value: Any) -> int | None:
    """The code-type integer a code-table key spells, or None."""
    if isinstance(value, bytes):
        value = value.decode("ascii", errors="replace")
    if isinstance(value, str):
        text = value.strip()
        digits = text[1:] if text[:1] in ("+", "-") else text
        number = int(text) if digits.isascii() and digits.isdigit() else None
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float | Decimal):
        number = int(value) if math.isfinite(value) and value == int(value) else None
    else:
        number = None
    return number if number is not None and number in _INT32 else None


def _text(label: Any, key: str) -> str | None:
    if label is None:
        return None
    if isinstance(label, bytes):
        try:
            return label.decode("utf-8")
        except UnicodeDecodeError:
            # The bytes are a population-facing label, but never quote them in an error.
            raise SourceValueError(f"the labels of element {key} are not UTF-8 text") from None
    return str(label)
