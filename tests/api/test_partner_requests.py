"""What a partner asks of the gateway over the API (issue 11): an on-demand delivery within the
quota (202 and a job to poll, run by the worker, never inside the request), NIK verification
(rate-limited per token), its reports (a PDF, a data balikan), the audit log's checkpoint and a
consistency proof, and a 410 for a file retention deleted. Every refusal is an RFC 9457 problem
and is in the audit log; another partner's job id is answered like one that never existed."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from agreements.errors import NotFound
from gateway.context import delivery_environment, delivery_places
from gateway.services import jobs
from gateway.services.retention import expire_deliveries
from gateway.settings import load_settings
from gateway.store.tables import agreements
from tests.api.partners import Partner, issue, problem_of, with_quota
from tests.harness import SHORT
from tests.office import Office, current_example

NIK_MODES = 'access_modes = ["bulk_delivery", "nik_verification"]'


def post(partner: Partner, path: str, body: Any = None, **headers: str) -> Any:
    sent = {"Authorization": f"Bearer {partner.token}", **headers}
    if isinstance(body, bytes | str):
        return partner.client.post(f"/api/v1/{path}", data=body, headers=sent)
    return partner.client.post(f"/api/v1/{path}", json=body, headers=sent)


def run_jobs(office: Office) -> None:
    """What the worker does with the queued jobs (the queue itself is tested in test_jobs)."""
    settings = load_settings({}, environ=office.gateway.env)
    env = delivery_environment(settings)
    with office.engine.connect() as connection:
        queued = [j.id for j in jobs.list_jobs(connection) if j.status == "queued"]
    for job_id in queued:
        jobs.run_job(office.engine, env, job_id, lambda: datetime.now(UTC),
                     locks_dir=settings.work_dir / "jobs")  # fmt: skip


def test_an_on_demand_delivery_is_a_job_to_poll_within_the_quota(office: Office) -> None:
    office.agree(with_quota(current_example(), 2))
    partner = Partner(office, issue(office, SHORT))
    asked = post(partner, "deliveries")
    assert asked.status_code == 202, asked.data
    job = asked.get_json()
    assert asked.headers["Location"].endswith(f"/api/v1/jobs/{job['id']}")
    assert (job["status"], job["kind"], job["requested_by"]) == (
        "queued",
        "on_demand",
        partner.prefix,
    )
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$", job["created_at"])
    assert partner.get(f"jobs/{job['id']}").get_json()["status"] == "queued"

    run_jobs(office)
    done = partner.get(f"jobs/{job['id']}").get_json()
    assert done["status"] == "done" and done["rows"] > 0
    assert done["delivery_id"] in partner.delivery_ids()
    assert done["links"]["delivery"].endswith(f"/deliveries/{done['delivery_id']}")

    assert post(partner, "deliveries").status_code == 202  # the second of two
    over = post(partner, "deliveries")
    problem = problem_of(over)
    assert over.status_code == 409 and "allows 2 deliveries per month" in problem["detail"]
    refused = [e for e in office.audit() if e["action"] == "delivery.queue"]
    assert [e["outcome"] for e in refused] == ["ok", "ok", "refused"]


def test_another_partners_job_is_answered_like_no_job(office: Office) -> None:
    office.agree()
    ours = Partner(office, issue(office, SHORT))
    other_id = "rs-panglima-2026"
    office.agree(current_example(other_id, "470/321/"))
    theirs = Partner(office, issue(office, other_id))
    job_id = post(ours, "deliveries").get_json()["id"]
    theirs.get(f"jobs/{'f' * 32}")  # the app's first request opens its pool: not compared
    foreign, foreign_work = theirs.statements(f"jobs/{job_id}")
    unknown, unknown_work = theirs.statements(f"jobs/{'0' * 32}")
    tricky = theirs.get("jobs/..%2f..%2fkeys")
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.data == unknown.data
    assert dict(foreign.headers) == dict(unknown.headers)
    # The same work too (the timing class): the same statements, the job filtered by the
    # token's agreement in its one query, so another partner's job is never read.
    assert foreign_work == unknown_work
    assert tricky.status_code == 404
    with office.engine.connect() as connection:
        other = connection.execute(
            select(agreements.c.id).where(agreements.c.short_id == other_id)
        ).scalar_one()
        with pytest.raises(NotFound):
            jobs.show_job(connection, job_id, agreement_id=other)
        assert jobs.show_job(connection, job_id).id == job_id


def granted_nik_partner(office: Office, **settings: Any) -> Partner:
    office.agree(current_example().replace('access_modes = ["bulk_delivery"]', NIK_MODES))
    return Partner(office, issue(office, SHORT), **settings)


def one_person(office: Office) -> tuple[str, str]:
    with sqlite3.connect(office.home / "demo-source.db") as source:
        nik, name = source.execute(
            "SELECT NIK, NAMA_LGKP FROM BIODATA_WNI WHERE STAT_HIDUP = 1 AND FLAG_STATUS = '0' "
            "AND TGL_LHR BETWEEN '1950-01-01' AND '2000-01-01' ORDER BY NIK LIMIT 1"
        ).fetchone()
    return str(nik), str(name)


def test_nik_verification_answers_per_field_and_is_rate_limited(office: Office) -> None:
    partner = granted_nik_partner(office, nik_verification_rate="2/minute")
    nik, name = one_person(office)
    answer = post(
        partner,
        "nik-verifications",
        {"items": [{"nik": nik, "fields": {"nama_lengkap": name.lower()}}]},
    )
    assert answer.status_code == 200, answer.data
    assert answer.get_json() == {
        "items": [{"index": 0, "found": True, "fields": {"nama_lengkap": True}}]
    }
    assert nik not in answer.get_data(as_text=True) and name not in answer.get_data(as_text=True)

    bad = post(
        partner, "nik-verifications", {"items": [{"nik": "12", "fields": {"nama_lengkap": "x"}}]}
    )
    assert bad.status_code == 422 and "items[0].nik" in problem_of(bad)["detail"]
    limited = post(
        partner, "nik-verifications", {"items": [{"nik": nik, "fields": {"nama_lengkap": "x"}}]}
    )
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    problem_of(limited)
    outcomes = [e["outcome"] for e in office.audit() if e["action"] == "nik.verify"]
    assert outcomes == ["ok", "refused", "refused"]


def test_malformed_nik_requests_are_problems(office: Office) -> None:
    partner = granted_nik_partner(office)
    for body, status in [
        (b"not json", 400),
        ({"items": "x"}, 400),
        ({"items": [{"nik": 1, "fields": {}}]}, 400),
        ({"items": [{"nik": "6401010101900001", "fields": {"nama_lengkap": 5}}]}, 400),
        ({"items": [{"nik": "6401010101900001", "fields": {}}] * 1001}, 422),
        (b"[" * 100_000, 400),
    ]:
        answer = post(partner, "nik-verifications", body, **{"Content-Type": "application/json"})
        assert answer.status_code == status, (
            answer.status_code,
            body if len(str(body)) < 80 else "…",
        )
        problem_of(answer)


def test_reports_are_received_and_wrong_ones_refused(office: Office) -> None:
    office.agree()
    partner = Partner(office, issue(office, SHORT))
    pdf = post(
        partner, "reports/semester", b"%PDF-1.7 laporan", **{"Content-Type": "application/pdf"}
    )
    assert pdf.status_code == 201, pdf.data
    assert pdf.get_json()["kind"] == "semester" and pdf.get_json()["received_by"] == partner.prefix
    niks = "nik\n6401010101900001\n6401014101900002\nbukan\n"
    csv = post(partner, "reports/data-balikan", niks, **{"Content-Type": "text/csv"})
    receipt = csv.get_json()
    assert csv.status_code == 201 and (receipt["rows"], receipt["invalid_rows"]) == (3, 1)
    wrong_type = post(partner, "reports/semester", b"%PDF-1.7", **{"Content-Type": "text/plain"})
    assert (
        wrong_type.status_code == 415
        and problem_of(wrong_type)["title"] == "Unsupported Media Type"
    )
    not_pdf = post(partner, "reports/semester", b"hello", **{"Content-Type": "application/pdf"})
    assert not_pdf.status_code == 422 and "must be a PDF" in problem_of(not_pdf)["detail"]
    outcomes = [e["outcome"] for e in office.audit() if e["action"] == "report.received"]
    assert outcomes == ["ok", "ok", "refused", "refused"]


def test_the_checkpoint_and_a_consistency_proof_are_served(partner: Partner) -> None:
    note = partner.get("audit/checkpoint")
    assert note.status_code == 200 and note.mimetype == "text/plain"
    size = int(note.get_data(as_text=True).splitlines()[1])
    proof = partner.get(f"audit/consistency?from=1&to={size}")
    assert proof.status_code == 200
    assert (
        proof.get_data(as_text=True)
        == partner.office("audit", "prove", "--from", "1", "--size", str(size)).stdout
    )
    assert partner.get("audit/consistency").status_code == 400
    assert partner.get(f"audit/consistency?from={size + 1}&to={size}").status_code == 400


def test_a_file_retention_deleted_is_gone(partner: Partner) -> None:
    [delivery_id] = partner.delivery_ids()
    settings = load_settings({}, environ=partner.office.gateway.env)
    later = datetime.now(UTC) + timedelta(days=45)
    assert expire_deliveries(
        partner.office.engine, delivery_places(settings), later, retention_days=30
    )
    gone = partner.get(f"deliveries/{delivery_id}/file")
    assert gone.status_code == 410 and "retention" in problem_of(gone)["detail"]
    assert partner.get(f"deliveries/{delivery_id}/manifest").status_code == 200
