"""Decoded codes and flags: labels from the code table, inline values or Ya/Tidak, in Arrow."""

from __future__ import annotations

import shutil
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from exports.reading.batch_shape import SourceValueError
from exports.reading.decoding import Labels, _lookup, decode, read_labels, stored_schema
from exports.reading.extract import SourceMappingError, extract, value_counts
from exports.reading.query import ColumnRequest, arrow_schema
from exports.reading.source import Source, open_source
from tests.exports.reading.extraction import request_for, row_filter

DECODED = (
    ColumnRequest("nik"),
    ColumnRequest("agama", decode=True),
    ColumnRequest("jenis_kelamin", decode=True),
    ColumnRequest("akta_lahir", decode=True),
)


def test_labels_map_codes_and_leave_unknown_codes_and_nulls_null() -> None:
    labels = Labels(pa.array([1, 2, 1], pa.int32()), pa.array(["Islam", "Kristen", "again"]))
    decoded = labels.apply(pa.array([2, 1, 99, None], pa.int32()))
    assert decoded.to_pylist() == ["Kristen", "Islam", None, None]  # a repeated code: first label


def test_decode_replaces_only_the_looked_up_columns() -> None:
    batch = pa.RecordBatch.from_pydict({"a": pa.array([1, 2], pa.int32()), "b": ["x", "y"]})
    out = decode(batch, {"a": Labels(pa.array([1, 2], pa.int32()), pa.array(["one", "two"]))})
    assert out.schema == pa.schema([("a", pa.string()), ("b", pa.string())])
    assert out.to_pydict() == {"a": ["one", "two"], "b": ["x", "y"]}


def test_the_read_schema_keeps_decoded_columns_at_their_stored_types() -> None:
    request = request_for(row_filter(), columns=DECODED)
    stored = stored_schema(arrow_schema(request), request)
    assert stored.field("agama").type == pa.int32()
    assert stored.field("jenis_kelamin").type == pa.int32()
    assert stored.field("akta_lahir").type == pa.bool_()
    assert arrow_schema(request).field("agama").type == pa.string()


def copied(extraction_source: str, tmp_path: Path, *statements: str) -> str:
    path = tmp_path / "source.db"
    shutil.copy(extraction_source.removeprefix("sqlite:///"), path)
    connection = sqlite3.connect(path)
    for statement in statements:
        connection.execute(statement)
    connection.commit()
    connection.close()
    return f"sqlite:///{path}"


def people(url: str) -> dict[str, dict[str, Any]]:
    request = request_for(row_filter(), columns=DECODED)
    with Source.open(url) as source:
        table = pa.Table.from_batches(list(extract(source, request)))
    return {row["nik"]: row for row in table.to_pylist()}


def test_a_code_table_keyed_by_text_and_a_code_it_lacks(
    extraction_source: str, tmp_path: Path
) -> None:
    before = people(extraction_source)
    url = copied(
        extraction_source,
        tmp_path,
        # A code table keyed by text ('01'), and without Kristen (2): '01' still matches the
        # stored 1, and 2 decodes to NULL, as a LEFT JOIN would have left it.
        'CREATE TABLE "AGAMA_TEXT" ("NO" TEXT, "DESCRIP" TEXT)',
        """INSERT INTO "AGAMA_TEXT" SELECT printf('%02d', "NO"), "DESCRIP" FROM "AGAMA_MASTER"
           WHERE "NO" <> 2""",
        'DROP TABLE "AGAMA_MASTER"',
        'ALTER TABLE "AGAMA_TEXT" RENAME TO "AGAMA_MASTER"',
    )
    after = people(url)
    assert after.keys() == before.keys()
    changed = {nik for nik in before if before[nik]["agama"] != after[nik]["agama"]}
    assert changed and all(before[nik]["agama"] == "Kristen" for nik in changed)
    assert all(after[nik]["agama"] is None for nik in changed)
    assert any(row["agama"] == "Islam" for row in after.values())
    assert {row["jenis_kelamin"] for row in after.values()} == {"Laki-laki", "Perempuan"}
    assert {row["akta_lahir"] for row in after.values()} == {"Ya", "Tidak"}


