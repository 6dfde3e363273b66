"""The C2SP/CCTV age test vectors (../shared/testvectors/age) through our decryption, one test
per vector file, with the outcome class and the released plaintext checked as the README asks.

Skipped by name, each saying why: `scrypt*` (we offer no passphrase encryption), `armor*` (we
write and read only the binary format) and `hybrid*` (post-quantum recipients, not offered).
A missing vector directory fails, never skips.
"""

from __future__ import annotations

import hashlib
import io
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from ageformat import AgeError, decrypt_chunks, generate_identity, load_identities
from ageformat.header import encode_stanza, parse_header
from ageformat.stream import CHUNK_SIZE, NONCE_SIZE, StreamSealer, payload_key

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "testvectors" / "age"
SKIPPED = {
    "scrypt": "scrypt (passphrase) recipients are not offered: deliveries go to partner keys only",
    "armor": "ASCII armor is not offered: deliveries are binary .age files",
    "hybrid": "post-quantum (mlkem768x25519) recipients are not offered yet",
}
# The README's outcome classes, mapped to AgeError.stage (None: no error).
STAGES = {
    "success": None,
    "no match": "no match",
    "HMAC failure": "mac",
    "header failure": "header",
    "payload failure": "payload",
}


@dataclass
class Vector:
    fields: dict[str, list[str]]
    age_file: bytes

    def one(self, key: str) -> str:
        (value,) = self.fields[key]
        return value


def read_vector(path: Path) -> Vector:
    head, _, body = path.read_bytes().partition(b"\n\n")
    fields: dict[str, list[str]] = {}
    for line in head.decode("utf-8").splitlines():
        key, _, value = line.partition(": ")
        fields.setdefault(key, []).append(value)
    if fields.get("compressed") == ["zlib"]:
        body = zlib.decompress(body)
    return Vector(fields, body)


def vector_names() -> list[str]:
    if not VECTORS.is_dir():
        return ["<vector directory missing>"]  # one test that fails, rather than none
    return sorted(p.name for p in VECTORS.iterdir() if p.name not in ("README.md", "SOURCE"))


def run(vector: Vector) -> tuple[bytes, AgeError | None]:
    """Everything `decrypt_chunks` released, and the error that stopped it (if any)."""
    released = bytearray()
    # A vector without an identity (the empty file) fails before one is needed; any key will do.
    lines = vector.fields.get("identity") or [generate_identity()[0]]
    identities = load_identities("\n".join(lines))
    try:
        for chunk in decrypt_chunks(io.BytesIO(vector.age_file), identities):
            released += chunk
    except AgeError as error:
        return bytes(released), error
    return bytes(released), None


def test_the_vector_directory_is_there() -> None:
    assert VECTORS.is_dir(), f"age test vectors missing at {VECTORS}"
    assert len(vector_names()) > 100


@pytest.mark.parametrize("name", vector_names())
def test_vector(name: str) -> None:
    assert VECTORS.is_dir(), f"age test vectors missing at {VECTORS}"
    for prefix, reason in SKIPPED.items():
        if name.startswith(prefix):
            pytest.skip(reason)
    vector = read_vector(VECTORS / name)
    # What is left must be binary X25519 files, or the skips above are hiding something.
    assert "passphrase" not in vector.fields and "armored" not in vector.fields
    expect = vector.one("expect")
    released, error = run(vector)
    wanted = STAGES[expect]
    if wanted is None:
        assert error is None, f"{name}: {error}"
    else:
        assert error is not None, f"{name}: decrypted, but expected {expect}"
        assert error.stage == wanted, f"{name}: {error.stage} ({error}), expected {expect}"
    if "payload" in vector.fields:
        # For a payload failure this is the authenticated prefix released before the error.
        assert hashlib.sha256(released).hexdigest() == vector.one("payload")
    else:
        assert released == b""


def success_vectors() -> list[str]:
    if not VECTORS.is_dir():
        return ["<vector directory missing>"]
    names = [n for n in vector_names() if not n.startswith(tuple(SKIPPED))]
    return [n for n in names if read_vector(VECTORS / n).one("expect") == "success"]


@pytest.mark.parametrize("name", success_vectors())
def test_encoding_reproduces_the_vector(name: str) -> None:
    """Our encoders give the vector's bytes back: the stanzas re-encode to the header the MAC
    covers, and sealing the plaintext under the vector's file key and nonce gives its payload."""
    assert VECTORS.is_dir(), f"age test vectors missing at {VECTORS}"
    vector = read_vector(VECTORS / name)
    source = io.BytesIO(vector.age_file)
    header = parse_header(source)
    stanzas = b"".join(encode_stanza(s) for s in header.stanzas)
    assert header.mac_input == b"age-encryption.org/v1\n" + stanzas + b"---"

    nonce = source.read(NONCE_SIZE)
    payload = source.read()
    plaintext, error = run(vector)
    assert error is None
    sealer = StreamSealer(payload_key(bytes.fromhex(vector.one("file key")), nonce))
    chunks = [plaintext[i : i + CHUNK_SIZE] for i in range(0, len(plaintext), CHUNK_SIZE)] or [b""]
    sealed = b"".join(sealer.seal(c, last=i == len(chunks) - 1) for i, c in enumerate(chunks))
    assert sealed == payload
