"""Lembar Disposisi: the sheet that travels with an applicant's letter through SOP steps 2 and 3 —
what the letter is, when it arrived, and who disposed it to whom with what instruction. A step not
taken yet prints as an empty row with its roles, for the officer to write on."""

from __future__ import annotations

from gateway.letters.model import Disposition, DispositionStep, Office
from gateway.letters.page import Sheet
from gateway.letters.wording import tanggal, waktu

# The SOP's disposition steps: who disposes the letter, to whom.
SOP_STEPS = {
    2: ("Kepala Dinas", "Kepala Bidang PDIP"),
    3: ("Kepala Bidang PDIP", "Pejabat Fungsional (Kerja Sama dan Inovasi Pelayanan)"),
}


def render_disposisi(office: Office, data: Disposition) -> bytes:
    sheet = Sheet(
        office,
        title=f"Lembar Disposisi permohonan nomor {data.request_id}",
        dated=data.printed_on,
        footer=f"Lembar Disposisi · permohonan nomor {data.request_id}",
    )
    sheet.title("LEMBAR DISPOSISI", numbered=False)
    sheet.fields(
        [
            ("Surat dari", data.institution),
            ("Nomor surat", data.letter_number),
            ("Tanggal surat", tanggal(data.letter_date)),
            ("Diterima", waktu(data.received_at)),
            ("Nomor agenda", f"permohonan nomor {data.request_id}"),
            ("Perihal", f"Permohonan kerja sama pemanfaatan data kependudukan: {data.purpose}"),
            ("Status", data.status),
        ],
        label_width=0.22,
    )
    taken = {step.step: step for step in data.steps}
    rows = [_row(number, taken.get(number)) for number in SOP_STEPS]
    sheet.table(
        ["Langkah", "Dari", "Diteruskan kepada", "Tanggal", "Isi disposisi"],
        rows,
        (0.12, 0.19, 0.22, 0.17, 0.3),
        row_height=24,
    )
    sheet.paragraph(f"Dicetak pada {tanggal(data.printed_on)}.", size=8, align="L")
    return sheet.output()


def _row(number: int, step: DispositionStep | None) -> list[str]:
    by, to = SOP_STEPS[number]
    if step is None:
        return [str(number), by, to, "", ""]
    return [str(number), step.by, step.to, waktu(step.at), step.instruction or "-"]
