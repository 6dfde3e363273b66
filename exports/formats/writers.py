"""Delivery file formats: one writer per format, record batches in, bytes into a binary stream.

The stream is the encrypting one (an AgeWriter, usually behind a HashingStream), so no format
writes plaintext anywhere else: no temporary files, no whole-file buffers. `close()` finishes the
file (Parquet footer, ZIP directory) and leaves the stream open; the caller seals the encryption.

- parquet: zstd, the schema as given, with its metadata (the pipeline's agreement, version,
  element labels and masks); batches are gathered to at least ROW_GROUP_ROWS rows per row group,
  since small row groups make Parquet slower to write and larger (DESIGN.md §6);
- csv: UTF-8 with a header row of the column names; text is quoted, so identifiers stay text for
  any reader that respects quoting (Excel does not: that is what xlsx is for); text starting with
  `=`, `+`, `-`, `@`, TAB or CR gets a leading `'`, so a spreadsheet shows it instead of running
  it as a formula (OWASP's CSV injection advice);
- xlsx: exports.formats.xlsx_stream (why it is hand-written is said there), refused past
  Excel's limits.

Errors name the format, column or limit, never a value.
"""

from __future__ import annotations

from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from agreements.errors import SafeError
from exports.formats.sinks import WriteSink
from exports.formats.xlsx_stream import XlsxLimitError, XlsxStreamWriter

FORMATS = ("parquet", "csv", "xlsx")
SUFFIXES = {"parquet": ".parquet", "csv": ".csv", "xlsx": ".xlsx"}
ROW_GROUP_ROWS = 65_536
# The first characters that make a spreadsheet read a CSV cell as a formula (OWASP).
_FORMULA_STARTS = pa.array(["=", "+", "-", "@", "\t", "\r"])
PARQUET_COMPRESSION = "zstd"


class FormatError(SafeError, ValueError):
    """A format cannot take this delivery (unknown format, a limit, a column it cannot hold)."""


class BatchWriter(Protocol):
    """What the pipeline writes through: batches of the writer's schema, then close()."""

    @property
    def rows(self) -> int:
        """Data rows written so far."""
        ...

    def write_batch(self, batch: pa.RecordBatch) -> None: ...

    def close(self) -> None: ...


def open_writer(format: str, stream: WriteSink, schema: pa.Schema) -> BatchWriter:
    """A writer of `format` for batches of `schema` into `stream` (which it never closes)."""
    if format == "parquet":
        return _ParquetWriter(stream, schema)
    if format == "csv":
        return _CsvWriter(stream, schema)
    if format == "xlsx":
        return _XlsxWriter(stream, schema)
    raise FormatError(f"unknown delivery format {format!r}; known: {', '.join(FORMATS)}")


def _check(format: str, batch: pa.RecordBatch, schema: pa.Schema) -> None:
    if not batch.schema.equals(schema, check_metadata=False):
        raise FormatError(
            f"{format}: the batch's columns {batch.schema.names} or their types differ from "
            f"the writer's schema {schema.names}"
        )


class _ParquetWriter:
    def __init__(self, stream: WriteSink, schema: pa.Schema) -> None:
        self._schema = schema
        self._writer = pq.ParquetWriter(stream, schema, compression=PARQUET_COMPRESSION)
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self.rows = 0

    def write_batch(self, batch: pa.RecordBatch) -> None:
        _check("parquet", batch, self._schema)
        self._pending.append(batch)
        self._pending_rows += batch.num_rows
        self.rows += batch.num_rows
        if self._pending_rows >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        table = pa.Table.from_batches(self._pending, schema=self._schema)
        self._pending, self._pending_rows = [], 0
        # One row group per gathered table; a single huge batch is still cut at Arrow's maximum.
        self._writer.write_table(table)

    def close(self) -> None:
        self._flush()
        self._writer.close()


class _CsvWriter:
    def __init__(self, stream: WriteSink, schema: pa.Schema) -> None:
        self._schema = schema
        try:
            self._writer = pcsv.CSVWriter(
                stream, schema, write_options=pcsv.WriteOptions(include_header=True)
            )
        except (pa.ArrowNotImplementedError, pa.ArrowTypeError):
            kinds = ", ".join(f"{f.name} ({f.type})" for f in schema)
            raise FormatError(f"csv cannot hold every column of: {kinds}") from None
        self.rows = 0

    def write_batch(self, batch: pa.RecordBatch) -> None:
        _check("csv", batch, self._schema)
        self._writer.write_batch(_without_formulas(batch))
        self.rows += batch.num_rows

    def close(self) -> None:
        self._writer.close()


def _without_formulas(batch: pa.RecordBatch) -> pa.RecordBatch:
    """`batch` with `'` before each text value a spreadsheet would take for a formula.

    Per column in Arrow: the first character of every value against the set, and only a column
    that has such a value is rebuilt, so the usual batch costs one slice and one lookup a column.
    """
    columns = list(batch.columns)
    for index, field in enumerate(batch.schema):
        if not (pa.types.is_string(field.type) or pa.types.is_large_string(field.type)):
            continue
        column = columns[index]
        starts = pc.is_in(pc.utf8_slice_codeunits(column, 0, 1), value_set=_FORMULA_STARTS)
        if pc.any(starts).as_py():
            quote, empty = pa.scalar("'", field.type), pa.scalar("", field.type)
            prefixed = pc.binary_join_element_wise(quote, column, empty)
            columns[index] = pc.if_else(starts, prefixed, column)
    return pa.RecordBatch.from_arrays(columns, schema=batch.schema)


class _XlsxWriter:
    def __init__(self, stream: WriteSink, schema: pa.Schema) -> None:
        self._schema = schema
        try:
            self._writer = XlsxStreamWriter(stream, schema)
        except XlsxLimitError as error:
            raise FormatError(str(error)) from None

    @property
    def rows(self) -> int:
        return self._writer.rows

    def write_batch(self, batch: pa.RecordBatch) -> None:
        _check("xlsx", batch, self._schema)
        try:
            self._writer.write_batch(batch)
        except XlsxLimitError as error:
            raise FormatError(str(error)) from None

    def close(self) -> None:
        try:
            self._writer.close()
        except XlsxLimitError as error:
            raise FormatError(str(error)) from None
