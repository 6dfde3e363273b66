"""What the subject modules of the CLI share: the metadata database once it is set up, the
catalog and region codes, the office clock, and the option types that hold input to its limits
(gateway/limits.py)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, Engine

from agreements.catalog import Catalog, load_catalog
from agreements.errors import Invalid
from agreements.signing import parse_public_key
from audit.checkpoint import NoteVerifier, parse_verifier_key
from gateway import db, limits
from gateway.seals import SealStore
from gateway.settings import Settings

if TYPE_CHECKING:
    from agreements.workdays import WorkCalendar

AS_HELP = (
    "The staff member doing this (see `staff list`). Attribution, not authentication: login "
    "comes with the web UI."
)


class LimitedText(click.ParamType[str]):
    """A text option of at most `limit` characters (a longer one is a usage error, exit 2)."""

    name = "text"

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> str:
        text = value if isinstance(value, str) else str(value)
        if len(text) > self.limit:
            self.fail(f"longer than {self.limit:,} characters", param, ctx)
        return text


FREE_TEXT = LimitedText(limits.FREE_TEXT)
NAME = LimitedText(limits.STAFF_NAME)
AGREEMENT = LimitedText(limits.AGREEMENT_ID)
ID = click.IntRange(1, limits.MAX_ID)
ACTOR = click.option("--as", "actor", required=True, metavar="NAME", type=NAME, help=AS_HELP)


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


@cache
def _region_codes(path: Path) -> frozenset[str]:
    with path.open(encoding="utf-8", newline="") as file:
        return frozenset(row["kode"] for row in csv.DictReader(file))


def seal_store(settings: Settings) -> SealStore:
    """The state key and kept seals of this gateway's keys directory (gateway/seals.py)."""
    return SealStore(settings.keys_dir)


def now() -> datetime:
    return datetime.now(UTC)


def work_calendar(settings: Settings) -> WorkCalendar:
    from agreements.workdays import WorkCalendar  # the holiday tables load only when needed

    return WorkCalendar.with_days_off(settings.days_off_dates, time_zone=settings.zone)


def key_text(value: str) -> str:
    """What a key option was given, in either form every key option takes: the file it names
    (read within the key-file limit) or the key's text itself."""
    path = Path(value)
    if path.is_file():
        return limits.read_limited_text(path, limits.KEY_FILE).strip()
    return value.strip()


def audit_key_of(value: str) -> Ed25519PublicKey | NoteVerifier:
    """An audit key option: an OpenSSH `ssh-ed25519` line or a C2SP note verifier key (either as
    text or in a file); Invalid naming the option otherwise."""
    text = key_text(value)
    try:
        if text.startswith("ssh-ed25519 "):
            return parse_public_key(text)
        return parse_verifier_key(text)
    except ValueError:
        raise Invalid(
            "audit key", "neither an OpenSSH ssh-ed25519 line nor a note verifier key"
        ) from None


def manifest_key_of(value: str) -> Ed25519PublicKey:
    """A manifest key option: an OpenSSH `ssh-ed25519` line, as text or in a file."""
    return parse_public_key(key_text(value))


# Office times as people write them: to the minute or to the second, with a space or a T.
OFFICE_TIME = click.DateTime(
    ["%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"]
)
