"""The SOP's words as the web UI shows them: statuses, steps and roles, as message ids.

Roles and step names are the SOP's own (Petugas ADB, Kepala Dinas, Disposisi …): the Indonesian
catalog gives them as the SOP writes them; English keeps the office's role titles too.
"""

from __future__ import annotations

from agreements.workflow import Role, Status, Transition
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

TRANSITIONS = {
    Transition.SUBMIT: N_("Step 1: request letter registered"),
    Transition.DISPOSE: N_("Step 2: disposition"),
    Transition.ASSIGN: N_("Step 3: assign to a Pejabat Fungsional"),
    Transition.REJECT: N_("Step 4: reject"),
    Transition.DRAFT: N_("Step 5: draft the PKS"),
    Transition.RETURN: N_("Step 6: return the draft for revision"),
    Transition.FORWARD: N_("Step 6: forward to the Kepala Dinas"),
    Transition.SIGN: N_("Step 7: sign"),
    Transition.CANCEL: N_("Cancel or withdraw the request"),
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


def transition_label(transition: Transition | str) -> str:
    try:
        return _(TRANSITIONS[Transition(transition)])
    except ValueError:
        return str(transition)


def agreement_status_label(status: str) -> str:
    return _(AGREEMENT_STATUSES[status]) if status in AGREEMENT_STATUSES else status


def error_title(code: str) -> str:
    """The translated title of an error-table kind (gateway/errors.py)."""
    return _(ERROR_TITLES.get(code, N_("Error")))


# The error table's kinds as the web UI names them: message ids, translated like any other.
ERROR_TITLES = {
    "verification_failed": N_("Verification failed"),
    "usage": N_("Bad request"),
    "invalid_input": N_("Invalid input"),
    "not_permitted": N_("Not permitted"),
    "not_found": N_("Not found"),
    "conflict": N_("Conflict with the current state"),
    "unavailable": N_("Source or database unavailable"),
}
