"""The gateway driven through its CLI in a temporary data directory, shared by the test packages:
the repository's config (the catalog, the region codes, the example agreement), `Gateway` (the CLI
bound to one home), `setup_gateway` (a home with staff and the Kepala Dinas's signer key; the
`gateway` fixture in tests/conftest.py is one per test), `invoke` (one command, exceptions
raised) and `write` (a file to hand to a command).

Shared code lives here and in fixtures, never in a test module: no test module imports another
(tests/test_architecture.py holds that).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import click
from click.testing import CliRunner

from agreements.catalog import load_catalog
from gateway.cli import main
from tests.services import require_tool

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = (REPO / "config" / "examples" / "demo-agreement.toml").read_text(encoding="utf-8")
SHORT = "bank-kaltimtara-2026"  # the example agreement's short id
CATALOG = load_catalog(REPO / "config" / "catalog.toml")
REGIONS = frozenset(
    line.split(",")[0] for line in (REPO / "config" / "wilayah_paser.csv").read_text().splitlines()
)


class Gateway:
    """The CLI run against one data directory; `ok` asserts exit code 0."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home, self.env = home, {"PKS_GATEWAY_HOME": str(home), **env}

    def __call__(self, *args: str, ok: bool = True) -> click.testing.Result:
        result = CliRunner().invoke(main, list(args), env=self.env)
        if ok:
            assert result.exit_code == 0, result.output
        return result


def setup_gateway(tmp_path: Path, env: dict[str, str] | None = None) -> Gateway:
    """`init` in tmp_path/home, staff admin, kadis, pf and adb, and kadis's ssh-keygen key
    (tmp_path/kadis) added as a signer."""
    keygen = require_tool("ssh-keygen", "openssh-client")
    gateway = Gateway(tmp_path / "home", env or {})
    gateway("init")
    gateway("staff", "add", "admin", "--role", "admin")
    gateway("staff", "add", "kadis", "--role", "Kepala Dinas", "--as", "admin")
    gateway("staff", "add", "pf", "--role", "pejabat_fungsional", "--as", "admin")
    gateway("staff", "add", "adb", "--role", "petugas_adb", "--as", "admin")
    key = tmp_path / "kadis"
    subprocess.run(
        [keygen, "-q", "-t", "ed25519", "-N", "", "-C", "kadis", "-f", str(key)], check=True
    )
    gateway("signer", "add", "kadis", "--key", f"{key}.pub", "--as", "admin")
    return gateway


def invoke(home: Path, *args: str, **env: str) -> click.testing.Result:
    """One command against `home` with extra PKS_GATEWAY_* settings; an exception propagates."""
    environ = {"PKS_GATEWAY_HOME": str(home), **env}
    return CliRunner().invoke(main, list(args), env=environ, catch_exceptions=False)


def write(tmp_path: Path, name: str, content: str) -> str:
    """Write `content` to tmp_path/name; its path as a command argument."""
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return str(path)
