"""Where one delivery's files live, and the last step of the publish order: manifest and renames.

What a partner receives, in the partner-facing deliveries directory:

    <deliveries>/<short_id>/<id>.<format>.age         the encrypted data file
    <deliveries>/<short_id>/<id>.manifest.json        RFC 8785 manifest (appears last)
    <deliveries>/<short_id>/<id>.manifest.json.sig    its SSHSIG signature (namespace pks-manifest)

and what stays the gateway's own, outside it:

    <subjects>/<short_id>/<id>.subjects.parquet       keyed hashes of the NIKs it contained
    <locks>/<id>.lock                                 held while the delivery runs

Every file is written as `<name>.partial` and renamed into place; the manifest is renamed last, so
a delivery with a manifest is complete and verifiable, and one without is not a delivery.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agreements.canonical import SHORT_ID
from exports.formats.sinks import StagedFile, fsync_directory
from exports.formats.writers import SUFFIXES
from exports.pipeline import DeliveryOutput
from exports.plan import Plan
from pks_partner.manifest import (
    AuditRef,
    DeliveryFile,
    ElementRef,
    Manifest,
    RecipientRef,
    sign_manifest,
)

# `<short_id>-<YYYYMMDD>-<6 hex>`, as `gateway/services/deliveries.py` makes it.
_DELIVERY_ID = re.compile(r"^[a-z0-9-]{1,40}-[0-9]{8}-[0-9a-f]{6}$")


@dataclass(frozen=True)
class DeliveryPlaces:
    """The directories deliveries' files go to: the partner-facing one, and the gateway's own for
    what partners never receive (the subject index, and the locks of running deliveries)."""

    deliveries: Path
    subjects: Path
    locks: Path


@dataclass(frozen=True)
class DeliveryFiles:
    directory: Path  # partner-facing: data, manifest, signature
    delivery_id: str
    data: Path
    subjects: Path  # internal: the keyed hashes of the NIKs delivered
    lock: Path  # internal: held while the delivery runs

    @classmethod
    def of(cls, places: DeliveryPlaces, plan: Plan) -> DeliveryFiles:
        short_id, delivery_id = plan.agreement.short_id, plan.delivery_id
        directory = places.deliveries / short_id
        data = directory / (delivery_id + SUFFIXES[plan.format] + ".age")
        return cls._placed(places, short_id, delivery_id, data)

    @classmethod
    def at(cls, places: DeliveryPlaces, short_id: str, delivery_id: str) -> DeliveryFiles:
        """The files of a delivery whose format is not at hand (recovery, subject lookups).

        The ids come from the metadata database, which is not trusted: ValueError unless they
        have the exact shape the gateway gives them, so that no edited row can make a path or
        glob pattern reach outside the agreement's directory (`../keys/…`, `*`)."""
        if not (SHORT_ID.match(short_id) and _DELIVERY_ID.match(delivery_id)) or (
            delivery_id.rpartition("-")[0].rpartition("-")[0] != short_id
        ):
            raise ValueError("not a delivery id the gateway makes")
        directory = places.deliveries / short_id
        found = sorted(directory.glob(f"{delivery_id}.*.age")) if directory.exists() else []
        data = found[0] if found else directory / f"{delivery_id}.unknown.age"
        return cls._placed(places, short_id, delivery_id, data)

    @classmethod
    def _placed(
        cls, places: DeliveryPlaces, short_id: str, delivery_id: str, data: Path
    ) -> DeliveryFiles:
        return cls(
            directory=data.parent,
            delivery_id=delivery_id,
            data=data,
            subjects=places.subjects / short_id / f"{delivery_id}.subjects.parquet",
            lock=places.locks / f"{delivery_id}.lock",
        )

    @property
    def manifest(self) -> Path:
        return self.directory / f"{self.delivery_id}.manifest.json"

    @property
    def signature(self) -> Path:
        return self.directory / f"{self.delivery_id}.manifest.json.sig"

    def make_directories(self) -> None:
        """The agreement's folders for this delivery's files (mode 0700), made if missing."""
        for folder in (self.directory, self.subjects.parent):
            folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            folder.mkdir(mode=0o700, exist_ok=True)

    def remove_unpublished(self) -> None:
        """Remove whatever a run that never published left (its manifest is not in place):
        staged files, partial files and signature; the lock is its owner's to remove."""
        if self.manifest.exists():
            return
        self.withdraw()

    def withdraw(self) -> None:
        """Remove every file of this delivery but its lock, the manifest first (without it the
        rest is no delivery), durably: for a run whose publish failed part way, so that what it
        had already renamed into place does not stay visible under an `abandoned` row."""
        if self.directory.exists():
            self.manifest.unlink(missing_ok=True)
            for path in self.directory.glob(f"{self.delivery_id}.*"):
                path.unlink(missing_ok=True)
            fsync_directory(self.directory)
        folder = self.subjects.parent
        if folder.exists():
            for path in folder.glob(f"{self.delivery_id}.*"):
                path.unlink(missing_ok=True)
            fsync_directory(folder)


