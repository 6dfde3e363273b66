"""Amendments end to end through the CLI, on SQLite and PostgreSQL (issue 10, item 3): an agreement
born through the SOP, amended by an addendum request through steps 1-7, then amended on paper
(import + signature), with a withdrawn draft in between; each with its audit trail. Before the
request link moved to each version, the addendum stayed a signed draft forever."""

from __future__ import annotations

import json
from datetime import date

from tests.harness import SHORT, write
from tests.office import Office, current_example


def walk_request(office: Office, scope_text: str) -> int:
    """Steps 1-6 for a new request whose draft is `scope_text`; the request's id."""
    letter = write(office.root, "letter.pdf", "%PDF-1.4 letter")
    submitted = office(
        "request", "submit",
        "--institution", "PT Bank Pembangunan Daerah Kalimantan Timur dan Kalimantan Utara",
        "--letter-number", f"B/{len(office.audit())}/2026",
        "--letter-date", date.today().isoformat(),
        "--purpose", "KYC",
        "--legal-basis", "UU 24/2013",
        "--elements", "nik,nama_lengkap",
        "--access-mode", "bulk_delivery",
        "--duration", "12",
        "--data-balikan", "semester report",
        "--letter", letter,
        "--as", "adb",
    )  # fmt: skip
    request_id = int(submitted.stdout.split()[1])
    office("request", "dispose", str(request_id), "--note", "proses", "--as", "kadis")
    office("staff", "add", f"kabid{request_id}", "--role", "kepala_bidang", "--as", "admin")
    kabid = f"kabid{request_id}"
    office("request", "assign", str(request_id), "--to", "pf", "--as", kabid)
    scope = write(office.root, f"scope{request_id}.toml", scope_text)
    office("request", "draft", str(request_id), "--scope", scope, "--as", "pf")
    office("request", "forward", str(request_id), "--as", kabid)
    return request_id


def sign_request(office: Office, request_id: int) -> None:
    office("agreement", "sign", SHORT, "--key", str(office.kadis_key), "--as", "kadis")
    signed = write(office.root, "signed.pdf", "%PDF-1.4 signed")
    done = office(
        "request", "sign", str(request_id), "--acknowledged", "--signed-pks", signed,
        "--as", "kadis",
    )  # fmt: skip
    assert f"request {request_id} is signed" in done.stdout


def show(office: Office, version: int) -> dict[str, object]:
    shown = office("agreement", "show", SHORT, "--version", str(version), "--json").stdout
    return dict(json.loads(shown))


def amendment(office: Office, version: int, amends: int, change: str) -> str:
    previous = show(office, amends)["scope_hash"]
    text = current_example().replace(
        "\nversion = 1", f'\nversion = {version}\nprevious_scope_hash = "{previous}"'
    )
    return text.replace('nama_lengkap = "keep"\n', change)


def test_both_amendment_routes_and_a_withdrawn_draft(office: Office) -> None:
    # Born through the SOP.
    first = walk_request(office, current_example())
    sign_request(office, first)
    assert show(office, 1)["status"] == "active"

    # An addendum through a new request (steps 1-7): version 2 goes in force at ITS step 7.
    second = walk_request(
        office, amendment(office, 2, 1, 'nama_lengkap = { mask = "partial", first = 3 }\n')
    )
    office("agreement", "sign", SHORT, "--key", str(office.kadis_key), "--as", "kadis")
    assert show(office, 2)["status"] == "draft"  # signed, waiting for step 7
    assert show(office, 1)["status"] == "active"
    signed = write(office.root, "signed2.pdf", "%PDF-1.4 signed")
    office(
        "request", "sign", str(second), "--acknowledged", "--signed-pks", signed, "--as", "kadis"
    )
    assert (show(office, 1)["status"], show(office, 2)["status"]) == ("superseded", "active")
    assert "nama_lengkap" in office("agreement", "diff", SHORT).stdout

    # A paper amendment imported by mistake, withdrawn; its number stays used.
    v3 = write(office.root, "v3.toml", amendment(office, 3, 2, ""))
    office("agreement", "import", v3, "--as", "pf")
    office("agreement", "withdraw", SHORT, "--reason", "entered by mistake", "--as", "pf")
    assert show(office, 3)["status"] == "withdrawn"
    again = office("agreement", "import", v3, "--as", "pf", ok=False)
    assert again.exit_code == 6 and "version 3 is withdrawn: the next version is 4" in again.output

    # Amended on paper: version 4 chains to version 2 (3 was withdrawn), in force once signed.
    v4 = write(office.root, "v4.toml", amendment(office, 4, 2, ""))
    office("agreement", "import", v4, "--as", "pf")
    office("agreement", "sign", SHORT, "--key", str(office.kadis_key), "--as", "kadis")
    assert (show(office, 2)["status"], show(office, 4)["status"]) == ("superseded", "active")
    office("agreement", "verify", SHORT)
    delivered = office("delivery", "extract", SHORT, "--as", "adb")
    assert delivered.exit_code == 0 and len(office.published()) == 1

    trail = [
        (e["action"], e["details"].get("version"))
        for e in office.audit()
        if e["object_type"] in ("agreement", "request") and e["outcome"] == "ok"
    ]
    assert ("agreement.withdraw", 3) in trail
    assert ("request.sign", 1) in trail and ("request.sign", 2) in trail
    assert trail.count(("agreement.signature", 4)) == 1
