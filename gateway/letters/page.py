"""The sheet every letter is printed on: fpdf2 with the DejaVu fonts vendored beside this module,
the kop surat (letterhead) with its double rule, the Nomor / Sifat / Lampiran / Perihal block and
the addressee, paragraphs, field lists and tables, the signature blocks, and page numbers.

Every text passes `printable` on its way in: a character the font has no glyph for becomes U+FFFD
(a name in any script prints something, never nothing), and so fpdf2 never logs the characters it
could not draw — its warning quotes them, and a name is no business of a log. Control characters
become spaces. Output is reproducible: the same letter on the same date gives the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace, TTFFont
from fpdf.table import Row

from agreements.errors import Invalid
from gateway.letters.model import PAPERS, Letterhead, Office, Recipient, Signatory
from gateway.letters.wording import tanggal

FONTS = Path(__file__).resolve().parent / "fonts"
SANS, MONO = "dejavu", "dejavumono"
LEFT, TOP, RIGHT, BOTTOM = 25.0, 15.0, 20.0, 20.0  # margins, mm
BODY = 11.0  # points
LINE = 5.6  # mm per body line
SMALL = 9.0
HASH = 7.5  # a 64-digit hash at this size (102 mm) fits a value column on one line
DOTS = "." * 40
REPLACEMENT = "\ufffd"
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")


class _Pdf(FPDF):
    """fpdf2 with a footer: what the document is (left) and `Halaman n dari m` (right)."""

    footer_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(SANS, size=7.5)
        self.set_text_color(90)
        self.cell(0, 4, self.footer_text, align="L")
        self.set_x(self.l_margin)
        self.cell(0, 4, f"Halaman {self.page_no()} dari {{nb}}", align="R")
        self.set_text_color(0)


class Sheet:
    """One letter being laid out, top to bottom; `output()` gives the PDF's bytes."""

    def __init__(self, office: Office, *, title: str, dated: date, footer: str = "") -> None:
        self.office = office
        self.pdf = pdf = _Pdf(unit="mm", format=PAPERS.get(office.paper, PAPERS["A4"]))
        pdf.add_font(SANS, "", str(FONTS / "DejaVuSans.ttf"))
        pdf.add_font(SANS, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        pdf.add_font(MONO, "", str(FONTS / "DejaVuSansMono.ttf"))
        self._glyphs = {family: _glyphs_of(pdf, family) for family in (SANS, MONO)}
        pdf.set_margins(LEFT, TOP, RIGHT)
        pdf.set_auto_page_break(True, margin=BOTTOM)
        pdf.set_lang("id")
        pdf.set_title(self.printable(title))  # metadata too: no control characters
        pdf.set_author(self.printable(office.name))
        pdf.set_creator("pks-gateway")
        pdf.set_creation_date(datetime.combine(dated, time(0), tzinfo=UTC))
        pdf.footer_text = self.printable(footer)
        pdf.add_page()
        self._letterhead(office.letterhead)

    # --- text -------------------------------------------------------------------------------
    def printable(self, text: str, *, mono: bool = False) -> str:
        """`text` with every character the font lacks as U+FFFD and control characters (but
        line breaks) as spaces."""
        glyphs = self._glyphs[MONO if mono else SANS]
        return "".join(
            ch
            if ch == "\n" or (ch.isprintable() and ord(ch) in glyphs)
            else (" " if not ch.isprintable() else REPLACEMENT)
            for ch in text
        )

    def paragraph(
        self, text: str, *, bold: bool = False, align: str = "J", size: float = BODY
    ) -> None:
        self.pdf.set_font(SANS, "B" if bold else "", size)
        self.pdf.multi_cell(
            0, LINE * size / BODY, self.printable(text), align=align, new_x=XPos.LMARGIN
        )
        self.pdf.ln(1.5)

    def centred(self, text: str, *, bold: bool = True, size: float = 12) -> None:
        self.paragraph(text, bold=bold, align="C", size=size)

    def section(self, text: str) -> None:
        """A bold heading, kept on the page with at least a few lines of what follows it."""
        self._ensure_room(30)
        self.pdf.ln(1.5)
        self.paragraph(text, bold=True, align="L")

    def numbered(self, items: Sequence[str], *, start: int = 1) -> None:
        """1. first item, 2. second … with the text hanging after its number."""
        self.pdf.set_font(SANS, "", BODY)
        for number, item in enumerate(items, start=start):
            self.pdf.cell(8, LINE, f"{number}.")
            self.pdf.multi_cell(0, LINE, self.printable(item), align="J", new_x=XPos.LMARGIN)
        self.pdf.ln(1.5)

    def new_page(self) -> None:
        self.pdf.add_page()

    def space(self, millimetres: float = 4) -> None:
        self.pdf.ln(millimetres)

    # --- tables -----------------------------------------------------------------------------
    def fields(
        self,
        rows: Sequence[tuple[str, str]],
        *,
        mono: Sequence[str] = (),
        label_width: float = 0.3,
    ) -> None:
        """`Label : value` rows without borders; values of the labels in `mono` in the fixed
        font (hashes, keys, ids), small enough that a SHA-256 stays on one line."""
        self.pdf.set_font(SANS, "", BODY)
        with self.pdf.table(
            align="LEFT",  # centred, fpdf2 2.8 starts a full-width table left of the margin
            borders_layout="NONE",
            col_widths=(label_width, 0.03, 1 - label_width - 0.03),
            first_row_as_headings=False,
            text_align=("LEFT", "LEFT", "LEFT"),
            v_align="TOP",
            line_height=LINE,
            padding=(0.4, 1.0),
        ) as table:
            for label, value in rows:
                row = table.row()
                row.cell(self.printable(label))
                row.cell(":")
                self._cell(row, value, mono=label in mono)
        self.pdf.ln(2)

    def table(
        self,
        headings: Sequence[str],
        rows: Sequence[Sequence[str]],
        widths: Sequence[float],
        *,
        mono_columns: Sequence[int] = (),
        size: float = SMALL,
        row_height: float | None = None,
    ) -> None:
        """A bordered table with a bold heading row repeated on every page it spans; rows at
        least `row_height` mm high (room to write by hand)."""
        self.pdf.set_font(SANS, "", size)
        with self.pdf.table(
            align="LEFT",
            col_widths=tuple(widths),
            text_align="LEFT",
            v_align="TOP",
            line_height=LINE * size / BODY,
            padding=(1, 1.2),
            headings_style=FontFace(emphasis="BOLD", fill_color=(235, 235, 235)),
        ) as table:
            heading = table.row()
            for text in headings:
                heading.cell(self.printable(text))
            for values in rows:
                row = table.row(min_height=row_height)
                for index, value in enumerate(values):
                    self._cell(row, value, mono=index in mono_columns)
        self.pdf.ln(3)

    def key_fingerprints(self, recipients: Sequence[Recipient]) -> None:
        """Who can decrypt: each recipient and their age key's fingerprint."""
        self.table(
            ["Penerima", "Sidik jari kunci"],
            [[r.name, r.fingerprint] for r in recipients],
            (0.4, 0.6),
            mono_columns=(1,),
        )

    # --- letter parts -----------------------------------------------------------------------
    def place_and_date(self, dated: date | None) -> None:
        """`Tana Paser, 2 Desember 2026` on the right; no date: a dotted line to write it on."""
        when = tanggal(dated) if dated is not None else "." * 30
        self.pdf.set_font(SANS, "", BODY)
        self.pdf.cell(0, LINE, self.printable(f"{self.office.place}, {when}"), align="R")
        self.pdf.ln(LINE + 2)

    def heading(
        self,
        *,
        number: str | None,
        nature: str,
        attachment: str,
        subject: str,
        addressee: Sequence[str],
        dated: date,
    ) -> None:
        """The letter's heading: place and date, Nomor / Sifat / Lampiran / Perihal, then
        `Yth.` and the addressee, `di Tempat`."""
        self.place_and_date(dated)
        self.fields(
            [
                ("Nomor", number or DOTS),
                ("Sifat", nature),
                ("Lampiran", attachment),
                ("Perihal", subject),
            ],
            label_width=0.15,
        )
        self.pdf.set_font(SANS, "", BODY)
        self.pdf.cell(0, LINE, "Kepada", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        first, *rest = addressee
        for line in (f"Yth. {first}", *rest):
            self.pdf.multi_cell(0, LINE, self.printable(line), align="L", new_x=XPos.LMARGIN)
        self.pdf.cell(0, LINE, "di -", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.pdf.cell(0, LINE, "      Tempat", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.pdf.ln(4)

    def title(self, *lines: str, number: str | None = None, numbered: bool = True) -> None:
        """A document's title (Berita Acara, PKS), centred, with `Nomor:` below (a dotted line
        while the outgoing-mail register has not given one) unless not `numbered`."""
        for line in lines:
            self.centred(line, size=12)
        if numbered:
            self.pdf.set_font(SANS, "", BODY)
            shown = number if number is not None else DOTS
            self.pdf.cell(0, LINE, self.printable(f"Nomor: {shown}"), align="C", new_x=XPos.LMARGIN)
            self.pdf.ln(LINE)
        self.pdf.ln(3)

    def signature(self, signatory: Signatory, *, caption: str = "") -> None:
        """The office's signatory block in the right half: caption, jabatan, room for the
        signature and stamp, the name (or a line to write it on), pangkat, NIP."""
        self._ensure_room(50)
        self._signature_column(self.pdf.l_margin + self.pdf.epw / 2, signatory, caption, nip=True)

    def signatures(
        self, left: tuple[str, Signatory, bool], right: tuple[str, Signatory, bool]
    ) -> None:
        """Two blocks side by side (PIHAK PERTAMA / PIHAK KEDUA): (caption, signatory, whether
        a NIP line is printed) each."""
        self._ensure_room(50)
        top = self.pdf.get_y()
        caption, signatory, nip = left
        self._signature_column(self.pdf.l_margin, signatory, caption, nip=nip)
        bottom = self.pdf.get_y()
        self.pdf.set_y(top)
        caption, signatory, nip = right
        self._signature_column(self.pdf.l_margin + self.pdf.epw / 2, signatory, caption, nip=nip)
        self.pdf.set_y(max(bottom, self.pdf.get_y()))

    def output(self) -> bytes:
        return bytes(self.pdf.output())

    # --- inner parts ------------------------------------------------------------------------
    def _cell(self, row: Row, value: str, *, mono: bool) -> None:
        if mono:  # hashes, keys and ids: fixed width, small enough to stay on one line
            row.cell(self.printable(value, mono=True), style=FontFace(family=MONO, size_pt=HASH))
        else:
            row.cell(self.printable(value))

    def _letterhead(self, head: Letterhead) -> None:
        pdf = self.pdf
        text_left, text_width = pdf.l_margin, pdf.epw
        if head.logo is not None:
            self._logo(head.logo)
            text_left, text_width = pdf.l_margin + 26, pdf.epw - 26
        pdf.set_xy(text_left, TOP)
        for text, size, style in (
            (head.government, 13.0, "B"),
            (head.office, 14.0, "B"),
            (head.address, SMALL, ""),
            (head.contact, SMALL, ""),
        ):
            if not text:
                continue
            pdf.set_font(SANS, style, size)
            pdf.set_x(text_left)
            pdf.multi_cell(text_width, size * 0.45, self.printable(text), align="C")
        y = max(pdf.get_y(), TOP + 24 if head.logo is not None else 0) + 1.5
        pdf.set_line_width(0.8)
        pdf.line(pdf.l_margin, y, pdf.w - pdf.r_margin, y)
        pdf.set_line_width(0.2)
        pdf.line(pdf.l_margin, y + 1.2, pdf.w - pdf.r_margin, y + 1.2)
        pdf.set_xy(pdf.l_margin, y + 6)

    def _logo(self, data: bytes) -> None:
        if not data.startswith(_IMAGE_MAGIC):
            raise Invalid("letter_logo_path", "must be a PNG or JPEG image")
        try:
            self.pdf.image(io.BytesIO(data), x=self.pdf.l_margin, y=TOP, h=24)
        except Exception:  # what Pillow raises for a broken image varies by format
            raise Invalid("letter_logo_path", "is not an image that can be read") from None

    def _signature_column(
        self, left: float, signatory: Signatory, caption: str, *, nip: bool
    ) -> None:
        pdf, width = self.pdf, self.pdf.epw / 2
        pdf.set_font(SANS, "", BODY)
        for line in (caption, signatory.title):
            if line:
                pdf.set_x(left)
                pdf.multi_cell(width, LINE, self.printable(line), align="C")
        pdf.ln(22)
        pdf.set_x(left)
        if signatory.name:
            pdf.set_font(SANS, "B", BODY)
            pdf.multi_cell(width, LINE, self.printable(signatory.name), align="C")
        else:
            pdf.multi_cell(width, LINE, DOTS, align="C")
        pdf.set_font(SANS, "", BODY)
        lines = [signatory.rank, f"NIP. {signatory.nip or '.' * 30}" if nip else ""]
        for line in lines:
            if line:
                pdf.set_x(left)
                pdf.multi_cell(width, LINE, self.printable(line), align="C")

    def _ensure_room(self, millimetres: float) -> None:
        """A new page when fewer than `millimetres` are left: a signature block never splits."""
        if self.pdf.get_y() + millimetres > self.pdf.h - BOTTOM:
            self.pdf.add_page()


def _glyphs_of(pdf: FPDF, family: str) -> frozenset[int]:
    """The code points a loaded font has glyphs for."""
    font = pdf.fonts[family]
    assert isinstance(font, TTFFont)  # added from a TTF file above
    return frozenset(font.cmap)
