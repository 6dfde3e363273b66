"""Who may do what: every action of the gateway and the actors that may perform it, in one table.

The SOP's own steps keep their roles where the SOP is written down (`workflow.STEPS`, one role
per step, and `workflow.AGREEMENT_MOVES`); this table takes them from there and adds every other
action, so that one lookup answers for all of them and a test can hold every service to it. An
action with no entry is a bug: `tests/agreements/test_roles.py` fails for one.

Step 8, carrying the agreement out, belongs to the Petugas ADB (DOMAIN.md §1). A setting
(`delivery_roles`) may widen that set for an office that works differently; nothing else here is
configurable, and no setting can give it to compliance, who review deliveries and must never make
one, nor approve what they review.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

from agreements.errors import Invalid, NotPermitted
from agreements.workflow import AGREEMENT_MOVES, STEPS, AgreementAction, Machine, Role

__all__ = ["PERMITTED", "VIEWS", "Action", "Actor", "Machine", "View", "permitted", "require"]

Actor = Role | Machine


class Action(StrEnum):
    """Every action, named as its audit entry's `action`."""

    REQUEST_SUBMIT = "request.submit"
    REQUEST_DISPOSE = "request.dispose"
    REQUEST_ASSIGN = "request.assign"
    REQUEST_REJECT = "request.reject"
    REQUEST_DRAFT = "request.draft"
    REQUEST_RETURN = "request.return"
    REQUEST_FORWARD = "request.forward"
    REQUEST_SIGN = "request.sign"
    REQUEST_CANCEL = "request.cancel"
    AGREEMENT_IMPORT = "agreement.import"
    AGREEMENT_SIGNATURE = "agreement.signature"
    AGREEMENT_SUSPEND = "agreement.suspend"
    AGREEMENT_RESUME = "agreement.resume"
    AGREEMENT_REVOKE = "agreement.revoke"
    AGREEMENT_WITHDRAW = "agreement.withdraw"
    STAFF_ADD = "staff.added"
    STAFF_ROLE = "staff.role_changed"
    STAFF_DEACTIVATE = "staff.deactivated"
    STAFF_PASSWORD = "staff.password_set"  # noqa: S105  (an action name, not a secret)
    STAFF_EMAIL = "staff.email_set"
    SIGNER_ADD = "signer.added"
    SIGNER_REVOKE = "signer.revoked"
    DELIVERY_EXTRACT = "delivery.start"
    DELIVERY_QUEUE = "delivery.queue"
    DELIVERY_EXPIRE = "delivery.expire"
    DELIVERY_RECOVER = "delivery.abandon"
    AUDIT_REANCHOR = "audit.reanchor"
    REPORT_RECEIVE = "report.received"
    NIK_VERIFY = "nik.verify"
    TOKEN_CREATE = "token.create"  # noqa: S105  (an action name, not a secret)
    TOKEN_ROTATE = "token.rotate"  # noqa: S105  (an action name, not a secret)
    TOKEN_REVOKE = "token.revoke"  # noqa: S105  (an action name, not a secret)
    TOKEN_LIST = "token.list"  # noqa: S105  (an action name, not a secret)
    # The partner API (gateway/api/): any call made with a partner token (refusals are audited
    # under it), and a download of a delivery's encrypted file.
    TOKEN_USE = "token.use"  # noqa: S105  (an action name, not a secret)
    DELIVERY_DOWNLOAD = "delivery.download"


_SOP = {Action(f"request.{step.transition.value}"): frozenset({step.role}) for step in STEPS}
_MOVES = {
    Action(f"agreement.{move.value}"): AGREEMENT_MOVES[move].roles
    for move in (
        AgreementAction.SUSPEND,
        AgreementAction.RESUME,
        AgreementAction.REVOKE,
        AgreementAction.WITHDRAW,
    )
}

_TOKEN_OVERSIGHT: frozenset[Actor] = frozenset(
    {Role.PETUGAS_ADB, Role.KEPALA_BIDANG, Role.KEPALA_DINAS, Role.COMPLIANCE}
)

