"""A streaming XLSX (SpreadsheetML) writer: record batches in, one worksheet out, memory flat.

Hand-written because neither mode of xlsxwriter fits the rule that plaintext never touches disk:
`constant_memory` writes every row to a temporary file before zipping it, and `in_memory` holds
the whole workbook in memory until the end. Here the sheet XML is built per batch with
`pyarrow.compute` (no per-cell Python) and deflated straight into the caller's binary stream
(an AgeWriter in the product) through the standard library's `zipfile`, which on a stream that
cannot seek writes each part with a data descriptor after its data.

Cells (docs/formats.md has the table): text as inline strings, so a 16-digit NIK keeps every
digit and nothing is read as a number or formula; integers as numbers up to 15 digits (Excel's
precision), text beyond; dates as real date cells shown `yyyy-mm-dd` (partners can sort, filter
and compute ages, and the text looks like the CSV's), ISO text where Excel's calendar fails
(before 1900-03-01, its leap-year bug, or after 9999); booleans `t="b"`; nulls as absent cells,
each cell carrying its reference so a gap never shifts the next value. Text characters XML 1.0
cannot carry become U+FFFD; a literal `_xHHHH_` is escaped so Excel does not decode it.

Limits are Excel's, refused before anything is written past them: 1,048,576 rows including the
header, 16,384 columns, 32,767 characters in a cell. The ZIP is classic, not ZIP64: Office has
been reported to reject workbooks whose small parts carry ZIP64 fields (what `force_zip64` writes
ahead of every part), so the sheet part is capped below zipfile's 2 GiB classic limit and a larger
sheet is refused before the batch that would cross it. Only the arguments' names and limits
appear in errors, never values.
"""

from __future__ import annotations

import contextlib
import re
import zipfile
from collections.abc import Callable, Iterator
from typing import IO, Any, Protocol, cast
from xml.sax.saxutils import escape

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

EXCEL_MAX_ROWS = 1_048_576  # including the header row
EXCEL_MAX_COLUMNS = 16_384
EXCEL_MAX_CELL_CHARS = 32_767
# zipfile refuses a classic (non-ZIP64) part at or above 2 GiB when it is closed; we stop earlier.
SHEET_MAX_BYTES = zipfile.ZIP64_LIMIT - (1 << 20)
EXCEL_MAX_DIGITS = 15
EXCEL_EPOCH_OFFSET = 25_569  # 1970-01-01 as an Excel serial day number (1900 date system)
EXCEL_FIRST_SERIAL = 61  # 1900-03-01: serials below it are off by Excel's 1900 leap-year bug
EXCEL_LAST_SERIAL = 2_958_465  # 9999-12-31
SLICE_ROWS = 8_192  # rows turned into XML at a time: bounds memory and 32-bit string offsets
SHEET_NAME = "data"

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_ILLEGAL_XML = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x{fffe}\x{ffff}]"
_EDGE_SPACE = r"^\s|\s$"
# Excel reads `_xHHHH_` in any text as an escaped character (ECMA-376 ST_Xstring): the underscore
# that starts a literal one is written `_x005F_`. Such sequences can overlap (`_x0041_x0042_`) and
# RE2 has no lookahead, so the vector form marks them with NUL (already gone from the text) in
# two passes, the second allowing a marked trailing underscore, then spells the marks out.
_EXCEL_ESCAPE = r"_(?=x[0-9A-Fa-f]{4}_)"
_EXCEL_ESCAPE_RE2 = "_(x[0-9A-Fa-f]{4}[_\x00])"
_EXCEL_UNDERSCORE = "_x005F_"
_NEEDS_ESCAPE = r"[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\x{fffe}\x{ffff}]|_x[0-9A-Fa-f]{4}_"
_BIG = 10**EXCEL_MAX_DIGITS - 1

_STATIC_PARTS = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        f'<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" Type="{_REL}/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
        f'<sheet name="{SHEET_NAME}" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'<Relationships xmlns="{_PKG_REL}">'
        f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/></Relationships>'
    ),
    # Style 1 is the date format; the two fills are the pair Excel expects in every workbook.
    "xl/styles.xml": (
        f'<styleSheet xmlns="{_MAIN}">'
        '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd"/></numFmts>'
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
        "</cellStyleXfs>"
        '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        "</cellXfs>"
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    ),
}


