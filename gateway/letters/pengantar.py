"""Surat Pengantar: the cover letter that sends one delivery to the partner — which agreement it
is made under, which file, how many rows, its hashes and who can decrypt it, and the duties that
come with it. The Berita Acara (gateway/letters/berita_acara.py) records the same handover."""

from __future__ import annotations

from gateway.letters.model import Handover, Office
from gateway.letters.page import Sheet
from gateway.letters.wording import FORMATS, angka, kata, waktu

SUBJECT = "Penyampaian Data Kependudukan"


def render_pengantar(office: Office, handover: Handover) -> bytes:
    sheet = Sheet(
        office,
        title=f"Surat Pengantar penyerahan {handover.delivery_id}",
        dated=handover.dated,
        footer=f"Surat Pengantar · penyerahan {handover.delivery_id}",
    )
    sheet.heading(
        number=handover.number,
        nature="Rahasia",
        attachment="1 (satu) berkas data terenkripsi dan manifesnya",
        subject=SUBJECT,
        addressee=(f"Pimpinan {handover.institution}",),
        dated=handover.dated,
    )
    sheet.paragraph(
        f"Berdasarkan Perjanjian Kerja Sama Nomor {handover.agreement_number} (versi "
        f"{handover.version}) tentang pemanfaatan data kependudukan, bersama ini kami "
        f"sampaikan data kependudukan yang diterbitkan pada {waktu(handover.published_at)} "
        "dengan keterangan sebagai berikut:"
    )
    sheet.fields(
        [
            ("Nomor penyerahan", handover.delivery_id),
            ("Berkas", handover.file_name),
            ("Format", kata(FORMATS, handover.file_format)),
            ("Jumlah baris", angka(handover.rows)),
            ("Elemen data", f"{len(handover.elements)} elemen (rincian dalam Berita Acara)"),
            ("SHA-256 berkas", handover.sha256),
            ("Manifes", handover.manifest_name),
            ("SHA-256 manifes", handover.manifest_sha256),
        ],
        mono=("Nomor penyerahan", "Berkas", "SHA-256 berkas", "Manifes", "SHA-256 manifes"),
        label_width=0.25,
    )
    sheet.paragraph(
        "Berkas tersebut dienkripsi dengan age dan hanya dapat dibuka dengan kunci privat "
        "penerima berikut:"
    )
    sheet.key_fingerprints(handover.recipients)
    sheet.paragraph(
        "Sebelum membuka berkas, mohon periksa tanda tangan manifes dan kode hash berkas "
        "(pks-partner verify, atau ssh-keygen -Y verify dan sha256sum). Data ini hanya "
        "digunakan untuk tujuan yang tercantum dalam perjanjian, tidak diberikan kepada pihak "
        "ketiga, dan pemanfaatannya dilaporkan setiap semester."
    )
    sheet.paragraph(
        "Demikian kami sampaikan, atas perhatian dan kerja sama Saudara kami ucapkan terima kasih."
    )
    sheet.space(2)
    sheet.signature(office.signatory)
    return sheet.output()
