"""Reading one extraction: the batches of its SELECT, and the small counts taken before.

`extract` reads the rows of `exports.reading.query.build_query` through `exports.reading.readers`,
as batches of `arrow_schema(request)`, and, if the source refuses the query, says which element's
mapping is wrong. `value_counts` and `count_rows` are the GROUP BY and COUNT the pipeline runs in
the source before the stream starts (rare categories, row counts).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Select, func, select

from agreements.catalog import CatalogError
from exports.reading.batch_shape import conform
from exports.reading.decoding import decode, read_labels, stored_schema
from exports.reading.query import (
    COUNT_COLUMN,
    ExtractionRequest,
    arrow_schema,
    build_query,
    filter_elements,
    grouped_query,
    narrowed,
)
from exports.reading.readers import (
    DEFAULT_BATCH_ROWS,
    fetch_all,
    read_batches,
)
from exports.reading.source import Source, SourceQueryError
from exports.reading.source_mapping import check_source


class SourceMappingError(CatalogError):
    """The source lacks what the mapping names; `mismatches` name the element fields."""

    def __init__(self, mismatches: list[str]) -> None:
        super().__init__("the source does not match the catalog mapping: " + "; ".join(mismatches))
        self.mismatches = mismatches


def extract(
    source: Source, request: ExtractionRequest, *, batch_rows: int = DEFAULT_BATCH_ROWS
) -> Iterator[pa.RecordBatch]:
    """The request's rows as batches of `arrow_schema(request)`, streamed from the source.

    A query the source refuses is checked against the mapping: a missing table or column comes
    back as SourceMappingError naming the element, not as the driver's text.
    """
    yield from read_checked(
        source, request, build_query(request), arrow_schema(request), batch_rows
    )


def read_checked(
    source: Source,
    request: ExtractionRequest,
    query: Select[Any],
    schema: pa.Schema,
    batch_rows: int,
) -> Iterator[pa.RecordBatch]:
    """`read_batches` of a query built from `request`, decoded to `schema` (the columns `request`
    decodes arrive as stored values and leave as labels), with `extract`'s mapping check."""
    try:
        labels = read_labels(source.engine, request)
        for batch in read_batches(source, query, stored_schema(schema, request), batch_rows):
            yield decode(batch, labels)
    except SourceQueryError:
        mismatches = mapping_mismatches(source, request)
        if mismatches:
            raise SourceMappingError(mismatches) from None
        raise


def mapping_mismatches(source: Source, request: ExtractionRequest) -> list[str]:
    """What the source lacks of the mapping of the elements this request uses."""
    used = {wanted.key for wanted in request.columns} | filter_elements(request)
    mapping = request.mapping
    relevant = dataclasses.replace(
        mapping, elements=tuple(s for s in mapping.elements if s.key in used)
    )
    return [str(m) for m in check_source(source.engine, relevant)]


def count_rows(source: Source, query: Select[Any]) -> int:
    """How many rows `query` returns, counted by the database."""
    counted = select(func.count()).select_from(query.subquery("counted"))
    rows = fetch_all(source.engine, counted)
    return int(rows[0][0])


def value_counts(source: Source, request: ExtractionRequest, element_key: str) -> dict[str, int]:
    """How many of the filtered rows hold each value of one element (GROUP BY in the database).

    Values are keyed as they would be delivered, as text (decoded labels if the request decodes
    the element, dotted region codes, `true`/`false` flags, ISO dates); no value is key "".
    """
    one = narrowed(request, (element_key,))
    query = grouped_query(one)
    try:
        result = fetch_all(source.engine, query)
        labels = read_labels(source.engine, one)
    except SourceQueryError:
        mismatches = mapping_mismatches(source, one)
        if mismatches:
            raise SourceMappingError(mismatches) from None
        raise
    names = [c.name for c in query.selected_columns]
    columns = list(zip(*result, strict=True)) if result else [() for _ in names]
    raw = pa.RecordBatch.from_arrays([pa.array(list(values)) for values in columns], names=names)
    stored = conform(raw, stored_schema(arrow_schema(one), one))
    keys = pc.cast(decode(stored, labels).column(0), pa.string()).to_pylist()
    counts: dict[str, int] = {}
    for key, n in zip(keys, raw.column(COUNT_COLUMN).to_pylist(), strict=True):
        counts[key or ""] = counts.get(key or "", 0) + int(n)
    return counts
