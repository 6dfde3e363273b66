"""Surat Penolakan: the letter of SOP step 4 telling the applicant their request is not approved,
and why. The Pejabat Fungsional prints it, the Kepala Dinas signs it, and its scan is the
rejection letter `request reject --letter` attaches."""

from __future__ import annotations

from gateway.letters.model import Office, Rejection
from gateway.letters.page import Sheet
from gateway.letters.wording import tanggal

SUBJECT = "Jawaban atas Permohonan Kerja Sama Pemanfaatan Data Kependudukan"


def render_penolakan(office: Office, letter: Rejection) -> bytes:
    sheet = Sheet(
        office,
        title=f"Surat Penolakan atas surat {letter.letter_number}",
        dated=letter.dated,
        footer=f"Surat Penolakan · surat permohonan {letter.letter_number}",
    )
    sheet.heading(
        number=letter.number,
        nature="Biasa",
        attachment="-",
        subject=SUBJECT,
        addressee=(f"Pimpinan {letter.institution}",),
        dated=letter.dated,
    )
    sheet.paragraph(
        f"Menindaklanjuti surat Saudara Nomor {letter.letter_number} tanggal "
        f"{tanggal(letter.letter_date)} perihal permohonan kerja sama pemanfaatan data "
        f"kependudukan untuk keperluan: {letter.purpose}, dengan ini kami sampaikan bahwa "
        f"setelah dikaji sesuai dengan ketentuan peraturan perundang-undangan, permohonan "
        f"tersebut belum dapat kami setujui, dengan alasan sebagai berikut:"
    )
    sheet.paragraph(letter.reason, align="L")
    sheet.paragraph(
        "Saudara dapat mengajukan permohonan baru apabila hal-hal tersebut di atas telah "
        "dipenuhi. Demikian kami sampaikan, atas perhatian Saudara kami ucapkan terima kasih."
    )
    sheet.space(4)
    sheet.signature(office.signatory)
    return sheet.output()
