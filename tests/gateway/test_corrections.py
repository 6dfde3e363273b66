"""Correcting the registers (issue 10, item 2): staff change role and are deactivated (audited, a
deactivated name can do nothing, the last active Admin stays), and a request entered by mistake is
cancelled (final, audited)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.harness import Gateway


def test_a_role_change_and_a_deactivation_are_audited_and_take_effect(gateway: Gateway) -> None:
    gateway("staff", "add", "budi", "--role", "petugas_adb", "--as", "admin")
    gateway("staff", "role", "budi", "--role", "compliance", "--as", "admin")
    listed = json.loads(gateway("staff", "list", "--json").stdout)
    assert {"name": "budi", "role": "compliance", "active": True} in listed

    refused = gateway("staff", "deactivate", "budi", "--reason", "left", "--as", "kadis", ok=False)
    assert refused.exit_code == 4  # only an Admin
    gateway("staff", "deactivate", "budi", "--reason", "moved to another office", "--as", "admin")
    assert (
        "budi" in gateway("staff", "list").stdout
        and "(deactivated)" in gateway("staff", "list").stdout
    )
    acting = gateway("agreement", "suspend", "x", "--reason", "r", "--as", "budi", ok=False)
    assert acting.exit_code == 4 and "deactivated" in acting.output

    entries = [json.loads(line) for line in gateway("audit", "list", "--json").stdout.splitlines()]
    changes = [
        (e["action"], e["outcome"], e["details"]) for e in entries if e["object_id"] == "budi"
    ]
    assert ("staff.role_changed", "ok", {"from": "petugas_adb", "to": "compliance"}) in changes
    assert (
        "staff.deactivated",
        "ok",
        {"role": "compliance", "reason": "moved to another office"},
    ) in changes
    assert any(e["actor_id"] == "budi" and e["outcome"] == "refused" for e in entries)


def test_the_last_active_admin_stays(gateway: Gateway) -> None:
    alone = gateway("staff", "deactivate", "admin", "--reason", "r", "--as", "admin", ok=False)
    assert alone.exit_code == 6 and "last active admin" in alone.output
    demoted = gateway("staff", "role", "admin", "--role", "compliance", "--as", "admin", ok=False)
    assert demoted.exit_code == 6
    gateway("staff", "add", "admin2", "--role", "admin", "--as", "admin")
    gateway("staff", "deactivate", "admin", "--reason", "retired", "--as", "admin2")


def test_a_request_entered_by_mistake_is_cancelled_and_stays_so(
    tmp_path: Path, gateway: Gateway
) -> None:
    letter = tmp_path / "letter.pdf"
    letter.write_bytes(b"%PDF-1.4 letter")
    submitted = gateway(
        "request", "submit", "--institution", "RSUD Panglima Sebaya",
        "--letter-number", "445/1/2026", "--letter-date", "2026-12-01", "--purpose", "BPJS",
        "--legal-basis", "UU 24/2013", "--elements", "nik,nama_lengkap",
        "--access-mode", "bulk_delivery", "--duration", "12",
        "--data-balikan", "semester report", "--letter", str(letter), "--as", "adb",
    )  # fmt: skip
    request_id = submitted.stdout.split()[1]
    wrong = gateway("request", "cancel", request_id, "--reason", "x", "--as", "pf", ok=False)
    assert wrong.exit_code == 4
    done = gateway("request", "cancel", request_id, "--reason", "entered twice", "--as", "adb")
    assert f"request {request_id} is cancelled" in done.stdout
    later = gateway("request", "dispose", request_id, "--note", "n", "--as", "kadis", ok=False)
    assert later.exit_code == 6 and "nothing (final)" in later.output
    shown = json.loads(gateway("request", "show", request_id, "--json").stdout)
    assert shown["status"] == "cancelled"
    entries = [json.loads(line) for line in gateway("audit", "list", "--json").stdout.splitlines()]
    assert [e["outcome"] for e in entries if e["action"] == "request.cancel"] == ["refused", "ok"]
