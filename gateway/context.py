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
    from gateway.letters.model import Office
    from gateway.services.deliveries import DeliveryEnvironment
    from gateway.services.letters import LetterEnvironment


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


def letter_office(settings: Settings) -> Office:
    """The office as its letters print it: letterhead, signatory, place and paper, from the
    settings (docs/letters.md); the logo file is read here, within its limit."""
    from gateway.letters.model import Letterhead, Office, Signatory
    from gateway.limits import LOGO_FILE, read_limited

    logo = settings.letter_logo_path
    return Office(
        letterhead=Letterhead(
            government=settings.letter_government,
            office=settings.letter_office,
            address=settings.letter_address,
            contact=settings.letter_contact,
            logo=None if logo is None else read_limited(logo, LOGO_FILE),
        ),
        signatory=Signatory(
            title=settings.signatory_title,
            name=settings.signatory_name,
            rank=settings.signatory_rank,
            nip=settings.signatory_nip,
        ),
        name=settings.letter_office_name,
        place=settings.letter_place,
        paper=settings.letter_paper,
    )


def letter_environment(settings: Settings) -> LetterEnvironment:
    """What the letters need besides the metadata database (gateway/services/letters.py)."""
    from gateway.services.letters import LetterEnvironment

    return LetterEnvironment(
        office=letter_office(settings),
        catalog=catalog_of(settings),
        region_codes=region_codes(settings),
        region_names=region_names(settings),
        zone=settings.zone,
        calendar=work_calendar(settings),
        places=delivery_places(settings),
        keys_dir=settings.keys_dir,
        audit_origin=settings.audit_origin,
    )
