"""The annex of the Konsep PKS: the signed scope in words, every part of it — identity and scope
hash, purpose and access, each granted element with its mask, whose records (regions by name,
ages, conditions), the recipients with their age keys and fingerprints, validity, delivery terms,
the re-identification rule, reporting duties, and how to check the hash the signature covers.
"""

from __future__ import annotations

from gateway.letters.masks import describe_mask
from gateway.letters.model import PksDraft
from gateway.letters.page import Sheet
from gateway.letters.wording import (
    ACCESS_MODES,
    FORMATS,
    OPERATORS,
    PERIODS,
    REIDENTIFICATION_ACTIONS,
    SCHEDULES,
    angka,
    kata,
    tanggal,
    wilayah,
    ya_tidak,
)

HASH = "Kode hash lingkup (SHA-256)"


def annex(sheet: Sheet, pks: PksDraft) -> None:
    sheet.new_page()
    sheet.centred("LAMPIRAN")
    sheet.centred(f"PERJANJIAN KERJA SAMA NOMOR {pks.number}", size=11)
    sheet.centred("RUANG LINGKUP DATA KEPENDUDUKAN", size=11)
    sheet.space(2)
    _identity(sheet, pks)
    _elements(sheet, pks)
    _population(sheet, pks)
    _recipients(sheet, pks)
    _terms(sheet, pks)
    _signature(sheet, pks)


def _identity(sheet: Sheet, pks: PksDraft) -> None:
    sheet.section("A. Identitas perjanjian")
    rows = [
        ("Nomor PKS", pks.number),
        ("Kode perjanjian", pks.short_id),
        ("Versi", str(pks.version) + (" (adendum)" if pks.version > 1 else "")),
        ("Lembaga pengguna", pks.institution),
        ("Status", pks.status),
        (HASH, pks.scope_hash),
    ]
    if pks.previous_scope_hash:
        rows.append(("Hash versi sebelumnya", pks.previous_scope_hash))
    sheet.fields(rows, mono=(HASH, "Hash versi sebelumnya", "Kode perjanjian"))
    sheet.section("B. Tujuan dan cara akses")
    sheet.paragraph(f"Tujuan: {pks.purpose}")
    sheet.numbered([kata(ACCESS_MODES, mode) for mode in pks.access_modes])
    if pks.high_risk:
        sheet.paragraph(
            "Perjanjian ini memuat data berisiko tinggi (penyandang disabilitas atau data "
            f"anak), yang diberikan dengan sadar oleh Kepala Dinas karena: {pks.high_risk_reason}"
        )


def _elements(sheet: Sheet, pks: PksDraft) -> None:
    sheet.section(f"C. Elemen data dan perlakuannya ({len(pks.elements)} elemen)")
    rows = []
    for number, element in enumerate(pks.elements, start=1):
        statute = f" (Pasal 58 ayat (2) huruf {element.letter})" if element.letter else ""
        rows.append(
            [str(number), element.label + statute, element.key, describe_mask(element.mask)]
        )
    sheet.table(
        ["No", "Elemen data", "Kolom", "Perlakuan yang diterima mitra"],
        rows,
        (0.06, 0.28, 0.2, 0.46),
        mono_columns=(2,),
    )


def _population(sheet: Sheet, pks: PksDraft) -> None:
    sheet.section("D. Penduduk yang datanya diserahkan")
    if pks.regions is None:
        sheet.paragraph("Wilayah: seluruh wilayah Kabupaten Paser.")
    else:
        sheet.paragraph(f"Wilayah ({len(pks.regions)}):")
        sheet.numbered([wilayah(region) for region in pks.regions])
    minors = "termasuk (data berisiko tinggi)" if pks.include_minors else "tidak termasuk"
    rows = [
        ("Umur", f"{pks.min_age} sampai {pks.max_age} tahun pada tanggal penyerahan"),
        ("Hanya penduduk yang masih hidup", ya_tidak(pks.alive_only)),
        ("Hanya data berstatus aktif", ya_tidak(pks.active_only)),
        ("Anak (di bawah 18 tahun)", minors),
    ]
    for condition in pks.conditions:
        values = ", ".join(condition.values)
        rows.append(("Syarat", f"{condition.element} {kata(OPERATORS, condition.op)}: {values}"))
    sheet.fields(rows, label_width=0.38)


def _recipients(sheet: Sheet, pks: PksDraft) -> None:
    sheet.section(f"E. Penerima data ({len(pks.recipients)})")
    sheet.paragraph(
        "Setiap berkas dienkripsi dengan age untuk kunci penerima berikut; hanya pemegang kunci "
        "privatnya yang dapat membukanya. Cocokkan sidik jari dengan kunci Saudara."
    )
    for recipient in pks.recipients:
        sheet.fields(
            [
                ("Nama", recipient.name),
                ("Kontak", recipient.contact),
                ("Kunci age", recipient.age_recipient),
                ("Sidik jari kunci", recipient.fingerprint),
                ("Alamat IP diizinkan", ", ".join(recipient.ip_allow) or "tidak dibatasi"),
            ],
            mono=("Kunci age", "Sidik jari kunci"),
            label_width=0.25,
        )


def _terms(sheet: Sheet, pks: PksDraft) -> None:
    sheet.section("F. Masa berlaku, penyerahan dan pelaporan")
    rows = [("Masa berlaku", f"{tanggal(pks.valid_from)} sampai {tanggal(pks.valid_until)}")]
    delivery = pks.delivery
    if delivery is not None:
        period = kata(PERIODS, delivery.quota_period)
        rows += [
            ("Format berkas", kata(FORMATS, delivery.format)),
            ("Jadwal", kata(SCHEDULES, delivery.schedule)),
            ("Kuota", f"{angka(delivery.quota)} kali penyerahan per {period}"),
            ("Batas baris", f"{angka(delivery.max_rows)} baris per penyerahan"),
        ]
    check = pks.reidentification
    rare = check.rare_category_threshold
    rare_words = f"; kategori dengan kurang dari {angka(rare)} baris dianggap langka"
    rows += [
        (
            "Uji re-identifikasi",
            f"setiap kombinasi pengenal tidak langsung dimiliki sekurang-kurangnya "
            f"{angka(check.k)} baris; bila tidak: {kata(REIDENTIFICATION_ACTIONS, check.action)}"
            + (rare_words if rare else ""),
        ),
        (
            "Laporan semester",
            ", ".join(tanggal(day) for day in pks.reporting.semester_report_due),
        ),
        (
            "Data balikan",
            ya_tidak(pks.reporting.data_balikan)
            + (f": {pks.reporting.data_balikan_note}" if pks.reporting.data_balikan_note else ""),
        ),
    ]
    sheet.fields(rows, label_width=0.25)


def _signature(sheet: Sheet, pks: PksDraft) -> None:
    sheet.section("G. Yang ditandatangani")
    sheet.paragraph(
        "Kepala Dinas menandatangani secara digital (SSHSIG, Ed25519, ruang nama pks-agreement) "
        "bentuk kanonis RFC 8785 dari identitas dan lingkup di atas. Kode hash SHA-256 bentuk "
        "kanonis itu harus sama dengan:"
    )
    sheet.fields([(HASH, pks.scope_hash)], mono=(HASH,))
    sheet.paragraph(
        f"Periksa sebelum menandatangani: pks-gateway agreement canonical {pks.short_id} "
        f"--version {pks.version} --out pks.json, lalu sha256sum pks.json.",
        align="L",
        size=9,
    )
