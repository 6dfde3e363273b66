"""The role table (agreements/roles.py): every action declares who may do it, the SOP's steps and
agreement moves agree with it, and step 8 can be widened by the setting but never to compliance."""

from __future__ import annotations

import pytest

from agreements.errors import Invalid, NotPermitted
from agreements.roles import PERMITTED, Action, Machine, delivery_roles, permitted, require
from agreements.workflow import AGREEMENT_MOVES, STEPS, AgreementAction, Role


def test_every_action_declares_who_may_do_it() -> None:
    assert set(PERMITTED) == set(Action)
    assert all(PERMITTED[action] for action in Action), "an action nobody may perform"


def test_the_sop_steps_and_agreement_moves_are_the_tables_own() -> None:
    for step in STEPS:
        assert PERMITTED[Action(f"request.{step.transition.value}")] == {step.role}
    for move in (AgreementAction.SUSPEND, AgreementAction.RESUME, AgreementAction.REVOKE):
        assert PERMITTED[Action(f"agreement.{move.value}")] == AGREEMENT_MOVES[move].roles


def test_step_8_is_the_petugas_adbs_and_compliance_never_delivers_drafts_or_approves() -> None:
    # Of the staff, the Petugas ADB alone; besides, the gateway (schedules) and a partner's
    # credential (on demand, within the quota), both through the job queue.
    for action in (Action.DELIVERY_EXTRACT, Action.DELIVERY_QUEUE):
        assert permitted(action) == {Role.PETUGAS_ADB, Machine.SYSTEM, Machine.PARTNER}
    assert permitted(Action.DELIVERY_EXPIRE) == {Machine.SYSTEM}
    approving = {
        Action.DELIVERY_EXTRACT,
        Action.AGREEMENT_IMPORT,
        Action.AGREEMENT_SIGNATURE,
        Action.REQUEST_DRAFT,
        Action.REQUEST_FORWARD,
        Action.REQUEST_SIGN,
        Action.AGREEMENT_RESUME,
    }
    for action in approving:
        assert Role.COMPLIANCE not in PERMITTED[action], action
    assert Role.COMPLIANCE in PERMITTED[Action.AGREEMENT_SUSPEND]


def test_the_setting_widens_step_8_only() -> None:
    widened = delivery_roles("petugas_adb, pejabat_fungsional")
    assert permitted(Action.DELIVERY_EXTRACT, delivery_roles=widened) == {
        Role.PETUGAS_ADB,
        Role.PEJABAT_FUNGSIONAL,
        Machine.SYSTEM,
        Machine.PARTNER,
    }
    require(Action.DELIVERY_EXTRACT, Role.PEJABAT_FUNGSIONAL, delivery_roles=widened)
    with pytest.raises(NotPermitted, match=r"agreement\.signature is done by kepala_dinas"):
        require(Action.AGREEMENT_SIGNATURE, Role.PEJABAT_FUNGSIONAL, delivery_roles=widened)


@pytest.mark.parametrize(
    ("text", "named"), [("compliance", "never makes one"), ("bendahara", "not a staff role")]
)
def test_the_setting_refuses_compliance_and_unknown_roles(text: str, named: str) -> None:
    with pytest.raises(Invalid, match=named):
        delivery_roles(f"petugas_adb,{text}")


def test_a_refusal_names_the_action_and_who_may_do_it() -> None:
    with pytest.raises(NotPermitted) as refused:
        require(Action.DELIVERY_EXTRACT, Role.COMPLIANCE)
    assert refused.value.message == (
        "delivery.start is done by partner, petugas_adb, system, not compliance"
    )
    with pytest.raises(NotPermitted):
        require(Action.STAFF_ADD, Machine.PARTNER)
