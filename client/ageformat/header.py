"""age v1 header: X25519 stanzas, the header text and its MAC, both ways (c2sp.org/age).

Encrypting builds one `-> X25519` stanza per recipient around a fresh file key and MACs the
header. Decrypting parses the header strictly, as the spec requires (LF only, canonical unpadded
base64, bodies wrapped at 64 columns ending in a short line), finds the file key with one of the
identities and checks the MAC. Parsing is strict because a lenient parser is how two readers
come to disagree about one file; the age test vectors hold us to it.

Stanzas of other types (scrypt, post-quantum, plugins, "grease") are carried and ignored, as the
spec asks of an X25519 identity; we never produce them.
"""

from __future__ import annotations

import base64
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from hashlib import sha256
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ageformat.errors import AgeError
from ageformat.keys import X25519Identity
from ageformat.recipients import x25519_shared_secret

VERSION_LINE = b"age-encryption.org/v1"
FILE_KEY_SIZE = 16
X25519_INFO = b"age-encryption.org/v1/X25519"
_BODY_COLUMNS = 64
_ZERO_NONCE = bytes(12)
# Far above any real header (a post-quantum stanza line is ~1.5 KB) yet bounded, so a hostile
# file cannot make us buffer an endless "line".
_MAX_LINE = 64 * 1024
_MAX_HEADER = 1024 * 1024
_BASE64 = re.compile(rb"[A-Za-z0-9+/]*")


@dataclass(frozen=True)
class Stanza:
    """One recipient stanza: its arguments (the first names the type) and its decoded body."""

    args: tuple[str, ...]
    body: bytes


@dataclass(frozen=True)
class Header:
    """A parsed header: the stanzas, the bytes its MAC covers (through `---`) and the MAC."""

    stanzas: tuple[Stanza, ...]
    mac_input: bytes
    mac: bytes


