"""The dependency rule of DESIGN.md §2 and docs/decisions/0004-exports-rooms.md and
0007-partner-client.md: our packages import each other one way only; the partner client's
packages (client/) import nothing of the gateway's, the age format nothing but `cryptography` and
the standard library.

Walks every module's imports (static, with ast) and fails on an arrow that points the wrong way,
and on a module without a docstring saying its job. Under tests/, no module imports a test module
(test_*) or a conftest: shared code lives in fixtures and helper modules.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
# The partner client is a distribution of its own in client/ (docs/decisions/0007):
# its packages sit at the bottom, importing nothing of the gateway's; the gateway builds on them.
CLIENT = REPO / "client"
CLIENT_LAYERS = ["ageformat", "pks_partner"]
LAYERS = ["ageformat", "pks_partner", "audit", "agreements", "exports", "demo_dukcapil", "gateway"]
# Which of our packages each may import (itself included): `ageformat` knows nothing else of
# ours, `pks_partner` only the age format, `audit` only the client's formats (Merkle proofs,
# checkpoints, the leaf); `gateway` may import all.
ALLOWED = {
    "ageformat": {"ageformat"},
    "pks_partner": {"pks_partner", "ageformat"},
    "audit": {"audit", "pks_partner"},
    "agreements": {"agreements", "ageformat", "pks_partner"},
    "exports": {"exports", "agreements", "audit", "ageformat", "pks_partner"},
    # The demo database generator: `agreements` for SafeError only; a delivery never runs it.
    "demo_dukcapil": {"demo_dukcapil", "agreements"},
    "gateway": set(LAYERS),
}
# Beyond the layer order: packages that must stay free of web and columnar libraries.
FORBIDDEN_THIRD_PARTY = {
    "audit": {"flask", "pandas", "werkzeug"},
    "agreements": {"flask", "werkzeug", "pyarrow", "pandas"},
    "exports": {"flask", "werkzeug"},
    "demo_dukcapil": {"flask", "werkzeug", "pandas"},
}
# The client's packages ship to partners without the server: beyond the standard library, the age
# format may import `cryptography` alone, and the client its own declared dependencies (pyarrow and
# pandas are optional extras, imported only when a table is loaded: test_standalone.py).
ONLY_THIRD_PARTY = {
    "ageformat": {"cryptography"},
    "pks_partner": {"cryptography", "rfc8785", "pyarrow", "pandas"},
}


def folder(layer: str) -> Path:
    return (CLIENT if layer in CLIENT_LAYERS else REPO) / layer


def layer_of(path: Path) -> str:
    parts = path.relative_to(REPO).parts
    return parts[1] if parts[0] == CLIENT.name else parts[0]


def modules() -> list[Path]:
    return sorted(
        p for layer in LAYERS for p in folder(layer).rglob("*.py") if "versions" not in p.parts
    )


def imported_top_levels(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_imports_point_one_way(path: Path) -> None:
    layer = layer_of(path)
    imported = imported_top_levels(path)
    ours = imported & set(LAYERS)
    allowed = ALLOWED[layer]
    assert ours <= allowed, f"{path.relative_to(REPO)} imports {sorted(ours - allowed)}"
    banned = imported & FORBIDDEN_THIRD_PARTY.get(layer, set())
    assert not banned, f"{path.relative_to(REPO)} imports {sorted(banned)}"
    if layer in ONLY_THIRD_PARTY:
        outside = imported - set(sys.stdlib_module_names) - ONLY_THIRD_PARTY[layer] - allowed
        assert not outside, f"{path.relative_to(REPO)} imports {sorted(outside)}"


def test_every_package_has_its_rule_and_ships() -> None:
    """A new top-level package (a folder with an __init__.py) must be given its place here, be
    listed for its distribution's wheel (hatch builds exactly the packages a pyproject.toml names)
    and be type checked by `dev.py test`."""
    server = {p.parent.name for p in REPO.glob("*/__init__.py")} - {"tests"}
    client = {p.parent.name for p in CLIENT.glob("*/__init__.py")}
    assert client == set(CLIENT_LAYERS)
    assert server | client == set(LAYERS) == set(ALLOWED)
    assert set(_project(REPO)["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]) == server
    assert set(_project(CLIENT)["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]) == client
    dev = (REPO / "dev.py").read_text()
    for name, packages in (("PACKAGES", server), ("CLIENT_PACKAGES", client)):
        checked = re.search(rf"^{name} = \((.*)\)$", dev, re.M)
        assert checked and set(re.findall(r'"(\w+)"', checked.group(1))) == packages, name


def _project(folder: Path) -> dict[str, Any]:
    return tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].lower() for r in requirements}


def test_the_lock_pins_what_the_client_needs() -> None:
    """requirements.lock is compiled from the gateway's pyproject.toml, which cannot name the
    client (decision 0007): so every dependency of the client, optional ones too, is one of the
    gateway's as well, and the client needs nothing of the server's stack."""
    client = _project(CLIENT)["project"]
    needed = _names(client["dependencies"])
    for extra in client["optional-dependencies"].values():
        needed |= _names(extra)
    assert needed <= _names(_project(REPO)["project"]["dependencies"])
    assert not needed & {"flask", "sqlalchemy", "alembic", "click", "werkzeug", "huey"}
    assert _names(client["dependencies"]) == {"cryptography", "rfc8785"}


# The rooms of exports/ a delivery passes before its pipeline writes: each stands on its own, so
# each can be read and tested alone; `plan` and `pipeline` above them put them together, and
# `publishing` comes after the pipeline on the delivery's path (docs/decisions/0004).
ROOMS_ALONE = ("reading", "masking", "risk", "formats")
SHARED_IN_EXPORTS = {"exports.element_types"}


@pytest.mark.parametrize(
    "path",
    [p for room in ROOMS_ALONE for p in sorted((REPO / "exports" / room).glob("*.py"))],
    ids=lambda p: str(p.relative_to(REPO)),
)
def test_the_rooms_before_the_pipeline_stand_alone(path: Path) -> None:
    room = f"exports.{path.parent.name}"
    others = {
        name
        for name in _imported_modules(path)
        if name.split(".")[0] == "exports"
        and name != room
        and not name.startswith(room + ".")
        and name not in SHARED_IN_EXPORTS
    }
    assert not others, f"{path.relative_to(REPO)} imports {sorted(others)}"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_module_says_its_job(path: Path) -> None:
    docstring = ast.get_docstring(ast.parse(path.read_text()))
    assert docstring, f"{path.relative_to(REPO)} has no module docstring"


def test_the_rule_catches_a_wrong_way_arrow(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        '"""x."""\nfrom gateway.settings import Settings\nimport exports.reading.source\n'
    )
    assert imported_top_levels(bad) == {"gateway", "exports"}


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


OUTSIDE_THE_CLI = [
    p
    for p in [*modules(), *sorted((REPO / "bench").glob("*.py"))]
    if "cli" not in p.relative_to(REPO).parts
]


@pytest.mark.parametrize("path", OUTSIDE_THE_CLI, ids=lambda p: str(p.relative_to(REPO)))
def test_nothing_but_the_console_entry_point_imports_the_cli(path: Path) -> None:
    """The CLI is one door among several: services, the app and bench/ take what they need from
    gateway.context, never from gateway.cli (the console script is `gateway.cli:main`)."""
    cli = {name for name in _imported_modules(path) if name.split(".")[:2] == ["gateway", "cli"]}
    assert not cli, f"{path.relative_to(REPO)} imports {sorted(cli)}"


def test_the_cli_rule_sees_an_import_of_the_cli(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text('"""x."""\nfrom gateway.cli.common import now\nimport gateway.context\n')
    assert _imported_modules(bad) == {"gateway.cli.common", "gateway.context"}


# The CLI parses, calls a service and renders: it builds no SQL and reads no table itself, so a
# second door (the API, the web UI) cannot miss a check the CLI made on the side.
SQL_BUILDERS = {"select", "insert", "update", "delete", "text", "func", "and_", "or_"}
CLI_MODULES = sorted((REPO / "gateway" / "cli").glob("*.py"))


def _sql_in(path: Path) -> set[str]:
    found: set[str] = set()
    for name in _imported_modules(path):
        if name.startswith(("gateway.store", "audit.schema")):
            found.add(name)
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("sqlalchemy")
        ):
            found.update(f"sqlalchemy.{a.name}" for a in node.names if a.name in SQL_BUILDERS)
        elif isinstance(node, ast.Attribute) and node.attr in {"execute", "exec_driver_sql"}:
            found.add(f".{node.attr}()")
    return found


@pytest.mark.parametrize("path", CLI_MODULES, ids=lambda p: str(p.relative_to(REPO)))
def test_the_cli_builds_no_sql_and_reads_no_table(path: Path) -> None:
    assert not _sql_in(path), f"{path.relative_to(REPO)} uses {sorted(_sql_in(path))}"


def test_the_sql_rule_sees_a_query(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        '"""x."""\nfrom sqlalchemy import select\nfrom gateway.store.tables import deliveries\n'
        "def f(c):\n    return c.execute(select(deliveries))\n"
    )
    assert _sql_in(bad) == {"sqlalchemy.select", "gateway.store.tables", ".execute()"}


TEST_TREE = sorted((REPO / "tests").rglob("*.py"))


def imported_test_modules(path: Path) -> set[str]:
    """The test modules (test_*) and conftest modules that `path` imports, absolute or relative:
    what tests share belongs in fixtures (conftest.py) or helper modules, which pytest and a
    reader can find, not in another test module (whose tests then also run under its name)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()

    def test_module(name: str) -> bool:
        last = name.rsplit(".", 1)[-1]
        return last.startswith("test_") or last == "conftest"

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if test_module(alias.name))
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            if test_module(module):
                found.add(module)
            # `from tests.gateway import test_cli` imports the module by its last name.
            found.update(f"{module}.{a.name}" for a in node.names if test_module(a.name))
    return found


