"""NIK verification from a CSV file of any length, in calls of at most 1,000 items.

The input has a header row: a `nik` column and one column per element to compare, named by its
key in the agreement (`nama_lengkap`, `tanggal_lahir` as YYYY-MM-DD, …). An empty cell is not
asked about. The result has one row per input row — `row` (the data row's number, 1 for the first
after the header), `found`, and per element `true`/`false`, empty where not asked — and no NIK
or other value of the input, so that it can be shared or logged; join it back by `row`.

Rows are checked before anything is sent (16 digits, at least one field), and a bad row is named
by its number, never by its content.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any, TextIO

from pks_partner.client import NIK_BATCH, Client
from pks_partner.errors import PartnerError

NIK = "nik"


def read_items(source: TextIO) -> tuple[list[str], Iterator[dict[str, Any]]]:
    """The element columns of the CSV and its rows as verification items (checked lazily, so a
    file of any length streams)."""
    reader = csv.DictReader(source)
    header = [name.strip() for name in reader.fieldnames or []]
    if NIK not in header:
        raise PartnerError("the CSV's first row must name the columns, one of them `nik`")
    if len(set(header)) != len(header) or "" in header:
        raise PartnerError("the CSV's header names a column twice, or has an empty name")
    reader.fieldnames = header
    elements = [name for name in header if name != NIK]
    if not elements:
        raise PartnerError("the CSV has no column to compare beside `nik`")

    def items() -> Iterator[dict[str, Any]]:
        for number, row in enumerate(reader, start=1):
            if None in row:
                raise PartnerError(f"row {number}: more cells than the header names")
            nik = (row.get(NIK) or "").strip()
            if not (len(nik) == 16 and nik.isascii() and nik.isdigit()):
                raise PartnerError(f"row {number}: nik is not 16 digits")
            fields = {name: (row.get(name) or "").strip() for name in elements}
            asked = {name: value for name, value in fields.items() if value}
            if not asked:
                raise PartnerError(f"row {number}: no field to compare (every cell is empty)")
            yield {"nik": nik, "fields": asked}

    return elements, items()


def verify_csv(client: Client, source: TextIO, out: TextIO) -> dict[str, int]:
    """Verify every row of `source` and write the results to `out`; counts of rows, calls,
    found and fully matched."""
    elements, items = read_items(source)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["row", "found", *elements])
    counts = {"rows": 0, "found": 0, "matched": 0}
    for answer in client.verify_niks(items):
        matches = answer["fields"]
        writer.writerow(
            [
                answer["index"] + 1,
                _flag(answer["found"]),
                *(_flag(matches[name]) if name in matches else "" for name in elements),
            ]
        )
        counts["rows"] += 1
        counts["found"] += answer["found"]
        counts["matched"] += answer["found"] and all(matches.values())
    counts["calls"] = -(-counts["rows"] // NIK_BATCH)
    return counts


def _flag(value: bool) -> str:
    return "true" if value else "false"
