"""SOP steps 1-7 on stored requests: each transition checked by `agreements.workflow`, recorded as
an append-only event with its attached documents' SHA-256, and audited.

Attached files are kept in the data directory under their SHA-256 (`documents/`), so the hash in
the history always points to the exact bytes that were attached. Step 5 (draft) attaches a scope
file and registers it as the agreement's draft version; step 7 (sign) needs that version to carry
a verified Kepala Dinas signature (`agreement attach-signature` or `agreement sign`) and activates
it together with the request.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from agreements.errors import Conflict, Invalid, NotFound, NotPermitted
from agreements.policy import CatalogLike
from agreements.roles import Action, require
from agreements.scope_toml import read_scope_toml
from agreements.workflow import (
    Document,
    Role,
    Status,
    Transition,
    apply,
)
from gateway.seals import SealStore
from gateway.services import agreements as agreements_service
from gateway.services.actions import Actor, Outcome, find_actor, perform
from gateway.store.tables import request_events, requests

ACCESS_MODES = ("bulk_delivery", "nik_verification")


@dataclass(frozen=True)
class Letter:
    """Step 1's facts: the applicant's request letter as the Petugas ADB registers it."""

    institution: str
    letter_number: str
    letter_date: date
    purpose: str
    legal_basis: tuple[str, ...]
    requested_elements: tuple[str, ...]
    access_modes: tuple[str, ...]
    duration_months: int
    data_balikan_plan: str


def attach(name: str, data: bytes, documents_dir: Path) -> Document:
    """Keep the document's bytes under their SHA-256 and return the reference the history
    records. The caller reads the file within its limit (gateway/limits.py); what is hashed is
    what is kept. A copy appears complete or not at all (written aside, then renamed); like the
    folder (0700), it is readable by the gateway's user only (0600, as mkstemp makes it)."""
    digest = hashlib.sha256(data).hexdigest()
    documents_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    kept = documents_dir / digest
    if not kept.exists():
        handle, temporary = tempfile.mkstemp(prefix=f".{digest}.", dir=documents_dir)
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, kept)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    return Document(name, digest)


def submit(
    engine: Engine,
    by: str,
    letter: Letter,
    letter_document: Document,
    *,
    now: datetime,
    received_at: datetime | None = None,
    catalog_keys: tuple[str, ...] = (),
) -> int:
    """Step 1: register the letter; the request's id."""
    received = received_at or now

    def work(connection: Connection, actor: Actor) -> Outcome:
        _check_letter(letter, catalog_keys)
        status = apply(
            None,
            Transition.SUBMIT,
            actor.role,
            now,
            previous_at=received,
            facts=_letter_facts(letter, letter_document),
        )
        facts = {
            "purpose": letter.purpose,
            "legal_basis": list(letter.legal_basis),
            "requested_elements": list(letter.requested_elements),
            "access_modes": list(letter.access_modes),
            "data_balikan_plan": letter.data_balikan_plan,
        }
        request_id = connection.execute(
            insert(requests)
            .values(
                institution=letter.institution,
                letter_number=letter.letter_number,
                letter_date=letter.letter_date,
                facts=json.dumps(facts, ensure_ascii=False),
                duration_months=letter.duration_months,
                received_at=received,
                status=status.value,
            )
            .returning(requests.c.id)
        ).scalar_one()
        _record(connection, request_id, Transition.SUBMIT, actor, now, "", (letter_document,))
        return Outcome(str(request_id), {"status": status.value, "documents": 1}, request_id)

    return int(
        perform(
            engine,
            by,
            action="request.submit",
            object_type="request",
            object_id="new",
            now=now,
            work=work,
        ).value
    )


def _letter_facts(letter: Letter, document: Document) -> dict[str, object]:
    return {
        "letter_number": letter.letter_number,
        "letter_date": letter.letter_date,
        "institution": letter.institution,
        "purpose": letter.purpose,
        "legal_basis": letter.legal_basis,
        "requested_elements": letter.requested_elements,
        "access_mode": letter.access_modes,
        "duration": letter.duration_months,
        "data_balikan_plan": letter.data_balikan_plan,
        "letter_document": document,
    }


