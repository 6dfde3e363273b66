"""`verify-nik FILE.csv`: a CSV of any length goes in calls of at most 1,000 items, each answer
lands on its row, and the result holds no NIK or other value of the input. Against the fake
gateway (the contract of POST /api/v1/nik-verifications); the synthetic NIKs are no one's."""

from __future__ import annotations

import csv
import io

import pytest

from pks_partner.client import Client
from pks_partner.errors import ApiError, PartnerError
from pks_partner.nik import read_items, verify_csv
from tests.pks_partner.fake_gateway import FakeGateway, Knobs


def fake_nik(i: int) -> str:
    return f"9999{i:012d}"  # region 99.99: no one's


def csv_of(rows: int) -> str:
    lines = ["nik,nama_lengkap,tanggal_lahir"]
    for i in range(rows):
        name = "X" if i % 7 == 0 else f"ORANG UJI {i}"
        born = "" if i % 3 == 0 else f"1990-01-0{1 + i % 9}"
        lines.append(f"{fake_nik(i)},{name},{born}")
    return "\n".join(lines) + "\n"


def test_a_long_csv_goes_in_batches_and_each_answer_lands_on_its_row(
    client: Client, gateway: FakeGateway, knobs: Knobs
) -> None:
    out = io.StringIO()
    counts = verify_csv(client, io.StringIO(csv_of(2500)), out)
    assert knobs.nik_batches == [1000, 1000, 500]
    assert counts == {"rows": 2500, "found": 1250, "matched": 2500 // 2 - 179, "calls": 3}
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [int(r["row"]) for r in rows] == list(range(1, 2501))
    for i, row in enumerate(rows):
        assert row["found"] == ("true" if i % 2 == 0 else "false")
        assert row["nama_lengkap"] == ("false" if i % 7 == 0 else "true")
        assert row["tanggal_lahir"] == ("" if i % 3 == 0 else "true")
    assert "9999" not in out.getvalue() and "ORANG" not in out.getvalue()


def test_a_rate_limited_call_waits_and_is_tried_again(
    client: Client, gateway: FakeGateway, knobs: Knobs
) -> None:
    knobs.rate_limited = 2
    answers = list(client.verify_niks([{"nik": fake_nik(2), "fields": {"nama_lengkap": "A"}}]))
    assert answers == [{"index": 0, "found": True, "fields": {"nama_lengkap": True}}]
    knobs.rate_limited = 10
    with pytest.raises(ApiError, match="429"):
        list(client.verify_niks([{"nik": fake_nik(2), "fields": {"nama_lengkap": "A"}}]))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nama_lengkap\nA\n", "one of them `nik`"),
        ("nik\n" + fake_nik(1) + "\n", "no column to compare"),
        ("nik,nik,x\n", "twice"),
        ("nik,nama_lengkap\n" + fake_nik(1) + ",A\n12345,B\n", "row 2: nik is not 16 digits"),
        ("nik,nama_lengkap\n" + fake_nik(1) + ",\n", "row 1: no field to compare"),
        ("nik,nama_lengkap\n" + fake_nik(1) + ",A,extra\n", "row 1: more cells"),
        ("nik,nama_lengkap\n" + "٩" * 16 + ",A\n", "row 1: nik is not 16 digits"),
    ],
)
def test_a_bad_csv_is_refused_by_row_number_never_by_value(text: str, message: str) -> None:
    with pytest.raises(PartnerError, match=message) as caught:
        _, items = read_items(io.StringIO(text))
        list(items)
    assert fake_nik(1) not in str(caught.value) and "12345" not in str(caught.value)


def test_nothing_is_sent_before_a_bad_row_is_found_in_a_batch(client: Client, knobs: Knobs) -> None:
    text = csv_of(10) + "123,A,\n"
    with pytest.raises(PartnerError, match="row 11"):
        verify_csv(client, io.StringIO(text), io.StringIO())
    assert knobs.nik_batches == []
