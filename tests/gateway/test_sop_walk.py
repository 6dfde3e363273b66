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
from agreements.signing import sign
from agreements.workdays import WorkCalendar
from agreements.workflow import Role
from audit.schema import audit_entries
from gateway.seals import SealStore
from gateway.services import agreements as agreement_service
from gateway.services import request_views
from gateway.services import requests as service
from gateway.services.actions import find_actor
from tests.clock import OfficeClock
from tests.gateway.letters import LETTER, WITA, at, doc, staff_the_office
from tests.harness import CATALOG, REGIONS, REPO

EXAMPLE = REPO / "config" / "examples" / "demo-agreement.toml"
KEY = Ed25519PrivateKey.generate()


@pytest.fixture(autouse=True)
def staffed(engine: Engine, seals: SealStore, clock: OfficeClock) -> None:
    """The office's staff and the Kepala Dinas's signer key, added on 1 December at 08:00."""
    staff_the_office(engine, seals, clock.set(at(1, 8)), KEY)


def walk_to_assigned(engine: Engine, clock: OfficeClock) -> int:
    # Letter arrives Wednesday 23 Dec 09:00 and is registered the same day at 15:00 (0.25 day).
    clock.set(at(23, 15))
    request_id = service.submit(
        engine, "ratna", LETTER, doc("letter.pdf"), now=clock(), received_at=at(23, 9)
    )
    # Disposed Monday 28 Dec 09:00: Thu 24 is a working day, Fri 25 Christmas, then the weekend.
    service.dispose(engine, "kadis", request_id, note="ok", now=clock.set(at(28, 9)))
    service.assign(engine, "kabid", request_id, assignee="pf", now=clock.advance(hours=3))
    return request_id


def steps(engine: Engine, request_id: int, now: datetime) -> list[tuple[int, str, float, bool]]:
    with engine.connect() as connection:
        view = request_views.show_request(connection, request_id, now, WorkCalendar())
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
    status = service.reject(
        engine,
        "pf",
        request_id,
        reason="purpose not covered",
        letter=doc("rejection.pdf"),
        now=at(30, 12),
    )
    assert status.value == "rejected"
    assert steps(engine, request_id, at(31, 9)) == [
        (1, "submit", round(0.25, 4), False),
        (2, "dispose", round(1 + 9 / 24 + 9 / 24, 4), True),  # skips Fri 25 + weekend
        (3, "assign", round(0.125, 4), False),
        (4, "reject", round(2.0, 4), True),
    ]
    with pytest.raises(Conflict, match="out of order"):
        service.return_draft(engine, "kabid", request_id, notes="x", now=at(31, 9))


def test_approved_after_one_revision(engine: Engine, seals: SealStore, clock: OfficeClock) -> None:
    request_id = walk_to_assigned(engine, clock)
    text = EXAMPLE.read_text(encoding="utf-8")
    identity, _ = load_scope_toml(EXAMPLE, CATALOG, region_codes=REGIONS)

    def draft(day: int) -> None:
        service.draft(
            engine,
            seals,
            "pf",
            request_id,
            scope_text=text,
            document=doc("scope.toml"),
            catalog=CATALOG,
            region_codes=REGIONS,
            now=at(day, 10),
        )

    draft(29)
    service.return_draft(engine, "kabid", request_id, notes="narrow the filter", now=at(29, 16))
    draft(30)
    # Forwarded Monday 4 Jan 10:00: Thu 31 Dec and Fri 1 Jan (New Year) -> 1 Jan is a holiday.
    service.forward(
        engine, "kabid", request_id, notes="", now=datetime(2027, 1, 4, 10, tzinfo=WITA)
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
    status, short_id, version = service.sign(
        engine,
        seals,
        "kadis",
        request_id,
        acknowledged=True,
        signed_pks=doc("pks-signed.pdf"),
        now=signed_at,
    )
    assert (short_id, version) == (identity.short_id, 1)
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
        service.dispose(engine, "ratna", request_id, note="x", now=at(24, 9))
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