def _check_letter(letter: Letter, catalog_keys: tuple[str, ...]) -> None:
    for name in ("institution", "letter_number", "purpose", "data_balikan_plan"):
        if not str(getattr(letter, name)).strip():
            raise Invalid(name, "required")
    if not letter.legal_basis:
        raise Invalid("legal_basis", "at least one")
    for mode in letter.access_modes:
        if mode not in ACCESS_MODES:
            raise Invalid("access_mode", f"each must be one of: {', '.join(ACCESS_MODES)}")
    if not letter.access_modes:
        raise Invalid("access_mode", "at least one")
    if not 1 <= letter.duration_months <= 60:
        raise Invalid("duration", "a whole number of months from 1 to 60")
    if not letter.requested_elements:
        raise Invalid("requested_elements", "at least one")
    unknown = [key for key in letter.requested_elements if catalog_keys and key not in catalog_keys]
    if unknown:
        raise Invalid("requested_elements", f"not in the catalog: {', '.join(unknown)}")


def dispose(engine: Engine, by: str, request_id: int, *, note: str, now: datetime) -> Status:
    """Step 2: the Kepala Dinas's disposition."""
    return _step(engine, by, request_id, Transition.DISPOSE, now, notes=note, facts={"note": note})


def assign(engine: Engine, by: str, request_id: int, *, assignee: str, now: datetime) -> Status:
    """Step 3: the Kepala Bidang hands the request to a Pejabat Fungsional, who must be an active
    member of staff in that role (checked in the same transaction)."""

    def check(connection: Connection, actor: Actor) -> dict[str, Any]:
        if find_actor(connection, assignee).role is not Role.PEJABAT_FUNGSIONAL:
            raise Invalid("assignee", "must be a pejabat_fungsional")
        return {"assignee": assignee}

    return _step(
        engine,
        by,
        request_id,
        Transition.ASSIGN,
        now,
        notes=f"assigned to {assignee}",
        facts={"assignee": assignee},
        also=check,
    )


def reject(
    engine: Engine, by: str, request_id: int, *, reason: str, letter: Document, now: datetime
) -> Status:
    """Step 4: rejected with a reason and the rejection letter (final)."""
    facts = {"reason": reason, "rejection_letter": letter}
    return _step(
        engine,
        by,
        request_id,
        Transition.REJECT,
        now,
        notes=reason,
        documents=(letter,),
        facts=facts,
    )


def draft(
    engine: Engine,
    seals: SealStore,
    by: str,
    request_id: int,
    *,
    scope_text: str,
    document: Document,
    catalog: CatalogLike,
    region_codes: Collection[str],
    now: datetime,
) -> Status:
    """Step 5: the drafted scope (TOML, kept as `document`) becomes the agreement's draft
    version, checked against the catalog, the leak guard and the duration the letter asked for.
    Each re-draft in the revision loop is kept as its own document (see request_views)."""

    def register(connection: Connection, actor: Actor) -> dict[str, Any]:
        identity, scope = read_scope_toml(
            scope_text,
            catalog,
            region_codes=region_codes,
            request_duration=duration_months(connection, request_id),
        )
        return agreements_service.register_version(
            connection, seals, actor, identity, scope, now, request_id=request_id
        )

    return _step(
        engine,
        by,
        request_id,
        Transition.DRAFT,
        now,
        documents=(document,),
        facts={"draft_scope": document},
        also=register,
        seals=seals,
    )


def return_draft(engine: Engine, by: str, request_id: int, *, notes: str, now: datetime) -> Status:
    """Step 6: the Kepala Bidang returns the draft for revision, saying what to revise."""
    return _step(
        engine, by, request_id, Transition.RETURN, now, notes=notes, facts={"notes": notes}
    )


def forward(engine: Engine, by: str, request_id: int, *, notes: str, now: datetime) -> Status:
    """Step 6: the Kepala Bidang forwards the draft to the Kepala Dinas."""
    return _step(engine, by, request_id, Transition.FORWARD, now, notes=notes, facts={})


def cancel(engine: Engine, by: str, request_id: int, *, reason: str, now: datetime) -> Status:
    """Not an SOP step: a request entered by mistake or withdrawn by the applicant (final)."""
    return _step(
        engine, by, request_id, Transition.CANCEL, now, notes=reason, facts={"reason": reason}
    )


def _step(
    engine: Engine,
    by: str,
    request_id: int,
    transition: Transition,
    now: datetime,
    *,
    notes: str = "",
    documents: tuple[Document, ...] = (),
    facts: Mapping[str, object],
    also: Callable[[Connection, Actor], Mapping[str, Any]] | None = None,
    seals: SealStore | None = None,
) -> Status:
    """One transition in one transaction: the SOP's checks, then `also` (the step's own work
    and checks), the event, the audit entry."""

    def work(connection: Connection, actor: Actor) -> Outcome:
        status, details = _transition(
            connection, actor, request_id, transition, now, notes, documents, facts
        )
        if also is not None:
            details.update(also(connection, actor))
        return Outcome(str(request_id), details, status)

    outcome = perform(
        engine,
        by,
        action=f"request.{transition.value}",
        object_type="request",
        object_id=str(request_id),
        now=now,
        work=work,
        seals=seals,
    )
    return Status(outcome.value)


