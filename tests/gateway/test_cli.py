"""The `pks-gateway` command: init, settings, keys, serve, and its handling of bad input."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway import db
from gateway.cli import main
from tests.harness import REPO, invoke


def test_init_is_idempotent_and_reports_locations(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = invoke(home, "init")
    assert first.exit_code == 0, first.output
    assert str(home) in first.output
    assert first.output.count("(created)") == 5  # manifest, audit, pseudonym, state, token keys
    assert "0 signer and agreement rows sealed (first sealing)" in first.output
    engine = db.metadata_engine(f"sqlite:///{home / 'gateway.db'}")
    assert db.current_revision(engine) == db.head_revision(engine)
    keys = {p.name: p.read_bytes() for p in (home / "keys").iterdir()}
    second = invoke(home, "init")
    assert second.exit_code == 0, second.output
    assert second.output.count("(kept)") == 5
    assert "sealed" not in second.output  # the first sealing happens once
    assert {p.name: p.read_bytes() for p in (home / "keys").iterdir()} == keys


def test_keys_public_prints_openssh_lines(tmp_path: Path) -> None:
    invoke(tmp_path, "init")
    manifest = invoke(tmp_path, "keys", "public")
    audit = invoke(tmp_path, "keys", "public", "audit")
    assert manifest.output.startswith("ssh-ed25519 ")
    assert "pks-gateway-manifest" in manifest.output
    assert "pks-gateway-audit" in audit.output
    bad = invoke(tmp_path, "keys", "public", "other")
    assert bad.exit_code == 2


def test_keys_public_before_init_names_the_fix(tmp_path: Path) -> None:
    result = invoke(tmp_path, "keys", "public")
    assert result.exit_code == 7
    assert "pks-gateway init" in result.output


def test_unknown_setting_stops_every_command(tmp_path: Path) -> None:
    result = invoke(tmp_path, "init", PKS_GATEWAY_COLOUR="blue")
    assert result.exit_code == 3
    assert "unknown setting 'colour'" in result.output
    assert not (tmp_path / "gateway.db").exists()


def test_unwritable_data_directory_is_named(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        # root writes anywhere; a path under a regular file fails for root too
        blocker = tmp_path / "file"
        blocker.write_text("")
        home = blocker / "home"
    else:
        tmp_path.chmod(0o500)
        home = tmp_path / "home"
    result = invoke(home, "init")
    assert result.exit_code == 7
    assert "cannot create data directory" in result.output


def test_settings_hides_passwords(tmp_path: Path) -> None:
    url = "postgresql+psycopg://gw:hunter2@127.0.0.1/pks"
    result = invoke(tmp_path, "settings", "--json", PKS_GATEWAY_DATABASE_URL=url)
    assert result.exit_code == 0
    shown = json.loads(result.output)
    assert "hunter2" not in result.output
    assert shown["home"] == str(tmp_path)


def test_demo_source_rejects_bad_rows(tmp_path: Path) -> None:
    for rows in ("0", "-5", "many"):
        result = invoke(tmp_path, "demo-source", "--rows", rows)
        assert result.exit_code == 2, rows
        assert "--rows" in result.output
    assert not (tmp_path / "demo-source.db").exists()


@pytest.mark.slow  # a real server process: ~1.5 s
def test_serve_answers_health_on_loopback(tmp_path: Path) -> None:
    invoke(tmp_path, "init")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PKS_GATEWAY_HOME": str(tmp_path)}
    server = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        body = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and body is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    body = json.loads(r.read())
            except OSError:
                time.sleep(0.2)
        assert body is not None, "server did not answer within 20 s"
        assert body["status"] == "ok"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.slow  # a real gunicorn process: ~1.5 s
def test_gunicorn_serves_the_production_entry_point(tmp_path: Path) -> None:
    """docs/operations.md's command: gunicorn on gateway.wsgi:app, settings from the environment."""
    invoke(tmp_path, "init")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PKS_GATEWAY_HOME": str(tmp_path)}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "gateway.wsgi:app", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        body = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and body is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    body = json.loads(r.read())
            except OSError:
                time.sleep(0.2)
        assert body is not None and body["status"] == "ok"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_serve_refuses_a_port_or_host_it_cannot_listen_on_as_a_usage_error(
    tmp_path: Path,
) -> None:
    invoke(tmp_path, "init")
    for args, option in [
        (["--port", "99999"], "--port"),
        (["--port", "-1"], "--port"),
        (["--port", "0"], "--port"),
        (["--port", "http"], "--port"),
        (["--host", "999.1.1.1"], "--host"),
        (["--host", "10.0.0"], "--host"),
        (["--host", ""], "--host"),
        (["--host", "no-such-host.invalid"], "--host"),
    ]:
        result = CliRunner().invoke(main, ["serve", *args], env={"PKS_GATEWAY_HOME": str(tmp_path)})
        assert result.exit_code == 2, (args, result.output)
        assert isinstance(result.exception, SystemExit), args  # a usage error, no traceback
        assert f"Invalid value for '{option}'" in result.output, args
        assert "listening" not in result.output
    # The host setting is checked the same way, and named as a setting (exit 1).
    result = CliRunner().invoke(
        main, ["serve"], env={"PKS_GATEWAY_HOME": str(tmp_path), "PKS_GATEWAY_HOST": "999.1.1.1"}
    )
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.output.startswith("Error: setting 'host' ") and result.output.count("\n") == 1