# Drafting a scope: the Pejabat Fungsional (SOP step 5), or an Admin registering a PKS signed on
# paper. Signing is the Kepala Dinas's alone; the registry of staff and keys is the Admin's.
PERMITTED: Mapping[Action, frozenset[Actor]] = {
    **_SOP,
    Action.AGREEMENT_IMPORT: frozenset({Role.PEJABAT_FUNGSIONAL, Role.ADMIN}),
    Action.AGREEMENT_SIGNATURE: frozenset({Role.KEPALA_DINAS}),
    **_MOVES,
    Action.STAFF_ADD: frozenset({Role.ADMIN}),
    Action.STAFF_ROLE: frozenset({Role.ADMIN}),
    Action.STAFF_DEACTIVATE: frozenset({Role.ADMIN}),
    # An Admin sets or resets anyone's web password; a member changes their own
    # (gateway/services/staff.py `set_password`).
    Action.STAFF_PASSWORD: frozenset({Role.ADMIN}),
    Action.STAFF_EMAIL: frozenset({Role.ADMIN}),
    Action.SIGNER_ADD: frozenset({Role.ADMIN}),
    Action.SIGNER_REVOKE: frozenset({Role.ADMIN}),
    # Step 8: the Petugas ADB; the gateway itself for an agreement's schedule; a partner's
    # credential for an on-demand delivery within the quota (both through the job queue).
    Action.DELIVERY_EXTRACT: frozenset({Role.PETUGAS_ADB, Machine.SYSTEM, Machine.PARTNER}),
    Action.DELIVERY_QUEUE: frozenset({Role.PETUGAS_ADB, Machine.SYSTEM, Machine.PARTNER}),
    # Retention: delivery files are deleted by the gateway after their period, by no one else.
    Action.DELIVERY_EXPIRE: frozenset({Machine.SYSTEM}),
    Action.DELIVERY_RECOVER: frozenset({Machine.SYSTEM}),
    Action.AUDIT_REANCHOR: frozenset({Role.ADMIN}),
    # A partner's report: uploaded by the partner, or entered by the Petugas ADB who received it.
    Action.REPORT_RECEIVE: frozenset({Machine.PARTNER, Role.PETUGAS_ADB}),
    # NIK verification is the partner's door alone (an agreement granting nik_verification).
    Action.NIK_VERIFY: frozenset({Machine.PARTNER}),
    # A partner token opens the door to what step 8 released: issued and rotated by the Petugas
    # ADB, who carries deliveries out (not widened by `delivery_roles`, never compliance). Closing
    # a door never releases anything, so the officers above the Petugas ADB and compliance may
    # revoke one too; who holds which token is theirs to see.
    Action.TOKEN_CREATE: frozenset({Role.PETUGAS_ADB}),
    Action.TOKEN_ROTATE: frozenset({Role.PETUGAS_ADB}),
    Action.TOKEN_REVOKE: _TOKEN_OVERSIGHT,
    Action.TOKEN_LIST: _TOKEN_OVERSIGHT,
    Action.TOKEN_USE: frozenset({Machine.PARTNER}),
    Action.DELIVERY_DOWNLOAD: frozenset({Machine.PARTNER}),
}


class View(StrEnum):
    """What a member of staff may look at in the web UI (each page declares one, or an Action)."""

    DASHBOARD = "view.dashboard"
    REQUESTS = "view.requests"
    AGREEMENTS = "view.agreements"
    DELIVERIES = "view.deliveries"
    AUDIT = "view.audit"
    SUBJECTS = "view.subjects"
    STAFF = "view.staff"


_STAFF: frozenset[Role] = frozenset(Role)
# The register of who received which person's record is looked up for a data subject's request
# (the Petugas ADB answers it) and reviewed by compliance; the audit log is for those who answer
# for the office and those who check it.
VIEWS: Mapping[View, frozenset[Role]] = {
    View.DASHBOARD: _STAFF,
    View.REQUESTS: _STAFF,
    View.AGREEMENTS: _STAFF,
    View.DELIVERIES: _STAFF,
    View.AUDIT: frozenset({Role.COMPLIANCE, Role.KEPALA_DINAS, Role.KEPALA_BIDANG, Role.ADMIN}),
    View.SUBJECTS: frozenset({Role.COMPLIANCE, Role.PETUGAS_ADB}),
    View.STAFF: frozenset({Role.ADMIN}),
}

# Who may never be given step 8 by a setting: compliance review deliveries and never make one.
NEVER_DELIVER: frozenset[Actor] = frozenset({Role.COMPLIANCE})
STEP_8 = frozenset({Action.DELIVERY_EXTRACT, Action.DELIVERY_QUEUE})


def permitted(action: Action, *, delivery_roles: Iterable[Role] = ()) -> frozenset[Actor]:
    """The actors allowed `action`; `delivery_roles` (the setting) widens step 8 only."""
    allowed = PERMITTED[action]
    if action in STEP_8:
        allowed = allowed | frozenset(delivery_roles)
    return allowed


def require(action: Action, actor: Actor, *, delivery_roles: Iterable[Role] = ()) -> None:
    """NotPermitted, naming the action and who may do it, unless `actor` may do `action`."""
    allowed = permitted(action, delivery_roles=delivery_roles)
    if actor not in allowed:
        names = ", ".join(sorted(a.value for a in allowed))
        raise NotPermitted(
            f"{action.value} is done by {names}, not {actor.value}",
            role=actor.value,
            action=action.value,
        )


def delivery_roles(text: str) -> frozenset[Role]:
    """The `delivery_roles` setting (comma-separated staff roles) as roles; Invalid for an unknown
    role or one that may never deliver."""
    roles = set()
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            role = Role(part)
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise Invalid("delivery_roles", f"{part!r} is not a staff role ({known})") from None
        if role in NEVER_DELIVER:
            raise Invalid("delivery_roles", f"{role.value} reviews deliveries and never makes one")
        roles.add(role)
    return frozenset(roles)
