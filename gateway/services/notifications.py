"""What the gateway tells a member of staff: the requests waiting on them, deliveries ready or
failed, semester reports overdue, agreements about to expire. Derived from the Beranda's read
model (gateway/services/dashboard.py), so the bell and the dashboard cannot disagree; each notice
has a stable key, so the e-mail sender tells each member each thing once (`notices_sent`).

A notice names requests, agreements and deliveries by their ids and numbers, never a value of a
person: it may travel by e-mail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from agreements.workflow import Role
from gateway.services.dashboard import Dashboard

RECENT_DELIVERIES = timedelta(days=7)
# Who hears of what, besides their own tasks: deliveries are the Petugas ADB's to follow; late
# reports and expiring agreements concern the officers who answer for the agreement.
DELIVERY_ROLES = frozenset({Role.PETUGAS_ADB})
AGREEMENT_ROLES = frozenset(
    {Role.PETUGAS_ADB, Role.KEPALA_BIDANG, Role.KEPALA_DINAS, Role.COMPLIANCE}
)


@dataclass(frozen=True)
class Notice:
    key: str  # stable: the same fact gives the same key (the e-mail sender's memory)
    kind: str  # task, overdue_task, delivery_published, delivery_failed, report_overdue, expiring
    subject: str  # the request, agreement or delivery it is about
    at: datetime | None  # since when (a task), when due, or when it happened
    link: str  # the web UI's path


def notices(model: Dashboard, role: Role, *, now: datetime) -> list[Notice]:
    found = [
        Notice(
            f"task:{task.id}:{task.status.value}",
            "overdue_task" if task.waiting and task.waiting.overdue else "task",
            f"{task.id} ({task.letter_number})",
            task.waiting.since if task.waiting else None,
            f"/permohonan/{task.id}",
        )
        for task in model.my_tasks
    ]
    if role in DELIVERY_ROLES:
        for delivery in model.deliveries:
            recent = now - delivery.started_at <= RECENT_DELIVERIES
            if recent and delivery.status in ("published", "failed", "abandoned"):
                kind = "delivery_published" if delivery.status == "published" else "delivery_failed"
                found.append(Notice(
                    f"delivery:{delivery.id}:{delivery.status}", kind, delivery.id,
                    delivery.finished_at or delivery.started_at, f"/pengiriman/{delivery.id}",
                ))  # fmt: skip
    if role in AGREEMENT_ROLES:
        for duty in model.reports:
            if duty.overdue:
                found.append(Notice(
                    f"report:{duty.agreement}:{duty.due.isoformat()}", "report_overdue",
                    duty.agreement, None, f"/perjanjian/{duty.agreement}",
                ))  # fmt: skip
        for agreement in model.expiring:
            found.append(Notice(
                f"expiring:{agreement.agreement}:{agreement.valid_until.isoformat()}", "expiring",
                agreement.number, None, f"/perjanjian/{agreement.agreement}",
            ))  # fmt: skip
    return found
