"""The agreements pages: every agreement at its current version, and one agreement in words —
elements and masks, regions, ages, validity, recipients with key fingerprints, quota used and
left, reporting duties and reports received, the deliveries made under it and its history."""

from __future__ import annotations

from typing import Any

from flask import render_template, request

from ageformat.keys import recipient_fingerprint
from agreements.roles import View
from gateway import context
from gateway.services.agreement_views import list_agreements, show_agreement
from gateway.services.delivery_views import list_deliveries
from gateway.services.reports import list_reports
from gateway.web import security, web
from gateway.web.access import allow
from gateway.web.scope_words import mask_words


@web.get("/perjanjian")
@allow(View.AGREEMENTS)
def agreements_page() -> Any:
    with security.engine().connect() as connection:
        listed = list_agreements(connection)
    return render_template("agreements.html", agreements=listed)


@web.get("/perjanjian/<short_id>")
@allow(View.AGREEMENTS)
def agreement_page(short_id: str) -> Any:
    settings = security.settings()
    wanted = request.args.get("versi", "")
    version = int(wanted) if wanted.isdigit() and len(wanted) < 6 else None
    today = security.now().astimezone(settings.zone).date()
    with security.engine().connect() as connection:
        view = show_agreement(
            connection, short_id, version, catalog=context.catalog_of(settings),
            region_codes=context.region_codes(settings),
            region_names=context.region_names(settings), today=today, zone=settings.zone,
        )  # fmt: skip
        deliveries = list_deliveries(connection, short_id)
        reports = list_reports(connection, short_id)
    fingerprints = {
        r.age_recipient: recipient_fingerprint(r.age_recipient) for r in view.recipients
    }
    return render_template(
        "agreement.html", view=view, deliveries=deliveries, reports=reports,
        fingerprints=fingerprints, mask_words=mask_words,
    )  # fmt: skip
