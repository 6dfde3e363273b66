"""SSHSIG (OpenSSH PROTOCOL.sshsig) signatures over Ed25519, and OpenSSH's allowed_signers format.

The Kepala Dinas signs on their own computer with `ssh-keygen -Y sign -n pks-agreement`, so the
gateway only ever verifies; `sign` exists for the demo and for manifests the gateway signs itself
(namespace `pks-manifest`). Everything is generic over the namespace. The wire format is small and
fixed, so it is written here on `cryptography`'s Ed25519 (no SSH library is locked); ssh-keygen
checks it both ways in the tests. Signatures use SHA-512 as ssh-keygen does; SHA-256 and SHA-512
are accepted when verifying.

The allowed_signers format (ssh-keygen(1), "ALLOWED SIGNERS") is parsed and written so the signer
list stays usable with `ssh-keygen -Y verify -f`: principals (comma-separated patterns), options
(`namespaces`, `valid-after`, `valid-before`, `cert-authority`), key, comment. Times without a
trailing `Z` are read as UTC (ssh-keygen reads them in the machine's local time); `dumps` always
writes the `Z`, so both read the same instant. Certificates are not supported: `cert-authority`
lines are kept but match no plain key, as in ssh-keygen.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from agreements.errors import BadSignature, Invalid

__all__ = [
    "AllowedSigner",
    "AllowedSigners",
    "VerifiedSignature",
    "fingerprint",
    "load_private_key",
    "parse_public_key",
    "public_key_line",
    "sign",
    "verify",
]

_MAGIC = b"SSHSIG"
_VERSION = 1
_KEY_TYPE = b"ssh-ed25519"
_HASHES = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}
_BEGIN = "-----BEGIN SSH SIGNATURE-----"
_END = "-----END SSH SIGNATURE-----"
_NAMESPACE = re.compile(r"^[A-Za-z0-9@._-]{1,64}$")


def _string(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


class _Reader:
    """Reads SSH wire strings; any short or trailing data is a malformed signature."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise BadSignature("malformed: truncated")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def string(self) -> bytes:
        return self.take(int.from_bytes(self.take(4), "big"))

    def end(self) -> None:
        if self.pos != len(self.data):
            raise BadSignature("malformed: trailing data")


def _key_blob(key: Ed25519PublicKey) -> bytes:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return _string(_KEY_TYPE) + _string(raw)