class XlsxLimitError(ValueError):
    """A delivery does not fit in one Excel worksheet, or has a column XLSX cannot hold."""


class _Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...

    def flush(self) -> None: ...


Cells = Callable[[pa.Array, pa.Array], pa.Array]


def column_letters(index: int) -> str:
    """Excel's name of the 0-based column `index`: A … Z, AA …"""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


class XlsxStreamWriter:
    """Writes one worksheet of `schema`'s columns into `stream`, batch by batch.

    `close()` finishes the ZIP (central directory) but does not close `stream`. `max_rows`
    counts the header row, like Excel; it exists so tests can check the limit without writing a
    million rows.
    """

    def __init__(self, stream: _Sink, schema: pa.Schema, *, max_rows: int | None = None) -> None:
        if len(schema) > EXCEL_MAX_COLUMNS:
            raise XlsxLimitError(
                f"xlsx holds at most {EXCEL_MAX_COLUMNS} columns; the delivery has {len(schema)}"
            )
        self._cells = [_cells_for(field) for field in schema]
        self._letters = [column_letters(i) for i in range(len(schema))]
        self._schema = schema
        # Read at construction, not import, so a test can lower the module's limit.
        self._max_rows = EXCEL_MAX_ROWS if max_rows is None else max_rows
        self.rows = 0  # data rows, without the header
        self._sheet_bytes = 0
        self._failed = self._finished = False
        self._gate = _Gate(stream)
        # zipfile types its target as a file; it uses only write and flush here (no tell: it
        # counts offsets itself and, unable to seek, writes data descriptors).
        # Level 1: XML deflates well at any level, and level 6 costs twice the time.
        self._zip = zipfile.ZipFile(
            cast(IO[bytes], self._gate), "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1
        )
        self._sheet = None
        with self._abandon_on_error():
            for name, xml in _STATIC_PARTS.items():
                self._zip.writestr(name, _DECLARATION + xml)
            self._sheet = self._zip.open("xl/worksheets/sheet1.xml", "w")
            self._emit(_sheet_start(schema).encode())
            self._emit(self._header_row())

    @contextlib.contextmanager
    def _abandon_on_error(self) -> Iterator[None]:
        """On any failure, stop writing to the stream for good and drop the ZIP's state, so
        neither a later close() nor garbage collection appends to a failed file."""
        if self._failed:
            raise XlsxLimitError("an earlier write to this xlsx failed; it cannot continue")
        try:
            yield
        except BaseException:
            self._failed = True
            self._gate.shut()
            with contextlib.suppress(Exception):
                if self._sheet is not None:
                    self._sheet.close()
                self._zip.close()
            raise

    def _header_row(self) -> bytes:
        cells = "".join(
            f'<c r="{letter}1" t="inlineStr"><is><t xml:space="preserve">'
            f"{_header_text(name)}</t></is></c>"
            for letter, name in zip(self._letters, self._schema.names, strict=True)
        )
        return f'<row r="1">{cells}</row>'.encode()

    def write_batch(self, batch: pa.RecordBatch) -> None:
        """Append `batch`'s rows; XlsxLimitError before writing a batch that would not fit."""
        if self.rows + 1 + batch.num_rows > self._max_rows:
            raise XlsxLimitError(
                f"xlsx holds at most {self._max_rows} rows including the header; this batch "
                f"would bring the sheet to {self.rows + 1 + batch.num_rows}"
            )
        if self._finished:
            raise ValueError("write to a closed xlsx writer")
        with self._abandon_on_error():
            for start in range(0, batch.num_rows, SLICE_ROWS):
                piece = batch.slice(start, SLICE_ROWS)
                xml = self._rows_xml(piece, self.rows + 2)
                if self._sheet_bytes + len(xml) > SHEET_MAX_BYTES:
                    raise XlsxLimitError(
                        f"the xlsx sheet would pass {SHEET_MAX_BYTES} bytes of XML after "
                        f"{self.rows} rows; deliver this scope as parquet or csv"
                    )
                self._emit(xml)
                self.rows += piece.num_rows

    def _rows_xml(self, piece: pa.RecordBatch, first_row: int) -> memoryview:
        numbers = pc.cast(pa.array(range(first_row, first_row + piece.num_rows)), pa.string())
        cells = [
            pc.fill_null(cells(column, pc.binary_join_element_wise(letter, numbers, "")), "")
            for cells, letter, column in zip(self._cells, self._letters, piece.columns, strict=True)
        ]
        rows = pc.binary_join_element_wise('<row r="', numbers, '">', *cells, "</row>", "")
        return _concatenated(rows)

    def _emit(self, data: bytes | memoryview) -> None:
        assert self._sheet is not None
        self._sheet.write(data)
        self._sheet_bytes += len(data)

    def close(self) -> None:
        """End the sheet and write the ZIP's central directory; `stream` stays open.
        After a failed write this raises instead: the file must not look finished."""
        if self._finished:
            return
        with self._abandon_on_error():
            self._emit(b"</sheetData></worksheet>")
            assert self._sheet is not None
            self._sheet.close()
            self._zip.close()
        self._finished = True


