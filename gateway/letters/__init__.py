"""The office's letters as PDF (issue 12, item 5): Lembar Disposisi, Surat Penolakan, Konsep PKS
with its annex, Surat Pengantar, Berita Acara Serah Terima Data, and the reply to a data subject,
in the style of Indonesian government correspondence.

Pure rendering: each `render_*` takes the office (letterhead, signatory, from the settings) and
the letter's plain data (gateway/letters/model.py) and returns the PDF's bytes. Nothing here reads
a database; gateway/services/letters.py gathers the data and is what the CLI and the web UI call.
"""

from __future__ import annotations

from gateway.letters.balasan_subjek import render_balasan_subjek
from gateway.letters.berita_acara import render_berita_acara
from gateway.letters.disposisi import render_disposisi
from gateway.letters.konsep_pks import render_konsep_pks
from gateway.letters.masks import describe_mask
from gateway.letters.pengantar import render_pengantar
from gateway.letters.penolakan import render_penolakan

__all__ = [
    "describe_mask",
    "render_balasan_subjek",
    "render_berita_acara",
    "render_disposisi",
    "render_konsep_pks",
    "render_pengantar",
    "render_penolakan",
]
