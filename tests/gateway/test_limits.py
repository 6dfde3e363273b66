"""Input limits (gateway/limits.py): files read within their size, only regular files, text options
within their length, numbers within range, and an interrupted demo build leaving no temporary file.

Every refusal is one line naming the file or option and its limit, and stores nothing."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import click
import pytest

from gateway import limits
from tests.harness import REPO, invoke

SMALL = limits.FileLimit("test file", 16)


def test_a_file_within_its_limit_is_read_whole(tmp_path: Path) -> None:
    exact = tmp_path / "exact"
    exact.write_bytes(b"x" * 16)
    assert limits.read_limited(exact, SMALL) == b"x" * 16
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert limits.read_limited(empty, SMALL) == b""


def test_a_file_over_its_limit_is_refused_by_name(tmp_path: Path) -> None:
    over = tmp_path / "over"
    over.write_bytes(b"x" * 17)
    expected = re.escape(f"test file {over} is larger than 16 bytes")
    with pytest.raises(limits.InputRefused, match=expected):
        limits.read_limited(over, SMALL)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_device_is_refused_before_anything_is_read(device: str) -> None:
    expected = re.escape(f"test file {device} is not a regular file")
    with pytest.raises(limits.InputRefused, match=expected):
        limits.read_limited(Path(device), SMALL)
    with pytest.raises(limits.InputRefused, match="is not a regular file"):
        limits.require_regular_file(Path(device), "test file")


def test_a_fifo_without_a_writer_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            limits.read_limited(fifo, SMALL)
        except BaseException as error:
            outcome.append(error)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=5)
    if reader.is_alive():  # unblock the reader so the test run can end
        with open(fifo, "wb"):
            pass
        pytest.fail("opening a FIFO with no writer blocked")
    assert [str(e) for e in outcome] == [f"test file {fifo} is not a regular file"]


def test_text_files_must_be_utf8_and_missing_files_are_named(tmp_path: Path) -> None:
    latin = tmp_path / "latin.toml"
    latin.write_bytes("Pasér".encode("latin-1"))
    expected = re.escape(f"test file {latin} is not UTF-8 text")
    with pytest.raises(limits.InputRefused, match=expected):
        limits.read_limited_text(latin, SMALL)
    with pytest.raises(limits.InputRefused, match=r"^cannot read test file .*: No such file"):
        limits.read_limited(tmp_path / "absent", SMALL)


def test_sizes_read_as_people_write_them() -> None:
    assert limits.describe_size(limits.DOCUMENT.max_bytes) == "20 MiB"
    assert limits.describe_size(limits.SCOPE_FILE.max_bytes) == "1 MiB"
    assert limits.describe_size(limits.SIGNATURE_FILE.max_bytes) == "64 KiB"
    assert limits.describe_size(1000) == "1,000 bytes"


# --- through the command line ------------------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    assert invoke(home, "init").exit_code == 0
    for name, role, by in (
        ("admin", "admin", ()),
        ("petugas", "petugas_adb", ("--as", "admin")),
        ("kadis", "kepala_dinas", ("--as", "admin")),
        ("pf", "pejabat_fungsional", ("--as", "admin")),
    ):
        assert invoke(home, "staff", "add", name, "--role", role, *by).exit_code == 0
    return home


def error_line(result: click.testing.Result) -> str:
    lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, result.output
    return lines[0]


def submit(home: Path, letter: Path) -> click.testing.Result:
    return invoke(
        home,
        "request", "submit",
        "--institution", "Bank Kaltimtara", "--letter-number", "B/1/2026",
        "--letter-date", "2026-01-05", "--purpose", "KYC", "--legal-basis", "UU 24/2013",
        "--elements", "nik", "--access-mode", "bulk_delivery", "--duration", "12",
        "--data-balikan", "semester report", "--letter", str(letter), "--as", "petugas",
    )  # fmt: skip


def test_agreement_import_refuses_dev_zero_and_oversized_scopes(home: Path) -> None:
    started = time.monotonic()
    result = invoke(home, "agreement", "import", "/dev/zero", "--as", "pf")
    assert result.exit_code == 3
    assert error_line(result) == "Error: scope file /dev/zero is not a regular file"
    big = home.parent / "big.toml"
    big.write_bytes(b"#" * (limits.SCOPE_FILE.max_bytes + 1))
    result = invoke(home, "agreement", "import", str(big), "--as", "pf")
    assert error_line(result) == f"Error: scope file {big} is larger than 1 MiB, its limit"
    assert time.monotonic() - started < 10
    assert json.loads(invoke(home, "agreement", "list", "--json").output) == []


def test_request_letters_are_limited_and_kept_as_read(home: Path) -> None:
    documents = home / "documents"
    result = submit(home, Path("/dev/zero"))
    assert result.exit_code == 3
    assert error_line(result) == "Error: document /dev/zero is not a regular file"
    oversized = home.parent / "letter.pdf"
    oversized.write_bytes(b"%PDF" + b"\0" * limits.DOCUMENT.max_bytes)
    result = submit(home, oversized)
    assert error_line(result) == f"Error: document {oversized} is larger than 20 MiB, its limit"
    assert not documents.exists() or os.listdir(documents) == []
    assert json.loads(invoke(home, "request", "list", "--json").output) == []

    letter = home.parent / "surat.pdf"
    letter.write_bytes(b"%PDF-1.7 surat permohonan")
    assert submit(home, letter).exit_code == 0
    [kept] = documents.iterdir()
    assert kept.read_bytes() == letter.read_bytes()
    [request] = json.loads(invoke(home, "request", "list", "--json").output)
    history = json.loads(invoke(home, "request", "show", str(request["id"]), "--json").output)
    assert history["events"][0]["documents"] == [{"name": "surat.pdf", "sha256": kept.name}]


def test_free_text_is_limited_to_2000_characters_and_nothing_is_stored(home: Path) -> None:
    letter = home.parent / "surat.pdf"
    letter.write_bytes(b"%PDF-1.7")
    assert submit(home, letter).exit_code == 0
    too_long = "a" * (limits.FREE_TEXT + 1)
    result = invoke(home, "request", "dispose", "1", "--note", too_long, "--as", "kadis")
    assert result.exit_code == 2
    assert error_line(result) == "Error: Invalid value for '--note': longer than 2,000 characters"
    assert too_long not in result.output
    shown = json.loads(invoke(home, "request", "show", "1", "--json").output)
    assert (shown["status"], len(shown["events"])) == ("submitted", 1)
    for command in (
        ("agreement", "suspend", "any-agreement", "--reason", too_long),
        ("agreement", "revoke", "any-agreement", "--reason", too_long),
        ("request", "reject", "1", "--reason", too_long, "--letter", str(letter)),
        ("request", "return", "1", "--notes", too_long),
    ):
        assert invoke(home, *command, "--as", "kadis").exit_code == 2, command
    audit = invoke(home, "audit", "list", "--json").output
    assert "request.dispose" not in audit and "agreement.suspend" not in audit

    exactly = "a" * limits.FREE_TEXT
    result = invoke(home, "request", "dispose", "1", "--note", exactly, "--as", "kadis")
    assert result.exit_code == 0, result.output
    shown = json.loads(invoke(home, "request", "show", "1", "--json").output)
    assert shown["events"][-1]["notes"] == exactly


def test_names_ids_and_pages_are_held_to_their_range(home: Path) -> None:
    huge = "99999999999999999999"
    for command in (
        ("request", "show", huge),
        ("agreement", "show", "x", "--version", huge),
        ("audit", "list", "--page", huge),
        ("audit", "prove", "--entry", huge),
        ("demo-source", "--rows", str(limits.MAX_DEMO_ROWS + 1)),
        ("demo-source", "--rows", huge),
        ("agreement", "show", "x" * (limits.AGREEMENT_ID + 1)),
        ("request", "dispose", "1", "--note", "ok", "--as", "n" * (limits.STAFF_NAME + 1)),
    ):
        result = invoke(home, *command)
        assert result.exit_code == 2, (command, result.output)
        assert "Invalid value for" in error_line(result)
    assert not (home / "demo-source.db").exists()


def test_a_settings_file_that_is_a_device_stops_the_command(tmp_path: Path) -> None:
    result = invoke(tmp_path, "settings", PKS_GATEWAY_CONFIG="/dev/zero")
    assert result.exit_code == 3
    assert error_line(result) == "Error: settings file /dev/zero is not a regular file"


# --- an interrupted demo build -----------------------------------------------------------------


def _build_and_interrupt(home: Path, signal_number: int) -> subprocess.CompletedProcess[str]:
    """Start a demo build big enough to be interrupted, wait for its temporary file, signal it.
    The child sets Python's own SIGINT handler: one inherited as ignored (a background job)
    would otherwise make Ctrl+C a no-op there, as in the shell."""
    code = (
        "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "from gateway.cli import main; sys.exit(main())"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PKS_GATEWAY_")}
    env["PKS_GATEWAY_HOME"] = str(home)
    child = subprocess.Popen(
        [sys.executable, "-c", code, "demo-source", "--rows", "20000000"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            building = list(home.glob(".demo-source.db.*.building")) if home.exists() else []
            if building and building[0].stat().st_size > 0:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the demo build never started writing its temporary file")
        child.send_signal(signal_number)
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return subprocess.CompletedProcess(child.args, child.returncode, out, err)


@pytest.mark.slow
@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_demo_build_leaves_no_temporary_file(
    tmp_path: Path, signal_number: int
) -> None:
    home = tmp_path / "home"
    done = _build_and_interrupt(home, signal_number)
    assert done.returncode == 1, done.stderr
    assert "Aborted!" in done.stderr and "Traceback" not in done.stderr
    assert sorted(p.name for p in home.iterdir()) == []


def test_docs_cli_lists_the_limits() -> None:
    text = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    section = text.split("## Limits", 1)[1].split("\n## ", 1)[0]
    for limit in [v for v in vars(limits).values() if isinstance(v, limits.FileLimit)]:
        assert f"| {limits.describe_size(limit.max_bytes)}" in section, limit
    for figure in (
        limits.FREE_TEXT,
        limits.INSTITUTION,
        limits.LETTER_NUMBER,
        limits.MAX_DEMO_ROWS,
    ):
        assert f"{figure:,}" in section, figure
    for figure in (limits.STAFF_NAME, limits.AGREEMENT_ID):
        assert f"| {figure} characters |" in section, figure
