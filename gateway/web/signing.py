"""The Kepala Dinas's signing page: the exact bytes a signature covers (RFC 8785 JSON of the
agreement's identity and scope), their SHA-256, the `ssh-keygen -Y sign` command that signs them
on the Kepala Dinas's own machine, and the upload of the signature it writes. The private key
never comes near the gateway; the gateway verifies the signature against the registered keys
(agreements.attach_signature) and keeps it."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Response, redirect, render_template, request, url_for

from agreements.canonical import SIGNATURE_NAMESPACE
from agreements.errors import DomainError, Invalid
from agreements.roles import Action
from gateway import limits
from gateway.services import agreements as service
from gateway.services.agreements import load_version, signable_version
from gateway.web import security, web
from gateway.web.access import allow
from gateway.web.requests import error_message, error_status, upload


def _draft(short_id: str) -> service.StoredVersion:
    with security.engine().connect() as connection:
        return load_version(connection, short_id, signable_version(connection, short_id))


@web.get("/perjanjian/<short_id>/tanda-tangan")
@allow(Action.AGREEMENT_SIGNATURE)
def signing_page(short_id: str) -> Any:
    return _page(short_id)


def _page(short_id: str, error: str | None = None, status: int = 200) -> Any:
    draft = _draft(short_id)
    canonical = draft.canonical_bytes()
    return render_template(
        "signing.html", draft=draft, canonical=canonical.decode("utf-8"),
        digest=hashlib.sha256(canonical).hexdigest(), namespace=SIGNATURE_NAMESPACE,
        error=error,
    ), status  # fmt: skip


@web.get("/perjanjian/<short_id>/kanonik.json")
@allow(Action.AGREEMENT_SIGNATURE)
def canonical_bytes(short_id: str) -> Any:
    draft = _draft(short_id)
    name = f"{short_id}-v{draft.version}.json"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(draft.canonical_bytes(), mimetype="application/json", headers=headers)


@web.post("/perjanjian/<short_id>/tanda-tangan")
@allow(Action.AGREEMENT_SIGNATURE)
def attach_signature(short_id: str) -> Any:
    current = security.acting_member()
    try:
        data = upload("signature", limits.SIGNATURE_FILE)
        try:
            armored = data.decode("ascii")
        except UnicodeDecodeError:
            raise Invalid("signature", "an SSH signature file (ASCII armor)") from None
        service.attach_signature(
            security.engine(), security.seals(), current.name, short_id, armored,
            now=security.now(),
        )  # fmt: skip
    except DomainError as error:
        return _page(short_id, error_message(error), error_status(error))
    target = request.form.get("request_id", "")
    if target.isdigit():
        return redirect(url_for("web.request_page", request_id=int(target)), code=303)
    return redirect(url_for("web.dashboard"), code=303)