def sign(
    engine: Engine,
    seals: SealStore,
    by: str,
    request_id: int,
    *,
    acknowledged: bool,
    signed_pks: Document,
    now: datetime,
) -> tuple[Status, str, int]:
    """Step 7: the Kepala Dinas signs; the version this request drafted becomes active. Whether
    its digital signature verifies against an allowed key is established here, in the same
    transaction, on rows held to their seals; not asserted by the caller. (status, agreement
    short id, version)."""

    def work(connection: Connection, actor: Actor) -> Outcome:
        require(Action.REQUEST_SIGN, actor.role)
        linked = agreements_service.version_of_request(connection, request_id)
        if linked is None:
            raise Conflict(f"request {request_id} has drafted no agreement version to sign")
        short_id, version = linked
        stored = agreements_service.load_version(connection, short_id, version)
        if stored.signature is not None:
            agreements_service.verify_version(connection, seals, short_id, version)
        facts = {
            "applicant_acknowledged": acknowledged,
            "signed_pks_document": signed_pks,
            "scope_signature_verified": stored.signature is not None,
        }
        status, details = _transition(
            connection, actor, request_id, Transition.SIGN, now, "", (signed_pks,), facts
        )
        agreements_service.activate(connection, seals, actor, short_id, version, now)
        details.update({"agreement": short_id, "version": version})
        return Outcome(str(request_id), details, (status, short_id, version))

    outcome = perform(
        engine,
        by,
        action="request.sign",
        object_type="request",
        object_id=str(request_id),
        now=now,
        work=work,
        seals=seals,
    )
    status, short_id, version = outcome.value
    return Status(status), str(short_id), int(version)


# The steps that belong to the Pejabat Fungsional the request was assigned to (step 3).
ASSIGNEES_OWN = frozenset({Transition.REJECT, Transition.DRAFT})


def _transition(
    connection: Connection,
    actor: Actor,
    request_id: int,
    transition: Transition,
    now: datetime,
    notes: str,
    documents: tuple[Document, ...],
    facts: Mapping[str, object] | None,
) -> tuple[Status, dict[str, Any]]:
    """One SOP transition on the request's row and history (the caller audits it)."""
    row = _request_row(connection, request_id)
    previous_at = _last_event_time(connection, request_id)
    status = apply(
        row["status"],
        transition,
        actor.role,
        now,
        previous_at=previous_at,
        facts=facts or {"note": notes, "notes": notes},
    )
    if transition in ASSIGNEES_OWN and row["assignee"] and actor.name != row["assignee"]:
        # Step 3 hands the request to one Pejabat Fungsional: the review is theirs alone.
        raise NotPermitted(
            f"request {request_id} is assigned to another Pejabat Fungsional",
            role=actor.role.value, action=f"request.{transition.value}",
        )  # fmt: skip
    changes: dict[str, Any] = {"status": status.value}
    if transition is Transition.ASSIGN and facts:
        changes["assignee"] = str(facts["assignee"])
    connection.execute(update(requests).where(requests.c.id == request_id).values(**changes))
    _record(connection, request_id, transition, actor, now, notes, documents)
    return status, {"status": status.value, "documents": len(documents)}


def _record(
    connection: Connection,
    request_id: int,
    transition: Transition,
    actor: Actor,
    now: datetime,
    notes: str,
    documents: tuple[Document, ...],
) -> None:
    connection.execute(
        insert(request_events).values(
            request_id=request_id,
            transition=transition.value,
            actor=actor.name,
            role=actor.role.value,
            at=now,
            notes=notes,
            documents=json.dumps([{"name": d.name, "sha256": d.sha256} for d in documents]),
        )
    )


def _request_row(connection: Connection, request_id: int) -> dict[str, Any]:
    row = connection.execute(select(requests).where(requests.c.id == request_id)).mappings().first()
    if row is None:
        raise NotFound("request", str(request_id))
    return dict(row)


def _last_event_time(connection: Connection, request_id: int) -> datetime | None:
    latest = select(func.max(request_events.c.at)).where(request_events.c.request_id == request_id)
    found: datetime | None = connection.execute(latest).scalar_one_or_none()
    return found


def duration_months(connection: Connection, request_id: int) -> int:
    """The duration the letter requested: a drafted scope's validity must fit in it."""
    return int(_request_row(connection, request_id)["duration_months"])
