"""SOP steps 1–7 through the web UI's forms, each by the role the SOP gives it: a request from
intake to a signed agreement, every step in the audit log; bad uploads and wrong roles refused
next to their field, with nothing stored."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

from flask import Flask

from tests.office import OTHER, Office, current_example
from tests.services import require_tool
from tests.webapp import PDF, csrf, give_passwords, intake, log_in, post


def test_a_request_goes_from_intake_to_a_signed_agreement(
    web: Flask, web_office: Office, tmp_path: Path
) -> None:
    adb, kadis, kabid, pf = (web.test_client() for _ in range(4))
    for client, name in ((adb, "adb"), (kadis, "kadis"), (kabid, "kabid"), (pf, "pf")):
        assert log_in(client, name).status_code == 303
    status, location = intake(adb)
    assert status == 303
    request_id = int(location.rsplit("/", 1)[1])
    base = f"/permohonan/{request_id}"
    assert "Langkah 2" in kadis.get(base).get_data(as_text=True)  # the form waiting on her
    assert post(kadis, f"{base}/disposisi", note="Proses sesuai SOP") == 303
    assert post(kabid, f"{base}/tugaskan", assignee="pf") == 303
    scope = current_example(OTHER, "470/777/")
    scope = re.sub(
        r'age_recipient = "age1[0-9a-z]+"', f'age_recipient = "{web_office.recipient}"', scope
    )
    assert post(pf, f"{base}/konsep", scope=(io.BytesIO(scope.encode()), "pks.toml")) == 303
    assert post(kabid, f"{base}/teruskan", notes="") == 303
    # The Kepala Dinas reads the bytes she signs, signs them with her own key, uploads the .sig.
    signing = kadis.get(f"/perjanjian/{OTHER}/tanda-tangan")
    assert signing.status_code == 200 and "ssh-keygen -Y sign -n pks-agreement" in signing.get_data(
        as_text=True
    )
    canonical = tmp_path / "canonical.json"
    canonical.write_bytes(kadis.get(f"/perjanjian/{OTHER}/kanonik.json").data)
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
    signature = (tmp_path / "canonical.json.sig").read_bytes()
    page = kadis.get(f"/perjanjian/{OTHER}/tanda-tangan")
    attached = kadis.post(
        f"/perjanjian/{OTHER}/tanda-tangan",
        data={"csrf_token": csrf(page), "request_id": str(request_id),
              "signature": (io.BytesIO(signature), "canonical.json.sig")},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert attached.status_code == 303
    signed = post(
        kadis, f"{base}/tandatangani", acknowledged="yes",
        signed_pks=(io.BytesIO(b"%PDF-1.4 signed"), "pks.pdf"),
    )  # fmt: skip
    assert signed == 303
    assert "Ditandatangani" in kadis.get(base).get_data(as_text=True)
    steps = [e["action"] for e in web_office.audit() if e["object_id"] == str(request_id)]
    for step in ("submit", "dispose", "assign", "draft", "forward", "sign"):
        assert f"request.{step}" in steps
    assert web_office("agreement", "show", OTHER, "--json").stdout.count('"status": "active"')


def test_a_letter_that_is_not_a_pdf_is_named_and_nothing_is_stored(
    web: Flask, web_office: Office
) -> None:
    adb = web.test_client()
    log_in(adb, "adb")
    before = web_office.sql("SELECT COUNT(*) FROM requests")[0][0]
    status, page = intake(adb, letter=b"MZ\x90\x00 not a pdf")
    assert status == 422 and 'id="e-letter"' in page and "PDF" in page
    status, page = intake(adb, letter_date="kemarin")
    assert status == 422 and 'id="e-letter_date"' in page
    status, page = intake(adb, letter=b"%PDF-" + b"0" * (20 * 1024 * 1024))
    assert status == 422 and "20 MiB" in page
    assert web_office.sql("SELECT COUNT(*) FROM requests")[0][0] == before


def test_a_step_by_the_wrong_role_is_refused_and_audited(web: Flask, web_office: Office) -> None:
    adb, pf = web.test_client(), web.test_client()
    log_in(adb, "adb")
    log_in(pf, "pf")
    _, location = intake(adb)
    request_id = int(location.rsplit("/", 1)[1])
    # The Pejabat Fungsional may not give the Kepala Dinas's disposition.
    assert post(pf, f"/permohonan/{request_id}/disposisi", note="x") == 403
    assert "Langkah 2" not in pf.get(f"/permohonan/{request_id}").get_data(as_text=True)
    refused = [e for e in web_office.audit() if e["action"] == "web.refused"]
    assert refused[-1]["actor_id"] == "pf"
    status = web_office.sql("SELECT status FROM requests WHERE id = :i", i=request_id)[0][0]
    assert status == "submitted"


def test_a_returned_draft_shows_what_the_next_draft_changed(web: Flask, web_office: Office) -> None:
    adb, kadis, kabid, pf = (web.test_client() for _ in range(4))
    for client, name in ((adb, "adb"), (kadis, "kadis"), (kabid, "kabid"), (pf, "pf")):
        log_in(client, name)
    _, location = intake(adb)
    base = location.replace("http://localhost", "")
    assert post(kadis, f"{base}/disposisi", note="proses") == 303
    assert post(kabid, f"{base}/tugaskan", assignee="pf") == 303
    scope = current_example(OTHER, "470/777/")
    scope = re.sub(
        r'age_recipient = "age1[0-9a-z]+"', f'age_recipient = "{web_office.recipient}"', scope
    )
    assert post(pf, f"{base}/konsep", scope=(io.BytesIO(scope.encode()), "v1.toml")) == 303
    assert post(kabid, f"{base}/kembalikan", notes="Batasi jumlah baris") == 303
    smaller = scope.replace("max_rows = 400000", "max_rows = 1000")
    assert post(pf, f"{base}/konsep", scope=(io.BytesIO(smaller.encode()), "v2.toml")) == 303
    page = kabid.get(base).get_data(as_text=True)
    assert "Perubahan konsep 2 dibandingkan konsep 1" in page
    assert "delivery.max_rows" in page and "Batasi jumlah baris" in page


def test_only_the_assigned_pejabat_fungsional_reviews_the_request(
    web: Flask, web_office: Office
) -> None:
    web_office("staff", "add", "pf2", "--role", "pejabat_fungsional", "--as", "admin")
    give_passwords(web_office, ("pf2",))
    adb, kadis, kabid, pf2 = (web.test_client() for _ in range(4))
    for client, name in ((adb, "adb"), (kadis, "kadis"), (kabid, "kabid"), (pf2, "pf2")):
        log_in(client, name)
    _, location = intake(adb)
    base = location.replace("http://localhost", "")
    assert post(kadis, f"{base}/disposisi", note="proses") == 303
    assert post(kabid, f"{base}/tugaskan", assignee="pf") == 303
    assert "Langkah 4" not in pf2.get(base).get_data(as_text=True)
    refused = post(
        pf2, f"{base}/tolak", reason="bukan tugas saya",
        rejection_letter=(io.BytesIO(PDF), "tolak.pdf"),
    )  # fmt: skip
    assert refused == 403
    status = web_office.sql(
        "SELECT status FROM requests WHERE id = :i", i=int(base.rsplit("/", 1)[1])
    )
    assert status[0][0] == "assigned"
