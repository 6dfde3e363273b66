"""Step 8: run a verified agreement version into one published delivery, in the publish order.

    with the agreement locked: refuse unless the log extends its kept checkpoint, the rows are
    as sealed, executable (signature, status, validity) and within quota  [audited refusal]
    -> row `running`, lock held -> pipeline into `<file>.partial` files -> fsync
    -> with the agreement locked, all of it checked again; audit entry delivery.extract
       committed (row `recorded`)
    -> checkpoint (extending the kept one, then kept) -> manifest with the checkpoint and the
       entry's inclusion proof -> signature
    -> rename data, subjects; check once more; rename the signature and last the manifest into
       place (row `published`)

A suspension, revocation, expiry or tampering that happens while the pipeline runs is found by
the second or the last check: the run ends refused (or abandoned), audited, nothing visible.

The manifest appears last, so a delivery is visible exactly when it is complete and verifiable.
A failure before the audit entry removes the partial files and records `failed` with its cause; a
failure after it takes back whatever of this delivery a rename had already put in place and
records `abandoned`; a crash leaves a row `running` or `recorded` with no manifest, which
`close_abandoned` (run by `delivery extract` before it starts and by `serve` before it serves)
marks `abandoned` with its own audit entry and cleans up. A running delivery holds an exclusive
lock on `<id>.lock` (in the work directory, as the subject index is outside the partner-facing
deliveries directory: exports/publishing/publish.py), so another process's start-up does not
abandon it. Re-running is always safe: every run is a new delivery id.
"""

from __future__ import annotations

import errno
import json
import logging
import secrets
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, insert, select, update

from agreements.catalog import Catalog
from agreements.errors import NotFound, Tampered
from agreements.quota import ensure_within_quota
from agreements.roles import Action, require
from agreements.scope import Delivery as ScopeDelivery
from agreements.workflow import Role
from audit import log as audit_log
from audit import tree
from exports.formats.sinks import StagedFile
from exports.formats.writers import SUFFIXES
from exports.masking.tokens import derive_subject_key, derive_token_key
from exports.pipeline import DeliveryOutput, Preview, preview, run_pipeline
from exports.plan import Plan, make_plan
from exports.publishing.publish import (
    DeliveryFiles,
    DeliveryPlaces,
    build_manifest,
    delivery_file,
    publish_manifest,
)
from exports.reading.source import Source
from exports.reading.source_mapping import SourceMapping
from gateway.checkpoints import ensure_log_extends_kept, sign_and_keep
from gateway.errors import is_safe
from gateway.keys import load_pseudonym_secret, load_signing_key
from gateway.seals import SealStore
from gateway.services.actions import Actor, Outcome, perform, resolve
from gateway.services.agreements import (
    StoredVersion,
    executable_version,
    load_version,
    lock_agreement,
)
from gateway.services.delivery_recovery import abandon, close_abandoned, held
from gateway.services.delivery_views import quota_used
from gateway.store.tables import FAILED, PUBLISHED, RECORDED, RUNNING, deliveries
from pks_partner.manifest import AgreementRef, AuditRef, entry_details

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryEnvironment:
    """What a delivery needs besides the metadata database: source, catalog, keys, places."""

    source_url: str
    catalog: Catalog
    mapping: SourceMapping
    region_codes: frozenset[str]
    places: DeliveryPlaces  # the partner-facing deliveries; the subject index and locks elsewhere
    work_dir: Path  # the re-identification counters' spill directories
    keys_dir: Path
    audit_origin: str
    software_version: str
    time_zone: ZoneInfo
    # Who may run step 8 besides the Petugas ADB (the `delivery_roles` setting).
    delivery_roles: frozenset[Role] = frozenset()


@dataclass(frozen=True)
class Published:
    delivery_id: str
    output: DeliveryOutput
    files: DeliveryFiles


def plan_delivery(
    env: DeliveryEnvironment, stored: StoredVersion, *, delivery_id: str, now: datetime
) -> Plan:
    secret = load_pseudonym_secret(env.keys_dir)
    return make_plan(
        stored.parsed_scope(env.catalog, env.region_codes),
        env.catalog,
        agreement=AgreementRef(
            number=stored.number,
            short_id=stored.short_id,
            version=stored.version,
            scope_hash=stored.scope_hash,
        ),
        delivery_id=delivery_id,
        as_of=now.astimezone(env.time_zone).date(),
        created_at=now,
        token_key=derive_token_key(secret, stored.short_id),
    )


def preview_delivery(
    engine: Engine, env: DeliveryEnvironment, short_id: str, now: datetime
) -> tuple[StoredVersion, Preview]:
    """What a delivery of the current version would hold now (signed or not); writes nothing."""
    with engine.connect() as connection:
        stored = load_version(connection, short_id, None)
    plan = plan_delivery(env, stored, delivery_id="preview", now=now)
    with Source.open(env.source_url) as source:
        shown = preview(plan, source, env.catalog, env.mapping, spill_dir=env.work_dir)
    return stored, shown


