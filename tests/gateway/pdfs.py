"""Reading the gateway's PDF letters back in tests, as an officer's PDF reader would: `pdf_text`
is the text of every page through pypdf with runs of whitespace made one space (a justified line
is drawn with wide gaps, and a table cell's text wraps), `pages` the page count and `page_size`
the first page's size in millimetres."""

from __future__ import annotations

import io

from pypdf import PdfReader

POINTS_PER_MM = 72 / 25.4


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def pages(data: bytes) -> int:
    return len(PdfReader(io.BytesIO(data)).pages)


def page_size(data: bytes) -> tuple[float, float]:
    box = PdfReader(io.BytesIO(data)).pages[0].mediabox
    return round(float(box.width) / POINTS_PER_MM), round(float(box.height) / POINTS_PER_MM)


def words(text: str) -> str:
    """`text` with its whitespace made single spaces, to look for in `pdf_text`."""
    return " ".join(text.split())