@pytest.mark.parametrize("path", TEST_TREE, ids=lambda p: str(p.relative_to(REPO)))
def test_no_test_module_imports_another(path: Path) -> None:
    imported = imported_test_modules(path)
    assert not imported, (
        f"{path.relative_to(REPO)} imports {sorted(imported)}: move what is shared into a "
        "fixture in conftest.py or a helper module (tests/harness.py, tests/office.py, ...)"
    )


def test_the_test_module_rule_sees_every_form_of_import(tmp_path: Path) -> None:
    bad = tmp_path / "test_bad.py"
    bad.write_text(
        '"""x."""\n'
        "from tests.gateway.test_cli import invoke\n"
        "import tests.exports.test_spill\n"
        "from tests.gateway import test_sop_walk, letters\n"
        "from .test_log import add\n"
        "from tests.audit.conftest import ORIGIN\n"
        "from tests.harness import SHORT\n"
        "from tests.audit.logs import add as _add\n"
    )
    assert imported_test_modules(bad) == {
        "tests.gateway.test_cli",
        "tests.exports.test_spill",
        "tests.gateway.test_sop_walk",
        ".test_log",
        "tests.audit.conftest",
    }


# The letters (gateway/letters/) are pure rendering: plain data in, PDF bytes out. What they print
# is gathered and checked by gateway/services/letters.py, so a letter cannot read around a check.
LETTERS = sorted((REPO / "gateway" / "letters").glob("*.py"))
NOT_IN_LETTERS = ("sqlalchemy", "flask", "gateway.services", "gateway.store", "gateway.db")


@pytest.mark.parametrize("path", LETTERS, ids=lambda p: str(p.relative_to(REPO)))
def test_the_letters_read_no_database(path: Path) -> None:
    reached = {
        name
        for name in _imported_modules(path)
        if any(name == banned or name.startswith(banned + ".") for banned in NOT_IN_LETTERS)
        or name in ("gateway.context", "gateway.settings")
    }
    assert not reached, f"{path.relative_to(REPO)} imports {sorted(reached)}"
