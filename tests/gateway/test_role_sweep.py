"""Every service action, called as every staff role: refused as NotPermitted exactly for the roles
the role table (agreements/roles.py) does not list. A role the table allows may still be refused
for another reason (out of order, already signed, over quota): the sweep only holds the role rule.
An action of the table with no entry here fails the test, so a new action cannot skip the rule.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agreements.errors import DomainError, NotPermitted
from agreements.roles import Action, permitted
from agreements.workflow import AgreementAction, Role, Transition
from gateway.context import delivery_environment as environment
from gateway.seals import SealStore
from gateway.services import agreements as agreement_service
from gateway.services import deliveries, jobs, reports, staff, tokens, trust
from gateway.services import requests as request_service
from gateway.settings import load_settings
from tests.gateway.letters import LETTER, doc
from tests.harness import CATALOG, REGIONS, SHORT
from tests.office import Office, current_example

# No staff door: crash recovery and retention run as the gateway itself.
SYSTEM_ONLY = {Action.DELIVERY_RECOVER, Action.DELIVERY_EXPIRE}
# The partner API's, by token; each still holds its role rule (tests/api, test_nik_verification).
PARTNER_ONLY = {Action.TOKEN_USE, Action.DELIVERY_DOWNLOAD, Action.NIK_VERIFY}


@pytest.mark.slow  # ~2 s
def test_only_the_tables_roles_pass_the_role_rule_of_every_service_action(tmp_path: Path) -> None:
    office = Office(tmp_path, {})
    office.agree()
    for role in Role:
        office("staff", "add", f"as-{role.value}", "--role", role.value, "--as", "admin")
    settings = load_settings({"home": office.home}, environ={})
    engine = office.engine
    seals = SealStore(settings.keys_dir)
    now = datetime.now(UTC)
    request_id = request_service.submit(engine, "as-petugas_adb", LETTER, doc("l.pdf"), now=now)
    counter = iter(range(1000))
    scope_text = current_example()
    steps: dict[Transition, Callable[[str], object]] = {
        Transition.DISPOSE: lambda name: request_service.dispose(
            engine, name, request_id, note="n", now=now
        ),
        Transition.ASSIGN: lambda name: request_service.assign(
            engine, name, request_id, assignee="as-pejabat_fungsional", now=now
        ),
        Transition.REJECT: lambda name: request_service.reject(
            engine, name, request_id, reason="r", letter=doc("r.pdf"), now=now
        ),
        Transition.DRAFT: lambda name: request_service.draft(
            engine,
            seals,
            name,
            request_id,
            scope_text=scope_text,
            document=doc("s.toml"),
            catalog=CATALOG,
            region_codes=REGIONS,
            now=now,
        ),
        Transition.RETURN: lambda name: request_service.return_draft(
            engine, name, request_id, notes="n", now=now
        ),
        Transition.FORWARD: lambda name: request_service.forward(
            engine, name, request_id, notes="n", now=now
        ),
        Transition.SIGN: lambda name: request_service.sign(
            engine, seals, name, request_id, acknowledged=True, signed_pks=doc("p.pdf"), now=now
        ),
        Transition.CANCEL: lambda name: request_service.cancel(
            engine, name, request_id, reason="r", now=now
        ),
    }

    def status(action: AgreementAction) -> Callable[[str], object]:
        return lambda name: agreement_service.change_status(
            engine, seals, name, SHORT, action, now=now, notes="sweep"
        )

    calls: dict[Action, Callable[[str], object]] = {
        Action.REQUEST_SUBMIT: lambda name: request_service.submit(
            engine, name, LETTER, doc("l.pdf"), now=now
        ),
        **{Action(f"request.{t.value}"): call for t, call in steps.items()},
        Action.AGREEMENT_IMPORT: lambda name: agreement_service.import_scope(
            engine, seals, name, current_example(), CATALOG, REGIONS, now=now
        ),
        Action.AGREEMENT_SIGNATURE: lambda name: agreement_service.attach_signature(
            engine, seals, name, SHORT, "not a signature", now=now
        ),
        Action.AGREEMENT_SUSPEND: status(AgreementAction.SUSPEND),
        Action.AGREEMENT_RESUME: status(AgreementAction.RESUME),
        Action.AGREEMENT_REVOKE: status(AgreementAction.REVOKE),
        Action.AGREEMENT_WITHDRAW: lambda name: agreement_service.withdraw(
            engine, seals, name, SHORT, version=None, now=now, notes="sweep"
        ),
        Action.STAFF_ADD: lambda name: staff.add_staff(
            engine, f"new-{next(counter)}", Role.ADMIN, by=name, now=now
        ),
        Action.STAFF_ROLE: lambda name: staff.change_role(
            engine, seals, "pf", Role.PEJABAT_FUNGSIONAL, by=name, now=now
        ),
        Action.STAFF_DEACTIVATE: lambda name: staff.deactivate(
            engine, seals, "no-such-member", by=name, now=now, reason="sweep"
        ),
        Action.STAFF_EMAIL: lambda name: staff.set_email(
            engine, "pf", "pf@paserkab.go.id", by=name, now=now
        ),
        Action.STAFF_PASSWORD: lambda name: staff.set_password(
            engine, seals, "no-such-member", "$argon2id$sweep", by=name, now=now
        ),
        Action.SIGNER_ADD: lambda name: staff.add_signer(
            engine, seals, "kadis", "not a key", by=name, now=now
        ),
        Action.SIGNER_REVOKE: lambda name: staff.revoke_signer(
            engine, seals, "SHA256:none", by=name, now=now
        ),
        Action.DELIVERY_EXTRACT: lambda name: deliveries.extract_delivery(
            engine, environment(settings), SHORT, name, lambda: datetime.now(UTC)
        ),
        Action.DELIVERY_QUEUE: lambda name: jobs.queue_delivery(
            engine, environment(settings), name, SHORT, now, kind=jobs.OFFICER
        ),
        Action.REPORT_RECEIVE: lambda name: reports.receive_semester_report(
            engine,
            seals,
            name,
            SHORT,
            b"%PDF-1.7",
            documents_dir=settings.documents_dir,
            now=now,
            grace_days=14,
            zone=settings.zone,
        ),
        Action.TOKEN_CREATE: lambda name: tokens.create(
            engine,
            seals,
            settings.keys_dir,
            name,
            SHORT,
            recipient=None,
            now=now,
            time_zone=settings.zone,
        ),
        Action.TOKEN_ROTATE: lambda name: tokens.rotate(
            engine,
            seals,
            settings.keys_dir,
            name,
            "pks_nosuchtk",
            now=now,
            time_zone=settings.zone,
        ),
        Action.TOKEN_REVOKE: lambda name: tokens.revoke(
            engine, seals, name, "pks_nosuchtk", now=now, reason="sweep"
        ),
        Action.TOKEN_LIST: lambda name: tokens.list_tokens(engine, name, short_id=None, now=now),
        Action.AUDIT_REANCHOR: lambda name: trust.reanchor(
            engine,
            seals,
            settings.keys_dir,
            settings.audit_origin,
            by=name,
            reason="sweep",
            now=now,
        ),
    }
    assert set(calls) | SYSTEM_ONLY | PARTNER_ONLY == set(Action)
    wrong: list[str] = []
    expected_refusals = 0
    for action, call in calls.items():
        allowed = permitted(action, delivery_roles=settings.delivery_role_set)
        expected_refusals += sum(role not in allowed for role in Role)
        for role in Role:
            try:
                call(f"as-{role.value}")
                refused = False
            except NotPermitted:
                refused = True
            except DomainError:
                refused = False
            if refused == (role in allowed):
                outcome = "refused" if refused else "let through"
                wrong.append(f"{action.value} as {role.value}: {outcome}")
    assert wrong == []
    # Every role refusal is on record.
    not_permitted = [
        e
        for e in office.audit()
        if e["outcome"] == "refused" and e["details"]["error"] == "NotPermitted"
    ]
    assert len(not_permitted) == expected_refusals
