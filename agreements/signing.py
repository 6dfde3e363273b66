"""SSHSIG (OpenSSH PROTOCOL.sshsig) signatures over Ed25519, and OpenSSH's allowed_signers format.

The Kepala Dinas signs on their own computer with `ssh-keygen -Y sign -n pks-agreement`, so the
gateway only ever verifies; `sign` exists for the demo and for manifests the gateway signs itself
(namespace `pks-manifest`). Everything is generic over the namespace. The wire format itself is
the partner client's (`pks_partner.sshsig`, which partners check manifests with); this module adds
who may sign — allowed signers, principals, validity, revocations — and the domain errors
(`Invalid`, `BadSignature`) the gateway's error table knows.

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
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from agreements.errors import BadSignature, Invalid
from pks_partner import sshsig
from pks_partner.sshsig import SignatureError, fingerprint, public_key_line

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

_KEY_TYPE = sshsig.KEY_TYPE.decode()


def parse_public_key(line: str) -> Ed25519PublicKey:
    """An Ed25519 key from `ssh-ed25519 AAAA... [comment]`; Invalid names the field, not the key."""
    try:
        return sshsig.parse_public_key(line)
    except SignatureError as error:
        raise Invalid("public_key", error.rule) from None


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


def _check_namespace(namespace: str) -> None:
    if not sshsig.valid_namespace(namespace):
        raise Invalid("namespace", "1-64 of A-Z a-z 0-9 @ . _ -")


def sign(
    data: bytes, private_key: Ed25519PrivateKey, namespace: str, hash_algorithm: str = "sha512"
) -> str:
    """An armored SSHSIG signature over `data`, as `ssh-keygen -Y sign -n NAMESPACE` makes."""
    _check_namespace(namespace)
    if hash_algorithm not in sshsig.HASHES:
        raise Invalid("hash_algorithm", "sha256 or sha512")
    return sshsig.sign(data, private_key, namespace, hash_algorithm)


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
        blob = base64.b64encode(sshsig.key_blob(key)).decode()
        spaces = None if namespaces is None else tuple(namespaces)
        return cls((principal,), _KEY_TYPE, blob, spaces)

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
            if entry.cert_authority or entry.key_type != _KEY_TYPE:
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
    try:
        parsed = sshsig.check_signature(data, armored, namespace)
    except SignatureError as error:
        raise BadSignature(error.rule) from None
    print_ = parsed.fingerprint
    if print_ in set(revoked):
        raise BadSignature("signing key revoked", f"signature: signing key revoked (key {print_})")
    when = now or datetime.now(UTC)
    entry = allowed_signers.match(parsed.key_blob, namespace, when, principal)
    return VerifiedSignature(
        principal=principal or entry.principals[0],
        fingerprint=print_,
        public_key=public_key_line(sshsig.key_from_blob(parsed.key_blob)),
        namespace=namespace,
        hash_algorithm=parsed.hash_algorithm,
    )
