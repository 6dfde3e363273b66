"""The composition root: what every door of the gateway (the CLI, the coming HTTP API and web UI,
bench/) is built from, made from the settings in one place — the metadata database engine, the
office clock and calendar, the catalog and region codes, the key-backed seal store, a delivery's
environment. No module imports the CLI to get these.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine

from agreements.catalog import Catalog, load_catalog
from gateway import db
from gateway.seals import SealStore
from gateway.settings import Settings

if TYPE_CHECKING:
    from agreements.workdays import WorkCalendar
    from exports.publishing.publish import DeliveryPlaces
    from gateway.services.deliveries import DeliveryEnvironment


@contextmanager
def ready_engine(settings: Settings) -> Iterator[Engine]:
    """The metadata database engine, or a clear error (MetadataUnavailable, exit 7): not set up
    by `init` (an embedded database whose file is not there yet, or one not at the newest
    schema), or unreachable (naming the database and the driver's reason)."""
    not_set_up = db.MetadataUnavailable(
        f"the metadata database {settings.describe()['database_url']} is not set up: "
        "run `pks-gateway init`"
    )
    if not settings.database_url and not (settings.home / "gateway.db").exists():
        raise not_set_up  # SQLite would fail to create it, or create an empty one, instead
    engine = db.metadata_engine(settings.metadata_url)
    try:
        if not db.is_current(engine):
            raise not_set_up
        yield engine
    finally:
        engine.dispose()


@contextmanager
def metadata_connection(settings: Settings, *, write: bool = False) -> Iterator[Connection]:
    with ready_engine(settings) as engine, engine.begin() if write else engine.connect() as c:
        yield c


def catalog_of(settings: Settings) -> Catalog:
    return load_catalog(settings.catalog_file)


def region_codes(settings: Settings) -> frozenset[str]:
    return _region_codes(settings.regions_file)


def region_names(settings: Settings) -> Mapping[str, str]:
    """Region code -> name (kecamatan and desa/kelurahan), for views that show regions."""
    return _region_names(settings.regions_file)


@cache
def _region_codes(path: Path) -> frozenset[str]:
    return frozenset(_region_names(path))


@cache
def _region_names(path: Path) -> Mapping[str, str]:
    with path.open(encoding="utf-8", newline="") as file:
        return {row["kode"]: row["nama"] for row in csv.DictReader(file)}


def seal_store(settings: Settings) -> SealStore:
    """The state key and kept seals of this gateway's keys directory (gateway/seals.py)."""
    return SealStore(settings.keys_dir)


def now() -> datetime:
    return datetime.now(UTC)


def work_calendar(settings: Settings) -> WorkCalendar:
    from agreements.workdays import WorkCalendar  # the holiday tables load only when needed

    return WorkCalendar.with_days_off(settings.days_off_dates, time_zone=settings.zone)


def delivery_places(settings: Settings) -> DeliveryPlaces:
    """Where deliveries' files go: the partner-facing directory and the gateway's own places."""
    from exports.publishing.publish import DeliveryPlaces

    return DeliveryPlaces(
        deliveries=settings.deliveries_dir,
        subjects=settings.subjects_dir,
        locks=settings.locks_dir,
    )


def delivery_environment(settings: Settings) -> DeliveryEnvironment:
    """What a delivery needs besides the metadata database (gateway/services/deliveries.py)."""
    from importlib.metadata import version

    from exports.reading.source_mapping import load_source_mapping
    from gateway.services.deliveries import DeliveryEnvironment

    return DeliveryEnvironment(
        source_url=settings.source_database_url,
        catalog=catalog_of(settings),
        mapping=load_source_mapping(settings.catalog_file),
        region_codes=region_codes(settings),
        places=delivery_places(settings),
        work_dir=settings.work_dir,
        keys_dir=settings.keys_dir,
        audit_origin=settings.audit_origin,
        software_version=version("pks-gateway"),
        time_zone=settings.zone,
        delivery_roles=settings.delivery_role_set,
    )
