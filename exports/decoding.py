"""Labels for decoded codes and flags, applied in Arrow after the read (the `decode` mask's source).

The SELECT reads a decoded element's stored value (the code; a flag as 1/0), and each batch maps it
to its label through a lookup made once per extraction: the source's code table (its `code_key`
and `code_label` columns, read whole: tens of rows), the mapping's inline `values`, or Ya/Tidak for
a flag. Why not a JOIN per code table: each one is a per-row index lookup in the source that hands
back text the driver then copies row by row; on the benchmark's scope (five code tables, four
flags, 629 k rows) reading the codes and mapping them in Arrow takes the read from 3.3 to 2.7 s of
CPU (bench/README.md). A code the table does not list, and a NULL, decode to NULL, as a LEFT JOIN
did; a code table that lists a code twice gives it its first label.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine, column, select
from sqlalchemy import table as sql_table

from exports.batch_shape import SourceValueError
from exports.element_types import ARROW_TYPES
from exports.query import ExtractionRequest
from exports.readers import fetch_all

FLAG_LABELS = ("Ya", "Tidak")  # what a decoded flag delivers for true and false


@dataclass(frozen=True)
class Labels:
    """One decoded element's lookup: stored codes (of the element's Arrow type) -> labels."""

    codes: pa.Array
    labels: pa.Array

    def apply(self, stored: pa.Array) -> pa.Array:
        return pc.take(self.labels, pc.index_in(stored, value_set=self.codes))


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
            codes: list[Any] = [True, False]
            labels: list[Any] = list(FLAG_LABELS)
        elif source.codes is not None:
            if engine is None:
                raise ValueError(f"decoding {key} needs the source's code table {source.codes}")
            mapping = request.mapping
            table = sql_table(source.codes, column(mapping.code_key), column(mapping.code_label))
            rows = fetch_all(engine, select(table.c[mapping.code_key], table.c[mapping.code_label]))
            codes, labels = [r[0] for r in rows], [r[1] for r in rows]
        else:
            codes = [code for code, _ in source.values]
            labels = [label for _, label in source.values]
        found[key] = Labels(_codes(codes, ARROW_TYPES[element_type], key), _labels(labels))
    return found


def needs_code_tables(request: ExtractionRequest) -> bool:
    return any(request.mapping.element(key).codes is not None for key in decoded_keys(request))


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


def _codes(values: list[Any], to: pa.DataType, key: str) -> pa.Array:
    if to == pa.bool_():
        return pa.array(values, pa.bool_())
    # Through text: a code table may key by '01' what the person table stores as 1.
    as_text = pa.array([None if v is None else str(v) for v in values], pa.string())
    try:
        return pc.cast(as_text, to)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        # Arrow's message would quote the code: name the element only.
        raise SourceValueError(f"the codes of element {key} do not convert to {to}") from None


def _labels(values: list[Any]) -> pa.Array:
    return pa.array([None if v is None else str(v) for v in values], pa.string())
