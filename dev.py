#!/usr/bin/env python3
"""Set up and run PKS Gateway from a fresh clone with nothing but Python 3.11+.

    python3 dev.py demo    # environment, data directory, demo Dukcapil database, serve on 127.0.0.1
    python3 dev.py test    # environment, then lint, type checks and the whole test suite
    python3 dev.py messages  # the web UI's Indonesian catalog in step with the code's messages

Both create `.venv` and install exactly what `requirements.lock` pins (hash-checked), reinstalling
only when the lock changes. Standard library only: this runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
LOCK = ROOT / "requirements.lock"
# The partner client, a distribution of its own (docs/decisions/0007-partner-client.md): the gateway
# imports its packages, so it is installed first.
CLIENT = ROOT / "client"
STAMP = VENV / ".installed-lock"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
# The top-level packages (pyproject.toml and client/pyproject.toml list the same for their wheels;
# tests/test_architecture.py holds them to the folders that exist). mypy takes them as paths.
PACKAGES = ("audit", "agreements", "exports", "demo_dukcapil", "gateway")
CLIENT_PACKAGES = ("ageformat", "pks_partner")


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036  (dev.py may be run by an older python3)
        print("PKS Gateway needs Python 3.11 or newer", file=sys.stderr)
        return 2
    if not argv or argv[0] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        return 2
    ensure_environment()
    return COMMANDS[argv[0]](argv[1:])


def ensure_environment() -> None:
    projects = (ROOT / "pyproject.toml").read_bytes() + (CLIENT / "pyproject.toml").read_bytes()
    wanted = hashlib.sha256(LOCK.read_bytes() + projects).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    if not PYTHON.exists():
        print(f"creating {VENV}", flush=True)
        venv.create(VENV, with_pip=True)
    print("installing the locked dependencies (first run takes a few minutes)", flush=True)
    pip = [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    run([*pip, "--require-hashes", "--no-deps", "-r", str(LOCK)])
    run([*pip, "--no-deps", "--no-build-isolation", "--editable", str(CLIENT)])
    run([*pip, "--no-deps", "--no-build-isolation", "--editable", str(ROOT)])
    STAMP.write_text(wanted + "\n")


def demo(args: list[str]) -> int:
    gateway = str(BIN / "pks-gateway")
    run([gateway, "init"])
    run([gateway, "demo-source", "--if-missing"])
    run([gateway, "demo-agreement"])
    # The first delivery of the month; a second run in the same month is refused by the
    # agreement's quota, which is the product working, so the demo serves anyway.
    delivered = subprocess.call([gateway, "delivery", "extract", DEMO_AGREEMENT, "--as", "adb"])
    if delivered != 0:
        print("(no new delivery: see `pks-gateway delivery list`)", flush=True)
    print(
        "web UI: http://127.0.0.1:8080/ (the demo staff's logins are in var/demo/logins.txt; "
        "docs/web.md)",
        flush=True,
    )
    return subprocess.call([gateway, "serve", *args])


def messages(args: list[str]) -> int:
    """Bring the web UI's Indonesian catalog in step with the message ids in the code."""
    code = "from gateway.web.messages import update_indonesian as u; print(*u(), sep='\\n')"
    return subprocess.call([str(PYTHON), "-c", code], cwd=ROOT)


def test(args: list[str]) -> int:
    checks = [
        [str(BIN / "ruff"), "check", "."],
        [str(BIN / "ruff"), "format", "--check", "."],
        [str(BIN / "mypy"), *PACKAGES, *(f"client/{name}" for name in CLIENT_PACKAGES)],
    ]
    for check in checks:
        print("$", " ".join(Path(check[0]).name if i == 0 else a for i, a in enumerate(check)))
        if subprocess.call(check, cwd=ROOT) != 0:
            return 1
    return subprocess.call([str(PYTHON), "-m", "pytest", *args], cwd=ROOT)


def run(command: list[str]) -> None:
    result = subprocess.call(command, cwd=ROOT)
    if result != 0:
        sys.exit(result)


DEMO_AGREEMENT = "bank-kaltimtara-2026"
COMMANDS = {"demo": demo, "test": test, "messages": messages}

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
