"""Who received my data: the published deliveries that contained one person's record.

Each delivery keeps, in the gateway's subjects directory (never beside the partner's files), the
keyed hashes of the NIKs it contained (`<short_id>/<id>.subjects.parquet`, HMAC-SHA-256 under a key
derived from the gateway secret, never the NIK).
A person's question under UU PDP (art. 5-7: the right to know who processes their data) is answered
by hashing their NIK once and looking for that hash in each published delivery. The question is
itself audited, with the NIK only as the audit log's keyed hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import Connection, Engine, select
from stdnum.exceptions import ValidationError
from stdnum.id import nik as stdnum_nik

from agreements.errors import Invalid
from audit.entry import keyed_nik_hash
from exports.masking.tokens import Tokenizer, derive_subject_key
from exports.pipeline import SUBJECT_HASH_HEX
from exports.publishing.publish import DeliveryFiles, DeliveryPlaces
from gateway.keys import load_pseudonym_secret
from gateway.services.actions import Actor, Outcome, perform
from gateway.store.tables import agreements, deliveries

_NIK_RULE = (
    "not a valid NIK (16 digits 0-9 with a valid region and date; spaces, dashes and dots "
    "between them are ignored)"
)


@dataclass(frozen=True)
class Received:
    delivery_id: str
    institution: str
    agreement_number: str
    short_id: str
    version: int
    delivered_at: datetime | None


def subject_deliveries(
    engine: Engine,
    nik: str,
    *,
    keys_dir: Path,
    places: DeliveryPlaces,
    actor_name: str,
    now: datetime,
) -> list[Received]:
    """The published deliveries holding this NIK's record, oldest first; audited."""
    secret = load_pseudonym_secret(keys_dir)
    # As written on a form: "6371 0255 0588 0001", dashes, dots, surrounding whitespace. Other
    # digits (fullwidth, Arabic-Indic …) are refused rather than mapped to 0-9: a KTP prints
    # ASCII digits, and an answer must be about the number the officer typed, not a conversion.
    number = stdnum_nik.compact(nik) if nik.isascii() else ""
    nik_hash = keyed_nik_hash(secret, number) if number.isdigit() else "not-a-nik"

    def work(connection: Connection, actor: Actor) -> Outcome:
        try:
            stdnum_nik.validate(number)
        except ValidationError:
            raise Invalid("nik", _NIK_RULE) from None
        wanted = subject_hash(secret, number)
        found = [
            row
            for row in _published(connection)
            if _contains(_subjects_file(places, row.short_id, row.delivery_id), wanted)
        ]
        return Outcome(nik_hash, {"deliveries": [r.delivery_id for r in found]}, found)

    outcome = perform(
        engine,
        actor_name,
        action="subject.deliveries",
        object_type="subject",
        object_id=nik_hash,
        now=now,
        work=work,
    )
    return list(outcome.value)


def subject_hash(secret: bytes, nik: str) -> str:
    """A compact, valid NIK as the keyed hash the subject index and data balikan keep."""
    return Tokenizer(derive_subject_key(secret), SUBJECT_HASH_HEX).token(nik.encode())


def _published(connection: Connection) -> list[Received]:
    rows = connection.execute(
        select(
            deliveries.c.id,
            deliveries.c.version,
            deliveries.c.finished_at,
            agreements.c.institution,
            agreements.c.number,
            agreements.c.short_id,
        )
        .join(agreements, agreements.c.id == deliveries.c.agreement_id)
        .where(deliveries.c.status == "published")
        .order_by(deliveries.c.started_at)
    ).all()
    return [
        Received(r.id, r.institution, r.number, r.short_id, r.version, r.finished_at) for r in rows
    ]


def _contains(path: Path | None, wanted: str) -> bool:
    if path is None or not path.exists():
        return False
    column = pq.read_table(path, columns=["subject"]).column("subject")
    return bool(pc.any(pc.equal(column, wanted)).as_py())


def _subjects_file(places: DeliveryPlaces, short_id: str, delivery_id: str) -> Path | None:
    """A published delivery's subject hashes; None for a row whose ids the gateway never makes
    (an edited database must not steer the lookup to another file)."""
    try:
        return DeliveryFiles.at(places, short_id, delivery_id).subjects
    except ValueError:
        return None
