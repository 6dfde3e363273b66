"""Each letter's plain data (gateway/letters/model.py) made from what the services read: an
agreement version and its parsed scope, a delivery's row and its verified manifest. No reads
here: gateway/services/letters.py reads, checks, and calls these.

Elements are named by the catalog's Indonesian labels, in the catalog's order (NIK and KK first,
as a delivery's file has them); regions by the names of the region list; times on the office's
clock (`local`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from ageformat import recipient_fingerprint
from agreements.catalog import Catalog
from agreements.errors import NotFound
from agreements.scope import GrantedElement, Scope
from gateway.letters import model
from gateway.letters.wording import AGREEMENT_STATUSES, kata
from gateway.services.agreements import StoredVersion
from gateway.services.delivery_views import DeliveryView
from pks_partner.manifest import Manifest

Local = Callable[[datetime], datetime]


def pks_draft(
    stored: StoredVersion,
    scope: Scope,
    scope_hash: str,
    *,
    catalog: Catalog,
    region_names: Mapping[str, str],
    local: Local,
    printed_on: date,
) -> model.PksDraft:
    rows = scope.row_filter
    return model.PksDraft(
        number=stored.number,
        short_id=stored.short_id,
        version=stored.version,
        institution=stored.institution,
        status=kata(AGREEMENT_STATUSES, stored.status.value),
        scope_hash=scope_hash,
        previous_scope_hash=stored.identity.get("previous_scope_hash"),
        signed_at=None if stored.signed_at is None else local(stored.signed_at),
        signer=stored.signer_fingerprint,
        purpose=scope.purpose,
        legal_basis=scope.legal_basis,
        access_modes=scope.access_modes,
        high_risk=scope.high_risk,
        high_risk_reason=scope.high_risk_reason,
        elements=tuple(
            element(catalog, granted.key, granted.mask.to_json())
            for granted in in_catalog_order(catalog, scope.elements)
        ),
        regions=None
        if rows.regions is None
        else tuple(region(region_names, code) for code in rows.regions),
        min_age=rows.min_age,
        max_age=rows.max_age,
        alive_only=rows.alive_only,
        active_only=rows.active_only,
        include_minors=rows.include_minors,
        conditions=tuple(
            model.Condition(
                element(catalog, p.element, {"mask": "keep"}).label,
                p.op,
                tuple(_value(v) for v in p.values),
            )
            for p in rows.predicates
        ),
        recipients=tuple(
            model.Recipient(
                name=r.name,
                fingerprint=recipient_fingerprint(r.age_recipient),
                contact=r.contact,
                age_recipient=r.age_recipient,
                ip_allow=r.ip_allow,
            )
            for r in scope.recipients
        ),
        valid_from=scope.validity.start,
        valid_until=scope.validity.end,
        delivery=scope.delivery,
        reidentification=scope.reidentification,
        reporting=scope.reporting,
        printed_on=printed_on,
    )


def handover(
    view: DeliveryView,
    manifest: Manifest,
    manifest_sha256: str,
    *,
    institution: str,
    catalog: Catalog,
    local: Local,
    number: str | None,
    dated: date,
) -> model.Handover:
    """A published delivery as its verified manifest states it; the row gives who ran it and
    when it was published."""
    file = manifest.file
    assert view.finished_at is not None  # published
    return model.Handover(
        number=number,
        dated=dated,
        delivery_id=manifest.delivery_id,
        institution=institution,
        agreement_number=manifest.agreement.number,
        short_id=manifest.agreement.short_id,
        version=manifest.agreement.version,
        scope_hash=manifest.agreement.scope_hash,
        published_at=local(view.finished_at),
        handed_over_by=view.requested_by,
        rows=manifest.rows,
        file_name=file.name,
        file_format=file.format,
        size=file.size,
        sha256=file.sha256,
        plaintext_sha256=file.plaintext_sha256,
        plaintext_size=file.plaintext_size,
        manifest_name=f"{manifest.delivery_id}.manifest.json",
        manifest_sha256=manifest_sha256,
        elements=tuple(element(catalog, e.key, e.mask, e.label) for e in manifest.elements),
        recipients=tuple(model.Recipient(r.name, r.fingerprint) for r in manifest.recipients),
    )


def element_labels(catalog: Catalog, scope: Scope) -> tuple[str, ...]:
    """The labels of the elements a scope grants, in the catalog's order."""
    return tuple(
        element(catalog, granted.key, {}).label
        for granted in in_catalog_order(catalog, scope.elements)
    )


def element(
    catalog: Catalog, key: str, mask: Mapping[str, Any], label: str | None = None
) -> model.Element:
    """An element by its catalog entry; one the catalog no longer holds (a delivery made under
    an older catalog) by the label its manifest recorded."""
    try:
        found = catalog.get(key)
    except NotFound:
        return model.Element(key, label or key, None, mask)
    return model.Element(key, found.label_id, found.letter, mask)


def in_catalog_order(catalog: Catalog, granted: Sequence[GrantedElement]) -> list[GrantedElement]:
    order = {entry.key: index for index, entry in enumerate(catalog.elements)}
    return sorted(granted, key=lambda item: order.get(item.key, len(order)))


def region(names: Mapping[str, str], code: str) -> model.Region:
    """A kecamatan or village by name; a village with its kecamatan's name."""
    parent = code.rsplit(".", 1)[0] if code.count(".") == 3 else None
    return model.Region(code, names.get(code, "?"), names.get(parent) if parent else None)


def _value(value: object) -> str:
    return ("ya" if value else "tidak") if isinstance(value, bool) else str(value)
