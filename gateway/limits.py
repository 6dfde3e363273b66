"""How much the gateway accepts from the people and files it is handed, in one place.

Every file the gateway reads whole has a size limit here, every free-text value a length limit,
and every number a range (docs/cli.md lists them). A file is read by `read_limited`: opened
without blocking (a FIFO with no writer cannot hang it), refused unless it is a regular file
(`/dev/zero`, a FIFO, a terminal), and read up to its limit plus one byte, so that an oversized
file costs at most that much memory and time before it is refused. A file the gateway streams
instead (a delivery to decrypt or verify, gigabytes possibly) has no size limit but must be a
regular file too (`require_regular_file`).
"""

from __future__ import annotations

import io
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from agreements.errors import SafeError

KIB = 1024
MIB = 1024 * KIB


class InputRefused(SafeError, ValueError):
    """A file or value over its limit or of the wrong kind; the message names it, never content."""


@dataclass(frozen=True)
class FileLimit:
    """What a file is (for messages) and the most bytes the gateway reads of it."""

    what: str
    max_bytes: int


SETTINGS_FILE = FileLimit("settings file", 1 * MIB)
SCOPE_FILE = FileLimit("scope file", 1 * MIB)
# Letters, rejection letters and signed PKS documents: PDFs or scans of a few pages.
DOCUMENT = FileLimit("document", 20 * MIB)
DATA_BALIKAN = FileLimit("data balikan", 64 * MIB)  # ~2 million NIKs, one per line
SIGNATURE_FILE = FileLimit("signature file", 64 * KIB)
KEY_FILE = FileLimit("key file", 64 * KIB)
IDENTITY_FILE = FileLimit("identity file", 64 * KIB)
CHECKPOINT_FILE = FileLimit("checkpoint file", 64 * KIB)
# A manifest lists elements, recipients, the report and an audit proof: kilobytes in practice.
MANIFEST_FILE = FileLimit("manifest", 4 * MIB)
# The letterhead's logo (`letter_logo_path`): an emblem, a few hundred kilobytes at most.
LOGO_FILE = FileLimit("letterhead logo", 2 * MIB)

# Free text an officer types: reasons, notes, purpose, legal basis, the data balikan plan.
FREE_TEXT = 2_000
# One-line names, as long as the columns that keep them (gateway/store/tables.py).
STAFF_NAME = 100
AGREEMENT_ID = 40
INSTITUTION = 300
LETTER_NUMBER = 200
# Ids, versions, sequence numbers and sizes: what a 64-bit database column holds.
MAX_ID = 2**63 - 1
# Pages of `audit list`: page × limit must stay a 64-bit offset.
MAX_PAGE = 10**9
# The demo database: Indonesia's whole population (281.6 million in mid-2024) fits with room to
# spare; a larger one stands for no real register and only fills the disk.
MAX_DEMO_ROWS = 300_000_000


def read_limited(path: Path, limit: FileLimit) -> bytes:
    """The whole content of the regular file at `path`, or InputRefused if it is larger than
    `limit`, not a regular file, or unreadable."""
    with _open_regular(path, limit.what) as file:
        if os.fstat(file.fileno()).st_size > limit.max_bytes:
            raise _too_large(path, limit)
        chunks, wanted = [], limit.max_bytes + 1  # one byte more: the file may have grown
        try:
            while wanted > 0 and (chunk := file.read(min(wanted, MIB))):
                chunks.append(chunk)
                wanted -= len(chunk)
        except OSError as error:
            reason = error.strerror or type(error).__name__
            raise InputRefused(f"cannot read {limit.what} {path}: {reason}") from None
    if wanted <= 0:
        raise _too_large(path, limit)
    return b"".join(chunks)


def read_limited_text(path: Path, limit: FileLimit) -> str:
    """`read_limited`, decoded as UTF-8 (InputRefused naming the file if it is not)."""
    return decoded(read_limited(path, limit), path, limit.what)


def decoded(data: bytes, path: Path, what: str) -> str:
    """`data` (read from `path`) as UTF-8 text, or InputRefused naming the file."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputRefused(f"{what} {path} is not UTF-8 text") from None


def require_regular_file(path: Path, what: str) -> None:
    """InputRefused unless `path` is a regular file the gateway can open for reading."""
    with _open_regular(path, what):
        pass


def describe_size(size: int) -> str:
    """A byte count as people read limits: 20 MiB, 64 KiB."""
    for unit, name in ((MIB, "MiB"), (KIB, "KiB")):
        if size >= unit and size % unit == 0:
            return f"{size // unit} {name}"
    return f"{size:,} bytes"


def _open_regular(path: Path, what: str) -> io.FileIO:
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise InputRefused(f"cannot read {what} {path}: {reason}") from None
    file = io.FileIO(descriptor, "rb", closefd=True)
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        file.close()
        raise InputRefused(f"{what} {path} is not a regular file")
    return file


def _too_large(path: Path, limit: FileLimit) -> InputRefused:
    return InputRefused(
        f"{limit.what} {path} is larger than {describe_size(limit.max_bytes)}, its limit"
    )
