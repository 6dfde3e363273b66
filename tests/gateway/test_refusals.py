"""Refusals that used to go unrecorded (issue 9, item 5): the refusal itself is audited even when
what was refused cannot be written into the log (an empty or NIK-like name), and a signer key of
another type is refused inside the audited action."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.harness import Gateway
from tests.services import require_tool


def refusals(gateway: Gateway) -> list[dict[str, object]]:
    lines = gateway("audit", "list", "--json", "--outcome", "refused").stdout.splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def test_a_signer_key_of_another_type_is_refused_and_audited(
    tmp_path: Path, gateway: Gateway
) -> None:
    keygen = require_tool("ssh-keygen", "openssh-client")
    for kind in ("rsa", "ecdsa"):
        key = tmp_path / kind
        subprocess.run([keygen, "-q", "-t", kind, "-N", "", "-f", str(key)], check=True)
        result = gateway("signer", "add", "kadis", "--key", f"{key}.pub", "--as", "admin", ok=False)
        assert result.exit_code == 3
        assert "ssh-ed25519" in result.output and "Traceback" not in result.output
    entries = [e for e in refusals(gateway) if e["action"] == "signer.added"]
    assert len(entries) == 2
    assert all("ssh-ed25519" in str(e["details"]) for e in entries)


def test_an_empty_actor_is_refused_and_audited(gateway: Gateway) -> None:
    result = gateway("staff", "add", "budi", "--role", "admin", "--as", "", ok=False)
    assert result.exit_code == 5 and "Traceback" not in result.output
    [entry] = [e for e in refusals(gateway) if e["action"] == "staff.added"]
    assert entry["actor_id"] == "(unrecordable)" and entry["object_id"] == "budi"


def test_a_sixteen_digit_name_is_refused_and_audited_without_the_digits(gateway: Gateway) -> None:
    digits = "6401015505880001"
    result = gateway("staff", "add", digits, "--role", "admin", "--as", "admin", ok=False)
    assert result.exit_code == 3 and "Traceback" not in result.output
    assert "NIK" in result.output and digits not in result.output
    [entry] = [e for e in refusals(gateway) if e["action"] == "staff.added"]
    assert entry["object_id"] == "(unrecordable)"
    assert digits not in json.dumps(refusals(gateway))
    assert digits not in gateway("staff", "list").output
    # As an actor name it is refused too, recorded without it.
    as_actor = gateway("staff", "add", "budi", "--role", "admin", "--as", digits, ok=False)
    assert as_actor.exit_code == 5 and digits not in as_actor.output
    assert digits not in json.dumps(refusals(gateway))
