"""age v1 encryption of deliveries (c2sp.org/age), X25519 recipients, both ways.

`AgeWriter` is the binary file our Parquet/CSV writers write into; `decrypt_chunks` and
`decrypt_file` read such files back (tests, the demo, a partner without the `age` tool).

Written on `cryptography` rather than binding an age library, because:
- it streams: writers push bytes in, we hold at most one 64 KiB chunk and emit ciphertext as we
  go, so a delivery of any size encrypts in flat memory without a temporary plaintext file;
- it adds no native dependency beyond `cryptography`, which the gateway already needs;
- decryption is under our control: a chunk is released only once authenticated, and
  `decrypt_file` publishes the output only after the final chunk verifies (all or nothing).
What we implement is the X25519 recipient type and the binary format only: no passphrases
(scrypt), no ASCII armor, no plugins, no post-quantum recipients. Partners decrypt with the stock
`age`, `rage` or pyrage (docs/encryption.md).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from ageformat.errors import AgeError, KeyFormatError
from ageformat.header import FILE_KEY_SIZE, encode_header, parse_header, unwrap_file_key
from ageformat.keys import X25519Identity, load_identities
from ageformat.recipients import decode_age_recipient
from ageformat.stream import (
    CHUNK_SIZE,
    NONCE_SIZE,
    StreamSealer,
    open_stream,
    payload_key,
    read_exactly,
)

Identities = str | Sequence[X25519Identity]


class AgeWriter:
    """A write-only binary file that age-encrypts what is written to it into `sink`.

    The header and payload nonce are written at construction. Written bytes are sealed one 64 KiB
    chunk at a time; a full chunk is held back until more data arrives, because only `close()`
    knows which chunk is the final one. `close()` seals the final chunk and closes the sink only
    if `close_sink` was set. Leaving a `with` block by an exception does NOT seal the final chunk:
    the partial output is then a truncated age file that every reader rejects, never a shorter
    file that decrypts cleanly.
    """

    def __init__(
        self, sink: BinaryIO, recipients: Sequence[str], *, close_sink: bool = False
    ) -> None:
        if isinstance(recipients, str) or not recipients:
            raise AgeError("key", "AgeWriter needs a list of at least one age1... recipient")
        keys = []
        for number, recipient in enumerate(recipients):
            try:
                keys.append(decode_age_recipient(recipient))
            except KeyFormatError as error:
                raise AgeError("key", f"recipient {number}: {error.rule}") from None
        self._sink = sink
        self._close_sink = close_sink
        self._buffer = bytearray()
        self._written = 0
        self._broken = False
        self.closed = False
        file_key = os.urandom(FILE_KEY_SIZE)
        nonce = os.urandom(NONCE_SIZE)
        self._sealer = StreamSealer(payload_key(file_key, nonce))
        self._emit(encode_header(file_key, keys) + nonce)

    def _emit(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            # A raw sink may accept fewer bytes than offered; buffered ones return None or all.
            count = self._sink.write(view)
            view = view[len(view) if count is None else count :]

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Encrypt `data` (buffered up to one chunk); returns its length, like a file."""
        if self.closed or self._broken:
            raise ValueError("write to a closed or failed AgeWriter")
        view = memoryview(data).cast("B")
        size = len(view)
        try:
            self._seal_all(view)
        except BaseException:
            # A chunk may be half-written: sealing a final chunk after it would be wrong.
            self._broken = True
            raise
        self._written += size
        return size

    def _seal_all(self, view: memoryview) -> None:
        while view:
            if len(self._buffer) == CHUNK_SIZE:
                # More data follows this full chunk, so it is not the final one.
                self._emit(self._sealer.seal(self._buffer, last=False))
                self._buffer.clear()
            if not self._buffer and len(view) > CHUNK_SIZE:
                # Seal straight from the caller's buffer: no copy for large writes.
                self._emit(self._sealer.seal(view[:CHUNK_SIZE], last=False))
                view = view[CHUNK_SIZE:]
                continue
            take = CHUNK_SIZE - len(self._buffer)
            self._buffer += view[:take]
            view = view[take:]

    def close(self) -> None:
        """Seal the final chunk (empty for an empty payload) and flush; idempotent. After a failed
        write this aborts instead and raises: the output must stay undecryptable."""
        if self.closed:
            return
        if self._broken:
            self.abort()
            raise AgeError("payload", "an earlier write failed; the final chunk was not written")
        self.closed = True
        try:
            self._emit(self._sealer.seal(self._buffer, last=True))
            self._buffer.clear()
            self._sink.flush()
        finally:
            if self._close_sink:
                self._sink.close()

    def abort(self) -> None:
        """Stop without sealing the final chunk: what was written stays undecryptable."""
        if self.closed:
            return
        self.closed = True
        self._buffer.clear()
        if self._close_sink:
            self._sink.close()

    def tell(self) -> int:
        """Plaintext bytes written so far (Parquet writers record offsets with this)."""
        return self._written

    def flush(self) -> None:
        """Flush the sink; a partial chunk stays buffered, since sealing it would end the stream."""
        self._sink.flush()

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False

    def __enter__(self) -> AgeWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def _as_identities(identities: Identities) -> list[X25519Identity]:
    # A string is an identity file's text; anything else is already-parsed identities.
    if isinstance(identities, str):
        return load_identities(identities)
    if not identities:
        raise AgeError("key", "no identity given to decrypt with")
    return list(identities)


