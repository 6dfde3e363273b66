"""What a partner sees through its token (gateway/services/tokens.py): its agreement, its
published deliveries, and a delivery's signed files; and the audit entries of what it fetched and
of what it was refused.

Every read starts from an authenticated `Credential`, whose agreement passed the delivery trust
checks in the same request. A delivery is the partner's when its row belongs to the token's
agreement and is published, and its manifest — read from disk, its signature verified with the
gateway's manifest key — names the same delivery and agreement and lists the token's recipient.
Anything else, another partner's delivery included, is one and the same `NotFound`, so that an
answer never tells which ids exist. Reads write nothing: plain listings go to the access log
(gateway/api/), and only downloads and refusals to the audit log, whose head every append locks.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, func, select

from ageformat.keys import recipient_fingerprint
from agreements.catalog import Catalog
from agreements.errors import BadSignature, Invalid, NotFound, Tampered
from agreements.roles import Action, Machine, require
from agreements.signing import AllowedSigner, AllowedSigners, verify
from audit import log as audit_log
from audit.entry import check_details
from exports.publishing.publish import DeliveryFiles, DeliveryPlaces
from gateway import limits
from gateway.keys import load_signing_key
from gateway.readmodel import rfc3339
from gateway.services import agreement_views
from gateway.services.actions import UNRECORDABLE, recordable
from gateway.services.agreement_views import PartnerAgreementView, PartnerRecipient, PartnerToken
from gateway.services.agreements import load_version
from gateway.services.token_use import Credential
from gateway.store.tables import PUBLISHED, agreement_versions, deliveries
from pks_partner.manifest import NAMESPACE, SIGNER_PRINCIPAL, Manifest, parse_manifest

# `<short_id>-<YYYYMMDD>-<6 hex>`, as gateway/services/deliveries.py makes it; matched whole and
# ASCII only, before the database or the file system sees the id.
DELIVERY_ID = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?-[0-9]{8}-[0-9a-f]{6}")
MAX_PER_PAGE = 100
PARTNER = Machine.PARTNER.value


@dataclass(frozen=True)
class PartnerDelivery:
    """A delivery the token may fetch: its verified manifest and where its files are."""

    delivery_id: str
    manifest: Manifest
    manifest_bytes: bytes
    signature: str
    data: Path
    expired_at: datetime | None = None  # retention deleted the encrypted file then


def missing_delivery() -> NotFound:
    """The one answer for every delivery id a token may not fetch."""
    return NotFound("delivery", "", "no such delivery for this token")


def agreement_view(
    connection: Connection,
    credential: Credential,
    *,
    catalog: Catalog,
    region_codes: Collection[str],
    region_names: Mapping[str, str],
    now: datetime,
    time_zone: ZoneInfo,
) -> PartnerAgreementView:
    """The token's agreement as its partner reads it: the officers' read model of the version the
    token's checks verified in this request (gateway/services/agreement_views.py), less the
    office's own records, with the token's recipient and expiry."""
    view = agreement_views.agreement_view(
        connection,
        credential.stored,
        catalog=catalog,
        region_codes=region_codes,
        region_names=region_names,
        today=now.astimezone(time_zone).date(),
        zone=time_zone,
    )
    return agreement_views.partner_view(
        view,
        PartnerRecipient(credential.recipient, credential.fingerprint),
        PartnerToken(credential.prefix, credential.expires_at),
    )


def delivery_page(
    connection: Connection,
    credential: Credential,
    *,
    page: int,
    per_page: int,
    time_zone: ZoneInfo,
) -> tuple[list[dict[str, Any]], int]:
    """One page of the published deliveries made for the token's recipient, newest first, and
    how many there are in all; times as every read model writes them (gateway/readmodel.py)."""
    if page < 1:
        raise Invalid("page", "a whole number from 1")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise Invalid("per_page", f"a whole number from 1 to {MAX_PER_PAGE}")
    versions = _versions_for(connection, credential)
    where = (
        deliveries.c.agreement_id == credential.agreement_id,
        deliveries.c.status == PUBLISHED,
        deliveries.c.version.in_(versions),
    )
    total = int(
        connection.execute(select(func.count()).select_from(deliveries).where(*where)).scalar_one()
    )
    rows = connection.execute(
        select(
            deliveries.c.id,
            deliveries.c.version,
            deliveries.c.format,
            deliveries.c.started_at,
            deliveries.c.finished_at,
        )
        .where(*where)
        .order_by(deliveries.c.started_at.desc(), deliveries.c.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).mappings()
    items = [
        {
            "id": row["id"],
            "agreement": credential.short_id,
            "version": row["version"],
            "format": row["format"],
            "started_at": _when(row["started_at"], time_zone),
            "published_at": _when(row["finished_at"], time_zone),
        }
        for row in rows
    ]
    return items, total


def _versions_for(connection: Connection, credential: Credential) -> list[int]:
    """The agreement's versions whose scope lists the token's recipient (a recipient an
    amendment added was not sent what earlier versions delivered). The rows were held to their
    seals when the token was authenticated."""
    numbers = connection.execute(
        select(agreement_versions.c.version).where(
            agreement_versions.c.agreement_id == credential.agreement_id
        )
    ).scalars()
    found = []
    for number in numbers:
        scope = load_version(connection, credential.short_id, int(number)).scope
        for listed in scope.get("recipients") or ():
            try:
                if recipient_fingerprint(str(listed["age_recipient"])) == credential.fingerprint:
                    found.append(int(number))
                    break
            except (Invalid, KeyError, TypeError):
                continue
    return found


def find_delivery(
    connection: Connection,
    credential: Credential,
    delivery_id: str,
    *,
    places: DeliveryPlaces,
    keys_dir: Path,
) -> PartnerDelivery:
    """The delivery if the token may fetch it (see the module docstring), else `NotFound`, the
    same for an id of another partner and one that never existed. A manifest that cannot be read
    or does not verify is `Tampered`: published files the gateway no longer vouches for."""
    if not (delivery_id.isascii() and DELIVERY_ID.fullmatch(delivery_id)):
        raise missing_delivery()
    # One query, filtered by the token's agreement: another partner's delivery is never read,
    # and is refused on the path of an id that never existed (no early return tells them apart).
    row = connection.execute(
        select(deliveries.c.id, deliveries.c.expired_at).where(
            deliveries.c.id == delivery_id,
            deliveries.c.agreement_id == credential.agreement_id,
            deliveries.c.status == PUBLISHED,
        )
    ).first()
    if row is None:
        raise missing_delivery()
    try:
        files = DeliveryFiles.at(places, credential.short_id, delivery_id)
    except ValueError:
        raise missing_delivery() from None
    where = f"delivery {delivery_id}"
    try:
        manifest_bytes = limits.read_limited(files.manifest, limits.MANIFEST_FILE)
        signature = limits.read_limited_text(files.signature, limits.SIGNATURE_FILE)
    except limits.InputRefused as error:
        raise Tampered(f"{where}: its published manifest cannot be read ({error})") from None
    key = load_signing_key(keys_dir, "manifest").public_key()
    signers = AllowedSigners((AllowedSigner.for_key(SIGNER_PRINCIPAL, key, [NAMESPACE]),))
    try:
        verify(manifest_bytes, signature, NAMESPACE, signers, principal=SIGNER_PRINCIPAL)
        manifest = parse_manifest(manifest_bytes)
    except (BadSignature, ValueError):  # ManifestFormatError is a ValueError
        raise Tampered(f"{where}: its published manifest does not verify") from None
    if (manifest.delivery_id, manifest.agreement.short_id) != (delivery_id, credential.short_id):
        raise Tampered(f"{where}: its manifest is another delivery's")
    if credential.fingerprint not in {r.fingerprint for r in manifest.recipients}:
        raise missing_delivery()
    return PartnerDelivery(
        delivery_id,
        manifest,
        manifest_bytes,
        signature,
        files.directory / manifest.file.name,
        row.expired_at,
    )


def delivery_document(found: PartnerDelivery) -> dict[str, Any]:
    """A delivery as its signed manifest states it."""
    manifest = found.manifest
    return {
        "id": manifest.delivery_id,
        "agreement": manifest.agreement.to_json(),
        "created_at": manifest.created_at.isoformat(),
        "rows": manifest.rows,
        "elements": [element.to_json() for element in manifest.elements],
        "recipients": [recipient.to_json() for recipient in manifest.recipients],
        "file": {
            "name": manifest.file.name,
            "format": manifest.file.format,
            "size": manifest.file.size,
            "sha256": manifest.file.sha256,
        },
        "audit_seq": manifest.audit.seq,
    }


def record_download(
    engine: Engine,
    credential: Credential,
    delivery_id: str,
    *,
    outcome: str,
    details: dict[str, Any],
    now: datetime,
) -> None:
    """The `delivery.download` entry of one response: which token fetched which delivery, and
    how many bytes were handed to the server (written when the response is closed)."""
    require(Action.DELIVERY_DOWNLOAD, Machine.PARTNER)
    with engine.begin() as connection:
        audit_log.append(
            connection,
            actor_role=PARTNER,
            actor_id=credential.prefix,
            action=Action.DELIVERY_DOWNLOAD.value,
            object_type="delivery",
            object_id=delivery_id,
            outcome=outcome,
            details={"agreement": credential.short_id, **details},
            now=now,
        )


def record_refusal(
    engine: Engine,
    *,
    prefix: str | None,
    action: Action,
    object_type: str,
    object_id: str,
    error: BaseException,
    rule: str,
    details: dict[str, Any],
    now: datetime,
) -> None:
    """A refused partner request, in a transaction of its own. `rule` is the gateway's own text
    (the partner was told less); values the audit guard refuses are recorded as a placeholder."""
    entry = {"rule": rule, "error": type(error).__name__, **details}
    with engine.begin() as connection:
        audit_log.append(
            connection,
            actor_role=PARTNER,
            actor_id=recordable("actor_id", prefix or "anonymous"),
            action=action.value,
            object_type=object_type,
            object_id=recordable("object_id", object_id),
            outcome="refused",
            details={k: _recordable_detail(v) for k, v in entry.items()},
            now=now,
        )


def _recordable_detail(value: Any) -> Any:
    try:
        check_details({"value": value})
    except ValueError:
        return UNRECORDABLE
    return value


def _when(value: datetime | None, time_zone: ZoneInfo) -> str | None:
    return None if value is None else rfc3339(value, time_zone)
