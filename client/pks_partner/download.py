"""A delivery's download: nothing is put in place before the check that vouches for it passed.

1. The manifest and its signature are fetched (size-limited) and the signing key is trusted: the
   configured manifest key, the one pinned for this gateway, or — on first use — the key the
   signature names, pinned once the manifest verifies (`known_keys`).
2. Every check of the manifest runs (`verify_delivery`: signature, canonical form, format, audit
   entry, and the checkpoint and inclusion proof when the audit key is configured). The manifest
   and its signature are then written beside the data: they are the partner's copy of the
   office's promise, and of the audit log's history.
3. The encrypted file streams to `<file>.partial`; `<file>.partial.etag` notes the ETag it was
   started with. An interrupted download resumes with `Range` and `If-Range: <that ETag>`, so
   parts of two different files are never joined: if the file changed, the gateway sends it
   whole. The whole file's size and SHA-256 must be the manifest's before it is renamed to
   `<file>`.
4. With an identity, `<file>` is decrypted to a temporary file whose SHA-256 must be the
   manifest's `plaintext_sha256`, and only then renamed to `<file>` without `.age`.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ageformat import (
    AgeError,
    X25519Identity,
    decrypt_file,
    encode_age_recipient,
    recipient_fingerprint,
)
from pks_partner.checkpoint import NoteVerifier
from pks_partner.errors import PartnerError, TransportError, VerificationFailed
from pks_partner.known_keys import KnownKeys, Trusted
from pks_partner.manifest import DeliveryFile, Manifest
from pks_partner.transport import Api
from pks_partner.verify import Check, DeliveryCheck, check_data_file, verify_delivery

CHUNK = 256 * 1024
MANIFEST_LIMIT = 4 * 1024 * 1024
SIGNATURE_LIMIT = 64 * 1024
_DELIVERY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")

Progress = Callable[[int, int], None]  # (bytes on disk so far, the file's size)


def checked_id(delivery_id: str) -> str:
    """A delivery id as the gateway writes them; anything else never reaches a URL."""
    if not isinstance(delivery_id, str) or not _DELIVERY_ID.fullmatch(delivery_id):
        raise PartnerError("not a delivery id (1-100 of A-Z a-z 0-9 _ -, from `deliveries`)")
    return delivery_id


@dataclass(frozen=True)
class Trust:
    """What a partner checks deliveries against: the manifest key (configured, or pinned in
    `known`) and, if the office gave it, the audit log's key and origin."""

    known: KnownKeys
    manifest_key: Ed25519PublicKey | None = None
    audit_key: Ed25519PublicKey | NoteVerifier | str | None = None
    audit_origin: str | None = None


@dataclass(frozen=True)
class Downloaded:
    """A downloaded delivery: where its files are, what was checked, how much was fetched."""

    delivery_id: str
    manifest: Manifest
    manifest_path: Path
    encrypted: Path
    data: Path | None  # None: not decrypted (no identity given)
    check: DeliveryCheck
    key: Trusted
    resumed_from: int  # bytes already on disk from an earlier, interrupted download
    fetched: int  # bytes fetched by this call


def download(
    api: Api,
    delivery_id: str,
    dest: Path,
    *,
    trust: Trust,
    identities: list[X25519Identity] | None = None,
    resume: bool = True,
    progress: Progress | None = None,
) -> Downloaded:
    """Download, check and (with identities) decrypt one delivery into the folder `dest`."""
    delivery_id = checked_id(delivery_id)
    where = f"deliveries/{delivery_id}"
    manifest_bytes = api.get_bytes(f"{where}/manifest", MANIFEST_LIMIT, "application/json")
    signature = _text(api.get_bytes(f"{where}/manifest.sig", SIGNATURE_LIMIT, "text/plain"))
    trusted = trust.known.trusted(api.origin, signature, trust.manifest_key)
    check = verify_delivery(
        manifest_bytes,
        signature,
        manifest_key=trusted.key,
        audit_key=trust.audit_key,
        audit_origin=trust.audit_origin,
        data_file=None,
    )
    manifest = refuse_unless_verified(check, f"delivery {delivery_id}")
    if manifest.delivery_id != delivery_id:
        raise VerificationFailed(
            f"delivery {delivery_id}: the gateway answered with another delivery's manifest",
            ("manifest",),
        )
    if trusted.source == "first use":
        trust.known.pin(api.origin, trusted.key)
    dest.mkdir(parents=True, exist_ok=True)
    manifest_path = dest / f"{delivery_id}.manifest.json"
    _write_atomically(manifest_path, manifest_bytes)
    _write_atomically(manifest_path.with_name(manifest_path.name + ".sig"), signature.encode())
    if identities is not None:
        _require_recipient(manifest, identities)
    encrypted = dest / manifest.file.name
    resumed_from = fetched = 0
    held = check_data_file(encrypted, manifest.file)
    if not held.passed:
        partial = encrypted.with_name(encrypted.name + ".partial")
        resumed_from, fetched = _fetch(api, delivery_id, manifest.file, partial, resume, progress)
        held = check_data_file(partial, manifest.file)
        if not held.passed:
            _discard(partial)
            raise VerificationFailed(
                f"delivery {delivery_id}: {held.reason}; the download was deleted, fetch it again",
                ("data_file",),
            )
        os.replace(partial, encrypted)
        _tag_of(partial).unlink(missing_ok=True)
    checks = (*check.checks, held)
    data = None
    if identities is not None:
        data = dest / manifest.file.name.removesuffix(".age")
        checks += (decrypt_delivery(encrypted, identities, data, manifest.file),)
    return Downloaded(
        delivery_id,
        manifest,
        manifest_path,
        encrypted,
        data,
        replace(check, checks=checks),
        trusted,
        resumed_from,
        fetched,
    )


