"""Which manifest key each gateway signs with, pinned on first use as ssh's known_hosts does.

The office gives partners its manifest public key (`pks-gateway keys public manifest`); a partner
who configured it is checked against it. One who did not trusts the key the first delivery's
signature names, once that signature verifies, and writes it here; from then on a manifest signed
by any other key is refused with `KeyChanged`, whose message says what to do. The file, one line a
gateway (`<origin> ssh-ed25519 <base64> [comment]`, `#` comments), can be written by hand.

Default place: `$PKS_PARTNER_KNOWN_KEYS`, else `$XDG_CONFIG_HOME/pks-partner/known_keys`, else
`~/.config/pks-partner/known_keys`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from pks_partner.errors import KeyChanged, PartnerError
from pks_partner.sshsig import (
    SignatureError,
    fingerprint,
    key_blob,
    key_from_blob,
    parse_public_key,
    parse_signature,
    public_key_line,
)

ENVIRONMENT = "PKS_PARTNER_KNOWN_KEYS"
FILE_LIMIT = 1024 * 1024


def default_path() -> Path:
    named = os.environ.get(ENVIRONMENT)
    if named:
        return Path(named)
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "pks-partner" / "known_keys"


def read_public_key(value: str | Path) -> Ed25519PublicKey:
    """A manifest key as configured: an OpenSSH `ssh-ed25519 AAAA…` line, an allowed_signers line
    holding one (as `keys public manifest --allowed-signers` prints), or a file with either."""
    text = str(value)
    if "ssh-ed25519 " not in text:
        try:
            text = Path(value).read_text(encoding="utf-8")[:FILE_LIMIT]
        except (OSError, UnicodeDecodeError) as error:
            raise PartnerError(f"manifest key: cannot read {value} ({_why(error)})") from None
    start = text.find("ssh-ed25519 ")
    try:
        if start < 0:
            raise SignatureError("must be an OpenSSH ssh-ed25519 public key line")
        return parse_public_key(text[start:].splitlines()[0])
    except SignatureError as error:
        raise PartnerError(f"manifest key: {error.rule}") from None


@dataclass(frozen=True)
class Trusted:
    """The key a manifest is checked against, and whether it is to be pinned once it verifies."""

    key: Ed25519PublicKey
    source: str  # "configured", "pinned" or "first use"

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.key)


class KnownKeys:
    """The known-keys file: read on each use, appended to when a key is pinned."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()

    def pinned(self, origin: str) -> Ed25519PublicKey | None:
        try:
            data = self.path.read_bytes()[:FILE_LIMIT]
        except FileNotFoundError:
            return None
        except OSError as error:
            raise PartnerError(f"known keys: cannot read {self.path} ({_why(error)})") from None
        for number, raw in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            name, _, key_text = line.partition(" ")
            if name != origin:
                continue
            try:
                return parse_public_key(key_text)
            except SignatureError:
                raise PartnerError(
                    f"known keys: {self.path} line {number} is not '<gateway> ssh-ed25519 <key>'"
                ) from None
        return None

    def trusted(self, origin: str, signature: str, configured: Ed25519PublicKey | None) -> Trusted:
        """The key to check a manifest from `origin` against; KeyChanged if the signature names
        another key than the one pinned for it."""
        if configured is not None:
            return Trusted(configured, "configured")
        try:
            signer = parse_signature(signature).key_blob
            named = key_from_blob(signer)
        except SignatureError as error:  # verification reports it; there is no key to pin
            raise PartnerError(f"the manifest's signature cannot be read: {error.rule}") from None
        pinned = self.pinned(origin)
        if pinned is None:
            return Trusted(named, "first use")
        if key_blob(pinned) != signer:
            raise KeyChanged(
                f"{origin} signed this manifest with key {fingerprint(signer)}, but {self.path} "
                f"pins key {fingerprint(pinned)} for it. If the office has really changed its "
                "manifest key (ask them over a channel you trust, not this connection), remove "
                "that line or give the new key as the manifest key; until then nothing from this "
                "gateway is accepted.",
                ("signature",),
            )
        return Trusted(pinned, "pinned")

    def pin(self, origin: str, key: Ed25519PublicKey) -> None:
        """Add `origin`'s key (mode 0600, the folder 0700 when made here)."""
        when = datetime.now(UTC).strftime("%Y-%m-%d")
        line = f"{origin} {public_key_line(key)} pinned {when}\n"
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(descriptor, "a", encoding="utf-8") as known:
                known.write(line)
        except OSError as error:
            raise PartnerError(f"known keys: cannot write {self.path} ({_why(error)})") from None


def _why(error: BaseException) -> str:
    return (error.strerror if isinstance(error, OSError) else None) or type(error).__name__
