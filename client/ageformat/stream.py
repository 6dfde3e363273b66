"""age v1 payload: the STREAM construction over ChaCha20-Poly1305 in 64 KiB chunks, both ways.

Each chunk's 12-byte nonce is an 11-byte big-endian counter and a flag byte, 0x01 only on the
final chunk, so dropping, reordering or truncating chunks fails authentication. Decryption
releases a chunk only after its tag verifies, and a stream that ends without an authenticated
final chunk is an error: a consumer never mistakes a cut-off file for a whole one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from ageformat.errors import AgeError
from ageformat.header import hkdf_sha256

CHUNK_SIZE = 64 * 1024
TAG_SIZE = 16
NONCE_SIZE = 16
_MAX_CHUNKS = 1 << 88


def payload_key(file_key: bytes, nonce: bytes) -> bytes:
    """The ChaCha20-Poly1305 key of the payload, derived from the file key and the file nonce."""
    return hkdf_sha256(file_key, nonce, b"payload")


def chunk_nonce(counter: int, last: bool) -> bytes:
    """The AEAD nonce of chunk `counter`: 11-byte big-endian counter, then the last-chunk flag."""
    if counter >= _MAX_CHUNKS:
        raise AgeError("payload", "payload has more chunks than the STREAM counter allows")
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


class StreamSealer:
    """Encrypts a payload's chunks in order; the caller decides which chunk is the last."""

    def __init__(self, key: bytes) -> None:
        self._aead = ChaCha20Poly1305(key)
        self._counter = 0
        self._finished = False

    def seal(self, chunk: bytes | bytearray | memoryview, last: bool) -> bytes:
        """The ciphertext of the next chunk (a full chunk unless last; last may be empty only if
        it is the only chunk)."""
        if self._finished:
            raise AgeError("payload", "the final chunk has already been written")
        if not last and len(chunk) != CHUNK_SIZE:
            raise AgeError("payload", "only the final chunk may be shorter than 64 KiB")
        if last and not chunk and self._counter:
            raise AgeError("payload", "the final chunk may be empty only in an empty payload")
        sealed = self._aead.encrypt(chunk_nonce(self._counter, last), chunk, None)
        self._counter += 1
        self._finished = last
        return sealed


def read_exactly(source: BinaryIO, size: int) -> bytes:
    """Up to `size` bytes, fewer only at end of file (a pipe or socket may return short reads)."""
    data = source.read(size)
    if len(data) == size or not data:
        return data
    parts = [data]
    remaining = size - len(data)
    while remaining:
        more = source.read(remaining)
        if not more:
            break
        parts.append(more)
        remaining -= len(more)
    return b"".join(parts)


def open_stream(source: BinaryIO, key: bytes) -> Iterator[bytes]:
    """Plaintext chunks of the STREAM payload read from `source`, each after it authenticates.

    A full-size chunk is tried as a middle chunk, then as a full-size final chunk, as the
    reference implementation does. The final chunk is released once authenticated, then any
    bytes after it are an error: the authenticated prefix is exactly what the caller has seen.
    """
    aead = ChaCha20Poly1305(key)
    counter = 0
    while True:
        sealed = read_exactly(source, CHUNK_SIZE + TAG_SIZE)
        if not sealed:
            raise AgeError(
                "payload", f"file is truncated: chunk {counter} missing, no final chunk seen"
            )
        last = len(sealed) < CHUNK_SIZE + TAG_SIZE
        if len(sealed) < TAG_SIZE:
            raise AgeError("payload", f"file is truncated: chunk {counter} is shorter than a tag")
        if last and len(sealed) == TAG_SIZE and counter:
            raise AgeError("payload", f"chunk {counter} is an empty final chunk after data")
        try:
            plaintext = aead.decrypt(chunk_nonce(counter, last), sealed, None)
        except InvalidTag:
            plaintext = None
        if plaintext is None and not last:
            last = True
            try:
                plaintext = aead.decrypt(chunk_nonce(counter, last), sealed, None)
            except InvalidTag:
                plaintext = None
        if plaintext is None:
            raise AgeError(
                "payload", f"chunk {counter} failed to authenticate (altered or cut short)"
            )
        yield plaintext
        if last:
            if source.read(1):
                raise AgeError("payload", f"trailing data after the final chunk ({counter})")
            return
        counter += 1
