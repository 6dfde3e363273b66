"""What a delivery must not let out (issue 5, "Must show"): known marker values put into elements
the agreement does not grant are found nowhere — not in the decrypted file (Parquet, CSV, XLSX),
the manifest, the logs at DEBUG, the CLI output, the audit log, nor any file of the gateway's home
other than the source database. With the NIK and KK granted only as tokens, no NIK or KK of the
source appears in any of those places either.

Every place is searched by what it holds, not only by its bytes: compressed Parquet and XLSX are
read back to their values and XML, so a marker cannot hide behind zstd or deflate.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import sqlite3
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pyarrow.parquet as pq
import pytest

from ageformat import decrypt_file
from tests.gateway.delivery_homes import Home, copy_home
from tests.harness import EXAMPLE

MARKED_DATE = date(1902, 2, 2)
# Ungranted elements of the demo agreement, each given a value no real record holds: names,
# another person's NIK, a certificate number, two addresses (one in the joined family table), a
# code of a code table (blood type, and the high-risk disability) through its label, and a date.
MARKERS = {
    "nama_ibu": "ZZMARKERIBU",
    "nama_ayah": "ZZMARKERAYAH",
    "nik_ibu": "9911223344556677",
    "no_akta_lahir": "ZZMARKERAKTA",
    "alamat_sebelumnya": "ZZMARKERALAMATSBLM",
    "alamat": "ZZMARKERALAMAT",
    "golongan_darah": "ZZMARKERGOLDRH",
    "disabilitas": "ZZMARKERCACAT",
    "tanggal_kawin": MARKED_DATE.isoformat(),
}
MARKING = [
    """UPDATE "BIODATA_WNI" SET "NAMA_LGKP_IBU" = 'ZZMARKERIBU', "NAMA_LGKP_AYAH" = 'ZZMARKERAYAH',
       "NIK_IBU" = '9911223344556677', "NO_AKTA_LHR" = 'ZZMARKERAKTA',
       "ALAMAT_SBLM" = 'ZZMARKERALAMATSBLM', "GOL_DRH" = 14, "KLAIN_FSK" = 6,
       "TGL_KWN" = '1902-02-02'""",
    """UPDATE "DATA_KELUARGA" SET "ALAMAT" = 'ZZMARKERALAMAT'""",
    """INSERT INTO "GOLDRH_MASTER" ("NO", "DESCRIP") VALUES (14, 'ZZMARKERGOLDRH')""",
    """UPDATE "CCT_MASTER" SET "DESCRIP" = 'ZZMARKERCACAT' WHERE "NO" = 6""",
]
SIXTEEN_DIGITS = re.compile(rb"(?<!\d)\d{16}(?!\d)")


@pytest.fixture(scope="module")
def marked(delivery_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template with every person's ungranted elements set to the markers."""
    base = tmp_path_factory.mktemp("marked")
    copy_home(delivery_template, base)
    connection = sqlite3.connect(base / "home" / "demo-source.db")
    try:
        for statement in MARKING:
            assert connection.execute(statement).rowcount > 0
        connection.commit()
    finally:
        connection.close()
    return base


def identifiers(source: Path) -> set[bytes]:
    """Every NIK and KK number of the source."""
    connection = sqlite3.connect(source)
    try:
        rows = connection.execute('SELECT "NIK", "NO_KK" FROM "BIODATA_WNI"').fetchall()
    finally:
        connection.close()
    return {value.encode() for row in rows for value in row if value}


def parquet_text(data: bytes) -> bytes:
    """A Parquet file's values and metadata as text (its pages are compressed)."""
    table = pq.read_table(io.BytesIO(data))
    return json.dumps([table.to_pylist(), str(table.schema)], default=str).encode()


def readable(path: Path, data: bytes) -> bytes:
    """What a file holds, in a form a marker would show in: Parquet values, ZIP members, bytes."""
    if data[:4] == b"PAR1":
        return parquet_text(data)
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return b"\n".join(archive.read(name) for name in archive.namelist())
    return data


