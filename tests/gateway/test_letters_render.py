"""The letters' renderer on its own (gateway/letters/, no database): dates and numbers in Bahasa
Indonesia, every mask kind in words, the letterhead and signatory from the office's data, any
character printed without reaching a log, reproducible bytes, paper and logo."""

from __future__ import annotations

import io
import logging
from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from agreements.errors import Invalid
from agreements.masks import MASK_KINDS
from exports.masking.years_of_age import bucket_label
from gateway.letters import render_pengantar, render_penolakan
from gateway.letters.masks import MASK_WORDS, age_bands, describe_mask
from gateway.letters.model import (
    Element,
    Handover,
    Letterhead,
    Office,
    Recipient,
    Region,
    Rejection,
    Signatory,
)
from gateway.letters.wording import tanggal, tanggal_terbilang, terbilang, waktu, wilayah
from gateway.log_config import configure_logging
from tests.gateway.pdfs import page_size, pages, pdf_text

WITA = ZoneInfo("Asia/Makassar")
OFFICE = Office(
    letterhead=Letterhead(
        government="PEMERINTAH KABUPATEN PASER",
        office="DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL",
        address="Jalan Contoh No. 1, Tana Paser 76211",
        contact="Laman: disdukcapil.paserkab.go.id",
    ),
    signatory=Signatory(
        title="Kepala Dinas Kependudukan dan Pencatatan Sipil Kabupaten Paser",
        name="Dra. Siti Contoh, M.Si.",
        rank="Pembina Utama Muda (IV/c)",
        nip="19700101 199503 2 001",
    ),
    name="Dinas Kependudukan dan Pencatatan Sipil Kabupaten Paser",
    place="Tana Paser",
)
REJECTION = Rejection(
    number="470/12/DISDUKCAPIL/XII/2026",
    dated=date(2026, 12, 2),
    institution="Bank Kaltimtara",
    letter_number="B/77/2026",
    letter_date=date(2026, 11, 20),
    purpose="KYC",
    reason="Tujuan penggunaan data tidak dirinci.",
)


def test_dates_are_written_as_the_office_writes_them() -> None:
    assert tanggal(date(2026, 12, 2)) == "2 Desember 2026"
    months = [tanggal(date(2026, month, 1)).split()[1] for month in range(1, 13)]
    assert months == [
        "Januari",
        "Februari",
        "Maret",
        "April",
        "Mei",
        "Juni",
        "Juli",
        "Agustus",
        "September",
        "Oktober",
        "November",
        "Desember",
    ]
    assert waktu(datetime(2026, 12, 2, 14, 5, tzinfo=WITA)) == "2 Desember 2026 pukul 14.05 WITA"
    assert tanggal_terbilang(date(2026, 12, 2)) == (
        "hari Rabu tanggal dua bulan Desember tahun dua ribu dua puluh enam"
    )


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (0, "nol"),
        (1, "satu"),
        (10, "sepuluh"),
        (11, "sebelas"),
        (12, "dua belas"),
        (19, "sembilan belas"),
        (20, "dua puluh"),
        (31, "tiga puluh satu"),
        (100, "seratus"),
        (111, "seratus sebelas"),
        (999, "sembilan ratus sembilan puluh sembilan"),
        (1000, "seribu"),
        (1001, "seribu satu"),
        (2026, "dua ribu dua puluh enam"),
        (11_000, "sebelas ribu"),
        (1_000_000, "satu juta"),
        (2_500_300, "dua juta lima ratus ribu tiga ratus"),
    ],
)
def test_numbers_in_words(number: int, words: str) -> None:
    assert terbilang(number) == words


def test_numbers_in_words_refuse_what_they_cannot_say() -> None:
    with pytest.raises(ValueError):
        terbilang(-1)


def test_every_mask_kind_has_its_words() -> None:
    assert set(MASK_WORDS) == set(MASK_KINDS)


