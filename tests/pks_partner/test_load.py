"""load_as_arrow / load_as_pandas: the newest delivery (or a named one) as a table, read from a
decrypted temporary file that is gone afterwards; CSV columns stay text (codes keep their
leading zeros), an empty cell is null; spreadsheets are not tables."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from pks_partner import load_as_arrow, load_as_pandas
from pks_partner.client import Client
from pks_partner.errors import PartnerError
from tests.pks_partner.fake_gateway import (
    ELEMENTS,
    TOKEN,
    FakeGateway,
    make_delivery,
    synthetic_table,
)


def test_the_newest_delivery_as_arrow_and_as_pandas(gateway: FakeGateway, tmp_path: Path) -> None:
    identity = gateway.delivery.identity
    table = load_as_arrow(gateway.url, TOKEN, identity, workdir=tmp_path / "work")
    assert table.equals(synthetic_table(300))
    assert list((tmp_path / "work").iterdir()) == []  # the decrypted file is gone
    frame = load_as_pandas(gateway.url, TOKEN, identity, gateway.delivery.manifest.delivery_id)
    assert isinstance(frame, pd.DataFrame)
    assert tuple(frame.columns) == ELEMENTS and len(frame) == 300


def test_a_csv_delivery_keeps_its_text(tmp_path: Path) -> None:
    text = "kode_wilayah,nama_lengkap,umur\n0064,A,07\n,B,\n"
    delivery = make_delivery(text.encode(), fmt="csv")
    with FakeGateway(delivery) as gateway:
        table = Client(gateway.url, TOKEN, identity=delivery.identity).load_as_arrow()
    assert table.schema == pa.schema(
        [("kode_wilayah", pa.string()), ("nama_lengkap", pa.string()), ("umur", pa.string())]
    )
    assert table.to_pylist() == [
        {"kode_wilayah": "0064", "nama_lengkap": "A", "umur": "07"},
        {"kode_wilayah": None, "nama_lengkap": "B", "umur": None},
    ]


def test_a_spreadsheet_or_a_missing_identity_is_one_clear_error(tmp_path: Path) -> None:
    delivery = make_delivery(b"PK\x03\x04 not really a workbook", fmt="xlsx")
    with FakeGateway(delivery) as gateway:
        with pytest.raises(PartnerError, match="xlsx delivery is for spreadsheets"):
            load_as_arrow(gateway.url, TOKEN, delivery.identity)
        with pytest.raises(PartnerError, match="needs the age identity"):
            Client(gateway.url, TOKEN).load_as_pandas()
    assert not [p for p in Path(tempfile.gettempdir()).glob("pks-partner-*") if p.is_dir()]