def decrypt_chunks(source: BinaryIO, identities: Identities) -> Iterator[bytes]:
    """The plaintext of the age file in `source`, one chunk at a time, each only after it
    authenticates; raises AgeError (naming the stage) at the first failure, so whatever was
    yielded before an error is exactly the authenticated prefix. Consume it to the end: only
    then is the file known to be whole."""
    keys = _as_identities(identities)
    header = parse_header(source)
    file_key = unwrap_file_key(header, keys)
    nonce = read_exactly(source, NONCE_SIZE)
    if len(nonce) != NONCE_SIZE:
        raise AgeError("header", "file is truncated: payload nonce missing or short")
    yield from open_stream(source, payload_key(file_key, nonce))


def decrypt_file(
    src_path: str | os.PathLike[str],
    identities: Identities,
    out_path: str | os.PathLike[str],
    *,
    expected_sha256: str | None = None,
) -> None:
    """Decrypt `src_path` to `out_path`, all or nothing.

    Writes a temporary file (mode 0600) beside `out_path`, fsyncs it and renames it into place
    only after the final chunk authenticated — and, with `expected_sha256` (hex), only if the
    plaintext's SHA-256 is that one (AgeError of stage `payload` if not: the file decrypts, but
    to other data than the caller was promised, such as a signed manifest's `plaintext_sha256`).
    On any failure the temporary file is removed and `out_path` is left as it was. An existing
    regular file at `out_path` is replaced; anything else there (a symlink, FIFO, socket, device
    node) raises FileExistsError naming the path.
    """
    out = Path(out_path)
    _refuse_non_regular(out)
    digest = hashlib.sha256() if expected_sha256 is not None else None
    fd, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as target, open(src_path, "rb") as source:
            for chunk in decrypt_chunks(source, identities):
                target.write(chunk)
                if digest is not None:
                    digest.update(chunk)
            target.flush()
            os.fsync(target.fileno())
        if digest is not None and digest.hexdigest() != str(expected_sha256).lower():
            raise AgeError("payload", "the decrypted data's SHA-256 differs from the expected one")
        _refuse_non_regular(out)  # again: decrypting takes a while, and the name may have changed
        os.replace(temporary, out)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_directory(out.parent)


def _refuse_non_regular(out: Path) -> None:
    """Refuse an existing `out` that is not a regular file, looked at without following a symlink:
    the rename would put the plaintext in its place (as root, `--out /dev/null` would replace the
    device), where the caller meant to write into a device, a pipe or a link's target."""
    try:
        mode = os.lstat(out).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISREG(mode):
        raise FileExistsError(errno.EEXIST, "exists and is not a regular file", str(out))


def _fsync_directory(directory: Path) -> None:
    """Make a rename in `directory` durable; a filesystem that refuses to open a directory costs
    durability, not correctness. (The gateway's `exports.formats.sinks` has its own: this package
    ships to partners alone and imports nothing of the gateway's.)"""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