def test_rare_category_counts_are_keyed_by_label(extraction_source: str) -> None:
    request = request_for(row_filter(), columns=DECODED)
    with Source.open(extraction_source) as source:
        counts = value_counts(source, request, "agama")
    labelled = people(extraction_source)
    expected: dict[str, int] = {}
    for row in labelled.values():
        expected[row["agama"] or ""] = expected.get(row["agama"] or "", 0) + 1
    assert counts == expected


def test_a_missing_code_table_names_the_element(extraction_source: str, tmp_path: Path) -> None:
    url = copied(extraction_source, tmp_path, 'DROP TABLE "AGAMA_MASTER"')
    with pytest.raises(SourceMappingError, match="agama"):
        people(url)


# The code table without its primary key, as another office's copy may be kept.
UNCONSTRAINED = (
    'CREATE TABLE "AGAMA_LOOSE" AS SELECT * FROM "AGAMA_MASTER"',
    'DROP TABLE "AGAMA_MASTER"',
    'ALTER TABLE "AGAMA_LOOSE" RENAME TO "AGAMA_MASTER"',
)


def test_keys_no_stored_code_can_equal_match_nothing_and_a_null_code_stays_null(
    extraction_source: str, tmp_path: Path
) -> None:
    before = people(extraction_source)
    url = copied(
        extraction_source,
        tmp_path,
        # Katholik (3) keyed by a word, a NULL key with a label, and a person with no religion.
        *UNCONSTRAINED,
        """UPDATE "AGAMA_MASTER" SET "NO" = 'ZZWORD' WHERE "NO" = 3""",
        """INSERT INTO "AGAMA_MASTER" ("NO", "DESCRIP") VALUES (NULL, 'ZZNULLKEY')""",
        """UPDATE "BIODATA_WNI" SET "AGAMA" = NULL
           WHERE "NIK" = (SELECT min("NIK") FROM "BIODATA_WNI" WHERE "AGAMA" = 1)""",
    )
    after = people(url)
    assert "ZZNULLKEY" not in {row["agama"] for row in after.values()}
    assert {nik for nik in after if after[nik]["agama"] is None} == {
        nik for nik in before if before[nik]["agama"] == "Katholik"
    } | {min(nik for nik in before if before[nik]["agama"] == "Islam")}


def test_a_code_listed_twice_takes_the_label_that_sorts_first_in_every_read(
    extraction_source: str, tmp_path: Path
) -> None:
    url = copied(
        extraction_source,
        tmp_path,
        *UNCONSTRAINED,
        """INSERT INTO "AGAMA_MASTER" ("NO", "DESCRIP") VALUES (1, 'ZZZ')""",
        """INSERT INTO "AGAMA_MASTER" ("NO", "DESCRIP") VALUES (1, 'AAA')""",
    )
    request = request_for(row_filter(), columns=DECODED)
    engine = open_source(url)
    try:
        lookups = [read_labels(engine, request)["agama"] for _ in range(2)]
    finally:
        engine.dispose()
    assert [lookup.apply(pa.array([1], pa.int32())).to_pylist() for lookup in lookups] == [
        ["AAA"],
        ["AAA"],
    ]


def test_labels_that_are_not_utf8_name_the_element_not_the_label() -> None:
    with pytest.raises(SourceValueError, match="agama") as caught:
        _lookup([(1, b"\xffZZSECRET")], pa.int32(), "agama")
    assert "ZZSECRET" not in str(caught.value)


def test_code_keys_spelled_as_text_or_integral_decimals_are_their_numbers() -> None:
    pairs = [("01", "a"), (" 2 ", "b"), (3.0, "c"), (Decimal("4"), "d"), ("5.5", "x"), (b"6", "e")]
    lookup = _lookup([*pairs, (None, "x"), ("-", "x"), (2**40, "x")], pa.int32(), "agama")
    assert lookup.codes.to_pylist() == [1, 2, 3, 4, 6]
    assert lookup.labels.to_pylist() == ["a", "b", "c", "d", "e"]
