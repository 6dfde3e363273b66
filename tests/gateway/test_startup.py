"""Start-up (issue 10, item 8): `--help` loads no command module, and commands that do not touch
data load none of pandas, pyarrow, ADBC, Faker or Alembic. bench/startup.py measures the time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from gateway.cli import COMMANDS, main

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "pyarrow", "adbc_driver_manager", "faker", "alembic")

PROBE = """
import json, sys
from gateway.cli import main
try:
    main(sys.argv[1:])
finally:
    print(json.dumps(sorted(m.split(".")[0] for m in sys.modules)), file=sys.stderr)
"""


def loaded(home: Path, *args: str, exit_code: int = 0) -> set[str]:
    env = {**os.environ, "PKS_GATEWAY_HOME": str(home)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert done.returncode == exit_code, done.stderr
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_help_loads_no_command_module(tmp_path: Path) -> None:
    modules = loaded(tmp_path, "--help")
    assert not modules & {*HEAVY, "sqlalchemy", "cryptography"}


@pytest.mark.slow  # a fresh interpreter each: ~2 s
@pytest.mark.parametrize(
    "command", [("staff", "list"), ("agreement", "list"), ("request", "list"), ("signer", "list")]
)
def test_commands_without_data_load_nothing_heavy(tmp_path: Path, command: tuple[str, ...]) -> None:
    subprocess.run(
        [sys.executable, "-m", "gateway.cli", "init"],
        cwd=REPO,
        env={**os.environ, "PKS_GATEWAY_HOME": str(tmp_path)},
        check=True,
        capture_output=True,
    )
    assert not loaded(tmp_path, *command) & set(HEAVY)


def test_an_error_loads_nothing_heavy_either(tmp_path: Path) -> None:
    """The error table names source and age errors: reading it must not import their readers."""
    modules = loaded(tmp_path / "never-set-up", "staff", "list", exit_code=7)
    assert not modules & set(HEAVY)


def test_the_static_help_lines_are_the_commands_own() -> None:
    context = click.Context(main)
    for name, (_module, line) in COMMANDS.items():
        command = main.get_command(context, name)
        assert command is not None, name
        assert command.get_short_help_str(limit=200) == line, name