@pytest.mark.parametrize(
    ("mask", "said"),
    [
        ({"mask": "keep"}, ["Utuh"]),
        ({"mask": "partial", "first": 6, "last": 4}, ["6 karakter pertama", "4 karakter terakhir"]),
        ({"mask": "partial", "first": 0, "last": 4}, ["hanya 4 karakter terakhir"]),
        ({"mask": "token", "length": 40}, ["pseudonim", "40 digit heksadesimal", "HMAC-SHA-256"]),
        ({"mask": "redact"}, ["Dikosongkan"]),
        ({"mask": "generalize_date", "to": "year"}, ["Hanya tahunnya"]),
        ({"mask": "generalize_date", "to": "year_month"}, ["tahun dan bulannya"]),
        ({"mask": "generalize_date", "to": "age", "top_code": 90}, ["umur", "90+"]),
        (
            {"mask": "generalize_date", "to": "age_band", "band": 10, "top_code": 80},
            ["kelompok umur 10 tahunan", "20-29", "80+"],
        ),
        ({"mask": "generalize_region", "to": "kecamatan"}, ["tingkat kecamatan"]),
        ({"mask": "generalize_region", "to": "village"}, ["tingkat desa/kelurahan"]),
        ({"mask": "bucket", "edges": [17, 25, 60]}, ["0-16; 17-24; 25-59; 60+"]),
        (
            {"mask": "bucket", "edges": [18], "labels": ["ANAK", "DEWASA"]},
            ["ANAK (0-17); DEWASA (18+)"],
        ),
        (
            {
                "mask": "recode",
                "mapping": {"15": "KARYAWAN SWASTA", "5": "PNS"},
                "other": "LAINNYA",
                "rare_threshold": 10,
            },
            ["5 → PNS; 15 → KARYAWAN SWASTA", "kode lain menjadi LAINNYA", "kurang dari 10 baris"],
        ),
        ({"mask": "decode"}, ["tabel kode"]),
    ],
)
def test_a_mask_in_words_says_every_parameter(mask: dict[str, object], said: list[str]) -> None:
    words = describe_mask(mask)
    for part in said:
        assert part in words, (part, words)


def test_a_mask_the_table_does_not_know_is_shown_not_hidden() -> None:
    assert describe_mask({"mask": "shuffle", "seed": 3}) == "shuffle (seed=3)"


@pytest.mark.parametrize("edges", [[17, 25, 60], [0, 5, 10], [1], [18, 65, 100, 150]])
def test_age_bands_in_words_are_the_bands_a_delivery_labels(edges: list[int]) -> None:
    label = bucket_label(edges, None)
    delivered = list(dict.fromkeys(label(age) for age in range(0, 151)))
    assert age_bands(edges, None) == delivered


def test_regions_say_their_level_and_kecamatan() -> None:
    assert wilayah(Region("64.01.01", "Batu Sopang")) == "Kecamatan Batu Sopang (64.01.01)"
    assert wilayah(Region("64.01.01.2010", "Busui", "Batu Sopang")) == (
        "Desa Busui, Kecamatan Batu Sopang (64.01.01.2010)"
    )
    assert wilayah(Region("64.01.07.1001", "Tana Paser", "Tanah Grogot")).startswith(
        "Kelurahan Tana Paser"
    )


def test_a_letter_carries_its_letterhead_date_and_signatory() -> None:
    pdf = render_penolakan(OFFICE, REJECTION)
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf)
    for part in (
        "PEMERINTAH KABUPATEN PASER",
        "DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL",
        "Jalan Contoh No. 1, Tana Paser 76211",
        "Tana Paser, 2 Desember 2026",
        "Nomor : 470/12/DISDUKCAPIL/XII/2026",
        "Sifat : Biasa",
        "Lampiran : -",
        "Yth. Pimpinan Bank Kaltimtara",
        "surat Saudara Nomor B/77/2026 tanggal 20 November 2026",
        "Tujuan penggunaan data tidak dirinci.",
        "Dra. Siti Contoh, M.Si.",
        "Pembina Utama Muda (IV/c)",
        "NIP. 19700101 199503 2 001",
        "Halaman 1 dari 1",
    ):
        assert part in text, part


def test_without_a_number_or_signatory_name_the_letter_leaves_lines_to_write_on() -> None:
    office = replace(OFFICE, signatory=Signatory(title="Kepala Dinas"))
    text = pdf_text(render_penolakan(office, replace(REJECTION, number=None)))
    assert "Nomor : ....." in text
    assert "NIP. ....." in text


