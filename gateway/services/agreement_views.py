"""Read models of agreements: the list, one version as an officer reads it — identity, status
and signature, purpose and legal basis, elements with their masks, regions by name, recipients,
validity, delivery terms with the quota used and left this period, reporting duties, and the
version's history — and the same version as its partner reads it through a token
(`PartnerAgreementView`: the officer's view less the office's own records, plus the token's
recipient and expiry).

Plain reads (no audit entry, no role check: the doors decide who may read). Typed views, turned
into the one JSON shape by `gateway/readmodel.py`, so that `agreement show --json` and the
partner API's `GET /api/v1/agreements` name and write every fact they share the same way.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from agreements.catalog import Catalog
from agreements.quota import QuotaUse
from agreements.scope import Delivery, Recipient, Reporting
from audit import log as audit_log
from audit.log import AuditEntry
from gateway.services.agreements import StoredVersion, history, load_version
from gateway.services.delivery_views import quota_used
from gateway.services.report_states import ReportState, report_states
from gateway.store.tables import agreements


@dataclass(frozen=True)
class AgreementSummary:
    agreement: str  # the short id
    number: str
    institution: str
    version: int
    status: str
    current: bool
    valid_from: date
    valid_until: date


@dataclass(frozen=True)
class GrantedElementView:
    key: str
    label: str
    mask: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class RegionView:
    code: str
    name: str


@dataclass(frozen=True)
class AgreementEvent:
    version: int
    action: str
    actor: str
    at: datetime
    notes: str


@dataclass(frozen=True)
class AgreementView(AgreementSummary):
    scope_hash: str
    signed_by_key: str | None
    signature: str | None
    signed_at: datetime | None
    request_id: int | None
    purpose: str
    legal_basis: tuple[str, ...]
    access_modes: tuple[str, ...]
    elements: list[GrantedElementView]
    regions: list[RegionView] | None  # None: the whole kabupaten
    min_age: int
    max_age: int
    recipients: tuple[Recipient, ...]
    delivery: Delivery | None
    quota: QuotaUse | None  # this period's use, for the current version only
    reporting: Reporting
    report_state: list[ReportState]  # each semester report due: received, due or late
    agreement_identity: Mapping[str, Any]  # what was signed, as stored
    scope: Mapping[str, Any]  # the signed scope, as stored
    history: list[AgreementEvent]


@dataclass(frozen=True)
class PartnerRecipient:
    """The recipient a partner token is bound to, by its age key's fingerprint."""

    name: str
    fingerprint: str


@dataclass(frozen=True)
class PartnerToken:
    prefix: str  # the token's public name (never the secret)
    expires_at: datetime


@dataclass(frozen=True)
class PartnerAgreementView(AgreementSummary):
    """An agreement as its partner reads it through a token. Every field but `recipient` and
    `token` is `AgreementView`'s of the same name, copied (`partner_view`); left out are the
    office's own records — the signature and its key, the SOP request, the history (officers'
    names and notes), the stored identity and scope, and every recipient's contact and allowed
    addresses — so a partner learns its terms, not the office's internals."""

    scope_hash: str  # the one a delivery's manifest cites
    signed_at: datetime | None
    purpose: str
    legal_basis: tuple[str, ...]
    access_modes: tuple[str, ...]
    elements: list[GrantedElementView]
    regions: list[RegionView] | None  # None: the whole kabupaten
    min_age: int
    max_age: int
    delivery: Delivery | None
    quota: QuotaUse | None
    reporting: Reporting
    report_state: list[ReportState]
    recipient: PartnerRecipient
    token: PartnerToken


_OWN_TO_PARTNER = ("recipient", "token")


def partner_view(
    view: AgreementView, recipient: PartnerRecipient, token: PartnerToken
) -> PartnerAgreementView:
    """`view` as the partner holding `token` for `recipient` reads it: its shared fields copied
    by name, so the two cannot drift apart."""
    shared = {
        field.name: getattr(view, field.name)
        for field in fields(PartnerAgreementView)
        if field.name not in _OWN_TO_PARTNER
    }
    return PartnerAgreementView(**shared, recipient=recipient, token=token)


