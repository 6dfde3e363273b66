"""No traceback reaches a user (issue 10, item 4): every command given a wrong argument, and each
hostile input the issue lists, ends with one `Error:` line on stderr and its error-table exit code.

Every command is walked from the CLI itself (lazy groups included), so a new command is swept
without being listed here; the documented-commands test walks the same tree.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from gateway.cli import main

REPO = Path(__file__).resolve().parents[2]


def leaf_commands() -> Iterator[tuple[str, ...]]:
    def walk(group: click.Group, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        context = click.Context(group)
        for name in group.list_commands(context):
            command = group.get_command(context, name)
            assert command is not None, name
            if isinstance(command, click.Group):
                yield from walk(command, (*path, name))
            else:
                yield (*path, name)

    yield from walk(main, ())


COMMANDS = sorted(leaf_commands())


def run(home: Path, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"PKS_GATEWAY_HOME": str(home)})


def one_error_line(result: Result) -> str:
    """The single line a failure prints (click's usage errors add a `Usage:`/`Try` preamble)."""
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    return errors[0]


def test_the_walk_finds_every_subject() -> None:
    subjects = {path[0] for path in COMMANDS}
    assert {"request", "agreement", "delivery", "audit", "staff", "signer", "init"} <= subjects
    assert ("request", "diff") in COMMANDS and ("delivery", "extract") in COMMANDS


def test_every_command_is_documented() -> None:
    doc = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    missing = [" ".join(p) for p in COMMANDS if f"pks-gateway {' '.join(p)}" not in doc]
    assert not missing, f"docs/cli.md does not document: {missing}"


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_wrong_option_is_a_usage_error(tmp_path: Path, command: tuple[str, ...]) -> None:
    result = run(tmp_path / "home", *command, "--no-such-option")
    assert result.exit_code == 2, result.output
    assert "No such option" in one_error_line(result)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("office") / "home"
    assert run(home, "init").exit_code == 0
    assert run(home, "staff", "add", "admin", "--role", "admin").exit_code == 0
    return home


def _file(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


BEYOND_64_BITS = str(2**64)
FULLWIDTH_NIK = "６４０１０１０１０１９００００１"


@pytest.mark.parametrize(
    ("case", "args", "code"),
    [
        ("binary TOML", ("agreement", "import", "@binary.toml", "--as", "admin"), 3),
        ("deeply nested TOML", ("agreement", "import", "@nested.toml", "--as", "admin"), 3),
        (
            "binary signature",
            ("agreement", "attach-signature", "x", "@binary.sig", "--as", "admin"),
            3,
        ),
        ("binary key", ("signer", "add", "kadis", "--key", "@binary.pub", "--as", "admin"), 3),
        ("id beyond 64 bits", ("request", "show", BEYOND_64_BITS), 2),
        ("version beyond 64 bits", ("agreement", "show", "x", "--version", BEYOND_64_BITS), 2),
        ("page beyond its range", ("audit", "list", "--page", BEYOND_64_BITS), 2),
        ("empty --as", ("agreement", "suspend", "x", "--reason", "r", "--as", ""), 5),
        ("fullwidth-digit NIK", ("subject", "deliveries", FULLWIDTH_NIK, "--as", "admin"), 3),
        ("port -1", ("serve", "--port", "-1"), 2),
        ("host 999.1.1.1", ("serve", "--host", "999.1.1.1"), 2),
        ("unknown status", ("request", "list", "--status", "bogus"), 2),
        ("unknown agreement filter", ("delivery", "list", "--agreement", "nope"), 5),
        ("unknown delivery", ("delivery", "show", "nope"), 5),
    ],
)
def test_hostile_input_gets_one_line_and_its_code(
    home: Path, tmp_path: Path, case: str, args: tuple[str, ...], code: int
) -> None:
    files = {
        "@binary.toml": _file(tmp_path, "binary.toml", b"\x00\xff\xfe" * 100),
        "@nested.toml": _file(tmp_path, "nested.toml", b"a = " + b"[" * 5000 + b"]" * 5000),
        "@binary.sig": _file(tmp_path, "binary.sig", b"\x00\x01\x02\xff" * 64),
        "@binary.pub": _file(tmp_path, "binary.pub", b"\x00\x01\x02\xff" * 64),
    }
    result = run(home, *(files.get(arg, arg) for arg in args))
    assert result.exit_code == code, (case, result.output)
    line = one_error_line(result)
    assert FULLWIDTH_NIK[:4] not in line  # a NIK-like value is never echoed
