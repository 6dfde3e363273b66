"""The SOP walked twice on a stored request through the services (the `engine` and `clock`
fixtures, no CLI), the clock set across a weekend and a public holiday (Christmas, Friday 25
December 2026): one request rejected at step 4, one approved after one revision round at step 6.
Per-step working days and overdue flags are checked by hand."""

from __future__ import annotations

from datetime import datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, func, select

from agreements.canonical import SIGNATURE_NAMESPACE
from agreements.errors import Conflict, NotPermitted
from agreements.scope_toml import load_scope_toml
from agreements.signing import public_key_line, sign
from agreements.workdays import WorkCalendar
from agreements.workflow import Role, Transition
from audit.schema import audit_entries
from gateway.seals import SealStore
from gateway.services import agreements as agreement_service
from gateway.services import requests as service
from gateway.services import staff
from gateway.services.actions import find_actor
from tests.clock import OfficeClock
from tests.gateway.letters import LETTER, WITA, at, doc
from tests.harness import CATALOG, REGIONS, REPO

EXAMPLE = REPO / "config" / "examples" / "demo-agreement.toml"
KEY = Ed25519PrivateKey.generate()


@pytest.fixture(autouse=True)
def staffed(engine: Engine, seals: SealStore, clock: OfficeClock) -> None:
    """The office's staff and the Kepala Dinas's signer key, added on 1 December at 08:00."""
    clock.set(at(1, 8))
    staff.add_staff(engine, "admin", Role.ADMIN, by=None, now=clock())
    for name, role in [
        ("ratna", Role.PETUGAS_ADB),
        ("kadis", Role.KEPALA_DINAS),
        ("kabid", Role.KEPALA_BIDANG),
        ("pf", Role.PEJABAT_FUNGSIONAL),
    ]:
        staff.add_staff(engine, name, role, by="admin", now=clock())
    staff.add_signer(engine, seals, "kadis", public_key_line(KEY), by="admin", now=clock())


def walk_to_assigned(engine: Engine, clock: OfficeClock) -> int:
    # Letter arrives Wednesday 23 Dec 09:00 and is registered the same day at 15:00 (0.25 day).
    clock.set(at(23, 15))
    request_id = service.submit(
        engine, "ratna", LETTER, doc("letter.pdf"), now=clock(), received_at=at(23, 9)
    )
    # Disposed Monday 28 Dec 09:00: Thu 24 is a working day, Fri 25 Christmas, then the weekend.
    clock.set(at(28, 9))
    service.advance(
        engine,
        "kadis",
        request_id,
        Transition.DISPOSE,
        now=clock(),
        notes="ok",
        facts={"note": "ok"},
    )
    clock.advance(hours=3)
    service.advance(
        engine, "kabid", request_id, Transition.ASSIGN, now=clock(), facts={"assignee": "pf"}
    )
    return request_id


def steps(engine: Engine, request_id: int, now: datetime) -> list[tuple[int, str, float, bool]]:
    with engine.connect() as connection:
        view = service.show(connection, request_id, now, WorkCalendar())
    return [
        (
            s.number,
            s.transition.value if s.transition else "open",
            round(s.working_days, 4),
            s.overdue,
        )
        for s in view.steps
    ]


def test_rejected_at_step_4(engine: Engine, clock: OfficeClock) -> None:
    request_id = walk_to_assigned(engine, clock)
    # Rejected Wednesday 30 Dec 12:00: two working days after assignment, limit 1 -> overdue.
    status = service.advance(
        engine,
        "pf",
        request_id,
        Transition.REJECT,
        now=at(30, 12),
        notes="purpose not covered",
        documents=(doc("rejection.pdf"),),
        facts={"reason": "x", "rejection_letter": doc("rejection.pdf")},
    )
    assert status.value == "rejected"
    assert steps(engine, request_id, at(31, 9)) == [
        (1, "submit", round(0.25, 4), False),
        (2, "dispose", round(1 + 9 / 24 + 9 / 24, 4), True),  # skips Fri 25 + weekend
        (3, "assign", round(0.125, 4), False),
        (4, "reject", round(2.0, 4), True),
    ]
    with pytest.raises(Conflict, match="out of order"):
        service.advance(
            engine,
            "pf",
            request_id,
            Transition.DRAFT,
            now=at(31, 9),
            facts={"draft_scope": doc("scope.toml")},
        )


