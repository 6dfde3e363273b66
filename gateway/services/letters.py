"""The office's letters as PDF, for every door (the CLI's `letter` commands, the web UI): each
function gathers one letter's facts from the read models and services, holds them to what the
gateway sealed and signed where the letter attests to them, and hands plain data to the renderer
(gateway/letters/), which returns the PDF's bytes.

Reads, except the reply to a data subject: its lookup is the audited `subject.deliveries` action.
The letters that attest to bytes refuse rather than print what does not verify: the Konsep PKS
holds its version to the seals and prints the hash recomputed from the stored scope (the bytes
`agreement canonical` gives the Kepala Dinas to sign); the Surat Pengantar and the Berita Acara
print what the signed manifest says, after checking its signature, its audit proof and that it is
the delivery row's own.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from hashlib import sha256
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine
from stdnum.id import nik as stdnum_nik

from agreements.catalog import Catalog
from agreements.errors import Conflict, Invalid, NotFound, Tampered
from agreements.workdays import WorkCalendar
from agreements.workflow import Status, Transition
from exports.publishing.publish import DeliveryFiles, DeliveryPlaces
from gateway import letters
from gateway.keys import load_signing_key
from gateway.letters import model
from gateway.letters.wording import REQUEST_STATUSES, kata, peran
from gateway.limits import MANIFEST_FILE, SIGNATURE_FILE, read_limited
from gateway.seals import SealStore
from gateway.services import letter_data
from gateway.services.agreements import (
    check_agreement,
    check_binding,
    draft_or_current_version,
    load_version,
)
from gateway.services.delivery_views import show_delivery
from gateway.services.request_views import RequestView, show_request
from gateway.services.subjects import Received, subject_deliveries
from pks_partner.manifest import Manifest
from pks_partner.verify import verify_delivery


@dataclass(frozen=True)
class LetterEnvironment:
    """What the letters need besides the metadata database (gateway/context.py makes it)."""

    office: model.Office
    catalog: Catalog
    region_codes: Collection[str]
    region_names: Mapping[str, str]
    zone: ZoneInfo
    calendar: WorkCalendar
    places: DeliveryPlaces
    keys_dir: Path
    audit_origin: str

    def local(self, moment: datetime) -> datetime:
        """A stored moment (UTC; SQLite hands it back naive) on the office's clock."""
        aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
        return aware.astimezone(self.zone)


def disposisi(
    connection: Connection, env: LetterEnvironment, request_id: int, *, now: datetime
) -> bytes:
    """Lembar Disposisi of a request: its letter, and steps 2 and 3 as far as they were taken."""
    view = show_request(connection, request_id, now, env.calendar)
    steps = []
    for event in view.events:
        by = f"{peran(event.role.value)} ({event.actor})"
        at = env.local(event.at)
        if event.transition is Transition.DISPOSE:
            to = peran("kepala_bidang")
            steps.append(model.DispositionStep(2, by, to, at, event.notes))
        elif event.transition is Transition.ASSIGN:  # its notes are the gateway's own words
            to = f"{peran('pejabat_fungsional')} ({view.assignee})"
            steps.append(model.DispositionStep(3, by, to, at, ""))
    sheet = model.Disposition(
        request_id=view.id,
        institution=view.institution,
        letter_number=view.letter_number,
        letter_date=view.letter_date,
        received_at=env.local(view.received_at),
        purpose=str(view.facts.get("purpose", "")),
        status=kata(REQUEST_STATUSES, view.status.value),
        steps=tuple(steps),
        printed_on=env.local(now).date(),
    )
    return letters.render_disposisi(env.office, sheet)


def penolakan(
    connection: Connection,
    env: LetterEnvironment,
    request_id: int,
    *,
    now: datetime,
    reason: str | None = None,
    number: str | None = None,
    dated: date | None = None,
) -> bytes:
    """Surat Penolakan (step 4): for a request assigned to a Pejabat Fungsional, with the
    `reason` the letter states (the step itself is recorded after, with the signed scan); for a
    rejected request, with the reason recorded at step 4."""
    view = show_request(connection, request_id, now, env.calendar)
    recorded = _recorded_reason(view)
    if recorded is not None and reason is not None:
        raise Invalid("reason", "the request is rejected: its letter states the recorded reason")
    stated = recorded if recorded is not None else reason
    if stated is None or not stated.strip():
        raise Invalid("reason", "required: the rejection letter states why")
    letter = model.Rejection(
        number=number,
        dated=dated or env.local(now).date(),
        institution=view.institution,
        letter_number=view.letter_number,
        letter_date=view.letter_date,
        purpose=str(view.facts.get("purpose", "")),
        reason=stated,
    )
    return letters.render_penolakan(env.office, letter)


def konsep_pks(
    connection: Connection,
    env: LetterEnvironment,
    short_id: str,
    *,
    now: datetime,
    version: int | None = None,
) -> bytes:
    """Konsep PKS with its annex, of `version` (default: the draft awaiting a signature, else
    the current version — the bytes `agreement canonical` prints)."""
    stored = load_version(
        connection, short_id, version or draft_or_current_version(connection, short_id)
    )
    where = f"agreement {short_id} version {stored.version}"
    check_binding(connection, stored)
    check_agreement(connection, SealStore(env.keys_dir), stored.agreement_id, short_id)
    hashed = sha256(stored.canonical_bytes()).hexdigest()
    if hashed != stored.scope_hash:
        raise Tampered(f"{where}: the stored scope differs from its scope hash")
    pks = letter_data.pks_draft(
        stored,
        stored.parsed_scope(env.catalog, env.region_codes),
        hashed,
        catalog=env.catalog,
        region_names=env.region_names,
        local=env.local,
        printed_on=env.local(now).date(),
    )
    return letters.render_konsep_pks(env.office, pks)


