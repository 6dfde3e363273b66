"""Notifications in the web UI (`/pemberitahuan`, and their count in the header) and by e-mail
when an SMTP relay is set: one list of notices per member (gateway/services/notifications.py),
written in the member's words here.

E-mail goes from the worker (a periodic job, gateway/worker.py), in Bahasa Indonesia, each
notice to each member once; a member without an address (`pks-gateway staff email`) gets none.
A notice names ids and numbers only, never a person's data.
"""

from __future__ import annotations

import smtplib
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from flask import g, render_template
from sqlalchemy import Connection, Engine, insert, select

from agreements.roles import View
from agreements.workflow import Role
from gateway import context
from gateway.services.dashboard import dashboard
from gateway.services.notifications import Notice, notices
from gateway.settings import Settings
from gateway.store.tables import staff
from gateway.store.web import notices_sent
from gateway.web import i18n, security, web
from gateway.web.access import allow
from gateway.web.i18n import _
from gateway.web.words import N_

WORDS = {
    "task": N_("Request %(subject)s waits on you."),
    "overdue_task": N_("Request %(subject)s waits on you and is past its SOP limit."),
    "delivery_published": N_("Delivery %(subject)s is published."),
    "delivery_failed": N_("Delivery %(subject)s failed."),
    "report_overdue": N_("The semester report of %(subject)s is overdue."),
    "expiring": N_("Agreement %(subject)s expires within 30 days."),
}


def notice_text(notice: Notice) -> str:
    return _(WORDS[notice.kind], subject=notice.subject)


def member_notices(connection: Connection, settings: Settings, name: str, role: Role,
                   now: datetime) -> list[Notice]:  # fmt: skip
    model = dashboard(
        connection, name, role, now=now, calendar=context.work_calendar(settings),
        zone=settings.zone, grace_days=settings.report_grace_days, with_activity=False,
    )  # fmt: skip
    return notices(model, role, now=now)


@web.get("/pemberitahuan")
@allow(View.DASHBOARD)
def notices_page() -> Any:
    current = security.acting_member()
    with security.engine().connect() as connection:
        found = member_notices(
            connection, security.settings(), current.name, current.role, security.now()
        )
    return render_template("notices.html", notices=found, notice_text=notice_text)


def notice_count() -> int:
    """For the header: how many notices the member has (computed once per page)."""
    current = security.member()
    if current is None:
        return 0
    if "notice_count" not in g:
        with security.engine().connect() as connection:
            g.notice_count = len(member_notices(
                connection, security.settings(), current.name, current.role, security.now()
            ))  # fmt: skip
    return int(g.notice_count)


def send_new_notices(engine: Engine, settings: Settings, now: datetime) -> int:
    """E-mail each active member with an address the notices they were not yet sent; how many
    messages went. Nothing without `smtp_host`."""
    if not settings.smtp_host:
        return 0
    sent = 0
    with engine.connect() as connection:
        members = connection.execute(
            select(staff.c.name, staff.c.role, staff.c.email)
            .where(staff.c.active, staff.c.email.is_not(None))
            .order_by(staff.c.name)
        ).all()
    for name, role, address in members:
        with engine.connect() as connection:
            known = set(connection.execute(
                select(notices_sent.c.notice_key).where(notices_sent.c.staff_name == name)
            ).scalars())  # fmt: skip
            fresh = [
                n for n in member_notices(connection, settings, name, Role(role), now)
                if n.key not in known
            ]  # fmt: skip
        if not fresh:
            continue
        _mail(settings, address, fresh)
        with engine.begin() as connection:
            connection.execute(insert(notices_sent), [
                {"staff_name": name, "notice_key": n.key, "sent_at": now} for n in fresh
            ])  # fmt: skip
        sent += 1
    return sent


def _mail(settings: Settings, address: str, fresh: list[Notice]) -> None:
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = address
    message["Subject"] = i18n.catalog(i18n.DEFAULT_LANGUAGE).gettext("PKS Gateway notifications")
    lines = [notice_text(n) for n in fresh]
    message.set_content("\n".join(f"- {line}" for line in lines) + "\n")
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as relay:
        if settings.smtp_starttls:
            relay.starttls()
        relay.send_message(message)
