"""SSHSIG (OpenSSH PROTOCOL.sshsig) over Ed25519: the signature format of manifests and agreements.

The wire format is small and fixed, so it is written here on `cryptography`'s Ed25519 (no SSH
library); ssh-keygen checks it both ways in the tests. Signatures use SHA-512 as ssh-keygen does;
SHA-256 and SHA-512 are accepted when verifying. Everything is generic over the namespace.

A partner checks a manifest against one key, the gateway's manifest key (`verify_by_key`). The
gateway checks agreements against an allowed_signers file, with principals, validity and
revocations (agreements/signing.py), on top of `check_signature` here, which proves everything
but *who* may sign. Errors are `SignatureError` with the rule broken; texts name rules and key
fingerprints, never signed content.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

MAGIC = b"SSHSIG"
VERSION = 1
KEY_TYPE = b"ssh-ed25519"
HASHES = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}
BEGIN = "-----BEGIN SSH SIGNATURE-----"
END = "-----END SSH SIGNATURE-----"
_NAMESPACE = re.compile(r"^[A-Za-z0-9@._-]{1,64}$")


class SignatureError(ValueError):
    """A signature that does not verify, or a key that does not parse; `rule` says which."""

    def __init__(self, rule: str, message: str | None = None) -> None:
        super().__init__(message or f"signature: {rule}")
        self.rule = rule


def _string(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


class _Reader:
    """Reads SSH wire strings; any short or trailing data is a malformed signature."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise SignatureError("malformed: truncated")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def string(self) -> bytes:
        return self.take(int.from_bytes(self.take(4), "big"))

    def end(self) -> None:
        if self.pos != len(self.data):
            raise SignatureError("malformed: trailing data")


def key_blob(key: Ed25519PublicKey) -> bytes:
    """The key in SSH wire form (what a signature and an authorized key line carry)."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return _string(KEY_TYPE) + _string(raw)


def key_from_blob(blob: bytes) -> Ed25519PublicKey:
    reader = _Reader(blob)
    key_type = reader.string()
    if key_type != KEY_TYPE:
        raise SignatureError("unsupported key type (only ssh-ed25519)")
    raw = reader.string()
    reader.end()
    if len(raw) != 32:
        raise SignatureError("malformed: Ed25519 key is not 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def fingerprint(key: Ed25519PublicKey | bytes) -> str:
    """`SHA256:...` as `ssh-keygen -l` prints it (key object or SSH wire blob)."""
    blob = key if isinstance(key, bytes) else key_blob(key)
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def public_key_line(key: Ed25519PublicKey | Ed25519PrivateKey, comment: str = "") -> str:
    """The OpenSSH one-line form `ssh-ed25519 AAAA... [comment]`."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    line = f"ssh-ed25519 {base64.b64encode(key_blob(public)).decode()}"
    return f"{line} {comment}" if comment else line


def parse_public_key(line: str) -> Ed25519PublicKey:
    """An Ed25519 key from `ssh-ed25519 AAAA... [comment]`; SignatureError names no key."""
    parts = line.split()
    if len(parts) < 2 or parts[0] != KEY_TYPE.decode():
        raise SignatureError("must be an OpenSSH ssh-ed25519 public key line")
    try:
        return key_from_blob(base64.b64decode(parts[1], validate=True))
    except (binascii.Error, SignatureError):
        raise SignatureError("not a valid ssh-ed25519 key") from None


def valid_namespace(namespace: str) -> bool:
    return bool(_NAMESPACE.match(namespace))


def _signed_data(namespace: str, hash_algorithm: str, data: bytes) -> bytes:
    digest = HASHES[hash_algorithm](data).digest()
    return (
        MAGIC
        + _string(namespace.encode())
        + _string(b"")
        + _string(hash_algorithm.encode())
        + _string(digest)
    )


def sign(
    data: bytes, private_key: Ed25519PrivateKey, namespace: str, hash_algorithm: str = "sha512"
) -> str:
    """An armored SSHSIG signature over `data`, as `ssh-keygen -Y sign -n NAMESPACE` makes."""
    if not valid_namespace(namespace):
        raise ValueError("namespace: 1-64 of A-Z a-z 0-9 @ . _ -")
    if hash_algorithm not in HASHES:
        raise ValueError("hash_algorithm: sha256 or sha512")
    raw = private_key.sign(_signed_data(namespace, hash_algorithm, data))
    blob = (
        MAGIC
        + VERSION.to_bytes(4, "big")
        + _string(key_blob(private_key.public_key()))
        + _string(namespace.encode())
        + _string(b"")
        + _string(hash_algorithm.encode())
        + _string(_string(KEY_TYPE) + _string(raw))
    )
    encoded = base64.b64encode(blob).decode()
    lines = [encoded[i : i + 70] for i in range(0, len(encoded), 70)]  # ssh-keygen wraps at 70
    return "\n".join([BEGIN, *lines, END]) + "\n"


@dataclass(frozen=True)
class ParsedSignature:
    key_blob: bytes
    namespace: str
    hash_algorithm: str
    signature: bytes

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.key_blob)


def parse_signature(armored: str) -> ParsedSignature:
    text = armored.strip()
    if not (text.startswith(BEGIN) and text.endswith(END)):
        raise SignatureError("malformed: not an armored SSH signature")
    body = "".join(text[len(BEGIN) : -len(END)].split())
    try:
        blob = base64.b64decode(body, validate=True)
    except binascii.Error:
        raise SignatureError("malformed: bad base64") from None
    reader = _Reader(blob)
    if reader.take(6) != MAGIC:
        raise SignatureError("malformed: missing SSHSIG preamble")
    if int.from_bytes(reader.take(4), "big") != VERSION:
        raise SignatureError("unsupported signature version")
    signer = reader.string()
    namespace = reader.string()
    reader.string()  # reserved
    hash_algorithm = reader.string()
    sig_blob = reader.string()
    reader.end()
    sig_reader = _Reader(sig_blob)
    if sig_reader.string() != KEY_TYPE:
        raise SignatureError("unsupported signature type (only ssh-ed25519)")
    raw = sig_reader.string()
    sig_reader.end()
    try:
        return ParsedSignature(signer, namespace.decode(), hash_algorithm.decode(), raw)
    except UnicodeDecodeError:
        raise SignatureError("malformed: namespace or hash name not UTF-8") from None


def check_signature(data: bytes, armored: str, namespace: str) -> ParsedSignature:
    """The signature, once it is well-formed, made in `namespace` and valid over `data` by the
    key it names; SignatureError otherwise. Who that key belongs to is the caller's question."""
    parsed = parse_signature(armored)
    if parsed.namespace != namespace:
        raise SignatureError("namespace mismatch")
    if parsed.hash_algorithm not in HASHES:
        raise SignatureError("unsupported hash algorithm (sha256 or sha512)")
    key = key_from_blob(parsed.key_blob)
    try:
        key.verify(parsed.signature, _signed_data(namespace, parsed.hash_algorithm, data))
    except InvalidSignature:
        raise SignatureError("signature does not match the signed bytes") from None
    return parsed


def verify_by_key(data: bytes, armored: str, namespace: str, key: Ed25519PublicKey) -> None:
    """Check `armored` over `data` in `namespace`, made by exactly `key`; SignatureError if not
    (as `ssh-keygen -Y verify` with an allowed_signers file of that one key)."""
    parsed = check_signature(data, armored, namespace)
    if parsed.key_blob != key_blob(key):
        raise SignatureError("signing key is not an allowed signer")
