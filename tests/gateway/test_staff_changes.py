"""Staff change role and are deactivated (issue 10, item 2): audited, a deactivated name can do
nothing, and the last active Admin stays."""

from __future__ import annotations

import json
from pathlib import Path

from tests.gateway.test_cli_agreements import setup_gateway


def test_a_role_change_and_a_deactivation_are_audited_and_take_effect(tmp_path: Path) -> None:
    gateway = setup_gateway(tmp_path)
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


def test_the_last_active_admin_stays(tmp_path: Path) -> None:
    gateway = setup_gateway(tmp_path)
    alone = gateway("staff", "deactivate", "admin", "--reason", "r", "--as", "admin", ok=False)
    assert alone.exit_code == 6 and "last active admin" in alone.output
    demoted = gateway("staff", "role", "admin", "--role", "compliance", "--as", "admin", ok=False)
    assert demoted.exit_code == 6
    gateway("staff", "add", "admin2", "--role", "admin", "--as", "admin")
    gateway("staff", "deactivate", "admin", "--reason", "retired", "--as", "admin2")
