"""A gateway home for the delivery tests, copied from a template built once: `Home` drives it
through the CLI and looks at what a delivery left; `crash_extract` runs `delivery extract` in a
process of its own that dies at a named point of the publish order (os._exit: no cleanup); and
`source_niks` reads the demo source's NIKs (for asking which deliveries held a subject: they are
never printed)."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from ageformat import generate_identity
from tests.harness import EXAMPLE, REPO, SHORT, Gateway, setup_gateway, write

ROWS = 1500
# What a delivery leaves, published or staged: in the partner-facing deliveries directory and in
# the subject index. A run's `.lock` file is not a delivery file; `home.files()` sees it.
DELIVERY_SUFFIXES = (".age", ".manifest.json", ".sig", ".subjects.parquet", ".partial")
# Where a delivery's files go, relative to the home: the partner's, then the gateway's own.
DELIVERY_PLACES = ("deliveries", "subjects", "work/locks")


def placed(delivery_id: str, suffix: str) -> str:
    """Where the file of a delivery of SHORT with this suffix lives, relative to the home."""
    folder = "subjects" if suffix.startswith(".subjects") else "deliveries"
    return f"{folder}/{SHORT}/{delivery_id}{suffix}"


@dataclass
class Home:
    """One gateway home (copied from the delivery template) and a partner key we hold."""

    root: Path
    gateway: Gateway
    key_file: Path
    recipient: str

    def __call__(self, *args: str, ok: bool = True) -> click.testing.Result:
        return self.gateway(*args, ok=ok)

    @property
    def home(self) -> Path:
        return self.gateway.home

    def agree(self, scope: str = EXAMPLE, *, sign: bool = True) -> None:
        """Import `scope` (its recipient replaced by ours) and, unless told not to, sign it."""
        ours = re.sub(
            r'age_recipient = "age1[0-9a-z]+"', f'age_recipient = "{self.recipient}"', scope
        )
        self("agreement", "import", write(self.root, "pks.toml", ours), "--as", "pf")
        if sign:
            self("agreement", "sign", SHORT, "--key", str(self.root / "kadis"), "--as", "kadis")

    def extract(self, ok: bool = True) -> click.testing.Result:
        return self("delivery", "extract", SHORT, "--as", "adb", "--json", ok=ok)

    def audit(self) -> list[dict[str, Any]]:
        lines = self("audit", "list", "--json").stdout.splitlines()
        return [json.loads(line) for line in lines]

    def deliveries(self) -> list[dict[str, Any]]:
        return list(json.loads(self("delivery", "list", "--json").stdout))

    def files(self) -> list[str]:
        """Every file where deliveries put theirs (DELIVERY_PLACES), relative to the home."""
        roots = [self.home / place for place in DELIVERY_PLACES]
        found = (p for root in roots if root.exists() for p in root.rglob("*") if p.is_file())
        return sorted(str(p.relative_to(self.home)) for p in found)

    def visible(self) -> list[str]:
        """The delivery files (data, manifest, signature, subjects, partial) present."""
        return [name for name in self.files() if name.endswith(DELIVERY_SUFFIXES)]

    def source(self, sql: str) -> None:
        connection = sqlite3.connect(self.home / "demo-source.db")
        try:
            connection.execute(sql)
            connection.commit()
        finally:
            connection.close()


def build_template(base: Path) -> Path:
    """A home with staff, kadis's signer key, a demo source of ROWS people and a partner age key
    (partner.key, partner.recipient) in `base`, for copy_home (the `delivery_template` fixture of
    tests/gateway/conftest.py builds it once a session: the demo source is the slow part)."""
    gateway = setup_gateway(base)
    gateway("demo-source", "--rows", str(ROWS))
    secret, recipient = generate_identity()
    (base / "partner.key").write_text(secret + "\n", encoding="utf-8")
    (base / "partner.recipient").write_text(recipient, encoding="utf-8")
    return base


def copy_home(template: Path, root: Path) -> Home:
    """A copy of `template` in `root`, the home to work on (the template stays as built)."""
    shutil.copytree(template, root, dirs_exist_ok=True)
    return Home(
        root,
        Gateway(root / "home", {}),
        root / "partner.key",
        (root / "partner.recipient").read_text(encoding="utf-8"),
    )


# Runs the CLI in a process of its own that dies (os._exit: no cleanup, no finally, no atexit) at
# the named point of the publish order (gateway/services/deliveries.py docstring).
CRASH = textwrap.dedent(
    """
    import os, sys
    from exports.formats import sinks
    from gateway.services import deliveries
    from gateway.cli import main

    point, short_id = sys.argv[1], sys.argv[2]

    def crash_at(here, name=""):
        if here == point:
            sys.stderr.write(f"crashing at {point} ({name})\\n")
            sys.stderr.flush()
            os._exit(1)

    commit, publish = sinks.StagedFile.commit, sinks.StagedFile.publish
    record, build_manifest = deliveries._record, deliveries.build_manifest

    def committing(self):
        commit(self)
        if self.final.name.endswith(".age"):
            crash_at("data fsynced", self.final.name)
        if self.final.name.endswith(".sig"):
            crash_at("manifest and signature written", self.final.name)

    def publishing(self):
        publish(self)
        if self.final.name.endswith(".subjects.parquet"):
            crash_at("data renamed", self.final.name)
        if self.final.name.endswith(".sig"):
            crash_at("signature renamed", self.final.name)
        if self.final.name.endswith(".manifest.json"):
            crash_at("manifest renamed", self.final.name)

    def recording(*args, **kwargs):
        seq = record(*args, **kwargs)
        crash_at("audit entry committed")
        return seq

    def building(*args, **kwargs):
        crash_at("checkpoint committed")
        return build_manifest(*args, **kwargs)

    sinks.StagedFile.commit, sinks.StagedFile.publish = committing, publishing
    deliveries._record, deliveries.build_manifest = recording, building
    main(["delivery", "extract", short_id, "--as", "adb"])
    """
)


def crash_extract(home: Home, point: str) -> str:
    """Run `delivery extract` until it dies at `point`; the crashed delivery's id."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PKS_GATEWAY_")}
    env["PKS_GATEWAY_HOME"] = str(home.home)
    done = subprocess.run(
        [sys.executable, "-c", CRASH, point, SHORT],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and f"crashing at {point}" in done.stderr, done.stderr
    [row] = home.deliveries()
    return str(row["id"])


def source_niks(home: Path) -> list[str]:
    """Every NIK of the demo source in the home `home`, in order."""
    connection = sqlite3.connect(home / "demo-source.db")
    try:
        return [row[0] for row in connection.execute("SELECT NIK FROM BIODATA_WNI ORDER BY NIK")]
    finally:
        connection.close()
