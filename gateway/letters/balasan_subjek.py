"""The reply to a data subject (UU 27/2022 art. 5-7: the right to know who processes their data):
which institutions received a delivery holding their record, under which agreement, when, and the
elements that agreement grants. It names nobody else: it is made from the subject's own lookup,
and shows their NIK only masked (the caller masks it), since a letter is copied and filed."""

from __future__ import annotations

from gateway.letters.model import Office, SubjectReply
from gateway.letters.page import Sheet
from gateway.letters.wording import angka, waktu

SUBJECT = "Informasi Penyerahan Data Kependudukan Saudara"


def render_balasan_subjek(office: Office, reply: SubjectReply) -> bytes:
    sheet = Sheet(
        office,
        title="Jawaban permohonan informasi penyerahan data pribadi",
        dated=reply.dated,
        footer="Jawaban permohonan informasi penyerahan data pribadi",
    )
    sheet.heading(
        number=reply.number,
        nature="Rahasia",
        attachment="-",
        subject=SUBJECT,
        addressee=(f"Sdr. {reply.addressee}" if reply.addressee else "Sdr. Pemohon",),
        dated=reply.dated,
    )
    asked = f" ({reply.reference})" if reply.reference else ""
    sheet.paragraph(
        f"Menjawab permohonan Saudara{asked} untuk mengetahui lembaga yang menerima data "
        "kependudukan Saudara, dengan ini kami sampaikan hasil penelusuran catatan penyerahan "
        f"data atas NIK {reply.nik_shown} (sebagian digit disamarkan untuk melindungi data "
        "Saudara dalam surat ini):"
    )
    if reply.disclosures:
        for number, item in enumerate(reply.disclosures, start=1):
            sheet.section(f"{number}. {item.institution}")
            sheet.fields(
                [
                    (
                        "Perjanjian kerja sama",
                        f"Nomor {item.agreement_number} (versi {item.version})",
                    ),
                    ("Diserahkan", waktu(item.delivered_at) if item.delivered_at else "-"),
                    ("Elemen data", ", ".join(item.elements)),
                ],
                label_width=0.27,
            )
        sheet.paragraph(
            f"Data Saudara terdapat dalam {angka(len(reply.disclosures))} penyerahan. Setiap "
            "elemen diserahkan dengan perlakuan (penyamaran) sebagaimana diatur dalam "
            "perjanjian kerja sama yang bersangkutan, dan lembaga penerima dilarang memberikannya "
            "kepada pihak ketiga."
        )
    else:
        sheet.paragraph(
            "Tidak terdapat catatan penyerahan data yang memuat data Saudara kepada lembaga "
            "pengguna mana pun melalui layanan kerja sama ini."
        )
    sheet.paragraph("Demikian kami sampaikan, atas perhatian Saudara kami ucapkan terima kasih.")
    sheet.space(2)
    sheet.signature(office.signatory)
    return sheet.output()
