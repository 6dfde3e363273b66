"""Read models of deliveries: the list, one delivery, and an agreement's quota use.

Plain reads (no audit entry, no role: the doors decide who may see them). Each returns typed
views that `gateway/readmodel.py` turns into the one JSON shape of the CLI and the API.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from agreements.errors import NotFound
from agreements.quota import QuotaUse, quota_use, quota_window
from agreements.scope import Delivery
from gateway.services.agreements import latest_version
from gateway.store.tables import COUNTED, agreements, deliveries


@dataclass(frozen=True)
class DeliverySummary:
    id: str
    agreement: str
    version: int
    status: str
    format: str
    rows: int | None
    requested_by: str
    started_at: datetime
    finished_at: datetime | None
    failure: str | None  # why a failed or abandoned run stopped (never a value)


@dataclass(frozen=True)
class DeliveryView(DeliverySummary):
    agreement_number: str
    file_name: str
    ciphertext_size: int | None
    ciphertext_sha256: str | None
    plaintext_sha256: str | None
    audit_seq: int | None
    report: dict[str, Any] | None  # the re-identification report: counts and element keys only


_LISTED = select(deliveries, agreements.c.short_id, agreements.c.number).join(
    agreements, agreements.c.id == deliveries.c.agreement_id
)


def list_deliveries(connection: Connection, agreement: str | None = None) -> list[DeliverySummary]:
    """Deliveries, newest first; of one agreement (NotFound if there is no such agreement)."""
    query = _LISTED.order_by(deliveries.c.started_at.desc(), deliveries.c.id)
    if agreement is not None:
        latest_version(connection, agreement)  # NotFound names it
        query = query.where(agreements.c.short_id == agreement)
    return [_summary(row) for row in connection.execute(query).mappings()]


def show_delivery(connection: Connection, delivery_id: str) -> DeliveryView:
    row = connection.execute(_LISTED.where(deliveries.c.id == delivery_id)).mappings().first()
    if row is None:
        raise NotFound("delivery", delivery_id)
    return DeliveryView(
        **vars(_summary(row)),
        agreement_number=row["number"],
        file_name=row["file_name"],
        ciphertext_size=row["ciphertext_size"],
        ciphertext_sha256=row["ciphertext_sha256"],
        plaintext_sha256=row["plaintext_sha256"],
        audit_seq=row["audit_seq"],
        report=json.loads(row["report_json"]) if row["report_json"] else None,
    )


def quota_used(
    connection: Connection,
    agreement_id: int,
    delivery: Delivery | None,
    today: date,
    zone: ZoneInfo,
) -> QuotaUse:
    """The agreement's quota this period and the deliveries counted against it (running,
    recorded or published since the period's first day, office time)."""
    _, _, start = quota_window(delivery, today)
    since = datetime.combine(start, time(0), tzinfo=zone).astimezone(UTC)
    used = connection.execute(
        select(func.count())
        .select_from(deliveries)
        .where(
            deliveries.c.agreement_id == agreement_id,
            deliveries.c.status.in_(COUNTED),
            deliveries.c.started_at >= since,
        )
    ).scalar_one()
    return quota_use(delivery, today, int(used))


def _summary(row: Any) -> DeliverySummary:
    return DeliverySummary(
        id=row["id"],
        agreement=row["short_id"],
        version=row["version"],
        status=row["status"],
        format=row["format"],
        rows=row["rows"],
        requested_by=row["requested_by"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        failure=row["failure"],
    )
