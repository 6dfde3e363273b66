"""The gateway's own keys, kept as files with mode 0600 in the data directory.

Two Ed25519 keys in OpenSSH format — `manifest` signs delivery manifests, `audit` signs audit
checkpoints — so that `ssh-keygen -Y sign/verify` works on the same files; a 32-byte secret
from which keyed pseudonyms (HMAC tokens) are derived; and a 32-byte state key that seals the
security-relevant rows of the metadata database (gateway/seals.py), which a database writer
therefore cannot forge; and a 32-byte token key under which partner tokens are stored as keyed
hashes (gateway/services/tokens.py), so that a database writer cannot mint one. A key is created
once and never overwritten: a replaced key would orphan every signature and token made with the
old one. Rotation (a new key id beside the old) comes with the features that use it.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agreements.errors import SafeError
from exports.formats.sinks import fsync_directory

KeyName = Literal["manifest", "audit"]
SIGNING_KEYS: tuple[KeyName, ...] = ("manifest", "audit")
PSEUDONYM_SECRET = "pseudonym.secret"  # noqa: S105  (a file name, not a secret)
STATE_KEY = "state.key"
TOKEN_KEY = "token.key"  # noqa: S105  (a file name, not a secret)
SECRETS = {"pseudonym": PSEUDONYM_SECRET, "state": STATE_KEY, "token": TOKEN_KEY}


class KeyFileError(SafeError, RuntimeError):
    """A key file is missing, unreadable, too widely readable or malformed (the path is named)."""


@dataclass(frozen=True)
class KeyFile:
    name: str
    path: Path
    created: bool


def private_key_path(keys_dir: Path, name: KeyName) -> Path:
    return keys_dir / f"{name}_ed25519"


def ensure_keys(keys_dir: Path) -> list[KeyFile]:
    """Create whichever of the gateway's keys are missing; report each key and whether it is new."""
    keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    results = []
    for name in SIGNING_KEYS:
        path = private_key_path(keys_dir, name)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        created = _write_new(path, pem)
        if created:
            public = _public_line(key, name)
            path.with_name(path.name + ".pub").write_text(public + "\n", encoding="ascii")
        results.append(KeyFile(name, path, created))
    for secret_name, file_name in SECRETS.items():
        secret_path = keys_dir / file_name
        created = _write_new(secret_path, secrets.token_bytes(32).hex().encode("ascii") + b"\n")
        results.append(KeyFile(secret_name, secret_path, created))
    return results


def load_signing_key(keys_dir: Path, name: KeyName) -> Ed25519PrivateKey:
    path = private_key_path(keys_dir, name)
    data = _read_private(path)
    try:
        key = serialization.load_ssh_private_key(data, password=None)
    except ValueError:
        raise KeyFileError(f"{path} is not an unencrypted OpenSSH private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path} is not an Ed25519 key")
    return key


def load_pseudonym_secret(keys_dir: Path) -> bytes:
    return _load_secret(keys_dir / PSEUDONYM_SECRET)


def load_state_key(keys_dir: Path) -> bytes:
    return _load_secret(keys_dir / STATE_KEY)


def load_token_key(keys_dir: Path) -> bytes:
    """The key partner tokens are hashed under (gateway/services/tokens.py)."""
    return _load_secret(keys_dir / TOKEN_KEY)


def load_web_key(keys_dir: Path) -> bytes:
    """The key of the web UI (its CSRF tokens, the hashes of login-failure keys): derived from
    the state key with a label of its own, so it is one key file fewer to keep, and knowing a
    web MAC tells nothing about a seal."""
    return hmac.new(load_state_key(keys_dir), b"pks-gateway/web/1", hashlib.sha256).digest()


def _load_secret(path: Path) -> bytes:
    try:
        secret = bytes.fromhex(_read_private(path).decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        raise KeyFileError(f"{path} does not hold a hex secret") from None
    if len(secret) < 32:
        raise KeyFileError(f"{path} holds fewer than 32 bytes")
    return secret


def public_key_line(keys_dir: Path, name: KeyName) -> str:
    """The public key as one OpenSSH line (`ssh-ed25519 AAAA… comment`)."""
    return _public_line(load_signing_key(keys_dir, name), name)


def _public_line(key: Ed25519PrivateKey, name: str) -> str:
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return f"{public.decode('ascii')} pks-gateway-{name}"


def _write_new(path: Path, data: bytes) -> bool:
    # O_EXCL makes "never overwrite" hold even if two `init` runs race.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return True


def _read_private(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise KeyFileError(f"key file {path} is missing; run `pks-gateway init`") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        # Like ssh, refuse a private key others can read rather than use a possibly leaked key.
        raise KeyFileError(f"key file {path} is readable by others; chmod 600 it")
    return path.read_bytes()


def replace_kept_file(path: Path, data: bytes) -> None:
    """Atomically replace a file kept beside the keys (mode 0600): a crash leaves the old file or
    the new one whole, never a torn one, and the rename is durable before this returns."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def read_kept_file(path: Path) -> bytes | None:
    """A kept file's bytes, None if there is none; refused like a key if others can read it."""
    if not path.exists():
        return None
    return _read_private(path)


@contextmanager
def kept_file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock (on `<path>.lock`) around a read-compare-replace of a kept file, so that
    two processes writing it cannot interleave."""
    lock = os.open(path.with_name(f"{path.name}.lock"), os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