def extract_delivery(
    engine: Engine,
    env: DeliveryEnvironment,
    short_id: str,
    by: str | Actor,
    clock: Callable[[], datetime],
    progress: Any = None,
) -> Published:
    """Run step 8 for the agreement's current version (see the module docstring).

    `clock` is read at each step, so the start, the audit entry, the checkpoint and the finish
    carry the time they happened (a large delivery runs for minutes, and other entries are
    appended meanwhile); the plan, its delivery date and the manifest's `created_at` are the
    start's."""
    now = clock()
    close_abandoned(engine, env.places, now, work_dir=env.work_dir)
    today = now.astimezone(env.time_zone).date()
    delivery_id = f"{short_id}-{today:%Y%m%d}-{secrets.token_hex(3)}"
    lock = ExitStack()

    def start(connection: Connection, actor: Actor) -> Outcome:
        require(Action.DELIVERY_EXTRACT, actor.role, delivery_roles=env.delivery_roles)
        lock_agreement(connection, short_id)
        stored = _still_executable(connection, env, short_id, today, None)
        terms = stored.parsed_scope(env.catalog, env.region_codes).delivery
        _check_quota(connection, stored, terms, today, env.time_zone)
        plan = plan_delivery(env, stored, delivery_id=delivery_id, now=now)
        # The lock is held before the `running` row commits, so another process's start-up
        # recovery can never take this live run for a crashed one.
        lock.enter_context(held(DeliveryFiles.of(env.places, plan).lock))
        connection.execute(
            insert(deliveries).values(
                id=delivery_id,
                agreement_id=stored.agreement_id,
                version=stored.version,
                status=RUNNING,
                format=plan.format,
                file_name=delivery_id + SUFFIXES[plan.format] + ".age",
                requested_by=actor.name,
                started_at=now,
            )
        )
        return Outcome(delivery_id, {"agreement": short_id, "version": stored.version}, plan)

    with lock:
        # The start is audited (and a refusal too) before any data is read.
        started = perform(
            engine,
            by,
            action="delivery.start",
            object_type="delivery",
            object_id=delivery_id,
            now=now,
            work=start,
        )
        plan: Plan = started.value
        files = DeliveryFiles.of(env.places, plan)
        with ExitStack() as staged:
            # Partial files are removed on any exception inside this block.
            try:
                subject_key = derive_subject_key(load_pseudonym_secret(env.keys_dir))
                files.make_directories()
                data = staged.enter_context(StagedFile(files.data))
                subjects = staged.enter_context(StagedFile(files.subjects))
                # The source is opened once for the delivery and every read shares it.
                with Source.open(env.source_url) as source:
                    output = run_pipeline(
                        plan,
                        source,
                        env.catalog,
                        env.mapping,
                        data_sink=data.file,
                        subjects_sink=subjects.file,
                        subject_key=subject_key,
                        progress=progress,
                        spill_dir=env.work_dir,
                    )
                data.commit()
                subjects.commit()
                seq = _record(engine, env, plan, files, output, by, clock())
            except BaseException as error:
                _fail(engine, delivery_id, by, error, clock())
                raise
            try:
                _publish(engine, env, plan, files, output, seq, clock, staged_data=(data, subjects))
            except BaseException as error:
                # A rename may already have put a file of this delivery in place, and an
                # abandoned row is never looked at again: only once its files are gone is it
                # abandoned. If they cannot be removed the row stays `recorded`, and the next
                # start's recovery settles it (published if its manifest is in place).
                if _withdrawn(files):
                    abandon(engine, delivery_id, RECORDED, clock(), cause=_cause(error))
                raise
    return Published(delivery_id, output, files)


def _today(env: DeliveryEnvironment, now: datetime) -> date:
    return now.astimezone(env.time_zone).date()


def _withdrawn(files: DeliveryFiles) -> bool:
    """Remove what a failed publish had put in place; False if the filesystem refuses."""
    try:
        files.withdraw()
    except OSError as error:
        log.warning(
            "delivery %s: its files could not be removed after a failed publish (%s); "
            "the next start's recovery settles it",
            files.delivery_id,
            error.strerror or type(error).__name__,
        )
        return False
    return True


def _still_executable(
    connection: Connection,
    env: DeliveryEnvironment,
    short_id: str,
    today: date,
    plan: Plan | None,
) -> StoredVersion:
    """Everything a delivery rests on, checked with the agreement locked by the caller: the rows
    are as sealed, the current version is signed, active and valid today, and (once planned) is
    still the version the plan was made from. At the start (no plan yet) also that the log
    extends its kept checkpoint: a pass over every leaf hash, made once before any data is read;
    the delivery's own checkpoint makes it again before anything is published."""
    if plan is None:
        ensure_log_extends_kept(connection, env.keys_dir, env.audit_origin)
    stored, _verified = executable_version(connection, SealStore(env.keys_dir), short_id, today)
    if plan is not None and (stored.version, stored.scope_hash) != (
        plan.agreement.version,
        plan.agreement.scope_hash,
    ):
        raise Tampered(
            f"agreement {short_id}: the current version is no longer version "
            f"{plan.agreement.version}, from which this delivery was planned"
        )
    return stored


