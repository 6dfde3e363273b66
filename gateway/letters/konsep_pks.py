"""Konsep PKS: the cooperation agreement as the Kepala Dinas reads it before signing — the parties,
purpose, legal basis, duties and duration in articles, and the scope as a readable annex
(gateway/letters/lampiran_pks.py) bound to the canonical scope hash that the signature covers.

A version not yet signed is titled KONSEP, with dotted lines for the day of signing; a signed one
carries the day its signature was made and the key that made it.
"""

from __future__ import annotations

from gateway.letters.lampiran_pks import annex
from gateway.letters.model import Office, PksDraft, Signatory
from gateway.letters.page import DOTS, Sheet
from gateway.letters.wording import tanggal, tanggal_terbilang, waktu


def render_konsep_pks(office: Office, pks: PksDraft) -> bytes:
    sheet = Sheet(
        office,
        title=f"Konsep PKS {pks.number} versi {pks.version}",
        dated=pks.printed_on,
        footer=f"PKS {pks.number} versi {pks.version} · SHA-256 {pks.scope_hash[:16]}…",
    )
    _title(sheet, office, pks)
    _parties(sheet, office, pks)
    _articles(sheet, pks)
    sheet.space(2)
    sheet.signatures(
        ("PIHAK PERTAMA,", office.signatory, True),
        ("PIHAK KEDUA,", Signatory(title=f"Pimpinan {pks.institution}"), False),
    )
    annex(sheet, pks)
    return sheet.output()


def _title(sheet: Sheet, office: Office, pks: PksDraft) -> None:
    if pks.signed_at is None:
        sheet.centred("KONSEP", size=11)
    sheet.centred("PERJANJIAN KERJA SAMA")
    if pks.version > 1:
        sheet.centred(f"ADENDUM KE-{pks.version - 1}", size=11)
    sheet.centred("ANTARA", bold=False, size=11)
    sheet.centred(office.name.upper(), size=11)
    sheet.centred("DENGAN", bold=False, size=11)
    sheet.centred(pks.institution.upper(), size=11)
    sheet.centred("TENTANG PEMANFAATAN DATA KEPENDUDUKAN", size=11)
    sheet.title(number=pks.number)


def _parties(sheet: Sheet, office: Office, pks: PksDraft) -> None:
    day = (
        tanggal_terbilang(pks.signed_at.date())
        if pks.signed_at is not None
        else f"hari {DOTS[:15]} tanggal {DOTS[:15]} bulan {DOTS[:15]} tahun {DOTS[:15]}"
    )
    sheet.paragraph(f"Pada {day}, bertempat di {office.place}, yang bertanda tangan di bawah ini:")
    first = office.signatory.name or DOTS
    sheet.numbered(
        [
            f"{first}, {office.signatory.title}, dalam hal ini bertindak untuk dan atas nama "
            f"{office.name}, selanjutnya disebut PIHAK PERTAMA;",
            f"{DOTS}, Pimpinan {pks.institution}, dalam hal ini bertindak untuk dan atas nama "
            f"{pks.institution}, selanjutnya disebut PIHAK KEDUA.",
        ]
    )
    sheet.paragraph(
        "PIHAK PERTAMA dan PIHAK KEDUA sepakat mengadakan perjanjian kerja sama pemanfaatan "
        "data kependudukan dengan ketentuan sebagai berikut."
    )


def _articles(sheet: Sheet, pks: PksDraft) -> None:
    article = _Articles(sheet)
    article("Maksud dan Tujuan")
    sheet.paragraph(
        f"PIHAK KEDUA memanfaatkan data kependudukan semata-mata untuk tujuan: {pks.purpose}"
    )
    article("Dasar Hukum")
    sheet.numbered(list(pks.legal_basis))
    article("Ruang Lingkup")
    sheet.paragraph(
        "Elemen data kependudukan yang diserahkan dan perlakuan (penyamaran) atas setiap "
        "elemen, penduduk yang datanya diserahkan, cara akses, penerima data beserta kuncinya, "
        "jadwal dan kuota penyerahan tercantum dalam Lampiran, yang merupakan bagian tidak "
        "terpisahkan dari perjanjian ini. Lampiran tersebut sama dengan lingkup yang "
        "ditandatangani secara digital oleh Kepala Dinas, yang kode hash SHA-256-nya:"
    )
    sheet.fields([("Kode hash", pks.scope_hash)], mono=("Kode hash",), label_width=0.2)
    article("Kewajiban PIHAK KEDUA")
    sheet.numbered(_duties(pks))
    article("Jangka Waktu")
    sheet.paragraph(
        f"Perjanjian ini berlaku sejak tanggal {tanggal(pks.valid_from)} sampai dengan tanggal "
        f"{tanggal(pks.valid_until)}. Di luar jangka waktu tersebut tidak ada data yang "
        "diserahkan."
    )
    article("Evaluasi dan Sanksi")
    sheet.paragraph(
        "PIHAK PERTAMA menangguhkan penyerahan data selama laporan semester PIHAK KEDUA "
        "terlambat, dan dapat mencabut perjanjian ini apabila PIHAK KEDUA melanggar "
        "kewajibannya. Setiap penyerahan data dicatat dalam log audit PIHAK PERTAMA."
    )
    if pks.signed_at is not None:
        sheet.paragraph(
            f"Lingkup perjanjian ini ditandatangani secara digital pada {waktu(pks.signed_at)} "
            f"dengan kunci {pks.signer or '-'}.",
            size=9,
        )


def _duties(pks: PksDraft) -> list[str]:
    duties = [
        "menggunakan data kependudukan hanya untuk tujuan sebagaimana dimaksud dalam Pasal 1;",
        "tidak memberikan data kependudukan kepada pihak ketiga dalam bentuk apa pun;",
        "menjaga kerahasiaan dan keamanan data kependudukan sesuai dengan Undang-Undang "
        "Nomor 27 Tahun 2022 tentang Pelindungan Data Pribadi;",
        "menyampaikan laporan pemanfaatan data setiap semester, paling lambat tanggal "
        + ", ".join(tanggal(day) for day in pks.reporting.semester_report_due)
        + ";",
    ]
    if pks.reporting.data_balikan:
        note = pks.reporting.data_balikan_note
        duties.append(
            "menyampaikan data balikan kepada PIHAK PERTAMA" + (f": {note};" if note else ";")
        )
    duties[-1] = duties[-1].removesuffix(";") + "."
    return duties


class _Articles:
    """Pasal 1, Pasal 2 … with their titles, numbered in order."""

    def __init__(self, sheet: Sheet) -> None:
        self.sheet, self.number = sheet, 0

    def __call__(self, title: str) -> None:
        self.number += 1
        self.sheet.space(1)
        self.sheet.centred(f"Pasal {self.number}", size=11)
        self.sheet.centred(title, size=11)
