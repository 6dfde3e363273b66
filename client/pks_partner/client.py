"""`Client`: a partner's door to its gateway — its agreement, its deliveries, downloads, loading
into pyarrow or pandas, and NIK verification.

The wire types are frozen dataclasses holding what the partner API (docs/api.md) answers, with the
whole JSON object in `document` for anything newer. HTTP is `pks_partner.transport`'s, the
download and its checks `pks_partner.download`'s, reading a table `pks_partner.load`'s: pyarrow
and pandas are imported only when a table is loaded (the `arrow`/`pandas` extras).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ageformat import X25519Identity
from pks_partner import load
from pks_partner.checkpoint import CheckpointError, NoteVerifier, parse_checkpoint_body
from pks_partner.download import Downloaded, Progress, Trust, checked_id, download
from pks_partner.errors import ApiError, PartnerError, TransportError
from pks_partner.identity import identities_of
from pks_partner.known_keys import KnownKeys, read_public_key
from pks_partner.manifest import ManifestFormatError, parse_manifest
from pks_partner.tlog_proof import parse_tlog_proof
from pks_partner.transport import Api
from pks_partner.verify import DeliveryCheck, verify_delivery

if TYPE_CHECKING:  # only for the annotations: loading a table is what imports them
    import pandas
    import pyarrow

NIK_BATCH = 1000  # the most items the gateway answers in one call
NOTE_LIMIT = 64 * 1024
PER_PAGE = 100
RETRIES = 5  # a rate-limited call is tried again this often, after the Retry-After it names
MAX_WAIT = 60.0

Identity = str | Path | list[X25519Identity]


@dataclass(frozen=True)
class Agreement:
    """The token's agreement as its signed current version states it."""

    short_id: str
    number: str
    institution: str
    version: int
    status: str
    elements: tuple[str, ...]  # the granted element keys: a delivery's columns
    document: Mapping[str, Any]


@dataclass(frozen=True)
class Delivery:
    """A published delivery made for the token's recipient."""

    id: str
    agreement: str
    version: int
    format: str
    started_at: str
    published_at: str | None
    document: Mapping[str, Any]


