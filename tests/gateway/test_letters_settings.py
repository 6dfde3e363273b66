"""The letterhead and signatory settings (docs/letters.md): Paser's defaults, what a bad value is
refused with, the logo read within its limit, and a letter made through the CLI under the
settings of its environment, dated as asked."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from gateway.context import letter_office
from gateway.limits import InputRefused
from gateway.settings import SettingsError, load_settings
from tests.gateway.pdfs import page_size, pdf_text
from tests.harness import Gateway, write


def test_the_defaults_are_pasers_office() -> None:
    office = letter_office(load_settings(environ={}))
    assert office.letterhead.government == "PEMERINTAH KABUPATEN PASER"
    assert office.letterhead.office == "DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL"
    assert office.name == "Dinas Kependudukan dan Pencatatan Sipil Kabupaten Paser"
    assert office.place == "Tana Paser" and office.paper == "A4"
    assert office.letterhead.logo is None
    assert office.signatory.title.startswith("Kepala Dinas Kependudukan")
    assert office.signatory.name == office.signatory.nip == ""  # dotted lines, not a guess


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("PKS_GATEWAY_SIGNATORY_NIP", "12345", "signatory_nip"),
        ("PKS_GATEWAY_SIGNATORY_NIP", "1970010119950320０1", "signatory_nip"),
        ("PKS_GATEWAY_LETTER_PAPER", "Letter", "letter_paper"),
        ("PKS_GATEWAY_LETTER_ADDRESS", "Jalan A\nTana Paser", "letter_address"),
        ("PKS_GATEWAY_LETTER_GOVERNMENT", "  ", "letter_government"),
        ("PKS_GATEWAY_SIGNATORY_NAME", "x" * 201, "signatory_name"),
    ],
)
def test_a_bad_letter_setting_stops_the_start_naming_it(
    variable: str, value: str, named: str
) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings(environ={variable: value})


def test_the_logo_is_read_within_its_limit(tmp_path: Path) -> None:
    logo = tmp_path / "lambang.png"
    image = io.BytesIO()
    Image.new("RGB", (40, 50), (0, 90, 0)).save(image, format="PNG")
    logo.write_bytes(image.getvalue())
    office = letter_office(load_settings({"letter_logo_path": str(logo)}, environ={}))
    assert office.letterhead.logo == image.getvalue()
    logo.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(3 * 1024 * 1024))
    with pytest.raises(InputRefused, match="letterhead logo"):
        letter_office(load_settings({"letter_logo_path": str(logo)}, environ={}))


def test_a_letter_through_the_cli_under_the_offices_settings(
    gateway: Gateway, tmp_path: Path
) -> None:
    gateway("staff", "add", "kabid", "--role", "kepala_bidang", "--as", "admin")
    gateway(
        "request", "submit", "--institution", "RSUD Panglima Sebaya", "--letter-number",
        "445/12/RSUD/2026", "--letter-date", "2026-11-20", "--purpose", "Verifikasi pasien",
        "--legal-basis", "UU 24/2013", "--elements", "nik,nama_lengkap", "--access-mode",
        "nik_verification", "--duration", "12", "--data-balikan", "laporan semester",
        "--letter", write(tmp_path, "surat.pdf", "%PDF-1.4 surat"), "--as", "adb",
    )  # fmt: skip
    gateway("request", "dispose", "1", "--note", "Proses", "--as", "kadis")
    gateway("request", "assign", "1", "--to", "pf", "--as", "kabid")
    office = Gateway(
        gateway.home,
        {
            "PKS_GATEWAY_SIGNATORY_NAME": "Dra. Siti Contoh, M.Si.",
            "PKS_GATEWAY_SIGNATORY_NIP": "19700101 199503 2 001",
            "PKS_GATEWAY_LETTER_ADDRESS": "Jalan Contoh No. 1, Tana Paser 76211",
            "PKS_GATEWAY_LETTER_PAPER": "F4",
        },
    )
    out = tmp_path / "penolakan.pdf"
    office(
        "letter", "penolakan", "1", "--reason", "Di luar kewenangan.", "--date", "2026-12-02",
        "--out", str(out),
    )  # fmt: skip
    text = pdf_text(out.read_bytes())
    for part in (
        "Jalan Contoh No. 1, Tana Paser 76211",
        "Tana Paser, 2 Desember 2026",
        "Yth. Pimpinan RSUD Panglima Sebaya",
        "Nomor 445/12/RSUD/2026 tanggal 20 November 2026",
        "Di luar kewenangan.",
        "Dra. Siti Contoh, M.Si.",
        "NIP. 19700101 199503 2 001",
    ):
        assert part in text, part
    assert page_size(out.read_bytes()) == (215, 330)
    disposisi = tmp_path / "disposisi.pdf"
    office("letter", "disposisi", "1", "--out", str(disposisi))
    assert "Proses" in pdf_text(disposisi.read_bytes())
    unknown = gateway("letter", "penolakan", "2", "--reason", "r", "--out", str(out), ok=False)
    assert unknown.exit_code == 5 and "request '2' not found" in unknown.output