def delivered_values(path: Path, format: str) -> Iterator[object]:
    """Every cell of the decrypted delivery, typed as its format gives it back."""
    if format == "parquet":
        for row in pq.read_table(path).to_pylist():
            yield from row.values()
    elif format == "csv":
        with path.open(encoding="utf-8", newline="") as file:
            for row in csv.reader(file):
                yield from row
    else:
        workbook = openpyxl.load_workbook(path, read_only=True)
        for row in workbook.active.iter_rows(values_only=True):
            yield from row
        workbook.close()


def assert_clean(where: str, blob: bytes, niks: set[bytes]) -> None:
    for element, marker in MARKERS.items():
        assert marker.encode() not in blob, f"{element}'s marker found in {where}"
    found = set(SIXTEEN_DIGITS.findall(blob)) & niks
    assert not found, f"{len(found)} source NIK/KK numbers found in {where}"


@pytest.mark.parametrize("format", ["parquet", "csv", "xlsx"])
def test_ungranted_values_and_clear_niks_are_nowhere(
    marked: Path,
    tmp_path: Path,
    format: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    home: Home = copy_home(marked, tmp_path)
    niks = identifiers(home.home / "demo-source.db")
    assert len(niks) > 1000
    with pytest.raises(AssertionError):  # the search finds a NIK where there is one
        assert_clean("a probe", b"x " + min(niks) + b" x", niks)
    home.agree(EXAMPLE.replace('format = "parquet"', f'format = "{format}"'))

    # Logs at DEBUG, kept by caplog too: the CLI replaces the root logger's handlers.
    import gateway.log_config  # the CLI looks it up there at each command's start

    configure = gateway.log_config.configure_logging
    levels: list[str] = []

    def configure_and_capture(level: str) -> None:
        configure(level)
        levels.append(level)
        logging.getLogger().addHandler(caplog.handler)

    monkeypatch.setattr(gateway.log_config, "configure_logging", configure_and_capture)
    home.gateway.env["PKS_GATEWAY_LOG_LEVEL"] = "DEBUG"
    caplog.set_level(logging.DEBUG)
    preview = home("delivery", "preview", "bank-kaltimtara-2026")
    result = home.extract()
    published = json.loads(result.stdout)
    assert published["rows"] > 0
    assert levels == ["DEBUG", "DEBUG"]  # both commands logged at DEBUG into caplog (if at all)
    logged = "\n".join(r.getMessage() for r in caplog.records).encode()
    assert_clean("the logs", logged, niks)
    assert_clean("the CLI output", (preview.output + result.output).encode(), niks)
    assert_clean("the audit log", home("audit", "list", "--json").output.encode(), niks)

    # The partner's side: the decrypted file, read back both as values and as its bytes.
    plain = tmp_path / f"delivery.{format}"
    decrypt_file(published["file"], home.key_file.read_text(encoding="utf-8"), plain)
    values = list(delivered_values(plain, format))
    assert len(values) >= published["rows"]
    text = "\n".join(
        v.isoformat() if isinstance(v, date | datetime) else str(v) for v in values
    ).encode()
    assert_clean(f"the decrypted {format} values", text, niks)
    assert_clean(f"the decrypted {format} file", readable(plain, plain.read_bytes()), niks)
    assert not any(
        isinstance(v, date | datetime) and v.timetuple()[:3] == (1902, 2, 2) for v in values
    )
    assert_clean("the manifest", Path(published["manifest"]).read_bytes(), niks)

    # Every file the gateway keeps, metadata database and subject hashes included.
    kept = [p for p in home.home.rglob("*") if p.is_file() and p.name != "demo-source.db"]
    assert {p.name for p in kept} >= {"gateway.db", Path(published["file"]).name}
    for path in kept:
        assert_clean(str(path.relative_to(home.home)), readable(path, path.read_bytes()), niks)
