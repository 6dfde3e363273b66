"""The compliance pages: the audit log filtered and paged, the chain status, the auditor's
export."""

from __future__ import annotations

import io
import json
import zipfile

from flask import Flask

from tests.gateway.delivery_homes import source_niks
from tests.office import Office
from tests.webapp import csrf, log_in


def test_compliance_filters_the_audit_log(web: Flask, web_office: Office) -> None:
    client = web.test_client()
    log_in(client, "kepatuhan")
    page = client.get("/audit?action=agreement.signature&outcome=ok")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "agreement.signature" in text and "staff.added" not in text
    assert "1 entri" in text  # one signature: the example agreement's


def test_a_bad_filter_is_named_next_to_its_field(web: Flask) -> None:
    client = web.test_client()
    log_in(client, "kepatuhan")
    page = client.get("/audit?since=yesterday&outcome=maybe")
    text = page.get_data(as_text=True)
    assert page.status_code == 422
    assert 'id="e-since"' in text and "YYYY-MM-DD" in text
    assert 'id="e-outcome"' in text


def test_the_chain_status_says_how_far_it_verified_and_finds_a_rewrite(
    web: Flask, web_office: Office
) -> None:
    client = web.test_client()
    log_in(client, "kepatuhan")
    web_office("audit", "checkpoint")
    page = client.get("/audit/chain").get_data(as_text=True)
    assert "Terverifikasi sampai checkpoint" in page
    # An insider rewrites one old entry: the page names the first bad one.
    web_office.sql("UPDATE audit_entries SET actor_id = 'someone-else' WHERE seq = 3")
    broken = client.get("/audit/chain").get_data(as_text=True)
    assert "TIDAK" in broken and "entri 3" in broken


def test_the_auditors_export_holds_every_entry_and_is_itself_audited(
    web: Flask, web_office: Office
) -> None:
    client = web.test_client()
    log_in(client, "kadis")
    before = len(web_office.audit())
    answer = client.get("/audit/export")
    assert answer.status_code == 200 and answer.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(answer.data)) as bundle:
        names = bundle.namelist()
        entries_file = next(n for n in names if n.endswith(".jsonl"))
        exported = [json.loads(line) for line in bundle.read(entries_file).splitlines()]
    assert len(exported) >= before
    assert web_office.audit()[-1]["action"] == "audit.export"


def test_the_pejabat_fungsional_does_not_see_the_audit_log(web: Flask) -> None:
    client = web.test_client()
    log_in(client, "pf")
    assert client.get("/audit").status_code == 403
    assert client.get("/audit/export").status_code == 403
    assert "/audit" not in client.get("/").get_data(as_text=True)


def test_a_subject_lookup_names_the_institutions_and_never_shows_the_nik(
    web: Flask, web_office: Office
) -> None:
    assert web_office.extract().exit_code == 0
    delivery = json.loads(web_office("delivery", "list", "--json").stdout)[0]["id"]
    niks = source_niks(web_office.home)[:40]
    client = web.test_client()
    log_in(client, "kepatuhan")
    found = 0
    for nik in niks:
        page = client.get("/subjek")
        answer = client.post("/subjek", data={"csrf_token": csrf(page), "nik": nik})
        text = answer.get_data(as_text=True)
        shown_back = nik in text  # computed apart: a failing assert must not print the NIK
        assert answer.status_code == 200
        assert not shown_back, "the page showed the NIK back"
        found += delivery in text
    assert 0 < found < len(niks)  # children and the dead are outside the example's scope
    lookups = [e for e in web_office.audit() if e["action"] == "subject.deliveries"]
    recorded = any(nik in str(lookups) for nik in niks)
    assert len(lookups) == len(niks)
    assert not recorded, "a NIK reached the audit log"


def test_a_malformed_nik_is_named_beside_the_field(web: Flask) -> None:
    client = web.test_client()
    log_in(client, "kepatuhan")
    page = client.get("/subjek")
    answer = client.post("/subjek", data={"csrf_token": csrf(page), "nik": "12345"})
    assert answer.status_code == 422 and 'id="e-nik"' in answer.get_data(as_text=True)
    pf = web.test_client()
    log_in(pf, "pf")
    assert pf.get("/subjek").status_code == 403