def test_the_same_letter_gives_the_same_bytes() -> None:
    assert render_penolakan(OFFICE, REJECTION) == render_penolakan(OFFICE, REJECTION)
    assert render_penolakan(OFFICE, REJECTION) != render_penolakan(
        OFFICE, replace(REJECTION, dated=date(2026, 12, 3))
    )


def test_any_name_prints_and_no_character_reaches_a_log(caplog: pytest.LogCaptureFixture) -> None:
    name = "Koperasi Ŝtrañgé Ærø Ελλάδα Москва 名字\x07 \U0001f600"
    with caplog.at_level(logging.DEBUG):
        pdf = render_penolakan(OFFICE, replace(REJECTION, institution=name))
    text = pdf_text(pdf)
    assert "Koperasi Ŝtrañgé Ærø Ελλάδα Москва" in text  # what the font has, as written
    assert "名" not in text and "\ufffd" in text  # what it has not, as a replacement mark
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert not set("名字Ŝñ\U0001f600") & set(logged)


def test_font_subsetting_is_kept_out_of_the_log() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level, logging.getLogger("fontTools").level
    try:
        configure_logging("DEBUG")
        assert logging.getLogger("fontTools.subset").getEffectiveLevel() >= logging.WARNING
    finally:
        root.handlers[:], level, font_level = saved
        root.setLevel(level)
        logging.getLogger("fontTools").setLevel(font_level)


def test_folio_paper_and_a_logo() -> None:
    logo = io.BytesIO()
    Image.new("RGB", (60, 80), (200, 30, 30)).save(logo, format="PNG")
    office = replace(
        OFFICE,
        paper="F4",
        letterhead=replace(OFFICE.letterhead, logo=logo.getvalue()),
    )
    pdf = render_penolakan(office, REJECTION)
    assert page_size(pdf) == (215, 330)
    assert page_size(render_penolakan(OFFICE, REJECTION)) == (210, 297)
    assert b"/Subtype /Image" in pdf


@pytest.mark.parametrize("logo", [b"GIF89a not allowed", b"\x89PNG\r\n\x1a\n broken"])
def test_a_logo_that_is_no_usable_image_is_named(logo: bytes) -> None:
    office = replace(OFFICE, letterhead=replace(OFFICE.letterhead, logo=logo))
    with pytest.raises(Invalid) as refused:
        render_penolakan(office, REJECTION)
    assert "letter_logo_path" in str(refused.value)


def test_hashes_stay_whole_on_their_line() -> None:
    digest = "0123456789abcdef" * 4
    handover = Handover(
        number=None,
        dated=date(2026, 12, 2),
        delivery_id="bank-kaltimtara-2026-20261202-a1b2c3",
        institution="PT Bank Pembangunan Daerah Kalimantan Timur dan Kalimantan Utara",
        agreement_number="470/123/DISDUKCAPIL-PSR/XI/2026",
        short_id="bank-kaltimtara-2026",
        version=1,
        scope_hash=digest,
        published_at=datetime(2026, 12, 2, 9, 30, tzinfo=WITA),
        handed_over_by="adb",
        rows=1_234_567,
        file_name="bank-kaltimtara-2026-20261202-a1b2c3.parquet.age",
        file_format="parquet",
        size=9_876_543,
        sha256=digest[::-1],
        plaintext_sha256=digest,
        plaintext_size=9_800_000,
        manifest_name="bank-kaltimtara-2026-20261202-a1b2c3.manifest.json",
        manifest_sha256="f" * 64,
        elements=(Element("nik", "NIK", "b", {"mask": "token", "length": 32}),),
        recipients=(Recipient("Divisi Kepatuhan", "SHA256:" + "A" * 43),),
    )
    pdf = render_pengantar(OFFICE, handover)
    text = pdf_text(pdf)
    assert digest[::-1] in text and "f" * 64 in text
    assert "1.234.567" in text  # rows with the Indonesian thousands separator
    assert "SHA256:" + "A" * 43 in text
    assert pages(pdf) >= 1