def refuse_unless_verified(check: DeliveryCheck, what: str) -> Manifest:
    """The manifest of a check that passed; VerificationFailed naming the failed checks (and the
    first one's reason) otherwise."""
    if check.ok and check.manifest is not None:
        return check.manifest
    first = next(c for c in check.checks if not c.passed)
    raise VerificationFailed(
        f"{what}: the manifest does not verify ({', '.join(check.failed)}; "
        f"{first.name}: {first.reason})",
        check.failed,
    )


def decrypt_delivery(
    encrypted: Path, identities: list[X25519Identity], out: Path, file: DeliveryFile
) -> Check:
    """Decrypt all or nothing into `out`, which appears only if the plaintext is the one the
    manifest names; the `plaintext` check, or VerificationFailed."""
    try:
        decrypt_file(encrypted, identities, out, expected_sha256=file.plaintext_sha256)
    except AgeError as error:
        raise VerificationFailed(f"{encrypted.name}: {error}", ("plaintext",)) from None
    except FileExistsError:
        raise PartnerError(f"{out} exists and is not a regular file: not replaced") from None
    return Check("plaintext", True, "decrypted; SHA-256 matches file.plaintext_sha256")


def _require_recipient(manifest: Manifest, identities: list[X25519Identity]) -> None:
    ours = {recipient_fingerprint(encode_age_recipient(i.recipient)) for i in identities}
    if not ours & {r.fingerprint for r in manifest.recipients}:
        names = ", ".join(sorted(r.name for r in manifest.recipients))
        raise PartnerError(
            f"delivery {manifest.delivery_id} is encrypted for {names}: none of the given age "
            "identities is one of its recipients (compare `age-keygen -y` with the agreement)"
        )


def _fetch(
    api: Api,
    delivery_id: str,
    file: DeliveryFile,
    partial: Path,
    resume: bool,
    progress: Progress | None,
) -> tuple[int, int]:
    """Bring `partial` to the whole file (as far as the gateway sends it): (bytes that were
    already there, bytes fetched now)."""
    etag = f'"{file.sha256}"'
    tag = _tag_of(partial)
    have = 0
    if resume and partial.is_file() and _read_tag(tag) == etag:
        have = partial.stat().st_size
    if have > file.size:
        have = 0
    if have == file.size:
        return have, 0
    headers = {"Range": f"bytes={have}-", "If-Range": etag} if have else {}
    fetched, start = 0, have
    try:
        with api.open(
            f"deliveries/{delivery_id}/file", headers=headers, accept="application/octet-stream"
        ) as response:
            if response.headers.get("ETag") != etag:
                raise VerificationFailed(
                    f"delivery {delivery_id}: the gateway serves another file than the signed "
                    "manifest names (its ETag differs)",
                    ("data_file",),
                )
            start = _start_of(response, have, file.size)
            if not start:  # the whole file comes: a new partial, noted with its ETag
                tag.write_text(etag + "\n", encoding="ascii")
            with partial.open("r+b" if start else "wb") as out:
                out.seek(start)
                out.truncate()
                while start + fetched < file.size:
                    # read1: what has arrived, at most one read from the socket, so that a
                    # stalled or dropped connection loses nothing already received.
                    chunk = response.read1(min(CHUNK, file.size - start - fetched))
                    if not chunk:
                        break
                    out.write(chunk)
                    fetched += len(chunk)
                    if progress is not None:
                        progress(start + fetched, file.size)
                out.flush()
                os.fsync(out.fileno())
    except (OSError, http.client.HTTPException) as error:
        reason = (error.strerror if isinstance(error, OSError) else None) or type(error).__name__
        raise _stopped(delivery_id, start + fetched, file.size, reason) from None
    if start + fetched < file.size:
        raise _stopped(delivery_id, start + fetched, file.size, "the connection closed early")
    return start, fetched


def _start_of(response: http.client.HTTPResponse, have: int, size: int) -> int:
    """Where the body starts in the file: `have` for the part asked for, 0 for the whole file
    (the gateway sends it whole when the file is no longer the one the ETag names)."""
    if response.status == 200:
        return 0
    found = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", ""))
    if response.status != 206 or found is None:
        raise TransportError(f"the gateway answered {response.status} to a download")
    first, _, total = (int(part) for part in found.groups())
    if first != have or total != size:
        raise TransportError("the gateway sent another part of the file than was asked for")
    return have


def _stopped(delivery_id: str, have: int, size: int, reason: str) -> TransportError:
    return TransportError(
        f"the download of {delivery_id} stopped at {have} of {size} bytes ({reason}); "
        "run it again to resume"
    )


def _tag_of(partial: Path) -> Path:
    return partial.with_name(partial.name + ".etag")


def _read_tag(tag: Path) -> str:
    try:
        return tag.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""


def _discard(partial: Path) -> None:
    partial.unlink(missing_ok=True)
    _tag_of(partial).unlink(missing_ok=True)


def _text(signature: bytes) -> str:
    try:
        return signature.decode("ascii")
    except UnicodeDecodeError:
        failed = ("signature",)
        raise VerificationFailed("the manifest's signature is not ASCII text", failed) from None


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with temporary.open("wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
