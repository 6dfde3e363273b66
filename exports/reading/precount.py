"""Group sizes counted in the source before a delivery streams: the pre-pass of the risk check.

Suppressing records of small groups needs the size of every group before the first record goes
out, and one batch of the stream cannot know it. Rather than hold the stream (memory by rows) or
read the source twice in full, the source database counts: `group_counts` streams
`SELECT <keys>, count(*) AS n ... GROUP BY <keys>` over the delivery's filtered rows, one row per
distinct combination of the raw values. The caller masks each batch as it masks the delivery and
adds it, weighted by `n`, to an `exports.risk.counter.RiskCounter`. The keys come back as the
extraction delivers them (`exports.reading.query.arrow_schema`: decoded labels where the request
decodes, dotted region codes, flags as booleans), so the same masks apply to them unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from exports.reading.extract import read_checked
from exports.reading.query import (
    COUNT_COLUMN,
    ExtractionRequest,
    arrow_schema,
    grouped_query,
    narrowed,
)
from exports.reading.readers import DEFAULT_BATCH_ROWS
from exports.reading.source import Source


def counted_schema(request: ExtractionRequest, keys: tuple[str, ...]) -> pa.Schema:
    """The schema of `group_counts` batches: the keys as extracted, then `n` (int64)."""
    return arrow_schema(narrowed(request, keys)).append(pa.field(COUNT_COLUMN, pa.int64()))


def group_counts(
    source: Source,
    request: ExtractionRequest,
    keys: tuple[str, ...],
    *,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> Iterator[pa.RecordBatch]:
    """How many of the request's filtered rows hold each combination of the `keys` elements.

    Each key is read as `request` reads it (decoded if its ColumnRequest decodes it), or as its
    stored value when `request` does not deliver it. NULL is a value of its own. One row per
    combination as the database groups it; the caller sums `n` where its masks merge rows (and a
    region code with a missing part, which reads as one NULL whichever part is missing).
    A key mapped to something the source lacks raises SourceMappingError naming the element.
    """
    if not keys:
        raise ValueError("group_counts needs at least one key element")
    counted = narrowed(request, tuple(keys))
    query = grouped_query(counted)
    yield from read_checked(source, counted, query, counted_schema(request, keys), batch_rows)
