"""The SOP state machine and its working-day clock, walked with a fixed clock across holidays.

Around Good Friday 2026 (Friday 3 April, a public holiday in the `holidays` package) and Ascension
Day 2026 (Thursday 14 May) followed by a configured *cuti bersama* on Friday 15 May.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest

from agreements.errors import Conflict, Invalid, NotPermitted
from agreements.workdays import OFFICE_TIME_ZONE, WorkCalendar
from agreements.workflow import (
    STEP_BY_TRANSITION,
    STEPS,
    AgreementStatus,
    Document,
    Event,
    Role,
    Status,
    StepTime,
    Transition,
    apply,
    apply_agreement,
    ensure_executable,
    next_transitions,
    replay,
    step_report,
)

GOOD_FRIDAY = date(2026, 4, 3)
ASCENSION = date(2026, 5, 14)
CUTI_BERSAMA = date(2026, 5, 15)
CLOCK = WorkCalendar.with_days_off([CUTI_BERSAMA])
LETTER = Document("surat-permohonan.pdf", "ab" * 32)


def wita(day: str, hour: int) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=OFFICE_TIME_ZONE)


def all_facts(transition: Transition) -> dict[str, object]:
    return dict.fromkeys(STEP_BY_TRANSITION[transition].requires, True)


def walk(steps: list[tuple[Transition, Role, datetime]], received: datetime) -> Iterator[Event]:
    """Apply each step as a service would, yielding the recorded events."""
    state: Status | None = None
    previous: datetime | None = None
    for transition, role, at in steps:
        state = apply(state, transition, role, at, previous_at=previous,
                      facts=all_facts(transition))  # fmt: skip
        yield Event(transition, f"officer-{role.value}", role, at,
                    received_at=received if transition is Transition.SUBMIT else None)  # fmt: skip
        previous = at


def summary(rows: list[StepTime]) -> list[tuple[int, str | None, float, bool]]:
    return [
        (r.number, r.transition and r.transition.value, round(r.working_days, 4), r.overdue)
        for r in rows
    ]


def test_the_holidays_the_walks_rely_on() -> None:
    public = holidays.country_holidays("ID", years=2026)
    assert GOOD_FRIDAY in public and ASCENSION in public
    assert CUTI_BERSAMA not in public
    assert not CLOCK.is_working_day(GOOD_FRIDAY)
    assert not CLOCK.is_working_day(CUTI_BERSAMA)
    assert not CLOCK.is_working_day(date(2026, 4, 4))  # Saturday
    assert CLOCK.is_working_day(date(2026, 4, 2))


def test_walk_rejected_at_step_4() -> None:
    received = wita("2026-04-02", 8)  # Thursday before Good Friday
    events = list(
        walk(
            [
                (Transition.SUBMIT, Role.PETUGAS_ADB, wita("2026-04-02", 14)),
                (Transition.DISPOSE, Role.KEPALA_DINAS, wita("2026-04-06", 8)),  # Monday
                (Transition.ASSIGN, Role.KEPALA_BIDANG, wita("2026-04-06", 14)),
                (Transition.REJECT, Role.PEJABAT_FUNGSIONAL, wita("2026-04-08", 8)),
            ],
            received,
        )
    )
    assert replay(events) is Status.REJECTED
    rows = step_report(events, wita("2026-04-20", 8), CLOCK)
    assert summary(rows) == [
        (1, "submit", 0.25, False),
        # Thursday 14:00 to Monday 08:00: 10 h + 8 h; Friday (holiday) and the weekend stop the
        # clock, so four calendar days stay within the one-day limit.
        (2, "dispose", 0.75, False),
        (3, "assign", 0.25, False),
        # Monday 14:00 to Wednesday 08:00: 10 h + 24 h + 8 h > 1 working day.
        (4, "reject", 1.75, True),
    ]
    assert rows[1].deadline == wita("2026-04-06", 14)
    assert rows[2].limit_days is None and rows[2].deadline is None
    assert (rows[1].ended or received) - rows[1].started > timedelta(days=3)


def test_working_days_are_counted_in_wita() -> None:
    utc = ZoneInfo("UTC")
    # 16:00 UTC on Thursday is midnight WITA, when Good Friday begins: no clock after that.
    start = datetime(2026, 4, 2, 10, tzinfo=utc)  # 18:00 WITA
    end = datetime(2026, 4, 3, 12, tzinfo=utc)  # Friday 20:00 WITA
    assert CLOCK.working_time(start, end) == timedelta(hours=6)
    assert CLOCK.working_days(end, start) == 0
    # One working day from Thursday 18:00 WITA ends on Monday 18:00 WITA.
    assert CLOCK.add_working_days(start, 1) == wita("2026-04-06", 18)
    assert CLOCK.add_working_days(wita("2026-04-04", 10), 0.5) == wita("2026-04-06", 12)
    with pytest.raises(Invalid, match="time zone"):
        CLOCK.working_days(datetime(2026, 4, 2), end)


def approved_walk() -> list[Event]:
    return list(
        walk(
            [
                (Transition.SUBMIT, Role.PETUGAS_ADB, wita("2026-05-11", 14)),
                (Transition.DISPOSE, Role.KEPALA_DINAS, wita("2026-05-12", 8)),
                (Transition.ASSIGN, Role.KEPALA_BIDANG, wita("2026-05-12", 20)),
                (Transition.DRAFT, Role.PEJABAT_FUNGSIONAL, wita("2026-05-13", 14)),
                (Transition.RETURN, Role.KEPALA_BIDANG, wita("2026-05-18", 14)),
                (Transition.DRAFT, Role.PEJABAT_FUNGSIONAL, wita("2026-05-19", 8)),
                (Transition.FORWARD, Role.KEPALA_BIDANG, wita("2026-05-21", 14)),
                (Transition.SIGN, Role.KEPALA_DINAS, wita("2026-05-22", 14)),
            ],
            wita("2026-05-11", 8),
        )
    )


def test_walk_approved_after_one_revision_round() -> None:
    events = approved_walk()
    assert replay(events) is Status.SIGNED
    rows = step_report(events, wita("2026-06-30", 8), CLOCK)
    assert summary(rows) == [
        (1, "submit", 0.25, False),
        (2, "dispose", 0.75, False),
        (3, "assign", 0.5, False),
        (5, "draft", 0.75, False),
        # Wednesday 14:00 to Monday 14:00 over Ascension Day, the cuti bersama and the weekend.
        (6, "return", 1.0, False),
        (5, "draft", 0.75, False),
        # Tuesday 08:00 to Thursday 14:00: 16 h + 24 h + 14 h = 2.25 > 2 working days.
        (6, "forward", 2.25, True),
        (7, "sign", 1.0, False),
    ]
    assert all(r.ended is not None for r in rows)  # signed is final: no open step


def test_configured_cuti_bersama_counts() -> None:
    events = approved_walk()
    without = step_report(events, wita("2026-06-30", 8), WorkCalendar())
    assert round(without[4].working_days, 4) == 2.0  # the Friday now runs the clock
    joint = step_report(events, wita("2026-06-30", 8), WorkCalendar(package_joint_leave=True))
    # The package's own joint-leave list has 15 May 2026 too.
    assert round(joint[4].working_days, 4) == 1.0


def test_open_step_is_measured_until_now_and_flagged() -> None:
    events = approved_walk()[:-1]  # forwarded Thursday 21 May 14:00, not yet signed
    rows = step_report(events, wita("2026-05-25", 8), CLOCK)
    pending = rows[-1]
    assert pending.transition is None and pending.ended is None and pending.number == 7
    assert round(pending.working_days, 4) == 1.75  # Thu 10 h + Fri 24 h + Mon 8 h
    assert pending.overdue
    on_time = step_report(events, wita("2026-05-22", 8), CLOCK)[-1]
    assert not on_time.overdue


def test_open_step_with_an_unlimited_way_out_is_never_overdue() -> None:
    events = approved_walk()[:3]  # assigned: reject (1 day) or draft (no limit)
    pending = step_report(events, wita("2026-06-30", 8), CLOCK)[-1]
    assert pending.limit_days is None and not pending.overdue
    assert pending.working_days > 10


def test_wrong_role_is_not_permitted() -> None:
    with pytest.raises(NotPermitted, match="dispose is done by kepala_dinas, not kepala_bidang"):
        apply(Status.SUBMITTED, "dispose", "kepala_bidang", wita("2026-04-02", 9),
              facts={"note": "x"})  # fmt: skip
    with pytest.raises(NotPermitted):
        apply(Status.FORWARDED, Transition.SIGN, Role.ADMIN, wita("2026-04-02", 9))


@pytest.mark.parametrize(
    ("state", "transition", "role"),
    [
        (None, Transition.DISPOSE, Role.KEPALA_DINAS),
        (Status.SUBMITTED, Transition.SUBMIT, Role.PETUGAS_ADB),
        (Status.DISPOSED, Transition.DRAFT, Role.PEJABAT_FUNGSIONAL),
        (Status.DRAFTED, Transition.REJECT, Role.PEJABAT_FUNGSIONAL),
        (Status.RETURNED, Transition.FORWARD, Role.KEPALA_BIDANG),
        (Status.ASSIGNED, Transition.SIGN, Role.KEPALA_DINAS),
        (Status.REJECTED, Transition.DRAFT, Role.PEJABAT_FUNGSIONAL),
        (Status.SIGNED, Transition.SIGN, Role.KEPALA_DINAS),
    ],
)
def test_out_of_order_is_a_conflict(
    state: Status | None, transition: Transition, role: Role
) -> None:
    with pytest.raises(Conflict, match="out of order"):
        apply(state, transition, role, wita("2026-04-02", 9), facts=all_facts(transition))


def test_missing_fact_names_the_field() -> None:
    facts = all_facts(Transition.SIGN) | {"scope_signature_verified": False}
    with pytest.raises(Invalid) as caught:
        apply(Status.FORWARDED, "sign", "kepala_dinas", wita("2026-04-02", 9), facts=facts)
    assert caught.value.field == "sign.scope_signature_verified"
    with pytest.raises(Invalid, match=r"reject\.reason"):
        apply(Status.ASSIGNED, "reject", "pejabat_fungsional", wita("2026-04-02", 9),
              facts={"rejection_letter": LETTER})  # fmt: skip


def test_time_does_not_run_backwards_and_must_be_aware() -> None:
    with pytest.raises(Conflict, match="before the previous step"):
        apply(Status.SUBMITTED, "dispose", "kepala_dinas", wita("2026-04-02", 9),
              previous_at=wita("2026-04-02", 10), facts={"note": "x"})  # fmt: skip
    with pytest.raises(Invalid, match="time zone"):
        apply(Status.SUBMITTED, "dispose", "kepala_dinas", datetime(2026, 4, 2, 9),
              facts={"note": "x"})  # fmt: skip


def test_unknown_names_are_invalid() -> None:
    with pytest.raises(Invalid, match="transition"):
        apply(None, "approve", "petugas_adb", wita("2026-04-02", 9))
    with pytest.raises(Invalid, match="role"):
        apply(None, "submit", "bupati", wita("2026-04-02", 9))


def test_steps_table_matches_the_sop() -> None:
    limits = {step.transition: step.limit_days for step in STEPS}
    assert limits == {
        Transition.SUBMIT: 1, Transition.DISPOSE: 1, Transition.ASSIGN: None,
        Transition.REJECT: 1, Transition.DRAFT: None, Transition.RETURN: 2,
        Transition.FORWARD: 2, Transition.SIGN: 1, Transition.CANCEL: None,
    }  # fmt: skip
    assert set(next_transitions(Status.RETURNED)) == {Transition.DRAFT, Transition.CANCEL}
    assert set(next_transitions(Status.ASSIGNED)) == {
        Transition.REJECT,
        Transition.DRAFT,
        Transition.CANCEL,
    }
    assert next_transitions(Status.CANCELLED) == ()  # final


def test_document_hash_is_checked() -> None:
    with pytest.raises(Invalid, match="sha256"):
        Document("letter.pdf", "not-a-hash")


def test_agreement_lifecycle() -> None:
    active = apply_agreement("draft", "sign", "kepala_dinas")
    suspended = apply_agreement(active, "suspend", "compliance")
    assert suspended is AgreementStatus.SUSPENDED
    with pytest.raises(NotPermitted):
        apply_agreement(suspended, "resume", "compliance")
    assert apply_agreement(suspended, "resume", "kepala_dinas") is AgreementStatus.ACTIVE
    revoked = apply_agreement(active, "revoke", "kepala_dinas")
    with pytest.raises(Conflict):
        apply_agreement(revoked, "resume", "kepala_dinas")


def test_only_current_active_unexpired_versions_execute() -> None:
    window = {"valid_from": date(2026, 1, 1), "valid_until": date(2026, 12, 31)}
    ensure_executable("bpd-2026", "active", is_current=True, today=date(2026, 12, 31), **window)
    cases = [
        ("active", False, date(2026, 6, 1), "not the current version"),
        ("suspended", True, date(2026, 6, 1), "suspended"),
        ("draft", True, date(2026, 6, 1), "draft"),
        ("active", True, date(2025, 12, 31), "before its start"),
        ("active", True, date(2027, 1, 1), "expired"),
    ]
    for status, current, today, rule in cases:
        with pytest.raises(Conflict, match=rule) as caught:
            ensure_executable("bpd-2026", status, is_current=current, today=today, **window)
        assert "bpd-2026" in str(caught.value)
