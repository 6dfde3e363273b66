"""NIK verification (issue 11): match or no match per field for people the agreement's filter
selects, never a stored value; only granted, comparable elements; at most 1,000 NIKs a call;
malformed NIKs named by position; the call audited with truncated keyed hashes and counts only."""

from __future__ import annotations

import json
import sqlite3
import unicodedata
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.exceptions import ValidationError
from stdnum.id import nik as stdnum_nik

from agreements.errors import Invalid, NotPermitted
from exports.reading.source import Source
from gateway.context import delivery_environment
from gateway.services import nik_verification
from gateway.services.actions import partner
from gateway.services.nik_verification import Claim, normalised_text, valid_niks, verify_niks
from gateway.settings import load_settings
from tests.office import SHORT, Office, current_example

CALLER = partner("pks_nikcheck")


def people(office: Office, count: int) -> list[tuple[str, str, str]]:
    """(NIK, name, birth date) of adults the example's filter selects (alive, active)."""
    with sqlite3.connect(office.home / "demo-source.db") as source:
        rows = source.execute(
            "SELECT NIK, NAMA_LGKP, TGL_LHR FROM BIODATA_WNI WHERE STAT_HIDUP = 1 "
            "AND FLAG_STATUS = '0' AND TGL_LHR BETWEEN '1950-01-01' AND '2000-01-01' "
            "ORDER BY NIK LIMIT ?",
            (count,),
        ).fetchall()
    return [(str(n), str(name), str(born)[:10]) for n, name, born in rows]


def verify(office: Office, claims: list[Claim]) -> list[dict[str, object]]:
    settings = load_settings({}, environ=office.gateway.env)
    env = delivery_environment(settings)
    with Source.open(env.source_url) as source:
        verdicts = verify_niks(office.engine, env, source, CALLER, SHORT, claims, datetime.now(UTC))
    return [{"found": v.found, **v.fields} for v in verdicts]


@pytest.fixture
def granted(office: Office) -> Office:
    office.agree(
        current_example().replace(
            'access_modes = ["bulk_delivery"]',
            'access_modes = ["bulk_delivery", "nik_verification"]',
        )
    )
    return office


def test_each_field_is_matched_or_not_and_nothing_stored_is_returned(granted: Office) -> None:
    (nik, name, born), (other_nik, _, _) = people(granted, 2)
    shouting = f"  {name.upper()}   "
    claims = [
        Claim(nik, {"nama_lengkap": shouting, "tanggal_lahir": born}),
        Claim(nik, {"nama_lengkap": name + " X", "tanggal_lahir": "1900-01-01"}),
        Claim(other_nik, {"nama_lengkap": name}),
        Claim("6401010101900099", {"nama_lengkap": name}),  # a valid NIK nobody holds
    ]
    assert verify(granted, claims) == [
        {"found": True, "nama_lengkap": True, "tanggal_lahir": True},
        {"found": True, "nama_lengkap": False, "tanggal_lahir": False},
        {"found": True, "nama_lengkap": False},
        {"found": False, "nama_lengkap": False},
    ]
    [entry] = [e for e in granted.audit() if e["action"] == "nik.verify"]
    details = entry["details"]
    assert (details["items"], details["found"], details["all_fields_match"]) == (4, 3, 1)
    assert all(len(h) == 20 for h in details["nik_hashes"])
    text = json.dumps(granted.audit())
    assert nik not in text and name not in text and born not in text


def test_a_keyed_hash_that_begins_with_sixteen_digits_is_still_recorded(
    granted: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One keyed hash in ~1,850 begins with 16 decimal digits: cut to 16 characters it would look
    # like a NIK to the audit log, which refuses it, and the whole call would fail.
    monkeypatch.setattr(nik_verification, "keyed_nik_hasher", lambda _secret: lambda _nik: "6" * 64)
    ((nik, name, _),) = people(granted, 1)
    assert verify(granted, [Claim(nik, {"nama_lengkap": name})]) == [
        {"found": True, "nama_lengkap": True}
    ]
    [entry] = [e for e in granted.audit() if e["action"] == "nik.verify"]
    assert entry["details"]["nik_hashes"] == ["6" * 20]


def test_what_may_not_be_asked_is_refused(granted: Office) -> None:
    ((nik, name, _),) = people(granted, 1)
    with pytest.raises(Invalid, match=r"items\[1\]\.nik"):
        verify(granted, [Claim(nik, {"nama_lengkap": name}), Claim("6401", {"nama_lengkap": name})])
    with pytest.raises(Invalid, match="not an element this agreement grants"):
        verify(granted, [Claim(nik, {"nama_ibu": name})])
    with pytest.raises(Invalid, match="only names, text and dates"):
        verify(granted, [Claim(nik, {"jenis_kelamin": "1"})])
    with pytest.raises(Invalid, match="must be a date"):
        verify(granted, [Claim(nik, {"tanggal_lahir": "31/12/1990"})])
    with pytest.raises(Invalid, match="at most 1,000"):
        verify(granted, [Claim(nik, {"nama_lengkap": name})] * 1001)
    refused = [e["outcome"] for e in granted.audit() if e["action"] == "nik.verify"]
    assert refused == ["refused"] * 5


def test_an_agreement_without_nik_verification_grants_none(office: Office) -> None:
    office.agree()
    ((nik, name, _),) = people(office, 1)
    with pytest.raises(NotPermitted, match="grants no nik_verification"):
        verify(office, [Claim(nik, {"nama_lengkap": name})])


def test_names_are_normalised_as_documented() -> None:
    assert normalised_text("  siti   AMINAH ") == normalised_text("Siti Aminah")
    assert normalised_text("ＳＩＴＩ") == "siti"  # fullwidth letters (NFKC)
    assert normalised_text("Siti Aminah") != normalised_text("Siti Amina")


def two_digits(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(lambda n: f"{n:02d}")


# Synthetic numbers near the rule's edges: real and made-up regions, days with and without the
# +40 of women's, impossible months and 29 February, separators python-stdnum strips.
NIK_LIKE = st.one_of(
    st.tuples(
        st.sampled_from(["6401", "6402", "3171", "1101", "9971", "0000", "6499"]),
        two_digits(0, 99),
        two_digits(0, 79),
        two_digits(0, 13),
        two_digits(0, 99),
        st.integers(0, 9999).map(lambda n: f"{n:04d}"),
        st.sampled_from(["", " ", "-", ".", "x"]),
    ).map(lambda p: p[6].join(p[:3]) + "".join(p[3:6])),
    st.text(alphabet="0123456789 -.\n", max_size=20),
    st.text(max_size=18),
)


@given(NIK_LIKE)
def test_a_nik_is_valid_exactly_when_python_stdnum_says_so(value: str) -> None:
    try:
        expected = stdnum_nik.validate(stdnum_nik.compact(value)) if value.isascii() else None
    except ValidationError:
        expected = None
    try:
        got: str | None = valid_niks([value])[0]
    except Invalid as refused:
        assert refused.field == "items[0].nik"
        got = None
    assert got == expected


@given(st.text(st.characters(max_codepoint=127), max_size=40) | st.text(max_size=40))
def test_the_ascii_shortcut_normalises_as_nfkc_and_case_folding_do(value: str) -> None:
    full = " ".join(unicodedata.normalize("NFKC", value).casefold().split())
    assert normalised_text(value) == full