def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    """HKDF-SHA-256 to 32 bytes, the one derivation age uses everywhere."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


def b64encode(data: bytes) -> bytes:
    """Unpadded standard base64, the only encoding the header uses."""
    return base64.b64encode(data).rstrip(b"=")


def b64decode(text: bytes, what: str) -> bytes:
    """Canonical unpadded base64 or an AgeError: padding and stray low bits are rejected, so
    one value has one spelling in a header."""
    if not _BASE64.fullmatch(text) or len(text) % 4 == 1:
        raise AgeError("header", f"{what} is not unpadded base64")
    data = base64.b64decode(text + b"=" * (-len(text) % 4))
    if b64encode(data) != text:
        raise AgeError("header", f"{what} is not canonical base64")
    return data


def _header_mac(file_key: bytes, mac_input: bytes) -> bytes:
    key = hkdf_sha256(file_key, b"", b"header")
    return hmac.new(key, mac_input, sha256).digest()


def encode_stanza(stanza: Stanza) -> bytes:
    """A stanza as header text: the `->` line, then the body wrapped at 64 columns."""
    body = b64encode(stanza.body)
    lines = [body[i : i + _BODY_COLUMNS] for i in range(0, len(body), _BODY_COLUMNS)]
    if not lines or len(lines[-1]) == _BODY_COLUMNS:
        lines.append(b"")  # a stanza always ends with a short line, empty if need be
    args = " ".join(stanza.args).encode("ascii")
    return b"-> " + args + b"\n" + b"".join(line + b"\n" for line in lines)


def wrap_x25519(file_key: bytes, recipient: bytes) -> Stanza:
    """The `-> X25519` stanza wrapping `file_key` for one 32-byte recipient key."""
    ephemeral = X25519PrivateKey.generate()
    share = ephemeral.public_key().public_bytes_raw()
    shared = x25519_shared_secret(ephemeral, recipient)
    if shared is None:  # decode_age_recipient refuses such keys; this holds for any caller
        raise AgeError("key", "recipient key is a low-order X25519 point")
    wrap_key = hkdf_sha256(shared, share + recipient, X25519_INFO)
    body = ChaCha20Poly1305(wrap_key).encrypt(_ZERO_NONCE, file_key, None)
    return Stanza(("X25519", b64encode(share).decode("ascii")), body)


def encode_header(file_key: bytes, recipients: Sequence[bytes]) -> bytes:
    """The whole header, MAC line included, for these 32-byte recipient keys."""
    stanzas = b"".join(encode_stanza(wrap_x25519(file_key, r)) for r in recipients)
    mac_input = VERSION_LINE + b"\n" + stanzas + b"---"
    return mac_input + b" " + b64encode(_header_mac(file_key, mac_input)) + b"\n"


class _Lines:
    """Header lines from a binary source, keeping every byte read for the MAC."""

    def __init__(self, source: BinaryIO) -> None:
        self._source = source
        self.consumed = bytearray()

    def next(self) -> bytes:
        raw = self._source.readline(_MAX_LINE + 1)
        if len(raw) > _MAX_LINE:
            raise AgeError("header", "header line is too long")
        if not raw and not self.consumed:
            raise AgeError("header", "not an age file (it is empty)")
        if not raw.endswith(b"\n"):
            raise AgeError("header", "header is truncated (no MAC line)")
        self.consumed += raw
        if len(self.consumed) > _MAX_HEADER:
            raise AgeError("header", "header is too long")
        line = raw[:-1]
        if line.endswith(b"\r"):
            raise AgeError("header", "header lines must end with LF, not CRLF")
        return line


def _parse_arguments(line: bytes, number: int) -> tuple[str, ...]:
    args = line[3:].split(b" ")
    for arg in args:
        if not arg or any(c < 0x21 or c > 0x7E for c in arg):
            raise AgeError("header", f"stanza {number}: empty argument or non-printable character")
    return tuple(arg.decode("ascii") for arg in args)


def _parse_body(lines: _Lines, number: int) -> bytes:
    parts = []
    while True:
        line = lines.next()
        if len(line) > _BODY_COLUMNS:
            raise AgeError("header", f"stanza {number}: body line longer than 64 columns")
        parts.append(line)
        if len(line) < _BODY_COLUMNS:
            return b64decode(b"".join(parts), f"stanza {number} body")


def parse_header(source: BinaryIO) -> Header:
    """Read exactly the header from `source` (stopping after the MAC line) and parse it."""
    lines = _Lines(source)
    first = lines.next()
    if first != VERSION_LINE:
        if first.startswith(b"age-encryption.org/"):
            raise AgeError("header", "unsupported age version (only v1 is known)")
        raise AgeError("header", "not an age file (no age-encryption.org/v1 line)")
    stanzas: list[Stanza] = []
    line = lines.next()
    while line.startswith(b"-> "):
        args = _parse_arguments(line, len(stanzas))
        stanzas.append(Stanza(args, _parse_body(lines, len(stanzas))))
        line = lines.next()
    if not line.startswith(b"---"):
        raise AgeError("header", "expected a stanza (->) or the MAC line (---)")
    if not stanzas:
        raise AgeError("header", "header has no recipient stanza")
    if not line.startswith(b"--- "):
        raise AgeError("header", "MAC line must be '--- ' followed by the MAC")
    mac = b64decode(line[4:], "header MAC")
    if len(mac) != 32:
        raise AgeError("header", "header MAC is not 32 bytes")
    mac_input = bytes(lines.consumed[: -len(line) - 1]) + b"---"
    return Header(tuple(stanzas), mac_input, mac)


def _x25519_parts(stanza: Stanza, number: int) -> tuple[bytes, bytes]:
    if len(stanza.args) != 2:
        raise AgeError("header", f"stanza {number}: an X25519 stanza has exactly one argument")
    share = b64decode(stanza.args[1].encode("ascii"), f"stanza {number} X25519 share")
    if len(share) != 32:
        raise AgeError("header", f"stanza {number}: X25519 share is not 32 bytes")
    # Checked before any decryption, as the spec asks (partitioning-oracle defence).
    if len(stanza.body) != FILE_KEY_SIZE + 16:
        raise AgeError("header", f"stanza {number}: X25519 body is not a wrapped 16-byte key")
    return share, stanza.body


def _unwrap(share: bytes, body: bytes, identity: X25519Identity, number: int) -> bytes | None:
    shared = x25519_shared_secret(identity.private_key, share)
    if shared is None:  # the spec says abort rather than try the next stanza
        raise AgeError("header", f"stanza {number}: X25519 share is a low-order point")
    wrap_key = hkdf_sha256(shared, share + identity.recipient, X25519_INFO)
    try:
        return ChaCha20Poly1305(wrap_key).decrypt(_ZERO_NONCE, body, None)
    except InvalidTag:
        return None  # a stanza for someone else


def unwrap_file_key(header: Header, identities: Sequence[X25519Identity]) -> bytes:
    """The file key from the first stanza an identity opens, after checking the header MAC."""
    x25519 = [
        (number, *_x25519_parts(stanza, number))
        for number, stanza in enumerate(header.stanzas)
        if stanza.args[0] == "X25519"
    ]
    for identity in identities:
        for number, share, body in x25519:
            file_key = _unwrap(share, body, identity, number)
            if file_key is not None:
                if not hmac.compare_digest(_header_mac(file_key, header.mac_input), header.mac):
                    raise AgeError("mac", "header MAC does not match (the header was altered)")
                return file_key
    raise AgeError("no match", "no identity matches a recipient stanza in the header")