def test_approved_after_one_revision(engine: Engine, seals: SealStore, clock: OfficeClock) -> None:
    request_id = walk_to_assigned(engine, clock)
    identity, scope = load_scope_toml(EXAMPLE, CATALOG, region_codes=REGIONS)

    def register(connection, actor):  # type: ignore[no-untyped-def]
        return agreement_service.register_version(
            connection, seals, actor, identity, scope, at(29, 10), request_id=request_id
        )

    draft_facts = {"draft_scope": doc("scope.toml")}
    service.advance(
        engine,
        "pf",
        request_id,
        Transition.DRAFT,
        now=at(29, 10),
        facts=draft_facts,
        also=register,
        seals=seals,
    )
    service.advance(
        engine,
        "kabid",
        request_id,
        Transition.RETURN,
        now=at(29, 16),
        notes="narrow the filter",
        facts={"notes": "narrow the filter"},
    )
    service.advance(
        engine,
        "pf",
        request_id,
        Transition.DRAFT,
        now=at(30, 10),
        facts=draft_facts,
        also=register,
        seals=seals,
    )
    # Forwarded Monday 4 Jan 10:00: Thu 31 Dec and Fri 1 Jan (New Year) -> 1 Jan is a holiday.
    service.advance(
        engine,
        "kabid",
        request_id,
        Transition.FORWARD,
        now=at(4, 10, month=1).replace(year=2027),
        facts={},
    )
    signed_at = datetime(2027, 1, 4, 14, tzinfo=WITA)
    with engine.connect() as connection:
        data = agreement_service.load_version(connection, identity.short_id, 1).canonical_bytes()
    agreement_service.attach_signature(
        engine,
        seals,
        "kadis",
        identity.short_id,
        sign(data, KEY, SIGNATURE_NAMESPACE),
        now=signed_at,
    )

    def activate(connection, actor):  # type: ignore[no-untyped-def]
        agreement_service.activate(connection, seals, actor, identity.short_id, 1, signed_at)
        return {}

    status = service.advance(
        engine,
        "kadis",
        request_id,
        Transition.SIGN,
        now=signed_at,
        documents=(doc("pks-signed.pdf"),),
        also=activate,
        seals=seals,
        facts={
            "applicant_acknowledged": True,
            "signed_pks_document": doc("pks-signed.pdf"),
            "scope_signature_verified": True,
        },
    )
    assert status.value == "signed"
    assert steps(engine, request_id, signed_at) == [
        (1, "submit", round(0.25, 4), False),
        (2, "dispose", round(1 + 9 / 24 + 9 / 24, 4), True),
        (3, "assign", round(0.125, 4), False),
        (5, "draft", round(1 - 12 / 24 + 10 / 24, 4), False),
        (6, "return", round(0.25, 4), False),
        (5, "draft", round(8 / 24 + 10 / 24, 4), False),
        # Wed 30 10:00 -> Mon 4 Jan 10:00: Wed 14 h, Thu 31 24 h, Fri 1 Jan holiday, Mon 10 h.
        (6, "forward", round(2.0, 4), False),
        (7, "sign", round(4 / 24, 4), False),
    ]
    with engine.connect() as connection:
        stored, verified = agreement_service.verify_version(connection, seals, identity.short_id)
        assert stored.status.value == "active" and verified.principal == "kadis"
        actions = (
            connection.execute(
                select(audit_entries.c.action).where(audit_entries.c.object_type == "request")
            )
            .scalars()
            .all()
        )
    assert actions == [
        "request.submit",
        "request.dispose",
        "request.assign",
        "request.draft",
        "request.return",
        "request.draft",
        "request.forward",
        "request.sign",
    ]


def test_open_step_turns_overdue(engine: Engine, clock: OfficeClock) -> None:
    request_id = service.submit(engine, "ratna", LETTER, doc("letter.pdf"), now=at(23, 15))
    clock.set(at(24, 12))
    assert steps(engine, request_id, clock())[-1] == (2, "open", round(21 / 24, 4), False)
    clock.advance(days=4)  # Monday 28 Dec 12:00: past Christmas and the weekend
    assert steps(engine, request_id, clock())[-1][3] is True


def test_wrong_role_is_refused_stored_nowhere_and_audited(engine: Engine) -> None:
    request_id = service.submit(engine, "ratna", LETTER, doc("letter.pdf"), now=at(23, 15))
    with pytest.raises(NotPermitted, match="dispose is done by kepala_dinas"):
        service.advance(
            engine, "ratna", request_id, Transition.DISPOSE, now=at(24, 9), facts={"note": "x"}
        )
    with engine.connect() as connection:
        assert find_actor(connection, "ratna").role is Role.PETUGAS_ADB
        assert steps(engine, request_id, at(24, 9))[-1][1] == "open"
        refused = connection.execute(
            select(func.count())
            .select_from(audit_entries)
            .where(
                audit_entries.c.outcome == "refused", audit_entries.c.action == "request.dispose"
            )
        ).scalar_one()
    assert refused == 1
