"""`pks-gateway agreement`: stock ssh-keygen signatures both ways, a scope edited in the database
after signing (SQLite and PostgreSQL), an amendment's diff, and refused input leaving nothing."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.harness import EXAMPLE, SHORT, Gateway, setup_gateway, write


def test_stock_ssh_keygen_signature_is_accepted(tmp_path: Path, gateway: Gateway) -> None:
    gateway("agreement", "import", write(tmp_path, "pks.toml", EXAMPLE), "--as", "pf")
    canonical = tmp_path / "pks.json"
    gateway("agreement", "canonical", SHORT, "--out", str(canonical))
    assert canonical.read_bytes() == gateway("agreement", "canonical", SHORT).stdout_bytes
    subprocess.run(
        [
            "ssh-keygen",
            "-Y",
            "sign",
            "-n",
            "pks-agreement",
            "-f",
            str(tmp_path / "kadis"),
            str(canonical),
        ],
        check=True,
        capture_output=True,
    )
    attached = gateway("agreement", "attach-signature", SHORT, f"{canonical}.sig", "--as", "kadis")
    assert f"agreement {SHORT} version 1 is active" in attached.output
    assert "verifies" in gateway("agreement", "verify", SHORT).output


def test_our_signature_verifies_with_ssh_keygen(tmp_path: Path, gateway: Gateway) -> None:
    gateway("agreement", "import", write(tmp_path, "pks.toml", EXAMPLE), "--as", "pf")
    gateway("agreement", "sign", SHORT, "--key", str(tmp_path / "kadis"), "--as", "kadis")
    signature = json.loads(gateway("agreement", "show", SHORT, "--json").stdout)["signature"]
    allowed = write(tmp_path, "allowed", gateway("signer", "list", "--allowed-signers").stdout)
    sig = write(tmp_path, "pks.sig", signature)
    canonical = gateway("agreement", "canonical", SHORT).stdout_bytes
    checked = subprocess.run(
        [
            "ssh-keygen",
            "-Y",
            "verify",
            "-f",
            allowed,
            "-I",
            "kadis",
            "-n",
            "pks-agreement",
            "-s",
            sig,
        ],
        input=canonical,
        capture_output=True,
    )
    assert checked.returncode == 0, checked.stderr
    changed = canonical.replace(b'"keep"', b'"redact"', 1)
    rejected = subprocess.run(
        [
            "ssh-keygen",
            "-Y",
            "verify",
            "-f",
            allowed,
            "-I",
            "kadis",
            "-n",
            "pks-agreement",
            "-s",
            sig,
        ],
        input=changed,
        capture_output=True,
    )
    assert rejected.returncode != 0


def test_scope_edited_after_signing_fails_verify(
    tmp_path: Path, metadata_env: dict[str, str]
) -> None:
    gateway = setup_gateway(tmp_path, metadata_env)
    gateway("agreement", "import", write(tmp_path, "pks.toml", EXAMPLE), "--as", "pf")
    gateway("agreement", "sign", SHORT, "--key", str(tmp_path / "kadis"), "--as", "kadis")
    gateway("agreement", "verify", SHORT)
    url = metadata_env.get(
        "PKS_GATEWAY_DATABASE_URL", f"sqlite:///{tmp_path / 'home' / 'gateway.db'}"
    )
    engine = create_engine(url)
    with engine.begin() as connection:
        scope = connection.execute(text("SELECT scope_json FROM agreement_versions")).scalar_one()
        widened = scope.replace(
            '"nama_lengkap": {"mask": "keep"}',
            '"nama_lengkap": {"mask": "keep"}, "nik_ibu": {"mask": "keep"}',
        )
        assert widened != scope
        connection.execute(text("UPDATE agreement_versions SET scope_json = :s"), {"s": widened})
    engine.dispose()
    result = gateway("agreement", "verify", SHORT, ok=False)
    assert result.exit_code == 1
    assert f"agreement {SHORT} version 1" in result.output and "scope" in result.output


def test_amendment_supersedes_and_shows_its_diff(tmp_path: Path, gateway: Gateway) -> None:
    gateway("agreement", "import", write(tmp_path, "v1.toml", EXAMPLE), "--as", "pf")
    gateway("agreement", "sign", SHORT, "--key", str(tmp_path / "kadis"), "--as", "kadis")
    first_hash = json.loads(gateway("agreement", "show", SHORT, "--json").stdout)["scope_hash"]
    amended = (
        EXAMPLE.replace("\nversion = 1", f'\nversion = 2\nprevious_scope_hash = "{first_hash}"')
        .replace('nama_lengkap = "keep"\n', 'nama_lengkap = { mask = "partial", first = 3 }\n')
        .replace('no_kel = "keep"\n', "")
        .replace('regions = "all"', 'regions = ["64.01.01"]')
        .replace('contact = "kepatuhan@bank.example"', 'contact = "dpo@bank.example"')
    )
    gateway("agreement", "import", write(tmp_path, "v2.toml", amended), "--as", "pf")
    listed = gateway("agreement", "list", "--json").output
    assert json.loads(listed)[0]["version"] == 1  # the draft amendment is not current yet
    diff = gateway("agreement", "diff", SHORT).output
    assert "version 1 -> 2" in diff
    for expected in ("nama_lengkap", "no_kel", "regions", "contact"):
        assert expected in diff, expected
    gateway("agreement", "sign", SHORT, "--key", str(tmp_path / "kadis"), "--as", "kadis")
    assert json.loads(gateway("agreement", "list", "--json").stdout)[0]["version"] == 2
    first = json.loads(gateway("agreement", "show", SHORT, "--version", "1", "--json").stdout)
    assert first["status"] == "superseded"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (
            lambda s: s.replace('nama_lengkap = "keep"', 'sidik_jari = "keep"'),
            "elements.sidik_jari",
        ),
        (
            lambda s: s.replace('nama_lengkap = "keep"', 'nama_lengkapp = "keep"'),
            "elements.nama_lengkapp",
        ),
        (lambda s: s.replace("start = 2026-01-01", "start = 2027-01-01"), "validity"),
        (
            lambda s: s.replace('age_recipient = "age1k3', 'age_recipient = "age1x3'),
            "age_recipient",
        ),
        (
            lambda s: s.replace(
                'nik = { mask = "token", length = 32 }', 'nik = { mask = "partial", first = 12 }'
            ),
            "nik",
        ),
        (lambda s: s.replace("include_minors = false", "include_minor = false"), "include_minor"),
    ],
)
def test_bad_scope_is_refused_and_nothing_stored(
    tmp_path: Path, gateway: Gateway, change, named: str
) -> None:  # type: ignore[no-untyped-def]
    result = gateway(
        "agreement", "import", write(tmp_path, "bad.toml", change(EXAMPLE)), "--as", "pf", ok=False
    )
    assert result.exit_code == 3
    assert named in result.output
    assert gateway("agreement", "list", "--json").stdout.strip() == "[]"
    refused = gateway("audit", "list", "--outcome", "refused", "--json").stdout.splitlines()
    assert [json.loads(line)["action"] for line in refused] == ["agreement.import"]


def test_wrong_signer_and_role_are_refused_and_audited(tmp_path: Path, gateway: Gateway) -> None:
    gateway("agreement", "import", write(tmp_path, "pks.toml", EXAMPLE), "--as", "pf")
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")], check=True
    )
    stranger = gateway(
        "agreement", "sign", SHORT, "--key", str(tmp_path / "other"), "--as", "kadis", ok=False
    )
    assert stranger.exit_code == 1 and "not an allowed signer" in stranger.output
    by_pf = gateway(
        "agreement", "sign", SHORT, "--key", str(tmp_path / "kadis"), "--as", "pf", ok=False
    )
    assert by_pf.exit_code == 4 and "kepala_dinas" in by_pf.output
    fingerprint = re.search(r"SHA256:\S+", gateway("signer", "list").stdout)
    assert fingerprint is not None
    gateway("signer", "revoke", fingerprint.group(0), "--as", "admin")
    revoked = gateway(
        "agreement", "sign", SHORT, "--key", str(tmp_path / "kadis"), "--as", "kadis", ok=False
    )
    assert revoked.exit_code == 1 and "revoked" in revoked.output
    refused = gateway("audit", "list", "--outcome", "refused", "--json").stdout.splitlines()
    assert [json.loads(line)["action"] for line in refused] == ["agreement.signature"] * 3
    assert json.loads(gateway("agreement", "show", SHORT, "--json").stdout)["status"] == "draft"
