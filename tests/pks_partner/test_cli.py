"""`pks-partner`: each command against the fake gateway, the settings from the environment, and
every error as one line with its exit code (1 does not verify, 2 usage, 3 anything else), never a
traceback and never the token."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pks_partner import cli
from pks_partner.client import Client
from pks_partner.sshsig import public_key_line
from tests.pks_partner.fake_gateway import DELIVERY, TOKEN, Delivery, FakeGateway


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, gateway: FakeGateway) -> None:
    monkeypatch.setenv("PKS_PARTNER_URL", gateway.url)
    monkeypatch.setenv("PKS_PARTNER_TOKEN", TOKEN)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and TOKEN not in out + err
    return code, out, err


@pytest.mark.usefixtures("env")
def test_listing_downloading_and_verifying_offline(
    capsys: pytest.CaptureFixture[str], delivery: Delivery, tmp_path: Path
) -> None:
    code, out, _ = run(capsys, "agreements")
    assert code == 0 and "elements     nik, nama_lengkap, tanggal_lahir" in out
    assert "valid        2026-01-01 to 2026-12-31" in out
    assert "delivery     parquet, monthly; quota 0 of 1 used this month" in out
    code, out, _ = run(capsys, "deliveries")
    assert code == 0 and out.splitlines()[0].startswith(f"{DELIVERY}  parquet  v1")
    key = tmp_path / "partner.key"
    key.write_text(delivery.identity + "\n")
    code, out, _ = run(
        capsys, "download", DELIVERY, "--out", str(tmp_path / "d"), "--identity", str(key)
    )
    assert code == 0, out
    assert "ok   plaintext:" in out and "(first use," in out
    assert (tmp_path / "d" / f"{DELIVERY}.parquet").read_bytes() == delivery.plaintext
    manifest = str(tmp_path / "d" / f"{DELIVERY}.manifest.json")
    code, out, _ = run(capsys, "verify", manifest, "--audit-key", delivery.verifier_key)
    assert code == 0 and "ok   inclusion:" in out and out.endswith("verifies\n")
    (tmp_path / "d" / f"{DELIVERY}.parquet.age").write_bytes(b"changed")
    code, out, err = run(capsys, "verify", manifest)
    assert code == 1 and "FAIL data_file:" in out
    assert err.startswith("pks-partner: ") and err.count("\n") == 1


def test_verify_takes_a_configured_key_and_decrypt_checks_the_plaintext(
    capsys: pytest.CaptureFixture[str], client: Client, delivery: Delivery, tmp_path: Path
) -> None:
    client.download(DELIVERY, tmp_path, identity=delivery.identity)
    manifest = tmp_path / f"{DELIVERY}.manifest.json"
    key_line = public_key_line(delivery.manifest_key.public_key())
    code, out, _ = run(capsys, "verify", str(manifest), "--manifest-key", key_line)
    assert code == 0
    code, _, err = run(capsys, "verify", str(manifest))
    assert code == 3 and "give --manifest-key" in err
    key = tmp_path / "partner.key"
    key.write_text(delivery.identity + "\n")
    plain = tmp_path / "plain.parquet"
    args = ["decrypt", str(tmp_path / f"{DELIVERY}.parquet.age"), "--identity", str(key)]
    code, out, _ = run(capsys, *args, "--out", str(plain), "--manifest", str(manifest))
    assert code == 0 and "SHA-256 matches" in out and plain.read_bytes() == delivery.plaintext
    key.write_text(
        "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQSGWW3L\n"
    )
    code, _, err = run(capsys, *args, "--out", str(tmp_path / "other"))
    assert code in (1, 3) and "AGE-SECRET" not in err and not (tmp_path / "other").exists()


@pytest.mark.usefixtures("env")
def test_verify_nik_writes_results_and_counts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source = tmp_path / "niks.csv"
    source.write_text("nik,nama_lengkap\n9999000000000002,A\n9999000000000003,X\n")
    code, _, err = run(capsys, "verify-nik", str(source), "--out", str(tmp_path / "r.csv"))
    assert code == 0 and "2 rows in 1 calls: 1 found" in err
    assert (
        tmp_path / "r.csv"
    ).read_text() == "row,found,nama_lengkap\n1,true,true\n2,false,false\n"


def test_errors_are_one_line_with_their_code(
    capsys: pytest.CaptureFixture[str],
    gateway: FakeGateway,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, _, err = run(capsys, "deliveries", "--url", gateway.url)
    assert code == 3 and err == "pks-partner: no token: set PKS_PARTNER_TOKEN (or give --token)\n"
    monkeypatch.setenv("PKS_PARTNER_TOKEN", "pks_wrong000_" + "C" * 43)
    code, _, err = run(capsys, "deliveries", "--url", gateway.url)
    assert code == 3 and "401 Not authenticated" in err and "pks_wrong000" not in err
    monkeypatch.setenv("PKS_PARTNER_TOKEN", TOKEN)
    code, _, err = run(capsys, "download", "../x", "--url", gateway.url)
    assert code == 3 and "not a delivery id" in err

    def broken(self: Client) -> None:
        raise RuntimeError("a value that must not be shown")

    monkeypatch.setattr(Client, "agreements", broken)
    code, _, err = run(capsys, "agreements", "--url", gateway.url)
    assert code == 3 and err == "pks-partner: unexpected RuntimeError; please report it\n"
    with pytest.raises(SystemExit) as usage:
        cli.main([])
    assert usage.value.code == 2


def test_the_console_script_is_installed_and_fails_cleanly(tmp_path: Path) -> None:
    script = shutil.which("pks-partner", path=str(Path(sys.executable).parent))
    assert script is not None
    helped = subprocess.run([script, "--help"], capture_output=True, text=True, check=False)
    assert helped.returncode == 0 and "verify-nik" in helped.stdout
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    failed = subprocess.run(
        [script, "deliveries", "--url", "http://127.0.0.1:9"],
        capture_output=True,
        text=True,
        check=False,
        env={**env, "PKS_PARTNER_TOKEN": TOKEN},
    )
    assert failed.returncode == 3 and "Traceback" not in failed.stderr
    assert failed.stderr.startswith("pks-partner: cannot reach http://127.0.0.1:9")
