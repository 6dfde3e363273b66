"""The scope editor writes a draft PKS from a form: what the request asked for comes pre-ticked,
the leak guard's refusals come back beside their field, a grant the request did not ask for
needs an explicit confirmation, and a saved draft is the agreement's draft version."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.office import Office
from tests.webapp import csrf, intake, log_in


def assigned_request(web: Flask) -> int:
    """A request for nik and nama_lengkap, disposed and assigned to pf."""
    adb, kadis, kabid = web.test_client(), web.test_client(), web.test_client()
    for client, name in ((adb, "adb"), (kadis, "kadis"), (kabid, "kabid")):
        log_in(client, name)
    status, location = intake(adb)
    assert status == 303
    request_id = int(location.rsplit("/", 1)[1])
    base = f"/permohonan/{request_id}"
    kadis.post(f"{base}/disposisi", data={"csrf_token": csrf(kadis.get(base)), "note": "proses"})
    kabid.post(f"{base}/tugaskan", data={"csrf_token": csrf(kabid.get(base)), "assignee": "pf"})
    return request_id


def editor_form(
    client: FlaskClient, request_id: int, recipient: str, **changes: Any
) -> dict[str, Any]:
    start = date.today()
    return {
        "csrf_token": csrf(client.get(f"/permohonan/{request_id}/penyusun-konsep")),
        "number": "470/888/DISDUKCAPIL-PSR/XII/2026", "short_id": "rsud-panglima-2026",
        "institution": "RSUD Panglima Sebaya", "purpose": "Verifikasi pasien",
        "legal_basis": "UU 24/2013", "access_mode": "bulk_delivery",
        "el.nik": "yes", "mask.nik": "token", "nik.length": "32",
        "el.nama_lengkap": "yes", "mask.nama_lengkap": "keep",
        "region": ["64.01.01"], "min_age": "17", "max_age": "150", "alive_only": "yes",
        "active_only": "yes", "rcp.0.name": "Bagian Rekam Medis",
        "rcp.0.contact": "rm@rsud.example", "rcp.0.age": recipient, "start": start.isoformat(),
        "end": (start + timedelta(days=300)).isoformat(), "format": "parquet",
        "schedule": "monthly", "quota": "1", "quota_period": "month", "max_rows": "400000",
        "k": "5", "reid_action": "report", "rare_category_threshold": "10",
        "semester_report_due": (start + timedelta(days=180)).isoformat(), "data_balikan": "yes",
        "data_balikan_note": "laporan semester",
        **changes,
    }  # fmt: skip


def test_the_editor_prefills_the_request_and_saves_a_draft(web: Flask, web_office: Office) -> None:
    request_id = assigned_request(web)
    pf = web.test_client()
    log_in(pf, "pf")
    page = pf.get(f"/permohonan/{request_id}/penyusun-konsep").get_data(as_text=True)
    assert 'name="el.nik" value="yes" checked' in page  # what the letter asked for
    assert "dilindungi: tidak pernah dikirim" in page  # protected elements shown, not selectable
    answer = pf.post(
        f"/permohonan/{request_id}/penyusun-konsep",
        data=editor_form(pf, request_id, web_office.recipient),
    )
    assert answer.status_code == 303, answer.get_data(as_text=True)[-2000:]
    shown = json.loads(web_office("agreement", "show", "rsud-panglima-2026", "--json").stdout)
    assert shown["status"] == "draft"
    assert {e["key"]: e["mask"] for e in shown["elements"]} == {
        "nik": "token",
        "nama_lengkap": "keep",
    }
    assert [r["code"] for r in shown["regions"]] == ["64.01.01"]


def test_a_grant_outside_the_request_needs_a_confirmation(web: Flask, web_office: Office) -> None:
    request_id = assigned_request(web)
    pf = web.test_client()
    log_in(pf, "pf")
    form = editor_form(
        pf,
        request_id,
        web_office.recipient,
        **{"el.tempat_lahir": "yes", "mask.tempat_lahir": "keep"},
    )
    answer = pf.post(f"/permohonan/{request_id}/penyusun-konsep", data=form)
    assert answer.status_code == 422 and "tempat_lahir" in answer.get_data(as_text=True)
    assert 'id="e-confirm_outside"' in answer.get_data(as_text=True)
    form["csrf_token"] = csrf(answer)
    form["confirm_outside"] = "yes"
    assert pf.post(f"/permohonan/{request_id}/penyusun-konsep", data=form).status_code == 303


def test_the_leak_guard_and_a_bad_key_are_named_and_nothing_is_drafted(
    web: Flask, web_office: Office
) -> None:
    request_id = assigned_request(web)
    pf = web.test_client()
    log_in(pf, "pf")
    bad_key = pf.post(
        f"/permohonan/{request_id}/penyusun-konsep", data=editor_form(pf, request_id, "age1notakey")
    )
    assert bad_key.status_code == 422 and "recipients" in bad_key.get_data(as_text=True)
    minors = pf.post(
        f"/permohonan/{request_id}/penyusun-konsep",
        data=editor_form(pf, request_id, web_office.recipient, include_minors="yes"),
    )
    said = minors.get_data(as_text=True)
    assert minors.status_code == 422 and "high_risk" in said
    assert "Data anak adalah data pribadi yang bersifat spesifik" in said  # the rule in words
    leaky = pf.post(
        f"/permohonan/{request_id}/penyusun-konsep",
        data=editor_form(
            pf, request_id, web_office.recipient, **{"mask.nik": "partial", "nik.first": "12"}
        ),
    )
    assert leaky.status_code == 422
    assert "menunjukkan tanggal lahir lebih rinci" in leaky.get_data(as_text=True)
    status = web_office.sql("SELECT status FROM requests WHERE id = :i", i=request_id)[0][0]
    assert status == "assigned"


def test_a_mask_preview_shows_invented_values_masked_by_the_delivery_code(web: Flask) -> None:
    pf = web.test_client()
    log_in(pf, "pf")
    token = csrf(pf.get("/permohonan"))  # any page of the session carries its token
    partial = pf.post(
        "/penyamaran/pratinjau",
        data={"csrf_token": token, "element": "nik", "mask": "partial", "first": "4", "last": "2"},
    ).get_json()
    assert partial["rows"][0] == ["9901011201900001", "9901**********01"]
    year = pf.post(
        "/penyamaran/pratinjau",
        data={
            "csrf_token": token,
            "element": "tanggal_lahir",
            "mask": "generalize_date",
            "to": "year",
        },
    ).get_json()
    assert [after for _, after in year["rows"]] == ["1990", "2008", "1955"]
    wrong = pf.post(
        "/penyamaran/pratinjau", data={"csrf_token": token, "element": "nik", "mask": "bucket"}
    )
    assert wrong.status_code == 200 and "bucket" in wrong.get_json()["error"]
    adb = web.test_client()
    log_in(adb, "adb")
    refused = adb.post(
        "/penyamaran/pratinjau",
        data={"csrf_token": csrf(adb.get("/permohonan")), "element": "nik", "mask": "keep"},
    )
    assert refused.status_code == 403