def _record(
    engine: Engine,
    env: DeliveryEnvironment,
    plan: Plan,
    files: DeliveryFiles,
    output: DeliveryOutput,
    by: str | Actor,
    now: datetime,
) -> int:
    """The delivery.extract entry: what was written, by whom, under which agreement version;
    recorded only if the agreement, locked, still allows the delivery now."""
    with engine.begin() as connection:
        lock_agreement(connection, plan.agreement.short_id)
        _still_executable(connection, env, plan.agreement.short_id, _today(env, now), plan)
        actor = resolve(connection, by)
        entry = audit_log.append(
            connection,
            actor_role=actor.role.value,
            actor_id=actor.name,
            action="delivery.extract",
            object_type="delivery",
            object_id=plan.delivery_id,
            outcome="ok",
            details={
                **entry_details(delivery_file(plan, files, output), output.rows, plan.agreement),
                "identified": plan.identified,
                "k": output.report.k,
                "suppressed": output.report.suppressed_records,
            },
            now=now,
        )
        connection.execute(
            update(deliveries)
            .where(deliveries.c.id == plan.delivery_id)
            .values(
                status=RECORDED,
                rows=output.rows,
                ciphertext_size=output.ciphertext_size,
                ciphertext_sha256=output.ciphertext_sha256,
                plaintext_sha256=output.plaintext_sha256,
                audit_seq=entry.seq,
                report_json=json.dumps(output.report.to_json(), sort_keys=True),
            )
        )
        return entry.seq


def _publish(
    engine: Engine,
    env: DeliveryEnvironment,
    plan: Plan,
    files: DeliveryFiles,
    output: DeliveryOutput,
    seq: int,
    clock: Callable[[], datetime],
    *,
    staged_data: tuple[StagedFile, ...],
) -> None:
    """Checkpoint, manifest, signature; then the renames, manifest last (see the docstring)."""
    with engine.begin() as connection:
        checkpoint = sign_and_keep(connection, env.keys_dir, env.audit_origin, clock())
        proof = tree.entry_proof(connection, seq, checkpoint)
        leaf = _leaf(connection, seq)
    manifest = build_manifest(
        plan,
        files,
        output,
        audit=AuditRef(seq=seq, leaf=leaf, proof=proof),
        software_version=env.software_version,
    )
    manifest_key = load_signing_key(env.keys_dir, "manifest")
    # The last check and the renames under one lock on the agreement: a suspension committed
    # since the entry was recorded still stops the delivery, and one that comes later waits until
    # the delivery is out, so the audit log orders them as they happened.
    with engine.begin() as connection:
        lock_agreement(connection, plan.agreement.short_id)
        _still_executable(connection, env, plan.agreement.short_id, _today(env, clock()), plan)
        publish_manifest(
            files,
            manifest,
            manifest_key,
            before_manifest=[staged.publish for staged in staged_data],
        )
        connection.execute(
            update(deliveries)
            .where(deliveries.c.id == plan.delivery_id)
            .values(status=PUBLISHED, finished_at=clock())
        )


def _leaf(connection: Connection, seq: int) -> bytes:
    from audit.schema import audit_entries

    row = connection.execute(select(audit_entries.c.leaf).where(audit_entries.c.seq == seq)).first()
    if row is None:
        raise NotFound("audit entry", str(seq))
    return bytes(row.leaf)


def _fail(
    engine: Engine, delivery_id: str, by: str | Actor, error: BaseException, now: datetime
) -> None:
    """Record why a started delivery did not happen (see `_cause`)."""
    cause = _cause(error)
    with engine.begin() as connection:
        connection.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery_id)
            .values(status=FAILED, finished_at=now, failure=cause)
        )
        audit_log.append(
            connection,
            actor_role=_role(connection, by),
            actor_id=by.name if isinstance(by, Actor) else by,
            action="delivery.extract",
            object_type="delivery",
            object_id=delivery_id,
            outcome="failed",
            details={"error": type(error).__name__, "cause": cause},
            now=now,
        )


def _cause(error: BaseException) -> str:
    """Our own error texts are kept: they name fields, rules and limits, never values. Of an OS
    error, its errno name; of anything else only the class, since a driver's text could quote a
    value."""
    if is_safe(error):
        return str(error)
    if isinstance(error, OSError) and error.errno is not None:
        return f"{type(error).__name__} {errno.errorcode.get(error.errno, error.errno)}"
    return type(error).__name__


def _role(connection: Connection, by: str | Actor) -> str:
    try:
        return resolve(connection, by).role.value
    except NotFound:
        return "unknown"


def _check_quota(
    connection: Connection,
    stored: StoredVersion,
    delivery: ScopeDelivery | None,
    today: date,
    zone: ZoneInfo,
) -> None:
    ensure_within_quota(
        stored.short_id, quota_used(connection, stored.agreement_id, delivery, today, zone)
    )
