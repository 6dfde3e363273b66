"""A real gateway home for end-to-end tests (the `office` fixture in tests/conftest.py): staff,
a signer key, a small demo source, an agreement when asked, the CLI, and — for the adversarial
suite — write access to its metadata database (SQLite, or PostgreSQL where PKS_TEST_POSTGRES_URL
is set) with none of the key files: `sql` is the hostile insider's only tool.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Engine, create_engine, text

from ageformat import generate_identity
from tests.harness import EXAMPLE, SHORT, Gateway, setup_gateway, write

SOURCE_ROWS = 600
OTHER = "rs-panglima-2026"


def current_example(short_id: str = SHORT, number: str | None = None) -> str:
    """The example scope, valid around today (so these tests do not expire with its dates)."""
    start = date.today() - timedelta(days=30)
    scope = EXAMPLE.replace("start = 2026-01-01", f"start = {start.isoformat()}").replace(
        "end = 2026-12-31", f"end = {(start + timedelta(days=330)).isoformat()}"
    )
    scope = re.sub(
        r"semester_report_due = \[[^\]]*\]",
        f"semester_report_due = [{start + timedelta(days=180)}]",
        scope,
    )
    if short_id != SHORT:
        scope = scope.replace(f'short_id = "{SHORT}"', f'short_id = "{short_id}"')
        scope = scope.replace('number = "470/123/', f'number = "{number or "470/999/"}')
    return scope


class Office:
    """One gateway home with a signed agreement; `sql` is the attacker's database access."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.gateway: Gateway = setup_gateway(root, env)
        self.url = env.get("PKS_GATEWAY_DATABASE_URL", f"sqlite:///{root / 'home' / 'gateway.db'}")
        self.engine: Engine = create_engine(self.url)
        secret, self.recipient = generate_identity()
        (root / "partner.key").write_text(secret + "\n", encoding="utf-8")
        self.gateway("demo-source", "--rows", str(SOURCE_ROWS))

    @classmethod
    def copy_of(cls, source: Office, root: Path) -> Office:
        """A copy of an SQLite office under `root`: what a test may change without paying for
        `init`, the demo source and the signing again (the copy is a few files)."""
        if not source.url.startswith("sqlite:"):
            raise ValueError("only an SQLite office can be copied")
        shutil.copytree(source.root, root, dirs_exist_ok=True)
        office = cls.__new__(cls)
        office.root = root
        office.gateway = Gateway(root / "home", {})
        office.url = f"sqlite:///{root / 'home' / 'gateway.db'}"
        office.engine = create_engine(office.url)
        office.recipient = source.recipient
        return office

    def __call__(self, *args: str, ok: bool = True) -> click.testing.Result:
        return self.gateway(*args, ok=ok)

    @property
    def home(self) -> Path:
        return self.gateway.home

    @property
    def kadis_key(self) -> Path:
        return self.root / "kadis"

    def agree(self, scope: str | None = None, *, sign: bool = True) -> None:
        text_ = re.sub(
            r'age_recipient = "age1[0-9a-z]+"',
            f'age_recipient = "{self.recipient}"',
            scope or current_example(),
        )
        self("agreement", "import", write(self.root, "pks.toml", text_), "--as", "pf")
        short_id = re.search(r'short_id = "([^"]+)"', text_).group(1)  # type: ignore[union-attr]
        if sign:
            self("agreement", "sign", short_id, "--key", str(self.kadis_key), "--as", "kadis")

    def sql(self, statement: str, **params: Any) -> Any:
        with self.engine.begin() as connection:
            result = connection.execute(text(statement), params)
            return result.all() if result.returns_rows else None

    def version_row(self, short_id: str, version: int) -> dict[str, Any]:
        with self.engine.connect() as connection:
            row = connection.execute(
                text(
                    "SELECT v.* FROM agreement_versions v JOIN agreements a "
                    "ON a.id = v.agreement_id WHERE a.short_id = :s AND v.version = :v"
                ),
                {"s": short_id, "v": version},
            )
            return dict(row.mappings().one())

    def extract(self, short_id: str = SHORT) -> click.testing.Result:
        return self("delivery", "extract", short_id, "--as", "adb", ok=False)

    def published(self) -> list[str]:
        """Manifests (what makes a delivery visible) under the deliveries directory."""
        root = self.home / "deliveries"
        return sorted(p.name for p in root.rglob("*.manifest.json")) if root.exists() else []

    def visible(self) -> list[str]:
        root = self.home / "deliveries"
        if not root.exists():
            return []
        suffixes = (".age", ".manifest.json", ".sig", ".partial")
        return sorted(p.name for p in root.rglob("*") if p.name.endswith(suffixes))

    def audit(self) -> list[dict[str, Any]]:
        lines = self("audit", "list", "--json", "--limit", "10000").stdout.splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]


def refused(result: click.testing.Result, *needles: str, code: int = 1) -> str:
    """A one-line refusal (exit `code`: 1 verification failed, by the error table; no traceback)
    naming every needle; its text."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in result.output, (needle, result.output)
    return str(result.output)