def test_serve_names_an_address_it_cannot_bind(tmp_path: Path) -> None:
    invoke(tmp_path, "init")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            main,
            ["serve", "--host", "127.0.0.1", "--port", str(port)],
            env={"PKS_GATEWAY_HOME": str(tmp_path)},
        )
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.output.splitlines()[-1] == (
        f"Error: cannot listen on 127.0.0.1:{port}: Address already in use"
    )


def test_catalog_list_shows_every_element(tmp_path: Path) -> None:
    result = invoke(tmp_path / "home", "catalog", "list", "--json")
    assert result.exit_code == 0
    elements = {e["key"]: e for e in json.loads(result.output)}
    assert len([e for e in elements.values() if e["letter"]]) == 31
    assert elements["sidik_jari"]["deliverable"] is False
    table = invoke(tmp_path / "home", "catalog", "list").output
    assert "sidik_jari" in table and "never delivered" in table


def test_catalog_check_against_the_demo_source(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert invoke(home, "demo-source", "--rows", "100").exit_code == 0
    result = invoke(home, "catalog", "check")
    assert result.exit_code == 0, result.output
    assert "catalog matches the source" in result.output


def test_catalog_check_names_mismatches_and_fails(tmp_path: Path) -> None:
    home = tmp_path / "home"
    source = tmp_path / "office.db"
    sqlite3.connect(source).execute('CREATE TABLE "BIODATA_WNI" ("NIK" TEXT)').connection.close()
    result = CliRunner().invoke(
        main,
        ["catalog", "check", "--url", f"sqlite:///{source}"],
        env={"PKS_GATEWAY_HOME": str(home)},
    )
    assert result.exit_code == 1
    assert (
        "mismatch: elements.nama_lengkap.source: no column BIODATA_WNI.NAMA_LGKP" in result.output
    )
    assert "mismatch(es) between" in result.output


def test_catalog_file_errors_are_named(tmp_path: Path) -> None:
    broken = tmp_path / "catalog.toml"
    broken.write_text("catalog_version = 1\n", encoding="utf-8")
    result = CliRunner().invoke(
        main,
        ["catalog", "list"],
        env={"PKS_GATEWAY_HOME": str(tmp_path), "PKS_GATEWAY_CATALOG_PATH": str(broken)},
    )
    assert result.exit_code == 3
    assert f"catalog file {broken}: source: required" in result.output


def test_keys_public_prints_what_outsiders_tools_take(tmp_path: Path) -> None:
    invoke(tmp_path, "init")
    line = invoke(tmp_path, "keys", "public", "manifest", "--allowed-signers").output.strip()
    key = " ".join(invoke(tmp_path, "keys", "public").output.split()[:2])
    assert line == f'pks-gateway namespaces="pks-manifest" {key}'
    verifier = invoke(tmp_path, "keys", "public", "audit", "--verifier-key").output.strip()
    origin, key_id, encoded = verifier.split("+", 2)  # base64 may hold a "+" too
    assert origin == "paserkab.go.id/pks-gateway/audit" and len(key_id) == 8 and encoded
    wrong = CliRunner().invoke(
        main,
        ["keys", "public", "audit", "--allowed-signers"],
        env={"PKS_GATEWAY_HOME": str(tmp_path)},
    )
    assert wrong.exit_code == 2 and "manifest key" in wrong.output


def test_an_unreachable_or_unknown_metadata_database_is_named_not_called_unset(
    tmp_path: Path,
) -> None:
    closed_port = "postgresql+psycopg://postgres:secret@127.0.0.1:9/test"  # discard: nothing there
    unreachable = invoke(tmp_path, "agreement", "list", PKS_GATEWAY_DATABASE_URL=closed_port)
    assert unreachable.exit_code == 7 and "Traceback" not in unreachable.output
    assert "cannot use the metadata database" in unreachable.output
    assert "127.0.0.1:9" in unreachable.output and "secret" not in unreachable.output
    assert "run `pks-gateway init`" not in unreachable.output
    unknown = invoke(tmp_path, "init", PKS_GATEWAY_DATABASE_URL="postgres://u@127.0.0.1/x")
    assert unknown.exit_code == 3 and "database_url" in unknown.output


def test_a_filter_naming_nothing_says_so_instead_of_listing_nothing(tmp_path: Path) -> None:
    invoke(tmp_path, "init")
    status = invoke(tmp_path, "request", "list", "--status", "bogus")
    assert status.exit_code == 2 and "'bogus' is not one of" in status.output
    agreement = invoke(tmp_path, "delivery", "list", "--agreement", "nope")
    assert agreement.exit_code == 5 and "agreement 'nope' not found" in agreement.output
    assert invoke(tmp_path, "delivery", "list").exit_code == 0  # no filter, nothing: fine


def test_a_reader_that_stops_reading_ends_the_command_quietly(tmp_path: Path) -> None:
    invoke(tmp_path, "init")
    command = [sys.executable, "-m", "gateway.cli", "audit", "list"]
    env = {**os.environ, "PKS_GATEWAY_HOME": str(tmp_path)}
    run = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert run.stdout is not None and run.stderr is not None
    run.stdout.close()  # as `… | head` does once it has what it wants (here: before anything)
    errors = run.stderr.read().decode()
    run.stderr.close()
    assert run.wait(timeout=60) == 141
    assert "Error" not in errors and "Traceback" not in errors
