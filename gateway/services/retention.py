"""Retention: a delivery's encrypted file is deleted a set number of days after it was published.

What proves the delivery stays: its manifest and signature (partners verify against them), its
subject index (`subject deliveries` still answers who received a record) and its audit entries.
Each deletion is audited as `delivery.expire` by the `system` actor; a download asked for later
is told the file has expired (HTTP 410), not that it never existed.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, select, update

from agreements.roles import Action, require
from exports.publishing.publish import DeliveryFiles, DeliveryPlaces
from gateway.services.actions import SYSTEM, Actor, Outcome, perform
from gateway.store.tables import PUBLISHED, agreements, deliveries

log = logging.getLogger(__name__)


def expire_deliveries(
    engine: Engine, places: DeliveryPlaces, now: datetime, *, retention_days: int
) -> list[str]:
    """Delete the encrypted files of deliveries published more than `retention_days` ago; the
    ids of those expired now."""
    cutoff = now - timedelta(days=retention_days)
    with engine.connect() as connection:
        due = connection.execute(
            select(deliveries.c.id, agreements.c.short_id)
            .join(agreements, agreements.c.id == deliveries.c.agreement_id)
            .where(
                deliveries.c.status == PUBLISHED,
                deliveries.c.expired_at.is_(None),
                deliveries.c.finished_at < cutoff,
            )
            .order_by(deliveries.c.finished_at)
        ).all()
    expired = []
    for delivery_id, short_id in due:
        try:
            files = DeliveryFiles.at(places, short_id, delivery_id)
        except ValueError:
            log.warning(
                "delivery row %r has an id the gateway never makes: left alone", delivery_id
            )
            continue
        _expire(engine, files, now, retention_days)
        expired.append(delivery_id)
    return expired


def _expire(engine: Engine, files: DeliveryFiles, now: datetime, days: int) -> None:
    def work(connection: Connection, actor: Actor) -> Outcome:
        require(Action.DELIVERY_EXPIRE, actor.role)
        connection.execute(
            update(deliveries)
            .where(deliveries.c.id == files.delivery_id, deliveries.c.expired_at.is_(None))
            .values(expired_at=now)
        )
        # Deleted inside the transaction: should the commit fail, the row says nothing false
        # (a file gone without expired_at reads as missing, never as still downloadable).
        existed = files.data.exists()
        files.data.unlink(missing_ok=True)
        return Outcome(
            files.delivery_id,
            {"file": files.data.name, "deleted": existed, "retention_days": days},
        )

    perform(
        engine,
        SYSTEM,
        action=Action.DELIVERY_EXPIRE.value,
        object_type="delivery",
        object_id=files.delivery_id,
        now=now,
        work=work,
    )