def _key_from_blob(blob: bytes) -> Ed25519PublicKey:
    reader = _Reader(blob)
    key_type = reader.string()
    if key_type != _KEY_TYPE:
        raise BadSignature("unsupported key type (only ssh-ed25519)")
    raw = reader.string()
    reader.end()
    if len(raw) != 32:
        raise BadSignature("malformed: Ed25519 key is not 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def fingerprint(key: Ed25519PublicKey | bytes) -> str:
    """`SHA256:...` as `ssh-keygen -l` prints it (key object or SSH wire blob)."""
    blob = key if isinstance(key, bytes) else _key_blob(key)
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def public_key_line(key: Ed25519PublicKey | Ed25519PrivateKey, comment: str = "") -> str:
    """The OpenSSH one-line form `ssh-ed25519 AAAA... [comment]`."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    line = f"ssh-ed25519 {base64.b64encode(_key_blob(public)).decode()}"
    return f"{line} {comment}" if comment else line


def parse_public_key(line: str) -> Ed25519PublicKey:
    """An Ed25519 key from `ssh-ed25519 AAAA... [comment]`; Invalid names the field, not the key."""
    parts = line.split()
    if len(parts) < 2 or parts[0] != _KEY_TYPE.decode():
        raise Invalid("public_key", "must be an OpenSSH ssh-ed25519 public key line")
    try:
        blob = base64.b64decode(parts[1], validate=True)
        return _key_from_blob(blob)
    except (binascii.Error, BadSignature):
        raise Invalid("public_key", "not a valid ssh-ed25519 key") from None


def load_private_key(data: bytes, password: bytes | None = None) -> Ed25519PrivateKey:
    """An Ed25519 private key from an OpenSSH (or PEM) private key file's bytes."""
    try:
        if data.lstrip().startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----"):
            key = serialization.load_ssh_private_key(data, password)
        else:
            key = serialization.load_pem_private_key(data, password)  # type: ignore[assignment]
    except (ValueError, TypeError):
        raise Invalid("private_key", "not a readable private key (or wrong passphrase)") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise Invalid("private_key", "must be an Ed25519 key")
    return key


def _signed_data(namespace: str, hash_algorithm: str, data: bytes) -> bytes:
    digest = _HASHES[hash_algorithm](data).digest()
    return (
        _MAGIC
        + _string(namespace.encode())
        + _string(b"")
        + _string(hash_algorithm.encode())
        + _string(digest)
    )


def _check_namespace(namespace: str) -> None:
    if not _NAMESPACE.match(namespace):
        raise Invalid("namespace", "1-64 of A-Z a-z 0-9 @ . _ -")


def sign(
    data: bytes, private_key: Ed25519PrivateKey, namespace: str, hash_algorithm: str = "sha512"
) -> str:
    """An armored SSHSIG signature over `data`, as `ssh-keygen -Y sign -n NAMESPACE` makes."""
    _check_namespace(namespace)
    if hash_algorithm not in _HASHES:
        raise Invalid("hash_algorithm", "sha256 or sha512")
    raw = private_key.sign(_signed_data(namespace, hash_algorithm, data))
    blob = (
        _MAGIC
        + _VERSION.to_bytes(4, "big")
        + _string(_key_blob(private_key.public_key()))
        + _string(namespace.encode())
        + _string(b"")
        + _string(hash_algorithm.encode())
        + _string(_string(_KEY_TYPE) + _string(raw))
    )
    encoded = base64.b64encode(blob).decode()
    lines = [encoded[i : i + 70] for i in range(0, len(encoded), 70)]  # ssh-keygen wraps at 70
    return "\n".join([_BEGIN, *lines, _END]) + "\n"


@dataclass(frozen=True)
class _Parsed:
    key_blob: bytes
    namespace: str
    hash_algorithm: str
    signature: bytes


def _parse(armored: str) -> _Parsed:
    text = armored.strip()
    if not (text.startswith(_BEGIN) and text.endswith(_END)):
        raise BadSignature("malformed: not an armored SSH signature")
    body = "".join(text[len(_BEGIN) : -len(_END)].split())
    try:
        blob = base64.b64decode(body, validate=True)
    except binascii.Error:
        raise BadSignature("malformed: bad base64") from None
    reader = _Reader(blob)
    if reader.take(6) != _MAGIC:
        raise BadSignature("malformed: missing SSHSIG preamble")
    if int.from_bytes(reader.take(4), "big") != _VERSION:
        raise BadSignature("unsupported signature version")
    key_blob = reader.string()
    namespace = reader.string()
    reader.string()  # reserved
    hash_algorithm = reader.string()
    sig_blob = reader.string()
    reader.end()
    sig_reader = _Reader(sig_blob)
    if sig_reader.string() != _KEY_TYPE:
        raise BadSignature("unsupported signature type (only ssh-ed25519)")
    raw = sig_reader.string()
    sig_reader.end()
    try:
        return _Parsed(key_blob, namespace.decode(), hash_algorithm.decode(), raw)
    except UnicodeDecodeError:
        raise BadSignature("malformed: namespace or hash name not UTF-8") from None


def _pattern_match(patterns: Iterable[str], value: str) -> bool:
    # OpenSSH's match_pattern_list: `*` and `?` wildcards, `!` negates and wins. fnmatch also knows
    # `[...]`, which OpenSSH does not, so brackets are escaped first.
    matched = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        glob = pattern[1:] if negated else pattern
        if fnmatch.fnmatchcase(value, glob.replace("[", "[[]")):
            if negated:
                return False
            matched = True
    return matched


_TIME = re.compile(r"^(\d{8})(\d{4}(\d{2})?)?(Z?)$")


def _parse_time(value: str, field: str) -> datetime:
    found = _TIME.match(value)
    if not found:
        raise Invalid(field, "a time as YYYYMMDD[HHMM[SS]][Z]")
    digits = found.group(1) + (found.group(2) or "0000").ljust(6, "0")
    try:
        return datetime.strptime(digits, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        raise Invalid(field, "not a calendar date and time") from None


def _format_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%d%H%M%SZ")


@dataclass(frozen=True)
class AllowedSigner:
    """One allowed_signers line. `namespaces` None means any namespace."""

    principals: tuple[str, ...]
    key_type: str
    key_base64: str
    namespaces: tuple[str, ...] | None = None
    valid_after: datetime | None = None
    valid_before: datetime | None = None
    cert_authority: bool = False
    comment: str = ""

    @classmethod
    def for_key(
        cls, principal: str, key: Ed25519PublicKey, namespaces: Iterable[str] | None = None
    ) -> AllowedSigner:
        blob = base64.b64encode(_key_blob(key)).decode()
        spaces = None if namespaces is None else tuple(namespaces)
        return cls((principal,), _KEY_TYPE.decode(), blob, spaces)

    @property
    def key_blob(self) -> bytes:
        return base64.b64decode(self.key_base64)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.key_blob)

    def line(self) -> str:
        options = ["cert-authority"] if self.cert_authority else []
        if self.namespaces is not None:
            options.append(f'namespaces="{",".join(self.namespaces)}"')
        if self.valid_after is not None:
            options.append(f'valid-after="{_format_time(self.valid_after)}"')
        if self.valid_before is not None:
            options.append(f'valid-before="{_format_time(self.valid_before)}"')
        fields = [",".join(self.principals), ",".join(options), self.key_type, self.key_base64]
        return " ".join(f for f in [*fields, self.comment] if f)


_OPTION = re.compile(r'([A-Za-z-]+)(?:="((?:[^"\\]|\\.)*)")?(?:,|$)')


def _parse_options(text: str, field: str) -> dict[str, str | None]:
    options: dict[str, str | None] = {}
    pos = 0
    while pos < len(text):
        found = _OPTION.match(text, pos)
        if not found or found.end() == pos:
            raise Invalid(field, 'options must be name or name="value", comma-separated')
        options[found.group(1).lower()] = found.group(2)
        pos = found.end()
    return options


def _parse_line(line: str, field: str) -> AllowedSigner:
    principals, _, rest = line.partition(" ")
    rest = rest.strip()
    options: dict[str, str | None] = {}
    if not rest.startswith(("ssh-", "ecdsa-", "sk-")):
        # The options field is one token, but a quoted value may hold spaces.
        end, quoted = 0, False
        while end < len(rest) and (quoted or not rest[end].isspace()):
            quoted ^= rest[end] == '"'
            end += 1
        options = _parse_options(rest[:end], field)
        rest = rest[end:].strip()
    parts = rest.split(None, 2)
    if not principals or len(parts) < 2:
        raise Invalid(field, "must be: principals [options] key-type base64-key [comment]")
    unknown = set(options) - {"namespaces", "valid-after", "valid-before", "cert-authority"}
    if unknown:
        raise Invalid(field, f"unsupported option {sorted(unknown)[0]}")
    try:
        base64.b64decode(parts[1], validate=True)
    except binascii.Error:
        raise Invalid(field, "key is not base64") from None
    spaces = options.get("namespaces")
    after, before = options.get("valid-after"), options.get("valid-before")
    return AllowedSigner(
        principals=tuple(principals.split(",")),
        key_type=parts[0],
        key_base64=parts[1],
        namespaces=None if spaces is None else tuple(spaces.split(",")),
        valid_after=None if after is None else _parse_time(after, field),
        valid_before=None if before is None else _parse_time(before, field),
        cert_authority="cert-authority" in options,
        comment=parts[2] if len(parts) > 2 else "",
    )


@dataclass(frozen=True)
class AllowedSigners:
    """An allowed_signers file as a value: parse, query, change, write back."""

    entries: tuple[AllowedSigner, ...] = ()

    @classmethod
    def parse(cls, text: str) -> AllowedSigners:
        entries = []
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if line and not line.startswith("#"):
                entries.append(_parse_line(line, f"allowed_signers.line{number}"))
        return cls(tuple(entries))

    def dumps(self) -> str:
        return "".join(entry.line() + "\n" for entry in self.entries)

    def add(self, entry: AllowedSigner) -> AllowedSigners:
        return replace(self, entries=(*self.entries, entry))

    def remove(self, key_fingerprint: str) -> AllowedSigners:
        """Without every line for this key (how `signer revoke` takes a key out of the file)."""
        kept = tuple(e for e in self.entries if e.fingerprint != key_fingerprint)
        return replace(self, entries=kept)

    def match(
        self, key_blob: bytes, namespace: str, when: datetime, principal: str | None = None
    ) -> AllowedSigner:
        """The first line allowing this key for `namespace` at `when` (and `principal`)."""
        listed = False
        for entry in self.entries:
            if entry.cert_authority or entry.key_type != _KEY_TYPE.decode():
                continue
            if entry.key_blob != key_blob:
                continue
            listed = True
            if principal is not None and not _pattern_match(entry.principals, principal):
                continue
            if entry.namespaces is not None and not _pattern_match(entry.namespaces, namespace):
                continue
            if entry.valid_after is not None and when < entry.valid_after:
                continue
            if entry.valid_before is not None and when > entry.valid_before:
                continue
            return entry
        if not listed:
            raise BadSignature("signing key is not an allowed signer")
        rule = "signing key not allowed for this principal, namespace or time"
        raise BadSignature(rule, f"signature: {rule} (key {fingerprint(key_blob)})")


@dataclass(frozen=True)
class VerifiedSignature:
    """Who signed: the matching allowed_signers principal and the key's fingerprint."""

    principal: str
    fingerprint: str
    public_key: str
    namespace: str
    hash_algorithm: str


def verify(
    data: bytes,
    armored: str,
    namespace: str,
    allowed_signers: AllowedSigners,
    *,
    principal: str | None = None,
    revoked: Iterable[str] = (),
    now: datetime | None = None,
) -> VerifiedSignature:
    """Check `armored` over `data` in `namespace` against the allowed signers, or BadSignature.

    `principal`, when given, must be one the matching line allows (as `ssh-keygen -Y verify -I`).
    `revoked` holds key fingerprints refused even if still listed. `now` is checked against
    `valid-after`/`valid-before` (default: the current time).
    """
    _check_namespace(namespace)
    parsed = _parse(armored)
    if parsed.namespace != namespace:
        raise BadSignature("namespace mismatch")
    if parsed.hash_algorithm not in _HASHES:
        raise BadSignature("unsupported hash algorithm (sha256 or sha512)")
    key = _key_from_blob(parsed.key_blob)
    try:
        key.verify(parsed.signature, _signed_data(namespace, parsed.hash_algorithm, data))
    except InvalidSignature:
        raise BadSignature("signature does not match the signed bytes") from None
    print_ = fingerprint(parsed.key_blob)
    if print_ in set(revoked):
        raise BadSignature("signing key revoked", f"signature: signing key revoked (key {print_})")
    when = now or datetime.now(UTC)
    entry = allowed_signers.match(parsed.key_blob, namespace, when, principal)
    return VerifiedSignature(
        principal=principal or entry.principals[0],
        fingerprint=print_,
        public_key=public_key_line(key),
        namespace=namespace,
        hash_algorithm=parsed.hash_algorithm,
    )
