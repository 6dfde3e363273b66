"""Berita Acara Serah Terima Data: the record, signed by both sides, that one delivery was handed
over — the agreement and its scope hash, the elements and their masks, the row count, the file's
hashes before and after decryption, and the fingerprint (SHA-256) of the signed manifest, so that
the paper binds exactly the bytes the partner received."""

from __future__ import annotations

from gateway.letters.masks import describe_mask
from gateway.letters.model import Handover, Office, Signatory
from gateway.letters.page import DOTS, Sheet
from gateway.letters.wording import FORMATS, angka, kata, tanggal_terbilang, waktu

MONO = (
    "Kode hash lingkup",
    "Nomor penyerahan",
    "Nama berkas",
    "SHA-256 berkas",
    "SHA-256 data",
    "Manifes",
    "Sidik jari manifes",
)


def render_berita_acara(office: Office, handover: Handover) -> bytes:
    sheet = Sheet(
        office,
        title=f"Berita Acara Serah Terima Data {handover.delivery_id}",
        dated=handover.dated,
        footer=f"Berita Acara Serah Terima Data · penyerahan {handover.delivery_id}",
    )
    sheet.title("BERITA ACARA SERAH TERIMA DATA KEPENDUDUKAN", number=handover.number)
    sheet.paragraph(
        f"Pada {tanggal_terbilang(handover.dated)}, bertempat di {office.place}, yang "
        "bertanda tangan di bawah ini:"
    )
    sheet.numbered(
        [
            f"{office.signatory.name or DOTS}, {office.signatory.title}, atas nama "
            f"{office.name}, selanjutnya disebut PIHAK PERTAMA;",
            f"{DOTS}, atas nama {handover.institution}, selanjutnya disebut PIHAK KEDUA.",
        ]
    )
    sheet.paragraph(
        "PIHAK PERTAMA telah menyerahkan kepada PIHAK KEDUA, dan PIHAK KEDUA telah menerima, "
        f"data kependudukan berdasarkan Perjanjian Kerja Sama Nomor {handover.agreement_number} "
        "dengan rincian sebagai berikut."
    )
    sheet.section("A. Penyerahan")
    sheet.fields(
        [
            ("Nomor PKS", handover.agreement_number),
            ("Versi lingkup", str(handover.version)),
            ("Kode hash lingkup", handover.scope_hash),
            ("Nomor penyerahan", handover.delivery_id),
            ("Diterbitkan", waktu(handover.published_at)),
            ("Dijalankan oleh", f"Petugas ADB {handover.handed_over_by}"),
            ("Jumlah baris", angka(handover.rows)),
            ("Format", kata(FORMATS, handover.file_format)),
        ],
        mono=MONO,
        label_width=0.27,
    )
    sheet.section("B. Berkas")
    sheet.fields(
        [
            ("Nama berkas", handover.file_name),
            ("Ukuran berkas", f"{angka(handover.size)} bita (terenkripsi)"),
            ("SHA-256 berkas", handover.sha256),
            ("SHA-256 data", handover.plaintext_sha256),
            ("Ukuran data", f"{angka(handover.plaintext_size)} bita (setelah didekripsi)"),
            ("Manifes", handover.manifest_name),
            ("Sidik jari manifes", handover.manifest_sha256),
        ],
        mono=MONO,
        label_width=0.27,
    )
    sheet.section(f"C. Elemen data dan perlakuannya ({len(handover.elements)} elemen)")
    sheet.table(
        ["No", "Elemen data", "Kolom", "Perlakuan"],
        [
            [str(number), element.label, element.key, describe_mask(element.mask)]
            for number, element in enumerate(handover.elements, start=1)
        ],
        (0.06, 0.28, 0.2, 0.46),
        mono_columns=(2,),
    )
    sheet.section("D. Penerima (kunci age)")
    sheet.key_fingerprints(handover.recipients)
    sheet.paragraph(
        "Sidik jari manifes adalah SHA-256 berkas manifes sebagaimana diterbitkan; manifes "
        "itu ditandatangani Dinas (SSHSIG, ruang nama pks-manifest) dan memuat bukti "
        "pencatatannya dalam log audit. Demikian Berita Acara ini dibuat dalam rangkap dua "
        "untuk dipergunakan sebagaimana mestinya."
    )
    sheet.signatures(
        ("Yang menerima, PIHAK KEDUA", Signatory(title=handover.institution), False),
        ("Yang menyerahkan, PIHAK PERTAMA", office.signatory, True),
    )
    return sheet.output()