class Client:
    """The partner API of one gateway, with one partner token.

    `identity` (an age identity file, its text, or loaded identities) decrypts downloads;
    `manifest_key` (an OpenSSH line or a file) is the gateway's manifest key as the office gave
    it — without it the key is pinned on first use in `known_keys` (a path, default
    `known_keys.default_path()`). `audit_key` (a note verifier key `origin+id+key`, or an
    Ed25519 key with `audit_origin`) adds the checkpoint and inclusion checks of each manifest.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        identity: Identity | None = None,
        manifest_key: Ed25519PublicKey | str | Path | None = None,
        known_keys: str | Path | None = None,
        audit_key: Ed25519PublicKey | NoteVerifier | str | None = None,
        audit_origin: str | None = None,
        timeout: float = 60.0,
        allow_http: bool = False,
    ) -> None:
        self.api = Api(url, token, timeout=timeout, allow_http=allow_http)
        key = manifest_key
        if key is not None and not isinstance(key, Ed25519PublicKey):
            key = read_public_key(key)
        known = KnownKeys(None if known_keys is None else Path(known_keys))
        self.trust = Trust(known, key, audit_key, audit_origin)
        self.identity = identity

    @property
    def origin(self) -> str:
        return self.api.origin

    def agreements(self) -> list[Agreement]:
        items = _items(self.api.get_json("agreements"), "agreements")
        return [_agreement(item) for item in items]

    def deliveries(self) -> list[Delivery]:
        """Every published delivery for this token's recipient, newest first."""
        found: list[Delivery] = []
        page = 1
        while True:
            answer = self.api.get_json("deliveries", {"page": page, "per_page": PER_PAGE})
            items = _items(answer, "deliveries")
            found += [_delivery(item) for item in items]
            total = answer.get("total")
            if not items or not isinstance(total, int) or len(found) >= total:
                return found
            page += 1

    def newest(self) -> Delivery:
        deliveries = self.deliveries()
        if not deliveries:
            raise PartnerError(f"{self.origin} has no published delivery for this token")
        return deliveries[0]

    def delivery(self, delivery_id: str) -> Mapping[str, Any]:
        """One delivery as its signed manifest states it (unchecked: `download` checks)."""
        document = self.api.get_json(f"deliveries/{checked_id(delivery_id)}")
        if not isinstance(document, dict):
            raise TransportError("the answer about a delivery is not a JSON object")
        return document

    def download(
        self,
        delivery_id: str,
        dest: str | Path,
        resume: bool = True,
        *,
        identity: Identity | None = None,
        progress: Progress | None = None,
    ) -> Downloaded:
        """Download delivery `delivery_id` into the folder `dest`, check it against its signed
        manifest and, with an identity, decrypt it (`pks_partner.download` says in which order).
        An interrupted download resumes where it stopped when `resume` is true."""
        chosen = identity if identity is not None else self.identity
        return download(
            self.api,
            delivery_id,
            Path(dest),
            trust=self.trust,
            identities=None if chosen is None else identities_of(chosen),
            resume=resume,
            progress=progress,
        )

    def load_as_arrow(
        self,
        delivery: str | None = None,
        *,
        identity: Identity | None = None,
        workdir: str | Path | None = None,
    ) -> pyarrow.Table:
        """The delivery (default: the newest) as a pyarrow Table, read from a decrypted temporary
        file under `workdir` (default: the system's), which is removed before this returns."""
        with load.scratch(workdir) as folder:
            found = self._download_for_loading(delivery, identity, folder)
            return load.read_table(found.data, found.manifest.file.format)

    def load_as_pandas(
        self,
        delivery: str | None = None,
        *,
        identity: Identity | None = None,
        workdir: str | Path | None = None,
    ) -> pandas.DataFrame:
        """The delivery (default: the newest) as a pandas DataFrame (see `load_as_arrow`); the
        Arrow buffers are released column by column as pandas takes them over."""
        return load.to_pandas(self.load_as_arrow(delivery, identity=identity, workdir=workdir))

    def _download_for_loading(
        self, delivery: str | None, identity: Identity | None, folder: Path
    ) -> Downloaded:
        chosen = identity if identity is not None else self.identity
        if chosen is None:
            raise PartnerError("loading a delivery needs the age identity that decrypts it")
        found = self.download(delivery or self.newest().id, folder, resume=False, identity=chosen)
        assert found.data is not None  # an identity was given, so it was decrypted
        return found

    def check_history(self, manifest_bytes: bytes, signature: str) -> History:
        """The manifest's checks and `consistency`: the office's latest signed checkpoint, fetched
        with a consistency proof from the checkpoint the manifest carries, still extends it — the
        log was not rewritten or forked since this delivery. Needs the audit key."""
        if self.trust.audit_key is None:
            raise PartnerError("checking the audit log's history needs the office's audit key")
        try:
            older = _note_size(parse_tlog_proof(parse_manifest(manifest_bytes).audit.proof))
        except (ManifestFormatError, CheckpointError):
            older = None
        if older is None:  # the checks below say what is wrong with it
            newer = None
        else:
            note = _utf8(self.api.get_bytes("audit/checkpoint", NOTE_LIMIT, "text/plain"))
            size = _note_size(note)
            if size is None:
                raise TransportError("the gateway's latest checkpoint is not a checkpoint")
            query = {"from": older, "to": size}  # `to`: that note's size, even if one came since
            proof = self.api.get_bytes("audit/consistency", NOTE_LIMIT, "text/plain", query)
            newer = (note, _utf8(proof))
        trusted = self.trust.known.trusted(self.origin, signature, self.trust.manifest_key)
        check = verify_delivery(
            manifest_bytes,
            signature,
            manifest_key=trusted.key,
            audit_key=self.trust.audit_key,
            audit_origin=self.trust.audit_origin,
            data_file=None,
            newer=newer,
        )
        if newer is None:
            return History(check, None, None)
        return History(check, *newer)

    def verify_niks(self, items: Iterable[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
        """Ask the gateway about NIKs, `NIK_BATCH` items a call: each item is `{"nik": …,
        "fields": {element: claimed value}}`, each answer `{"index": i, "found": bool,
        "fields": {element: bool}}` with `i` counted over all items given. A rate-limited call
        waits for the Retry-After the gateway names and is tried again."""
        batch: list[Mapping[str, Any]] = []
        offset = 0
        for item in items:
            batch.append(item)
            if len(batch) == NIK_BATCH:
                yield from self._verify_batch(batch, offset)
                offset += len(batch)
                batch = []
        if batch:
            yield from self._verify_batch(batch, offset)

    def _verify_batch(self, batch: list[Mapping[str, Any]], offset: int) -> list[dict[str, Any]]:
        for attempt in range(RETRIES + 1):
            try:
                answer = self.api.post_json("nik-verifications", {"items": batch})
                break
            except ApiError as error:
                if error.status != 429 or attempt == RETRIES:
                    raise
                named = error.retry_after
                time.sleep(min(MAX_WAIT, 2.0**attempt if named is None else named))
        items = _items(answer, "nik-verifications")
        if sorted(_int(item.get("index")) for item in items) != list(range(len(batch))):
            raise TransportError("the NIK verification answer does not answer each item once")
        results = []
        for item in sorted(items, key=lambda item: _int(item.get("index"))):
            fields = item.get("fields")
            if not isinstance(item.get("found"), bool) or not isinstance(fields, dict):
                raise TransportError("the NIK verification answer has an item without its fields")
            results.append(
                {
                    "index": offset + _int(item["index"]),
                    "found": item["found"],
                    "fields": {str(k): v is True for k, v in fields.items()},
                }
            )
        return results


def load_as_arrow(
    url: str,
    token: str,
    identity: Identity,
    delivery: str | None = None,
    *,
    workdir: str | Path | None = None,
    **options: Any,
) -> pyarrow.Table:
    """A delivery (default: the newest) as a pyarrow Table, decrypted through a temporary file
    under `workdir` (default: the system's); `options` as for `Client`."""
    client = Client(url, token, identity=identity, **options)
    return client.load_as_arrow(delivery, workdir=workdir)


def load_as_pandas(
    url: str,
    token: str,
    identity: Identity,
    delivery: str | None = None,
    *,
    workdir: str | Path | None = None,
    **options: Any,
) -> pandas.DataFrame:
    """A delivery (default: the newest) as a pandas DataFrame, as `load_as_arrow` reads it."""
    client = Client(url, token, identity=identity, **options)
    return client.load_as_pandas(delivery, workdir=workdir)


@dataclass(frozen=True)
class History:
    """`check_history`'s answer: every check (`consistency` last), and the office's checkpoint
    and proof it was given — keep them: two signed checkpoints of one log that do not extend
    each other are the office's own signed evidence of a fork."""

    check: DeliveryCheck
    checkpoint: str | None
    proof: str | None


def _note_size(note: object) -> int | None:
    """The tree size a checkpoint note (or a tlog-proof's) states, read before it is verified
    (verification is `verify_delivery`'s); None if it is no checkpoint."""
    text = getattr(note, "checkpoint_note", note)
    if not isinstance(text, str) or "\n\n" not in text:
        return None
    try:
        return parse_checkpoint_body(text[: text.rfind("\n\n") + 1]).tree_size
    except CheckpointError:
        return None


def _utf8(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise TransportError("the gateway's answer is not UTF-8 text") from None


def _items(answer: object, what: str) -> list[dict[str, Any]]:
    items = answer.get("items") if isinstance(answer, dict) else None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise TransportError(f"the answer to {what} has no list of items")
    return items


def _int(value: object) -> int:
    if type(value) is not int:
        raise TransportError("the answer has a number that is not a whole number")
    return value


def _text(document: Mapping[str, Any], name: str, what: str) -> str:
    value = document.get(name)
    if not isinstance(value, str):
        raise TransportError(f"the answer about {what} has no {name}")
    return value


def _agreement(document: dict[str, Any]) -> Agreement:
    elements = document.get("elements")
    if not isinstance(elements, list):
        raise TransportError("the answer about an agreement has no elements")
    keys = tuple(
        e["key"] for e in elements if isinstance(e, dict) and isinstance(e.get("key"), str)
    )
    return Agreement(
        short_id=_text(document, "agreement", "an agreement"),
        number=_text(document, "number", "an agreement"),
        institution=_text(document, "institution", "an agreement"),
        version=_int(document.get("version")),
        status=_text(document, "status", "an agreement"),
        elements=tuple(str(key) for key in keys),
        document=document,
    )


def _delivery(document: dict[str, Any]) -> Delivery:
    published = document.get("published_at")
    return Delivery(
        id=_text(document, "id", "a delivery"),
        agreement=_text(document, "agreement", "a delivery"),
        version=_int(document.get("version")),
        format=_text(document, "format", "a delivery"),
        started_at=_text(document, "started_at", "a delivery"),
        published_at=published if isinstance(published, str) else None,
        document=document,
    )
