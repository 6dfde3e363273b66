"""The Beranda (dashboard) of a member of staff, as one read model: what waits on them, where the
requests stand, what expires or falls due soon, and what was delivered, downloaded and verified.

Counts of activity come from the audit log (the one record of every delivery, download and NIK
verification), so the chart and the log cannot disagree.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from agreements.workdays import WorkCalendar
from agreements.workflow import Role, Status
from audit.schema import audit_entries
from gateway.services.agreement_views import AgreementSummary, list_agreements
from gateway.services.delivery_views import DeliverySummary, list_deliveries
from gateway.services.reports import ReportDuty, report_duties
from gateway.services.request_views import RequestSummary, list_requests

SOON_DAYS = 30
RECENT = 8
CHART_MONTHS = 6
# What the chart counts: the audit actions of a published delivery, a download and a NIK check.
ACTIVITY = {"deliveries": "delivery.extract", "downloads": "delivery.download",
            "verifications": "nik.verify"}  # fmt: skip


@dataclass(frozen=True)
class MonthActivity:
    month: date  # its first day
    counts: dict[str, int]


@dataclass(frozen=True)
class Dashboard:
    my_tasks: list[RequestSummary]
    by_status: dict[Status, int]
    expiring: list[AgreementSummary]
    reports: list[ReportDuty]
    deliveries: list[DeliverySummary]
    activity: list[MonthActivity]


def dashboard(
    connection: Connection,
    name: str,
    role: Role,
    *,
    now: datetime,
    calendar: WorkCalendar,
    zone: ZoneInfo,
    grace_days: int,
    with_activity: bool = True,
) -> Dashboard:
    """The member's Beranda; `with_activity` False leaves out the monthly counts (a scan of the
    audit log) for what needs only the rest (the notifications on every page's header)."""
    today = now.astimezone(zone).date()
    everything = list_requests(connection, now, calendar)
    mine = [r for r in everything if r.waiting and _waits_on(r, role, name)]
    by_status = Counter(r.status for r in everything)
    soon = today + timedelta(days=SOON_DAYS)
    expiring = [
        a for a in list_agreements(connection)
        if a.status == "active" and today <= a.valid_until <= soon
    ]  # fmt: skip
    return Dashboard(
        my_tasks=mine,
        by_status={status: by_status.get(status, 0) for status in Status},
        expiring=expiring,
        reports=report_duties(connection, today, within_days=SOON_DAYS, grace_days=grace_days),
        deliveries=list_deliveries(connection)[:RECENT],
        activity=monthly_activity(connection, today, zone) if with_activity else [],
    )


def _waits_on(summary: RequestSummary, role: Role, name: str) -> bool:
    waiting = summary.waiting
    if waiting is None or waiting.role is not role:
        return False
    return waiting.person is None or waiting.person == name


def monthly_activity(connection: Connection, today: date, zone: ZoneInfo) -> list[MonthActivity]:
    """Deliveries published, downloads and NIK verification calls per month, the last
    CHART_MONTHS months (the current one last)."""
    months = [_month_back(today.replace(day=1), back) for back in range(CHART_MONTHS - 1, -1, -1)]
    start = datetime(months[0].year, months[0].month, 1, tzinfo=zone)
    rows = connection.execute(
        select(audit_entries.c.action, audit_entries.c.created_at)
        .where(audit_entries.c.action.in_(ACTIVITY.values()))
        .where(audit_entries.c.outcome == "ok")
        .where(audit_entries.c.created_at >= start)
    )
    counts: Counter[tuple[date, str]] = Counter()
    for action, at in rows:
        local = _aware(at).astimezone(zone).date().replace(day=1)
        counts[(local, action)] += 1
    return [
        MonthActivity(month, {key: counts[(month, action)] for key, action in ACTIVITY.items()})
        for month in months
    ]


def _month_back(first: date, back: int) -> date:
    index = first.year * 12 + first.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def _aware(at: datetime) -> datetime:
    # SQLite hands back naive UTC; PostgreSQL an aware time.
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
