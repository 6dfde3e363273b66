"""Deliveries a crashed run left behind, and the lock that tells a crashed run from a running one.

A run holds an exclusive `flock` on `<id>.lock` (in the locks directory, `<home>/work/locks`)
while it works. At the next start (`pks-gateway serve` before it serves, `delivery extract` before
it runs), every row still `running` or `recorded` whose lock nobody holds belonged to a process
that died: if its manifest made it into place the delivery is complete and becomes `published`;
otherwise it is closed as `abandoned` (audited) and its staged files are removed — in the
deliveries directory and in the subjects directory — so nothing of it stays visible. The spill
directories of re-identification counters whose process died are removed from the work
directory the same way: by a lock (`exports.risk.spill`) that a live run, in any process, holds.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, select, update

from audit import log as audit_log
from exports.publishing.publish import DeliveryFiles, DeliveryPlaces
from exports.risk.spill import remove_abandoned
from gateway.store.tables import (
    ABANDONED,
    PUBLISHED,
    RECORDED,
    RUNNING,
    agreements,
    deliveries,
)
from pks_partner.leaf import LeafFormatError, parse_leaf
from pks_partner.manifest import parse_manifest

SYSTEM = "gateway"
log = logging.getLogger(__name__)


def close_abandoned(
    engine: Engine, places: DeliveryPlaces, now: datetime, *, work_dir: Path
) -> list[str]:
    """Close deliveries a crashed run left behind (no lock held): published if their manifest
    made it into place, else `abandoned`, audited, their partial and staged files removed; and
    remove the spill directories in `work_dir` that no live run holds."""
    for name in remove_abandoned(work_dir):
        log.info("removed %s, the spill directory of a run that stopped", work_dir / name)
    closed = []
    with engine.connect() as connection:
        rows = connection.execute(
            select(deliveries.c.id, deliveries.c.status, agreements.c.short_id)
            .join(agreements, agreements.c.id == deliveries.c.agreement_id)
            .where(deliveries.c.status.in_((RUNNING, RECORDED)))
        ).all()
    for row in rows:
        try:
            files = DeliveryFiles.at(places, row.short_id, row.id)
        except ValueError:
            # A row the gateway did not write: its files are not touched, and it stays as it is
            # for an operator (the log names no id: it could be anything).
            log.warning("a delivery row with an id the gateway never makes was left alone")
            continue
        if locked_elsewhere(files.lock):
            continue
        if files.manifest.exists():
            with engine.begin() as connection:
                connection.execute(
                    update(deliveries)
                    .where(deliveries.c.id == row.id)
                    .values(status=PUBLISHED, finished_at=published_at(files, now))
                )
            files.lock.unlink(missing_ok=True)
            continue
        files.remove_unpublished()
        files.lock.unlink(missing_ok=True)
        abandon(engine, row.id, row.status, now)
        closed.append(row.id)
    return closed


def published_at(files: DeliveryFiles, now: datetime) -> datetime:
    """When a delivery that recovery finds complete was made: the time of its `delivery.extract`
    entry, as its manifest cites it (the last time the crashed run recorded, just before its
    checkpoint and manifest); `now` if the manifest cannot be read."""
    try:
        leaf = parse_manifest(files.manifest.read_bytes()).audit.leaf
        return datetime.fromisoformat(parse_leaf(leaf)["time"]).astimezone(UTC)
    except (OSError, ValueError, TypeError, LeafFormatError):
        return now


def abandon(
    engine: Engine, delivery_id: str, was: str, now: datetime, *, cause: str | None = None
) -> None:
    """Mark a delivery abandoned, audited with the state it was in and, when known, why."""
    details = {"was": was} if cause is None else {"was": was, "cause": cause}
    with engine.begin() as connection:
        connection.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery_id)
            .values(status=ABANDONED, finished_at=now)
        )
        audit_log.append(
            connection,
            actor_role="system",
            actor_id=SYSTEM,
            action="delivery.abandon",
            object_type="delivery",
            object_id=delivery_id,
            outcome="ok",
            details=details,
            now=now,
        )


@contextmanager
def held(path: Path) -> Iterator[None]:
    """Hold the run's lock file; it is removed when the run ends, however it ends."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        path.unlink(missing_ok=True)


def locked_elsewhere(path: Path) -> bool:
    if not path.exists():
        return False
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False