def pengantar(
    connection: Connection,
    env: LetterEnvironment,
    delivery_id: str,
    *,
    now: datetime,
    number: str | None = None,
    dated: date | None = None,
) -> bytes:
    """Surat Pengantar sending a published delivery to its partner."""
    handover = _handover(connection, env, delivery_id, now, number, dated)
    return letters.render_pengantar(env.office, handover)


def berita_acara(
    connection: Connection,
    env: LetterEnvironment,
    delivery_id: str,
    *,
    now: datetime,
    number: str | None = None,
    dated: date | None = None,
) -> bytes:
    """Berita Acara Serah Terima Data of a published delivery."""
    handover = _handover(connection, env, delivery_id, now, number, dated)
    return letters.render_berita_acara(env.office, handover)


def balasan_subjek(
    engine: Engine,
    env: LetterEnvironment,
    nik: str,
    *,
    actor: str,
    now: datetime,
    addressee: str | None = None,
    reference: str | None = None,
    number: str | None = None,
    dated: date | None = None,
) -> bytes:
    """The reply to a data subject: the published deliveries holding their record (the audited
    lookup of `subject deliveries`), with what each agreement version grants. The letter shows
    the NIK masked (first 6 and last 4 digits: region of first registration and serial, never
    the birth date and sex digits 7-12)."""
    found = subject_deliveries(
        engine, nik, keys_dir=env.keys_dir, places=env.places, actor_name=actor, now=now
    )
    compact = stdnum_nik.compact(nik)  # valid: the lookup refused anything else
    with engine.connect() as connection:
        disclosures = tuple(_disclosure(connection, env, received) for received in found)
    reply = model.SubjectReply(
        number=number,
        dated=dated or env.local(now).date(),
        nik_shown=compact[:6] + "*" * 6 + compact[-4:],
        addressee=addressee,
        reference=reference,
        disclosures=disclosures,
    )
    return letters.render_balasan_subjek(env.office, reply)


# --- requests ---------------------------------------------------------------------------------
def _recorded_reason(view: RequestView) -> str | None:
    """The reason recorded at step 4; None while the request waits for step 4. Conflict for a
    request in any other state: a rejection letter belongs to step 4 only."""
    if view.status is Status.REJECTED:
        rejected = [e for e in view.events if e.transition is Transition.REJECT]
        return rejected[-1].notes
    if view.status is Status.ASSIGNED:
        return None
    raise Conflict(
        f"request {view.id} is {view.status.value}: a rejection letter is written at step 4, "
        "for an assigned request (or reprinted for a rejected one)"
    )


# --- deliveries -------------------------------------------------------------------------------
def _handover(
    connection: Connection,
    env: LetterEnvironment,
    delivery_id: str,
    now: datetime,
    number: str | None,
    dated: date | None,
) -> model.Handover:
    view = show_delivery(connection, delivery_id)
    if view.status != "published" or view.finished_at is None:
        raise Conflict(f"delivery {delivery_id} is {view.status}: only a published one is handed")
    manifest, manifest_bytes = _verified_manifest(env, view.agreement, delivery_id)
    own = (view.id, view.agreement, view.version, view.rows, view.ciphertext_sha256)
    stated = (
        manifest.delivery_id,
        manifest.agreement.short_id,
        manifest.agreement.version,
        manifest.rows,
        manifest.file.sha256,
    )
    if own != stated:
        raise Tampered(f"delivery {delivery_id}: its row differs from its signed manifest")
    stored = load_version(connection, manifest.agreement.short_id, manifest.agreement.version)
    return letter_data.handover(
        view,
        manifest,
        sha256(manifest_bytes).hexdigest(),
        institution=stored.institution,
        catalog=env.catalog,
        local=env.local,
        number=number,
        dated=dated or env.local(now).date(),
    )


def _verified_manifest(
    env: LetterEnvironment, short_id: str, delivery_id: str
) -> tuple[Manifest, bytes]:
    """The delivery's manifest as published, checked as a partner checks it (signature by the
    gateway's manifest key, canonical form, its audit entry and inclusion proof)."""
    try:
        files = DeliveryFiles.at(env.places, short_id, delivery_id)
    except ValueError:
        raise Tampered(f"delivery {delivery_id}: not an id the gateway makes") from None
    if not files.manifest.exists() or not files.signature.exists():
        raise NotFound("manifest of delivery", delivery_id)
    data = read_limited(files.manifest, MANIFEST_FILE)
    signature = read_limited(files.signature, SIGNATURE_FILE).decode("utf-8", "replace")
    check = verify_delivery(
        data,
        signature,
        manifest_key=load_signing_key(env.keys_dir, "manifest").public_key(),
        audit_key=load_signing_key(env.keys_dir, "audit").public_key(),
        audit_origin=env.audit_origin,
        data_file=None,
    )
    if not check.ok or check.manifest is None:
        failed = ", ".join(check.failed)
        raise Tampered(f"delivery {delivery_id}: its manifest does not verify ({failed})")
    return check.manifest, data


# --- data subjects ----------------------------------------------------------------------------
def _disclosure(
    connection: Connection, env: LetterEnvironment, received: Received
) -> model.Disclosure:
    stored = load_version(connection, received.short_id, received.version)
    scope = stored.parsed_scope(env.catalog, env.region_codes)
    return model.Disclosure(
        institution=received.institution,
        agreement_number=received.agreement_number,
        version=received.version,
        delivered_at=None if received.delivered_at is None else env.local(received.delivered_at),
        elements=letter_data.element_labels(env.catalog, scope),
    )
