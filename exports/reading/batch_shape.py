"""Shaping a record batch as a reader got it into the delivery schema of its request.

Each backend hands back its own types (SQLite guesses them from the values, PostgreSQL sends
int2 for SMALLINT, MariaDB rows become whatever Python infers), so every batch is cast here to the
one schema the request promises: the next stage can rely on it batch after batch. Region codes
arrive as their integer parts (`key__0`, `key__1` …) and are joined here, vectorised, into the
dotted zero-padded Kemendagri code. A value that does not fit its element's type stops the read
with an error naming the element and the types, never the value (it is population data).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from agreements.errors import SafeError
from exports.reading.source_mapping import REGION_PART_WIDTHS

REGION_PART_SEPARATOR = "__"


class SourceValueError(SafeError, RuntimeError):
    """A source value does not fit its element's type; the message names the element only."""


def region_part_name(key: str, index: int) -> str:
    """The query label of a region code's `index`-th part (province first)."""
    return f"{key}{REGION_PART_SEPARATOR}{index}"


def conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """`batch` with exactly `schema`'s fields, in its order and types."""
    names = set(batch.schema.names)
    arrays = [
        _cast(batch.column(field.name), field) if field.name in names else _region(batch, field)
        for field in schema
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _cast(array: pa.Array, field: pa.Field) -> pa.Array:
    if array.type == field.type:
        return array
    if pa.types.is_null(array.type):
        # A column that is NULL throughout a batch has no type of its own.
        return pa.nulls(len(array), field.type)
    try:
        return pc.cast(array, field.type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        # Arrow's message quotes the offending value: it must not travel further.
        raise SourceValueError(
            f"the source's values for element {field.name} ({array.type}) "
            f"do not convert to {field.type}"
        ) from None


def _region(batch: pa.RecordBatch, field: pa.Field) -> pa.Array:
    names = set(batch.schema.names)
    parts: list[pa.Array] = []
    while (name := region_part_name(field.name, len(parts))) in names:
        parts.append(batch.column(name))
    if not parts or len(parts) > len(REGION_PART_WIDTHS):
        raise ValueError(f"the batch has no column or region parts for element {field.name}")
    texts = [
        pc.utf8_lpad(_cast(_cast(part, pa.field(field.name, pa.int64())), field), width, "0")
        for part, width in zip(parts, REGION_PART_WIDTHS, strict=False)
    ]
    # A missing part makes the whole code missing rather than a misleading partial one.
    return pc.binary_join_element_wise(*texts, ".")
