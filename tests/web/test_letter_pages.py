"""The letters from the pages they belong to: real PDFs holding the agreement number, the scope
hash and the file hashes, printed by the roles of their page and audited as `letter.issued`."""

from __future__ import annotations

import json

from flask import Flask

from tests.gateway.delivery_homes import source_niks
from tests.gateway.pdfs import pdf_text, words
from tests.harness import SHORT
from tests.office import Office
from tests.webapp import csrf, log_in


def test_a_delivery_page_gives_its_berita_acara_and_surat_pengantar(
    web: Flask, web_office: Office
) -> None:
    assert web_office.extract().exit_code == 0
    delivery = json.loads(web_office("delivery", "list", "--json").stdout)[0]["id"]
    shown = json.loads(web_office("delivery", "show", delivery, "--json").stdout)
    adb = web.test_client()
    log_in(adb, "adb")
    page = adb.get(f"/pengiriman/{delivery}").get_data(as_text=True)
    assert f"/pengiriman/{delivery}/berita-acara.pdf" in page
    answer = adb.get(f"/pengiriman/{delivery}/berita-acara.pdf")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    text = words(pdf_text(answer.data))
    assert "BERITA ACARA" in text.upper()
    assert (
        shown["ciphertext_sha256"] in text.replace(" ", "")
        or shown["ciphertext_sha256"][:32] in text
    )
    assert "470/123/DISDUKCAPIL-PSR/XI/2026" in text
    cover = adb.get(f"/pengiriman/{delivery}/surat-pengantar.pdf")
    assert cover.status_code == 200 and cover.data.startswith(b"%PDF-")
    issued = [e for e in web_office.audit() if e["action"] == "letter.issued"]
    assert [e["details"]["letter"] for e in issued] == ["berita-acara", "surat-pengantar"]


def test_the_konsep_pks_holds_the_scope_hash(web: Flask, web_office: Office) -> None:
    scope_hash = json.loads(web_office("agreement", "show", SHORT, "--json").stdout)["scope_hash"]
    kadis = web.test_client()
    log_in(kadis, "kadis")
    answer = kadis.get(f"/perjanjian/{SHORT}/konsep-pks.pdf")
    assert answer.status_code == 200
    assert scope_hash in words(pdf_text(answer.data)).replace(" ", "")


def test_the_subject_reply_never_prints_the_whole_nik(web: Flask, web_office: Office) -> None:
    assert web_office.extract().exit_code == 0
    nik = source_niks(web_office.home)[5]
    auditor = web.test_client()
    log_in(auditor, "kepatuhan")
    answer = auditor.post(
        "/subjek/surat-balasan.pdf", data={"csrf_token": csrf(auditor.get("/subjek")), "nik": nik}
    )
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    printed = nik in pdf_text(answer.data).replace(" ", "")  # apart: a failure must not print it
    assert not printed, "the reply letter printed the whole NIK"


def test_a_rejection_letter_is_the_pejabat_fungsionals(web: Flask) -> None:
    kadis = web.test_client()
    log_in(kadis, "kadis")
    assert kadis.get("/permohonan/1/surat-penolakan.pdf").status_code == 403
    pf = web.test_client()
    log_in(pf, "pf")
    assert pf.get("/permohonan/999/surat-penolakan.pdf").status_code == 404
