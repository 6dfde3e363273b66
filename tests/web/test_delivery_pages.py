"""Deliveries and partners' tokens in the web UI: run a delivery now as a job (never inside the
request), its progress, a delivery's hashes and report, tokens shown once, rotated and revoked."""

from __future__ import annotations

import json
import re

from flask import Flask

from tests.harness import SHORT
from tests.office import Office
from tests.webapp import csrf, log_in


def test_run_now_queues_a_job_whose_progress_the_page_polls(web: Flask, web_office: Office) -> None:
    adb = web.test_client()
    log_in(adb, "adb")
    page = adb.get("/pengiriman")
    answer = adb.post("/pengiriman/jalankan", data={"csrf_token": csrf(page), "agreement": SHORT})
    text = answer.get_data(as_text=True)
    assert answer.status_code == 202 and "progress.js" in text
    job_url = re.search(r'data-job-url="([^"]+)"', text)
    assert job_url is not None
    progress = adb.get(job_url.group(1)).get_json()
    assert progress["status"] == "queued" and progress["delivery"] is None
    queued = [e for e in web_office.audit() if e["action"] == "delivery.queue"]
    assert queued[-1]["actor_id"] == "adb" and queued[-1]["outcome"] == "ok"


def test_an_unknown_agreement_cannot_be_run(web: Flask) -> None:
    adb = web.test_client()
    log_in(adb, "adb")
    page = adb.get("/pengiriman")
    answer = adb.post("/pengiriman/jalankan", data={"csrf_token": csrf(page), "agreement": "nope"})
    assert answer.status_code == 404 and 'id="e-agreement"' in answer.get_data(as_text=True)


def test_compliance_sees_deliveries_but_never_runs_one(web: Flask, web_office: Office) -> None:
    assert web_office.extract().exit_code == 0
    delivery = json.loads(web_office("delivery", "list", "--json").stdout)[0]
    auditor = web.test_client()
    log_in(auditor, "kepatuhan")
    listing = auditor.get("/pengiriman").get_data(as_text=True)
    assert delivery["id"] in listing and "/pengiriman/jalankan" not in listing
    shown = auditor.get(f"/pengiriman/{delivery['id']}").get_data(as_text=True)
    detail = json.loads(web_office("delivery", "show", delivery["id"], "--json").stdout)
    assert detail["ciphertext_sha256"] in shown and detail["plaintext_sha256"] in shown
    page = auditor.get("/pengiriman")
    refused = auditor.post(
        "/pengiriman/jalankan", data={"csrf_token": csrf(page), "agreement": SHORT}
    )
    assert refused.status_code == 403


def test_a_token_is_shown_once_then_rotated_and_revoked(web: Flask, web_office: Office) -> None:
    adb = web.test_client()
    log_in(adb, "adb")
    page = adb.get("/token")
    made = adb.post("/token/baru", data={"csrf_token": csrf(page), "agreement": SHORT})
    text = made.get_data(as_text=True)
    assert made.status_code == 201 and made.headers["Cache-Control"] == "no-store"
    token = re.search(r'id="new-token">(pks_[^<]+)<', text)
    assert token is not None
    prefix = token.group(1)[:12]
    listing = adb.get("/token").get_data(as_text=True)
    assert prefix in listing and token.group(1) not in listing  # never shown again
    rotated = adb.post(f"/token/{prefix}/rotasi", data={"csrf_token": csrf(adb.get("/token"))})
    assert rotated.status_code == 201
    revoked = adb.post(
        f"/token/{prefix}/cabut", data={"csrf_token": csrf(adb.get("/token")), "reason": "bocor"}
    )
    assert revoked.status_code == 200
    states = {
        t["prefix"]: t["state"]
        for t in json.loads(web_office("token", "list", "--as", "adb", "--json").stdout)
    }
    assert states[prefix] == "revoked"
    assert all(token.group(1) not in str(entry) for entry in web_office.audit())


def test_the_pejabat_fungsional_has_no_token_pages(web: Flask) -> None:
    pf = web.test_client()
    log_in(pf, "pf")
    assert pf.get("/token").status_code == 403
