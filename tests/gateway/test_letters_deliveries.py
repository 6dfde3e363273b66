"""`pks-gateway letter …` on a home with a signed agreement and a published delivery: the Konsep
PKS and its annex, the Surat Pengantar, the Berita Acara and the reply to a data subject hold the
agreement number, the scope hash, the file hashes and the manifest's fingerprint; bad ids and
states exit with the error table's codes and leave no file; a manifest or a row changed behind
the gateway's back is refused; the subject's reply names nobody else and never their full NIK."""

from __future__ import annotations

import json
import re
import sqlite3
import stat
from hashlib import sha256
from pathlib import Path
from typing import Any

import pytest

from ageformat import recipient_fingerprint
from gateway.letters.masks import describe_mask
from gateway.letters.wording import angka
from tests.gateway.delivery_homes import Home, copy_home, source_niks
from tests.gateway.pdfs import pdf_text, words
from tests.harness import CATALOG, SHORT
from tests.office import current_example

NUMBER = "470/123/DISDUKCAPIL-PSR/XI/2026"


class Delivered:
    """The module's home: the example agreement signed, one delivery published."""

    def __init__(self, home: Home) -> None:
        self.home = home
        home.agree(current_example())
        self.delivery: dict[str, Any] = json.loads(home.extract().stdout)
        self.id = str(self.delivery["delivery"])
        self.manifest_path = home.home / "deliveries" / SHORT / f"{self.id}.manifest.json"
        self.manifest = json.loads(self.manifest_path.read_bytes())
        self.agreement = json.loads(home("agreement", "show", SHORT, "--json").stdout)

    def edit(self, statement: str) -> None:
        """Change the delivery's row behind the gateway's back (`?` is its id)."""
        database = sqlite3.connect(self.home.home / "gateway.db")
        with database:
            database.execute(statement, (self.id,))
        database.close()

    def letter(self, *args: str, ok: bool = True) -> tuple[str, Any]:
        out = self.home.root / f"{args[0]}.pdf"
        out.unlink(missing_ok=True)
        result = self.home("letter", *args, "--out", str(out), ok=ok)
        return (pdf_text(out.read_bytes()) if ok else ""), result