def list_agreements(connection: Connection) -> list[AgreementSummary]:
    """Every agreement at its current version, by short id."""
    short_ids = connection.execute(select(agreements.c.short_id).order_by(agreements.c.short_id))
    return [_summary(load_version(connection, short_id, None)) for (short_id,) in short_ids]


def show_agreement(
    connection: Connection,
    short_id: str,
    version: int | None,
    *,
    catalog: Catalog,
    region_codes: Collection[str],
    region_names: Mapping[str, str],
    today: date,
    zone: ZoneInfo,
) -> AgreementView:
    return agreement_view(
        connection,
        load_version(connection, short_id, version),
        catalog=catalog,
        region_codes=region_codes,
        region_names=region_names,
        today=today,
        zone=zone,
    )


def agreement_view(
    connection: Connection,
    stored: StoredVersion,
    *,
    catalog: Catalog,
    region_codes: Collection[str],
    region_names: Mapping[str, str],
    today: date,
    zone: ZoneInfo,
) -> AgreementView:
    """The view of a version already loaded (the partner API's: the one its token's checks
    verified in the same request)."""
    scope = stored.parsed_scope(catalog, region_codes)
    quota = None
    if stored.is_current:
        quota = quota_used(connection, stored.agreement_id, scope.delivery, today, zone)
    regions = scope.row_filter.regions
    return AgreementView(
        **vars(_summary(stored)),
        scope_hash=stored.scope_hash,
        signed_by_key=stored.signer_fingerprint,
        signature=stored.signature,
        signed_at=stored.signed_at,
        request_id=stored.request_id,
        purpose=scope.purpose,
        legal_basis=scope.legal_basis,
        access_modes=scope.access_modes,
        elements=[
            GrantedElementView(
                key=granted.key,
                label=catalog.get(granted.key).label_en,
                mask=granted.mask.kind,
                params={k: v for k, v in granted.mask.to_json().items() if k != "mask"},
            )
            for granted in scope.elements
        ],
        regions=None
        if regions is None
        else [RegionView(code, region_names.get(code, "?")) for code in regions],
        min_age=scope.row_filter.min_age,
        max_age=scope.row_filter.max_age,
        recipients=scope.recipients,
        delivery=scope.delivery,
        quota=quota,
        reporting=scope.reporting,
        report_state=report_states(
            connection, stored.agreement_id, list(scope.reporting.semester_report_due), today
        ),
        agreement_identity=stored.identity,
        scope=stored.scope,
        history=[
            AgreementEvent(e["version"], e["action"], e["actor"], e["at"], e["notes"])
            for e in history(connection, stored.agreement_id)
        ],
    )


def _summary(stored: StoredVersion) -> AgreementSummary:
    validity = stored.scope["validity"]
    return AgreementSummary(
        agreement=stored.short_id,
        number=stored.number,
        institution=stored.institution,
        version=stored.version,
        status=stored.status.value,
        current=stored.is_current,
        valid_from=date.fromisoformat(validity["start"]),
        valid_until=date.fromisoformat(validity["end"]),
    )


ACTIVITY_SHOWN = 50


def partner_activity(
    connection: Connection, short_id: str, delivery_ids: Collection[str]
) -> list[AuditEntry]:
    """The partner's use of an agreement as the audit log records it, newest first: downloads of
    its deliveries and NIK verification calls (each with counts only), refusals included."""
    found = audit_log.list_entries(
        connection, action="nik.verify", object_id=short_id, limit=ACTIVITY_SHOWN,
        newest_first=True,
    )  # fmt: skip
    for delivery_id in delivery_ids:
        found += audit_log.list_entries(
            connection, action="delivery.download", object_id=delivery_id,
            limit=ACTIVITY_SHOWN, newest_first=True,
        )  # fmt: skip
    return sorted(found, key=lambda entry: entry.seq, reverse=True)[:ACTIVITY_SHOWN]