class _Gate:
    """Passes writes to the sink until shut, then swallows them: zipfile's clean-up after a
    failure must not add bytes to a file that is being abandoned."""

    def __init__(self, sink: _Sink) -> None:
        self._sink = sink
        self._open = True

    def shut(self) -> None:
        self._open = False

    def write(self, data: bytes) -> int:
        if not self._open:
            return len(data)
        written = self._sink.write(data)
        if written is not None and written != len(data):
            # zipfile ignores short writes; a raw sink that takes part of a buffer would
            # silently corrupt the archive.
            raise OSError(f"short write to the xlsx stream ({written} of {len(data)} bytes)")
        return len(data)

    def flush(self) -> None:
        if self._open:
            self._sink.flush()


def _sheet_start(schema: pa.Schema) -> str:
    # Date columns get room for yyyy-mm-dd: a date wider than its column shows as ####.
    widths = "".join(
        f'<col min="{i}" max="{i}" width="12" customWidth="1"/>'
        for i, field in enumerate(schema, start=1)
        if pa.types.is_date(field.type) or pa.types.is_timestamp(field.type)
    )
    return (
        f'{_DECLARATION}<worksheet xmlns="{_MAIN}">'
        '<sheetViews><sheetView workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        "</sheetView></sheetViews>" + (f"<cols>{widths}</cols>" if widths else "") + "<sheetData>"
    )


def _concatenated(rows: pa.Array) -> memoryview:
    """The UTF-8 bytes of all strings of `rows` back to back, without copying them."""
    _, offsets, data = rows.buffers()
    if data is None or len(rows) == 0:
        return memoryview(b"")
    bounds = np.frombuffer(offsets, dtype=np.int32)
    return memoryview(data)[bounds[rows.offset] : bounds[rows.offset + len(rows)]]


def _header_text(name: str) -> str:
    """A column name as escaped XML text, like `_escaped` does for a column of values."""
    legal = "".join(
        "\ufffd" if (ord(ch) < 0x20 and ch not in "\t\n\r") or ch in "\ufffe\uffff" else ch
        for ch in name
    )
    return escape(re.sub(_EXCEL_ESCAPE, _EXCEL_UNDERSCORE, legal), {"\r": "&#13;"})


def _cells_for(field: pa.Field) -> Cells:
    kind = field.type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _text_cells(field.name)
    if pa.types.is_boolean(kind):
        return _bool_cells
    if pa.types.is_integer(kind):
        return _int_cells
    if pa.types.is_floating(kind):
        return _float_cells
    if pa.types.is_decimal(kind):
        return _decimal_cells
    if pa.types.is_date(kind):
        return _date_cells
    if pa.types.is_timestamp(kind) or pa.types.is_time(kind):
        return _iso_text_cells
    if pa.types.is_null(kind):
        return _absent_cells
    raise XlsxLimitError(f"xlsx cannot hold column {field.name} of type {field.type}")