def move_subject_indexes(places: DeliveryPlaces) -> list[str]:
    """Move the subject indexes that earlier versions kept beside the partner's files
    (`<deliveries>/<short_id>/<id>.subjects.parquet`, docs/decisions/0004-exports-rooms.md) to
    the subjects directory; the names of the files moved. A file whose new place is taken stays
    where it was, so nothing is overwritten. `init` runs this (run it once after upgrading)."""
    moved = []
    for old in sorted(places.deliveries.glob("*/*.subjects.parquet")):
        delivery_id = old.name.removesuffix(".subjects.parquet")
        try:
            files = DeliveryFiles.at(places, old.parent.name, delivery_id)
        except ValueError:
            continue  # not a name the gateway gives: not ours to move
        if not old.is_file() or old.is_symlink() or os.path.lexists(files.subjects):
            continue
        files.make_directories()
        shutil.move(old, files.subjects)
        fsync_directory(files.subjects.parent)
        fsync_directory(old.parent)
        moved.append(old.name)
    return moved


def build_manifest(
    plan: Plan,
    files: DeliveryFiles,
    output: DeliveryOutput,
    *,
    audit: AuditRef,
    software_version: str,
) -> Manifest:
    return Manifest(
        delivery_id=plan.delivery_id,
        agreement=plan.agreement,
        recipients=tuple(RecipientRef.for_key(r.name, r.age_recipient) for r in plan.recipients),
        elements=tuple(ElementRef.of(e.key, e.label, e.mask) for e in plan.elements),
        row_filter=plan.row_filter.to_json(),
        rows=output.rows,
        reidentification=output.report.to_json(),
        file=delivery_file(plan, files, output),
        created_at=plan.created_at,
        audit=audit,
        software_version=software_version,
    )


def delivery_file(plan: Plan, files: DeliveryFiles, output: DeliveryOutput) -> DeliveryFile:
    return DeliveryFile(
        name=files.data.name,
        format=plan.format,
        size=output.ciphertext_size,
        sha256=output.ciphertext_sha256,
        plaintext_sha256=output.plaintext_sha256,
        plaintext_size=output.plaintext_size,
    )


def publish_manifest(
    files: DeliveryFiles,
    manifest: Manifest,
    manifest_key: Ed25519PrivateKey,
    *,
    before_manifest: Iterable[Callable[[], None]],
) -> None:
    """Write and fsync manifest and signature, run `before_manifest` (the data renames), then
    rename the signature and, last, the manifest into place."""
    document = manifest.canonical_bytes()
    signature = sign_manifest(document, manifest_key).encode("ascii")
    with ExitStack() as stack:
        staged_manifest = stack.enter_context(StagedFile(files.manifest))
        staged_signature = stack.enter_context(StagedFile(files.signature))
        staged_manifest.file.write(document)
        staged_signature.file.write(signature)
        staged_manifest.commit()
        staged_signature.commit()
        for publish in before_manifest:
            publish()
        staged_signature.publish()
        staged_manifest.publish()
