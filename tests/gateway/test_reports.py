"""The partner's reports (issue 11): a semester report (a PDF) answers the earliest open due date;
a data balikan keeps only keyed hashes and counts; an agreement whose report is overdue beyond the
grace period is suspended by `system` and resumed by it when the report arrives, while a
suspension an officer made stays until the Kepala Dinas lifts it."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agreements.errors import Conflict, Invalid
from gateway.seals import SealStore
from gateway.services import reports
from gateway.services.actions import partner
from gateway.settings import Settings, load_settings
from tests.office import SHORT, Office

WITA = ZoneInfo("Asia/Makassar")
PDF = b"%PDF-1.7\n% laporan semester\n"
VALID_NIKS = ["6401010101900001", "6401014101900002"]  # day 01, and 41 (a woman's)


@pytest.fixture
def settings(office: Office) -> Settings:
    return load_settings({}, environ=office.gateway.env)


def due_dates(office: Office) -> list[date]:
    scope = json.loads(office("agreement", "show", SHORT, "--json").stdout)["reporting"]
    return [date.fromisoformat(d) for d in scope["semester_report_due"]]


def semester(office: Office, settings: Settings, data: bytes, when: datetime) -> reports.ReportView:
    return reports.receive_semester_report(
        office.engine,
        SealStore(settings.keys_dir),
        partner("pks_test0001"),
        SHORT,
        data,
        documents_dir=settings.documents_dir,
        now=when,
        grace_days=settings.report_grace_days,
        zone=WITA,
    )


def status(office: Office) -> str:
    return str(json.loads(office("agreement", "show", SHORT, "--json").stdout)["status"])


def test_a_late_report_suspends_and_its_arrival_resumes(office: Office, settings: Settings) -> None:
    office.agree()
    [due] = due_dates(office)
    seals = SealStore(settings.keys_dir)
    in_grace = datetime.combine(due + timedelta(days=14), datetime.min.time(), WITA)
    late = in_grace + timedelta(days=1)
    assert reports.enforce_reporting(office.engine, seals, in_grace, grace_days=14, zone=WITA) == []
    assert reports.enforce_reporting(office.engine, seals, late, grace_days=14, zone=WITA) == [
        SHORT
    ]
    assert status(office) == "suspended"
    assert office.extract().exit_code == 6  # nothing is delivered meanwhile

    with pytest.raises(Invalid, match="must be a PDF"):
        semester(office, settings, b"not a pdf", late)
    receipt = semester(office, settings, PDF, late + timedelta(hours=1))
    assert (receipt.kind, receipt.due, receipt.received_by) == (
        "semester",
        due,
        "pks_test0001",
    )
    assert (settings.documents_dir / str(receipt.document_sha256)).read_bytes() == PDF
    assert status(office) == "active"
    with pytest.raises(Conflict, match="every semester report it asks for is received"):
        semester(office, settings, PDF, late + timedelta(hours=2))

    # The agreement's view says which report arrived (and when), as the partner API does too.
    shown = json.loads(office("agreement", "show", SHORT, "--json").stdout)
    states = {entry["due"]: entry["state"] for entry in shown["report_state"]}
    assert states[due.isoformat()] == "received"

    moves = [
        (e["action"], e["actor_id"]) for e in office.audit() if e["object_type"] == "agreement"
    ]
    assert ("agreement.suspend", "system") in moves and ("agreement.resume", "system") in moves
    assert ("report.received", "pks_test0001") in moves


def test_an_officers_suspension_is_not_lifted_by_a_report(
    office: Office, settings: Settings
) -> None:
    office.agree()
    [due] = due_dates(office)
    office("agreement", "suspend", SHORT, "--reason", "misuse reported", "--as", "kadis")
    late = datetime.combine(due + timedelta(days=30), datetime.min.time(), WITA)
    semester(office, settings, PDF, late)
    assert status(office) == "suspended"  # the Kepala Dinas lifts it, not the gateway


def test_a_data_balikan_keeps_hashes_and_counts_only(
    office: Office, settings: Settings, tmp_path: Path
) -> None:
    office.agree()
    csv_file = tmp_path / "balikan.csv"
    csv_file.write_text("nik\n" + "\n".join([*VALID_NIKS, "1234", VALID_NIKS[0]]) + "\n")
    done = office(
        "report", "submit", SHORT, "--data-balikan", str(csv_file), "--as", "adb", "--json"
    )
    receipt = json.loads(done.stdout)
    assert (receipt["kind"], receipt["rows"], receipt["invalid_rows"]) == ("data_balikan", 4, 1)
    kept = office.sql("SELECT subject_hash FROM report_subjects")
    assert len(kept) == 2 and all(VALID_NIKS[0] not in row[0] for row in kept)
    for nik in VALID_NIKS:  # neither in the database, nor the audit, nor the documents
        assert nik not in json.dumps(office.audit())
        assert not any(
            nik.encode() in p.read_bytes() for p in settings.home.rglob("*") if p.is_file()
        )
    listed = office("report", "list").stdout.splitlines()
    assert listed[0].split()[:3] == ["REPORT", "AGREEMENT", "KIND"] and "data_balikan" in listed[1]
    wrong = office("report", "submit", SHORT, "--as", "adb", ok=False)
    assert wrong.exit_code == 2 and "exactly one of" in wrong.output
    refused = office(
        "report", "submit", SHORT, "--data-balikan", str(csv_file), "--as", "pf", ok=False
    )
    assert refused.exit_code == 4
