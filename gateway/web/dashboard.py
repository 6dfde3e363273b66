"""The Beranda: a member's own tasks first, then the office's state (services/dashboard.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

from babel.dates import format_date
from flask import redirect, render_template, url_for

from agreements.roles import View
from agreements.workflow import Status
from gateway import context
from gateway.services.dashboard import dashboard as dashboard_model
from gateway.web import security, web
from gateway.web.access import allow
from gateway.web.chart import bar_chart
from gateway.web.i18n import language


@web.get("/")
@allow(View.DASHBOARD)
def dashboard() -> Any:
    current = security.acting_member()
    settings = security.settings()
    with security.engine().connect() as connection:
        model = dashboard_model(
            connection, current.name, current.role, now=security.now(),
            calendar=context.work_calendar(settings), zone=settings.zone,
            grace_days=settings.report_grace_days,
        )  # fmt: skip

    chart = bar_chart(model.activity, short_month)
    return render_template("dashboard.html", model=model, chart=chart, steps=list(Status))


def short_month(month: date) -> str:
    return format_date(month, "MMM y", locale=language())


@web.get("/beranda")
@allow(View.DASHBOARD)
def dashboard_alias() -> Any:
    return redirect(url_for("web.dashboard"))