def _decoded(column: pa.Array) -> pa.Array:
    if pa.types.is_dictionary(column.type):
        return column.dictionary_decode()
    return column


def _text(refs: pa.Array, values: pa.Array) -> pa.Array:
    """Inline-string cells of already escaped text; whitespace at either end is kept."""
    opening = pc.if_else(
        pc.match_substring_regex(values, _EDGE_SPACE),
        '<t xml:space="preserve">',
        "<t>",
    )
    return pc.binary_join_element_wise(
        '<c r="', refs, '" t="inlineStr"><is>', opening, values, "</t></is></c>", ""
    )


def _escaped(values: pa.Array) -> pa.Array:
    # Most columns need no escaping at all: one scan to find out is cheaper than six rewrites.
    if not pc.any(pc.match_substring_regex(values, _NEEDS_ESCAPE)).as_py():
        return values
    values = pc.replace_substring_regex(values, _ILLEGAL_XML, "\ufffd")
    for _ in range(2):
        values = pc.replace_substring_regex(values, _EXCEL_ESCAPE_RE2, "\x00\\1")
    values = pc.replace_substring(values, "\x00", _EXCEL_UNDERSCORE)
    for raw, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\r", "&#13;")):
        values = pc.replace_substring(values, raw, entity)
    return values


def _number(refs: pa.Array, values: pa.Array, style: str = "") -> pa.Array:
    return pc.binary_join_element_wise('<c r="', refs, f'"{style}><v>', values, "</v></c>", "")


def _text_cells(name: str) -> Cells:
    def cells(column: pa.Array, refs: pa.Array) -> pa.Array:
        values = pc.cast(_decoded(column), pa.string())
        longest: Any = pc.max(pc.utf8_length(values)).as_py()
        if longest is not None and longest > EXCEL_MAX_CELL_CHARS:
            raise XlsxLimitError(
                f"xlsx holds at most {EXCEL_MAX_CELL_CHARS} characters in a cell; "
                f"column {name} has a longer value"
            )
        return _text(refs, _escaped(values))

    return cells


def _bool_cells(column: pa.Array, refs: pa.Array) -> pa.Array:
    values = pc.if_else(column, "1", "0")
    return pc.binary_join_element_wise('<c r="', refs, '" t="b"><v>', values, "</v></c>", "")


def _int_cells(column: pa.Array, refs: pa.Array) -> pa.Array:
    column = _decoded(column)
    digits = pc.cast(column, pa.string())
    # Beyond 15 digits Excel would round the number: keep every digit as text instead.
    too_long = pc.or_(pc.greater(column, _BIG), pc.less(column, -_BIG))
    return pc.if_else(too_long, _text(refs, digits), _number(refs, digits))


def _float_cells(column: pa.Array, refs: pa.Array) -> pa.Array:
    column = _decoded(column)
    shown = pc.cast(column, pa.string())
    return pc.if_else(pc.is_finite(column), _number(refs, shown), _text(refs, shown))


def _decimal_cells(column: pa.Array, refs: pa.Array) -> pa.Array:
    return _number(refs, pc.cast(_decoded(column), pa.string()))


def _date_cells(column: pa.Array, refs: pa.Array) -> pa.Array:
    days = pc.cast(pc.cast(_decoded(column), pa.date32()), pa.int32())
    serial = pc.add(pc.cast(days, pa.int64()), EXCEL_EPOCH_OFFSET)
    in_range = pc.and_(
        pc.greater_equal(serial, EXCEL_FIRST_SERIAL), pc.less_equal(serial, EXCEL_LAST_SERIAL)
    )
    as_date = _number(refs, pc.cast(serial, pa.string()), ' s="1"')
    as_text = _text(refs, pc.cast(_decoded(column), pa.string()))
    return pc.if_else(in_range, as_date, as_text)


def _iso_text_cells(column: pa.Array, refs: pa.Array) -> pa.Array:
    return _text(refs, _escaped(pc.cast(_decoded(column), pa.string())))


def _absent_cells(column: pa.Array, refs: pa.Array) -> pa.Array:
    return pa.nulls(len(column), pa.string())
