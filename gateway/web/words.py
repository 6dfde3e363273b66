"""The SOP's words as the web UI shows them: statuses, steps and roles, as message ids.

Roles and step names are the SOP's own (Petugas ADB, Kepala Dinas, Disposisi …): the Indonesian
catalog gives them as the SOP writes them; English keeps the office's role titles too.
"""

from __future__ import annotations

from agreements.workflow import Role, Status
from gateway.web.i18n import _


def N_(message: str) -> str:
    """Marks a message id for extraction (the gettext convention); translated where shown."""
    return message


ROLES = {
    Role.PETUGAS_ADB: N_("Petugas ADB"),
    Role.PEJABAT_FUNGSIONAL: N_("Pejabat Fungsional"),
    Role.KEPALA_BIDANG: N_("Kepala Bidang"),
    Role.KEPALA_DINAS: N_("Kepala Dinas"),
    Role.COMPLIANCE: N_("Compliance officer"),
    Role.ADMIN: N_("Administrator"),
}

STATUSES = {
    Status.SUBMITTED: N_("Request letter registered"),
    Status.DISPOSED: N_("Disposition given"),
    Status.ASSIGNED: N_("Assigned for review"),
    Status.REJECTED: N_("Rejected"),
    Status.DRAFTED: N_("Draft PKS prepared"),
    Status.RETURNED: N_("Draft returned for revision"),
    Status.FORWARDED: N_("Forwarded for signing"),
    Status.SIGNED: N_("Signed"),
    Status.CANCELLED: N_("Cancelled"),
}

AGREEMENT_STATUSES = {
    "draft": N_("Draft"),
    "active": N_("Active"),
    "suspended": N_("Suspended"),
    "revoked": N_("Revoked"),
    "expired": N_("Expired"),
    "superseded": N_("Superseded"),
    "withdrawn": N_("Withdrawn"),
}


def role_label(role: Role | str) -> str:
    try:
        return _(ROLES[Role(role)])
    except ValueError:
        return str(role)


def status_label(status: Status | str) -> str:
    try:
        return _(STATUSES[Status(status)])
    except ValueError:
        return str(status)


def agreement_status_label(status: str) -> str:
    return _(AGREEMENT_STATUSES[status]) if status in AGREEMENT_STATUSES else status
