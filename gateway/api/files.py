"""Serving a delivery's encrypted file: streamed from disk in fixed chunks, never held whole, with
the validators and ranges that let a partner resume a long download.

- `ETag`: strong, the ciphertext's SHA-256 from the signed manifest (`"<64 hex>"`).
- `Repr-Digest: sha-256=:<base64>:` (RFC 9530), the same hash of the whole file, in a 206 too:
  it describes the representation, which the partner checks once the parts are joined.
- `Range` (RFC 9110 §14): one `bytes=` range (`a-b`, `a-`, `-n`) gets 206 with `Content-Range`;
  several ranges, a malformed one or one that starts beyond the end get 416 with
  `Content-Range: bytes */<size>`; a unit other than bytes is ignored (200, the whole file).
- `If-Range`: the range is honoured only if it names this ETag (strong comparison); anything
  else, a date included, gets the whole file.
- `If-None-Match` naming this ETag (or `*`): 304.

What was served is counted as the chunks are handed to the server; the caller learns the count
when the server closes the response (a finished download, or a partner that went away).
"""

from __future__ import annotations

import base64
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from flask import Response

CHUNK = 256 * 1024
_DIGITS = 19  # a range bound of more digits lies beyond any file


class Unsatisfiable(Exception):
    """A Range header this server answers with 416."""


class FileChanged(Exception):
    """The file on disk is not the one its manifest describes (its size differs)."""


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1


@dataclass
class Served:
    """Bytes handed to the server so far, and what the response promised."""

    expected: int
    status: int
    byte_range: ByteRange | None
    bytes: int = 0

    @property
    def complete(self) -> bool:
        return self.bytes == self.expected


def etag_of(sha256_hex: str) -> str:
    return f'"{sha256_hex}"'


def repr_digest(sha256_hex: str) -> str:
    return "sha-256=:" + base64.b64encode(bytes.fromhex(sha256_hex)).decode("ascii") + ":"


def none_match(header: str | None, etag: str) -> bool:
    """Whether If-None-Match names this ETag (weak comparison, as RFC 9110 says for it)."""
    if header is None:
        return False
    tags = [tag.strip() for tag in header.split(",")]
    return "*" in tags or any(tag.removeprefix("W/") == etag for tag in tags)


def requested_range(
    range_header: str | None, if_range: str | None, etag: str, size: int
) -> ByteRange | None:
    """The one range to serve, None for the whole file, or Unsatisfiable (see the docstring)."""
    if range_header is None:
        return None
    if if_range is not None and if_range.strip() != etag:
        return None  # the partner's copy is of another file (or a date): start again
    unit, equals, spec = range_header.partition("=")
    if not equals or unit.strip().lower() != "bytes":
        return None
    ranges = [part.strip() for part in spec.split(",") if part.strip()]
    if len(ranges) != 1:
        raise Unsatisfiable("one range of bytes, not several")
    first, dash, last = ranges[0].partition("-")
    first, last = first.strip(), last.strip()
    if not dash or not all(_bound(text) for text in (first, last)) or not (first or last):
        raise Unsatisfiable("malformed range")
    if not first:  # the last n bytes
        count = int(last)
        if count == 0 or size == 0:
            raise Unsatisfiable("an empty range")
        return ByteRange(max(0, size - count), size - 1)
    start = int(first)
    end = size - 1 if not last else int(last)
    if start >= size or end < start:
        raise Unsatisfiable("the range starts beyond the end")
    return ByteRange(start, min(end, size - 1))


def _bound(text: str) -> bool:
    return text == "" or (text.isascii() and text.isdigit() and len(text) <= _DIGITS)


def open_delivery_file(path: Path, size: int) -> IO[bytes]:
    """The file opened for reading (not through a symbolic link), or FileChanged if it is not a
    regular file of the size its manifest states; FileNotFoundError if it is gone."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    file = os.fdopen(descriptor, "rb", buffering=0)
    info = os.fstat(descriptor)
    if not stat.S_ISREG(info.st_mode) or info.st_size != size:
        file.close()
        raise FileChanged(f"{path.name} is not the file its manifest describes")
    return file


def file_response(
    file: IO[bytes],
    *,
    size: int,
    sha256_hex: str,
    name: str,
    byte_range: ByteRange | None,
    on_close: Callable[[Served], None],
) -> Response:
    """The 200 or 206 response streaming `file` (which it closes); `on_close` gets the count."""
    start, length = (0, size) if byte_range is None else (byte_range.start, byte_range.length)
    status = 200 if byte_range is None else 206
    served = Served(expected=length, status=status, byte_range=byte_range)
    response = Response(
        FileStream(file, start, served, on_close),
        status=status,
        mimetype="application/octet-stream",
        direct_passthrough=True,
    )
    response.headers["Content-Length"] = str(length)
    response.headers["Accept-Ranges"] = "bytes"
    response.headers["ETag"] = etag_of(sha256_hex)
    response.headers["Repr-Digest"] = repr_digest(sha256_hex)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    if byte_range is not None:
        response.headers["Content-Range"] = f"bytes {byte_range.start}-{byte_range.end}/{size}"
    return response


class FileStream:
    """The WSGI body: `served.expected` bytes of `file` from `start`, in chunks of CHUNK bytes.

    The server calls `close()` when the response ends — sent, abandoned by the partner, or never
    read (HEAD) — and that closes the file and reports the count, once. (Werkzeug hands a
    direct-passthrough body to the server as it is, so the close must be the body's own.)
    """

    def __init__(
        self, file: IO[bytes], start: int, served: Served, on_close: Callable[[Served], None]
    ) -> None:
        self._file = file
        self._position = start
        self._served = served
        self._on_close: Callable[[Served], None] | None = on_close

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        remaining = self._served.expected - self._served.bytes
        if remaining <= 0 or self._file.closed:
            raise StopIteration
        chunk = os.pread(self._file.fileno(), min(CHUNK, remaining), self._position)
        if not chunk:
            raise StopIteration  # the file shrank under us: the response ends short
        self._position += len(chunk)
        self._served.bytes += len(chunk)
        return chunk

    def close(self) -> None:
        self._file.close()
        report, self._on_close = self._on_close, None
        if report is not None:
            report(self._served)