@pytest.fixture(scope="module")
def delivered(delivery_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Delivered:
    return Delivered(copy_home(delivery_template, tmp_path_factory.mktemp("letters")))


@pytest.fixture
def own(delivery_template: Path, tmp_path: Path) -> Delivered:
    """A home of the test's own, for tests that change what the letters read."""
    return Delivered(copy_home(delivery_template, tmp_path))


def test_the_pks_annex_lists_every_granted_element_and_its_mask_in_words(
    delivered: Delivered,
) -> None:
    text, _ = delivered.letter("konsep-pks", SHORT)
    assert NUMBER in text
    assert "PERJANJIAN KERJA SAMA" in text and "KONSEP" not in text.split("Pasal 1")[0]
    scope_hash = delivered.agreement["scope_hash"]
    assert f"Kode hash lingkup (SHA-256) : {scope_hash}" in text
    elements = delivered.agreement["elements"]
    assert f"Elemen data dan perlakuannya ({len(elements)} elemen)" in text
    for element in elements:
        label = CATALOG.get(element["key"]).label_id
        mask = {"mask": element["mask"], **element["params"]}
        assert label in text, element["key"]
        assert words(describe_mask(mask)) in text, element["key"]
    assert "Wilayah: seluruh wilayah Kabupaten Paser." in text
    assert "17 sampai 150 tahun pada tanggal penyerahan" in text
    assert recipient_fingerprint(delivered.home.recipient) in text
    assert delivered.home.recipient in text  # the age key itself, to compare character by character
    assert "1 kali penyerahan per bulan" in text


def test_the_pks_hash_is_the_hash_of_the_bytes_the_kepala_dinas_signs(
    delivered: Delivered,
) -> None:
    canonical = delivered.home.root / "canonical.json"
    delivered.home("agreement", "canonical", SHORT, "--out", str(canonical))
    text, _ = delivered.letter("konsep-pks", SHORT, "--version", "1")
    assert sha256(canonical.read_bytes()).hexdigest() in text


def test_the_berita_acara_binds_the_handed_over_bytes(delivered: Delivered) -> None:
    text, result = delivered.letter("berita-acara", delivered.id, "--date", "2026-12-02")
    assert "BERITA ACARA SERAH TERIMA DATA KEPENDUDUKAN" in text
    assert "Pada hari Rabu tanggal dua bulan Desember tahun dua ribu dua puluh enam" in text
    manifest = delivered.manifest
    fingerprint = sha256(delivered.manifest_path.read_bytes()).hexdigest()
    for part in (
        f"Nomor PKS : {NUMBER}",
        f"Kode hash lingkup : {manifest['agreement']['scope_hash']}",
        f"Nomor penyerahan : {delivered.id}",
        f"Jumlah baris : {angka(manifest['rows'])}",
        f"SHA-256 berkas : {manifest['file']['sha256']}",
        f"SHA-256 data : {manifest['file']['plaintext_sha256']}",
        f"Sidik jari manifes : {fingerprint}",
        recipient_fingerprint(delivered.home.recipient),
    ):
        assert part in text, part
    for element in manifest["elements"]:
        assert words(describe_mask(element["mask"])) in text, element["key"]
    assert "wrote" in result.output
    made = delivered.home.root / "berita-acara.pdf"
    assert stat.S_IMODE(made.stat().st_mode) == 0o600


def test_the_cover_letter_sends_the_delivery(delivered: Delivered) -> None:
    text, _ = delivered.letter("pengantar", delivered.id, "--number", "470/88/DISDUKCAPIL/2026")
    fingerprint = sha256(delivered.manifest_path.read_bytes()).hexdigest()
    for part in (
        "Nomor : 470/88/DISDUKCAPIL/2026",
        "Sifat : Rahasia",
        f"Perjanjian Kerja Sama Nomor {NUMBER}",
        f"SHA-256 berkas : {delivered.manifest['file']['sha256']}",
        f"SHA-256 manifes : {fingerprint}",
        recipient_fingerprint(delivered.home.recipient),
    ):
        assert part in text, part


def test_the_subject_learns_who_received_their_record_and_nobody_else_is_named(
    delivered: Delivered,
) -> None:
    home = delivered.home
    niks = source_niks(home.home)
    nik = next(
        n
        for n in niks
        if json.loads(home("subject", "deliveries", n, "--as", "pf", "--json").stdout)
    )
    spaced = f"{nik[:4]} {nik[4:8]} {nik[8:12]} {nik[12:]}"
    text, result = delivered.letter(
        "balasan-subjek", spaced, "--as", "pf", "--to", "Pemohon Contoh"
    )
    assert "Yth. Sdr. Pemohon Contoh" in text
    assert f"NIK {nik[:6]}******{nik[-4:]}" in text
    assert "PT Bank Pembangunan Daerah Kalimantan Timur dan Kalimantan Utara" in text
    assert f"Nomor {NUMBER} (versi 1)" in text
    assert "Nomor Induk Kependudukan (NIK)" in text  # what that agreement grants
    assert not any(n in text for n in niks)  # not theirs in full, nor anyone else's
    assert not [
        name for name in source_names(home.home) if re.search(rf"\b{re.escape(name)}\b", text)
    ]
    assert nik not in result.output
    questions = [e for e in home.audit() if e["action"] == "subject.deliveries"]
    assert questions and nik not in json.dumps(questions)
    nobody, _ = delivered.letter("balasan-subjek", unreceived(home), "--as", "pf")
    assert "Tidak terdapat catatan penyerahan data" in nobody and "Yth. Sdr. Pemohon" in nobody


@pytest.mark.parametrize(
    ("args", "code", "named"),
    [
        (("disposisi", "999"), 5, "request '999' not found"),
        (("penolakan", "999", "--reason", "r"), 5, "request '999' not found"),
        (("konsep-pks", "no-such-pks"), 5, "agreement 'no-such-pks' not found"),
        (("konsep-pks", SHORT, "--version", "9"), 5, "not found"),
        (("pengantar", "no-such-delivery"), 5, "delivery 'no-such-delivery' not found"),
        (("berita-acara", "no-such-delivery"), 5, "delivery 'no-such-delivery' not found"),
        (("balasan-subjek", "6401012345", "--as", "pf"), 3, "not a valid NIK"),
        (("balasan-subjek", "6401010101900001", "--as", "nobody"), 5, "nobody"),
        (("berita-acara", "x", "--date", "2026-13-01"), 2, "--date"),
    ],
)
def test_bad_input_exits_with_its_code_and_writes_nothing(
    delivered: Delivered, args: tuple[str, ...], code: int, named: str
) -> None:
    _, result = delivered.letter(*args, ok=False)
    assert result.exit_code == code, result.output
    assert named in result.output and "Traceback" not in result.output
    assert not (delivered.home.root / f"{args[0]}.pdf").exists()
    for value in args:  # a NIK-like argument is never echoed
        assert not (value.isdigit() and len(value) >= 10 and value in result.output)


def test_an_output_folder_that_does_not_exist_is_named(delivered: Delivered) -> None:
    missing = delivered.home.root / "no-such-folder" / "x.pdf"
    result = delivered.home("letter", "konsep-pks", SHORT, "--out", str(missing), ok=False)
    assert result.exit_code == 5 and "no-such-folder" in result.output


def test_a_delivery_not_published_gets_no_handover_letters(own: Delivered) -> None:
    own.edit("UPDATE deliveries SET status = 'failed' WHERE id = ?")
    _, result = own.letter("berita-acara", own.id, ok=False)
    assert result.exit_code == 6 and "failed" in result.output


def test_a_manifest_or_row_changed_behind_the_gateways_back_is_refused(own: Delivered) -> None:
    original = own.manifest_path.read_bytes()
    own.manifest_path.write_bytes(original.replace(b'"rows":', b'"rows": ', 1))
    _, result = own.letter("berita-acara", own.id, ok=False)
    assert result.exit_code == 1 and "manifest does not verify" in result.output
    own.manifest_path.write_bytes(original)
    own.edit("UPDATE deliveries SET rows = rows + 1 WHERE id = ?")
    _, result = own.letter("pengantar", own.id, ok=False)
    assert result.exit_code == 1 and "differs from its signed manifest" in result.output


def source_names(home: Path) -> list[str]:
    """Every full name in the demo source (never printed: only looked for in a letter)."""
    connection = sqlite3.connect(home / "demo-source.db")
    try:
        return [row[0] for row in connection.execute("SELECT NAMA_LGKP FROM BIODATA_WNI")]
    finally:
        connection.close()


def unreceived(home: Home) -> str:
    """A valid NIK in no delivery: a child of the demo source (the scope is 17 and over)."""
    for nik in source_niks(home.home):
        if not json.loads(home("subject", "deliveries", nik, "--as", "pf", "--json").stdout):
            return nik
    raise AssertionError("every NIK of the demo source was delivered")
