"""Logging, configured in one place for every entry point (CLI, web server, jobs).

No code path logs population values; as a second line of defence a filter blanks any run of
exactly 16 digits (the shape of a NIK or KK number) before a record is written anywhere.
"""

from __future__ import annotations

import logging
import re

SIXTEEN_DIGITS = re.compile(r"(?<!\d)\d{16}(?!\d)")


class IdentifierRedactingFilter(logging.Filter):
    """Replaces 16-digit numbers in the rendered message; never drops the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if SIXTEEN_DIGITS.search(message):
            record.msg = SIXTEEN_DIGITS.sub("[16-digit number redacted]", message)
            record.args = None
        return True


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(IdentifierRedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Alembic narrates every migration context at INFO; officers need only its warnings.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
    # fontTools narrates every font subset of a letter (gateway/letters/) at INFO, glyph by glyph:
    # noise, and the glyphs of a letter are its characters, which are nobody's business in a log.
    logging.getLogger("fontTools").setLevel(max(logging.WARNING, root.level))
