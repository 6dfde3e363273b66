"""The office's day in a real browser (Debian's Chromium, driven by Playwright): a request from
intake to a signed agreement, a delivery run as a job with its Berita Acara, and every step found
in the audit log; each main page screenshotted (test artefacts) and checked by axe-core for
serious or critical accessibility violations, in Bahasa Indonesia and in English."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import assert_accessible, new_context, screenshot, watch
from tests.gateway.pdfs import pdf_text, words
from tests.live import LiveServer, StartServer
from tests.office import OTHER, Office, current_example
from tests.services import require_tool
from tests.webapp import PASSWORD

REPO = Path(__file__).resolve().parents[2]


def member_page(browser: Browser, server: LiveServer, name: str) -> Page:
    """A fresh browser profile logged in as `name`."""
    page = new_context(browser).new_page()
    watch(page)
    page.goto(server.url("/login"))
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Beranda")
    return page


def check(page: Page, name: str) -> None:
    """Screenshot the page as it is and hold it to axe-core and a clean console."""
    screenshot(page, name)
    assert_accessible(page)
    watch(page).assert_clean()


@pytest.fixture
def worker(web_office: Office) -> Iterator[subprocess.Popen[bytes]]:
    """`pks-gateway worker` on the office's home, stopped at the end."""
    env = {**os.environ, **web_office.gateway.env}
    command = [sys.executable, "-m", "gateway.cli", "worker"]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_request_from_intake_to_a_signed_agreement_and_a_delivery(
    browser: Browser,
    page: Page,
    live_server: StartServer,
    web_office: Office,
    worker: subprocess.Popen[bytes],
    tmp_path: Path,
) -> None:
    server = live_server(web_office.home)
    page.goto(server.url("/"))  # no session: the login form, which comes back here
    expect(page.get_by_role("heading", level=1)).to_have_text("Masuk")
    assert page.url.endswith("/login?next=/")
    check(page, "login")

    # Step 1: the Petugas ADB registers the letter with its scan.
    adb = member_page(browser, server, "adb")
    check(adb, "beranda-petugas-adb")
    adb.goto(server.url("/permohonan/baru"))
    adb.fill("#f-institution", "RSUD Panglima Sebaya")
    adb.fill("#f-letter_number", "445/12/RSUD/2026")
    adb.fill("#f-letter_date", "2026-12-01")
    adb.fill("#f-duration", "12")
    adb.fill("#f-purpose", "Verifikasi identitas pasien")
    adb.fill("#f-legal_basis", "UU 24/2013")
    adb.fill("#f-data_balikan", "laporan semester")
    adb.fill("#f-elements", "nik\nnama_lengkap")
    adb.check("input[value=bulk_delivery]")
    letter = tmp_path / "surat.pdf"
    letter.write_bytes(b"%PDF-1.4 surat permohonan")
    adb.set_input_files("#f-letter", str(letter))
    check(adb, "permohonan-baru")
    adb.get_by_role("button", name="Catat").click()
    expect(adb.get_by_role("heading", level=1)).to_contain_text("RSUD Panglima Sebaya")
    request_url = adb.url
    request_id = request_url.rstrip("/").rsplit("/", 1)[1]

    # Steps 2-6, each by its own role.
    kadis = member_page(browser, server, "kadis")
    kadis.goto(request_url)
    check(kadis, "permohonan-disposisi")
    kadis.fill("#f-note", "Proses sesuai SOP")
    kadis.get_by_role("button", name="Langkah 2: disposisi").click()
    kabid = member_page(browser, server, "kabid")
    kabid.goto(request_url)
    kabid.select_option("#f-assignee", "pf")
    kabid.get_by_role("button", name="Langkah 3: tugaskan kepada Pejabat Fungsional").click()
    pf = member_page(browser, server, "pf")
    pf.goto(request_url)
    pf.get_by_role("link", name="Susun konsep dengan penyusun ruang lingkup").click()
    expect(pf.locator("input[name='el.nik']")).to_be_checked()  # what the letter asked for
    pf.select_option("select[name='mask.nik']", "partial")
    pf.fill("input[name='nik.first']", "4")
    pf.fill("input[name='nik.last']", "2")
    pf.locator("input[name='nik.last']").dispatch_event("change")
    expect(pf.locator("output.mask-preview[data-element='nik']")).to_contain_text(
        "9901**********01"
    )
    check(pf, "penyusun-konsep")
    pf.goto(request_url)  # this test drafts by file; tests/web/test_scope_editor.py by form
    scope = re.sub(
        r'age_recipient = "age1[0-9a-z]+"',
        f'age_recipient = "{web_office.recipient}"',
        current_example(OTHER, "470/777/"),
    )
    draft = tmp_path / "pks.toml"
    draft.write_text(scope, encoding="utf-8")
    pf.set_input_files("#f-scope", str(draft))
    pf.get_by_role("button", name="Langkah 5: susun konsep PKS").click()
    kabid.goto(request_url)
    kabid.get_by_role("button", name="Langkah 6: teruskan kepada Kepala Dinas").click()

    # Step 7: the Kepala Dinas reads the bytes, signs them on her machine, uploads the .sig.
    kadis.goto(request_url)
    kadis.get_by_role("link", name="baca dan tandatangani ruang lingkup").click()
    expect(kadis.locator("pre.canonical")).to_contain_text(OTHER)
    check(kadis, "tanda-tangan")
    canonical = tmp_path / "canonical.json"
    canonical.write_bytes(kadis.request.get(server.url(f"/perjanjian/{OTHER}/kanonik.json")).body())
    keygen = require_tool("ssh-keygen", "openssh-client")
    subprocess.run(
        [
            keygen,
            "-q",
            "-Y",
            "sign",
            "-n",
            "pks-agreement",
            "-f",
            str(web_office.kadis_key),
            str(canonical),
        ],
        check=True,
    )
    kadis.set_input_files("#f-signature", str(tmp_path / "canonical.json.sig"))
    kadis.get_by_role("button", name="Lampirkan tanda tangan").click()
    kadis.check("input[name=acknowledged]")
    signed = tmp_path / "pks-signed.pdf"
    signed.write_bytes(b"%PDF-1.4 PKS bertanda tangan")
    kadis.set_input_files("#f-signed_pks", str(signed))
    kadis.get_by_role("button", name="Langkah 7: tanda tangan").click()
    expect(kadis.locator("dd").filter(has_text="Ditandatangani")).to_have_count(1)
    kadis.goto(server.url(f"/perjanjian/{OTHER}"))
    check(kadis, "perjanjian")

    # Step 8: the Petugas ADB runs a delivery now; the worker publishes it.
    adb.goto(server.url("/pengiriman"))
    adb.fill("#f-agreement", OTHER)
    adb.get_by_role("button", name="Jalankan pengiriman sekarang").click()
    expect(adb.get_by_role("status")).to_contain_text("diantrekan")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        listed = json.loads(web_office("delivery", "list", "--agreement", OTHER, "--json").stdout)
        if listed and listed[0]["status"] == "published":
            break
        time.sleep(0.5)
    assert listed and listed[0]["status"] == "published", listed
    adb.goto(server.url("/pengiriman"))
    adb.get_by_role("link", name=listed[0]["id"]).click()
    shown = json.loads(web_office("delivery", "show", listed[0]["id"], "--json").stdout)
    expect(adb.locator("dl")).to_contain_text(shown["ciphertext_sha256"])
    check(adb, "pengiriman")
    with adb.expect_download() as download:
        adb.get_by_role("link", name="Berita Acara Serah Terima Data (PDF)").click()
    handover = words(pdf_text(Path(download.value.path()).read_bytes())).replace(" ", "")
    assert shown["ciphertext_sha256"] in handover and "470/777/" in handover

    # Compliance finds every step in the audit log.
    auditor = member_page(browser, server, "kepatuhan")
    auditor.goto(server.url(f"/audit?object_id={request_id}"))
    for step in ("submit", "dispose", "assign", "draft", "forward", "sign"):
        expect(auditor.locator("td code", has_text=f"request.{step}")).to_have_count(1)
    issued = [e for e in web_office.audit() if e["action"] == "letter.issued"]
    assert [e["details"]["letter"] for e in issued] == ["berita-acara"]
    check(auditor, "audit")
    auditor.goto(server.url("/audit/chain"))
    expect(auditor.get_by_role("status")).to_contain_text("Terverifikasi")
    check(auditor, "audit-rantai")
    auditor.goto(server.url("/subjek"))
    check(auditor, "subjek")
    entries = [e["action"] for e in web_office.audit()]
    assert "delivery.queue" in entries and "delivery.extract" in entries


def test_the_main_pages_in_english_pass_axe(
    browser: Browser, live_server: StartServer, web_office: Office
) -> None:
    server = live_server(web_office.home)
    kadis = member_page(browser, server, "kadis")
    kadis.get_by_role("link", name="English").click()
    expect(kadis.get_by_role("heading", level=1)).to_have_text("Dashboard")
    english = (
        ("/", "dashboard-en"), ("/permohonan", "requests-en"), ("/perjanjian", "agreements-en"),
        ("/pengiriman", "deliveries-en"), ("/token", "tokens-en"), ("/audit", "audit-en"),
        ("/pemberitahuan", "notifications-en"),
    )  # fmt: skip
    for path, name in english:
        kadis.goto(server.url(path))
        expect(kadis.locator("html")).to_have_attribute("lang", "en")
        check(kadis, name)
    admin = member_page(browser, server, "admin")
    admin.goto(server.url("/staf"))
    check(admin, "staf")
    # A tablet's width keeps the menu reachable.
    tablet = new_context(browser, viewport={"width": 768, "height": 1024}).new_page()
    watch(tablet)
    tablet.goto(server.url("/login"))
    expect(tablet.get_by_role("button", name="Masuk")).to_be_visible()
    check(tablet, "login-tablet")
