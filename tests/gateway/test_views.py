"""Read models (issue 10, item 5): one JSON shape with RFC 3339 office times, text tables with
header rows and WITA times, requests that say whose move it is, since when, due and OVERDUE, the
revision loop's drafts kept and compared, and an agreement shown with its quota use and region
names."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from agreements.workdays import WorkCalendar
from agreements.workflow import Role, Status
from gateway.readmodel import office_time, rfc3339, to_json
from gateway.services import request_views
from tests.office import SHORT, Office, current_example

WITA = ZoneInfo("Asia/Makassar")
RFC3339_OFFICE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$")


def test_times_read_the_same_everywhere() -> None:
    moment = datetime(2026, 12, 2, 6, 5, 59, 123456, tzinfo=UTC)
    assert office_time(moment, WITA) == "2026-12-02 14:05 WITA"
    assert rfc3339(moment, WITA) == "2026-12-02T14:05:59+08:00"
    naive_utc = moment.replace(tzinfo=None)  # as SQLite hands it back
    assert rfc3339(naive_utc, WITA) == "2026-12-02T14:05:59+08:00"

    @dataclass(frozen=True)
    class View:
        at: datetime
        day: date
        role: Role
        items: tuple[int, ...]

    assert to_json(View(moment, date(2026, 1, 2), Role.ADMIN, (1, 2)), WITA) == {
        "at": "2026-12-02T14:05:59+08:00",
        "day": "2026-01-02",
        "role": "admin",
        "items": [1, 2],
    }


def _submit(office: Office, received: datetime) -> str:
    letter = office.root / "surat.pdf"
    letter.write_bytes(b"%PDF-1.7 surat")
    done = office(
        "request", "submit",
        "--institution", "Bank Kaltimtara",
        "--letter-number", "B/12/2026",
        "--letter-date", received.date().isoformat(),
        "--purpose", "KYC",
        "--legal-basis", "UU 24/2013",
        "--elements", "nik,nama_lengkap",
        "--access-mode", "bulk_delivery",
        "--duration", "12",
        "--data-balikan", "semester report",
        "--letter", str(letter),
        "--received", f"{received.astimezone(WITA):%Y-%m-%d %H:%M}",
        "--as", "adb",
    )  # fmt: skip
    return done.stdout.split()[1]


def _draft(office: Office, request_id: str, scope: str) -> None:
    path = office.root / "draft.toml"
    scope = re.sub(
        r'age_recipient = "age1[0-9a-z]+"', f'age_recipient = "{office.recipient}"', scope
    )
    path.write_text(scope, encoding="utf-8")
    office("request", "draft", request_id, "--scope", str(path), "--as", "pf")


def listed(office: Office, *options: str) -> list[dict[str, object]]:
    return list(json.loads(office("request", "list", "--json", *options).stdout))


def test_requests_say_whose_move_it_is_and_keep_every_revision(office: Office) -> None:
    office("staff", "add", "kabid", "--role", "kepala_bidang", "--as", "admin")
    office("staff", "add", "pf2", "--role", "pejabat_fungsional", "--as", "admin")
    received = datetime.now(UTC) - timedelta(hours=2)
    request_id = _submit(office, received)

    [row] = listed(office)
    waiting = row["waiting"]
    assert isinstance(waiting, dict)
    assert (waiting["role"], waiting["person"]) == ("kepala_dinas", None)
    assert RFC3339_OFFICE.match(str(waiting["since"])) and RFC3339_OFFICE.match(str(waiting["due"]))
    text = office("request", "list").stdout.splitlines()
    assert text[0].split()[:5] == ["ID", "STATUS", "WAITING", "ON", "SINCE"]
    assert "kepala_dinas" in text[1] and "WITA" in text[1]

    office("request", "dispose", request_id, "--note", "proses", "--as", "kadis")
    office("request", "assign", request_id, "--to", "pf", "--as", "kabid")
    assert [r["id"] for r in listed(office, "--mine", "--as", "pf")] == [int(request_id)]
    assert listed(office, "--mine", "--as", "pf2") == []  # the step is pf's, not every PF's
    assert listed(office, "--mine", "--as", "kabid") == []

    first = current_example()
    _draft(office, request_id, first)
    office("request", "return", request_id, "--notes", "narrow the filter", "--as", "kabid")
    _draft(office, request_id, first.replace("max_age = 150", "max_age = 80"))
    assert [r["id"] for r in listed(office, "--mine", "--as", "kabid")] == [int(request_id)]

    revisions = json.loads(office("request", "revisions", request_id, "--json").stdout)
    assert [r["number"] for r in revisions] == [1, 2]
    assert revisions[0]["document"]["sha256"] != revisions[1]["document"]["sha256"]
    changed = office("request", "diff", request_id).stdout
    assert changed.startswith(f"request {request_id}: revision 1 -> 2, 1 change(s)")
    assert "max_age" in changed and "150" in changed and "80" in changed
    same = office("request", "diff", request_id, "--from", "1", "--to", "1").stdout
    assert "0 change(s)" in same
    missing = office("request", "diff", request_id, "--from", "3", ok=False)
    assert missing.exit_code == 5 and "revision '3' not found" in missing.output

    shown = office("request", "show", request_id).stdout
    assert "narrow the filter" in shown  # the Kabid's return notes
    assert f"agreement  {SHORT} version 1 (draft)" in shown
    assert "waiting on kepala_bidang since" in shown and "WITA" in shown
    as_json = json.loads(office("request", "show", request_id, "--json").stdout)
    assert [e["transition"] for e in as_json["events"]] == [
        "submit", "dispose", "assign", "draft", "return", "draft",
    ]  # fmt: skip
    assert as_json["versions"] == [{"agreement": SHORT, "version": 1, "status": "draft"}]
    assert all(RFC3339_OFFICE.match(e["at"]) for e in as_json["events"])


def test_an_open_step_past_its_limit_is_overdue(office: Office) -> None:
    request_id = int(_submit(office, datetime.now(UTC) - timedelta(hours=1)))
    calendar = WorkCalendar(time_zone=WITA)
    later = datetime.now(UTC) + timedelta(days=10)  # at least six working days
    with office.engine.connect() as connection:
        [now_row] = request_views.list_requests(connection, datetime.now(UTC), calendar)
        [late_row] = request_views.list_requests(connection, later, calendar)
        overdue = request_views.list_requests(connection, later, calendar, overdue_only=True)
        nothing = request_views.list_requests(connection, later, calendar, status=Status.SIGNED)
    assert now_row.waiting is not None and not now_row.waiting.overdue
    assert late_row.waiting is not None and late_row.waiting.overdue
    assert [r.id for r in overdue] == [request_id] and nothing == []
    assert listed(office, "--overdue") == []  # not yet, by the real clock
    usage = office("request", "list", "--mine", ok=False)
    assert usage.exit_code == 2 and "--mine needs --as" in usage.output


def test_an_agreement_shows_its_quota_use_regions_and_duties(office: Office) -> None:
    office.agree()
    before = json.loads(office("agreement", "show", SHORT, "--json").stdout)
    assert before["quota"]["used"] == 0
    quota = before["delivery"]["quota"]
    assert before["quota"]["left"] == quota
    assert office.extract().exit_code == 0
    after = json.loads(office("agreement", "show", SHORT, "--json").stdout)
    assert (after["quota"]["used"], after["quota"]["left"]) == (1, quota - 1)
    assert after["purpose"] and after["legal_basis"] and after["reporting"]["semester_report_due"]
    assert after["regions"] is None or all(r["name"] != "?" for r in after["regions"])
    assert RFC3339_OFFICE.match(after["signed_at"])
    text = office("agreement", "show", SHORT).stdout
    assert f"quota used   1 since {after['quota']['since']}, {quota - 1} left" in text
    assert "ELEMENT" in text and "RECIPIENT" in text and "WITA" in text
    listing = office("agreement", "list").stdout.splitlines()
    assert listing[0].split()[0] == "AGREEMENT" and SHORT in listing[1]

    deliveries = office("delivery", "list").stdout.splitlines()
    assert deliveries[0].split()[:3] == ["DELIVERY", "VERSION", "STATUS"]
    assert "published" in deliveries[1] and "WITA" in deliveries[1]
    [row] = json.loads(office("delivery", "list", "--json").stdout)
    assert RFC3339_OFFICE.match(row["started_at"])
    shown = office("delivery", "show", row["id"]).stdout
    assert "published" in shown and "sha-256" in shown
    unknown = office("delivery", "show", "no-such-delivery", ok=False)
    assert unknown.exit_code == 5 and "no-such-delivery" in unknown.output
