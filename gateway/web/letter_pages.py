"""The office's letters as PDF downloads from the pages they belong to (gateway/services/letters.py
makes them, docs/letters.md says what each holds): the Lembar Disposisi and the Surat Penolakan
of a request, the Konsep PKS of an agreement, the Surat Pengantar and the Berita Acara Serah
Terima of a delivery, and the reply to a data subject. The office prints, signs and, where a step
needs the signed document, uploads the scan. Who may print which follows the page it comes from;
every letter made is audited (`letter.issued`, its kind and object)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, request
from sqlalchemy import Connection

from agreements.errors import DomainError
from agreements.roles import Action, View
from audit import log as audit_log
from gateway import context
from gateway.services import letters
from gateway.services.actions import recordable
from gateway.services.letters import LetterEnvironment
from gateway.web import security, web
from gateway.web.access import allow
from gateway.web.compliance import subject_page
from gateway.web.requests import error_message, error_status


def _pdf(
    kind: str,
    object_type: str,
    object_id: str,
    make: Callable[[Connection, LetterEnvironment], bytes],
) -> Response:
    env = context.letter_environment(security.settings())
    with security.engine().connect() as connection:
        data = make(connection, env)
    _issued(kind, object_type, object_id)
    name = f"{kind}-{object_id}.pdf".replace("/", "-")
    return Response(
        data, mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )  # fmt: skip


def _issued(kind: str, object_type: str, object_id: str) -> None:
    current = security.acting_member()
    with security.engine().begin() as connection:
        audit_log.append(
            connection, actor_role=current.role.value, actor_id=current.name,
            action="letter.issued", object_type=object_type,
            object_id=recordable("object_id", object_id), outcome="ok",
            details={"letter": kind}, now=security.now(),
        )  # fmt: skip


@web.get("/permohonan/<int:request_id>/lembar-disposisi.pdf")
@allow(View.REQUESTS)
def letter_disposition(request_id: int) -> Any:
    def make(connection: Connection, env: LetterEnvironment) -> bytes:
        return letters.disposisi(connection, env, request_id, now=security.now())

    return _pdf("lembar-disposisi", "request", str(request_id), make)


@web.get("/permohonan/<int:request_id>/surat-penolakan.pdf")
@allow(Action.REQUEST_REJECT)
def letter_rejection(request_id: int) -> Any:
    reason = request.args.get("alasan", "").strip()[:2000] or None

    def make(connection: Connection, env: LetterEnvironment) -> bytes:
        return letters.penolakan(connection, env, request_id, now=security.now(), reason=reason)

    return _pdf("surat-penolakan", "request", str(request_id), make)


@web.get("/perjanjian/<short_id>/konsep-pks.pdf")
@allow(View.AGREEMENTS)
def letter_draft_pks(short_id: str) -> Any:
    wanted = request.args.get("versi", "")
    version = int(wanted) if wanted.isdigit() and len(wanted) < 6 else None

    def make(connection: Connection, env: LetterEnvironment) -> bytes:
        return letters.konsep_pks(
            connection, env, short_id[:40], now=security.now(), version=version
        )

    return _pdf("konsep-pks", "agreement", short_id[:40], make)


@web.get("/pengiriman/<delivery_id>/surat-pengantar.pdf")
@allow(View.DELIVERIES)
def letter_cover(delivery_id: str) -> Any:
    def make(connection: Connection, env: LetterEnvironment) -> bytes:
        return letters.pengantar(connection, env, delivery_id[:80], now=security.now())

    return _pdf("surat-pengantar", "delivery", delivery_id[:80], make)


@web.get("/pengiriman/<delivery_id>/berita-acara.pdf")
@allow(View.DELIVERIES)
def letter_handover(delivery_id: str) -> Any:
    def make(connection: Connection, env: LetterEnvironment) -> bytes:
        return letters.berita_acara(connection, env, delivery_id[:80], now=security.now())

    return _pdf("berita-acara", "delivery", delivery_id[:80], make)


@web.post("/subjek/surat-balasan.pdf")
@allow(View.SUBJECTS)
def letter_subject_reply() -> Any:
    """The reply to a data subject (their NIK posted again, never in a URL; the lookup is
    audited as `subject.deliveries` by the service, the letter as `letter.issued`)."""
    current = security.acting_member()
    env = context.letter_environment(security.settings())
    try:
        data = letters.balasan_subjek(
            security.engine(), env, request.form.get("nik", "")[:64], actor=current.name,
            now=security.now(), addressee=request.form.get("addressee", "").strip()[:200] or None,
        )  # fmt: skip
    except DomainError as error:
        return subject_page(None, {"nik": error_message(error)}), error_status(error)
    _issued("surat-balasan-subjek", "subject", "reply")
    return Response(
        data,
        mimetype="application/pdf",
        headers={"Content-Disposition": 'attachment; filename="surat-balasan-subjek.pdf"'},
    )
