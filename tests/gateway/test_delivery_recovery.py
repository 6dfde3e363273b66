"""Crash recovery on the gateway's start: `pks-gateway serve` closes what a crashed delivery left
before it serves, under the same lock rule as `delivery extract` (a run still holding its lock is
left alone), so "on the next start an entry without a published delivery is closed as abandoned"
holds for the gateway process too, not only for the next extract."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import pytest
import waitress
from click.testing import CliRunner

from exports.publish import DeliveryFiles
from gateway.cli import main
from gateway.services.delivery_recovery import held
from tests.gateway.test_cli_agreements import EXAMPLE, SHORT
from tests.gateway.test_cli_deliveries import source_niks
from tests.gateway.test_delivery_failures import Home, copy_home, crash_extract, template

__all__ = ["template"]  # the module-scoped gateway template, shared with the failure tests


@pytest.fixture
def home(template: Path, tmp_path: Path) -> Home:
    gateway_home = copy_home(template, tmp_path)
    gateway_home.agree(EXAMPLE.replace("quota = 1", "quota = 5"))
    return gateway_home


def serve(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> tuple[click.testing.Result, dict[str, Any]]:
    """Run `serve` with waitress replaced by a probe: what the gateway held when it began to
    serve (rows, delivery files, audit actions)."""
    seen: dict[str, Any] = {}

    def probe(app: Any, **options: Any) -> None:
        seen["rows"] = {d["id"]: d for d in home.deliveries()}
        seen["visible"] = home.visible()
        seen["actions"] = [(e["action"], e["object_id"]) for e in home.audit()]

    monkeypatch.setattr(waitress, "serve", probe)
    result = home("serve", "--port", "1")
    assert "rows" in seen, "serve never reached waitress"
    return result, seen


def test_serve_closes_a_crashed_delivery_before_serving(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    crashed = crash_extract(home, "data renamed")  # the .age file is already in place
    assert any(name.endswith(".parquet.age") for name in home.visible())
    result, seen = serve(home, monkeypatch)
    assert seen["rows"][crashed]["status"] == "abandoned"
    assert seen["rows"][crashed]["finished_at"] is not None
    assert seen["visible"] == []
    assert ("delivery.abandon", crashed) in seen["actions"]
    assert f"closed delivery {crashed} as abandoned" in result.stderr
    assert not list((home.home / "deliveries").rglob("*.lock"))


def test_serve_publishes_a_crashed_delivery_whose_manifest_made_it(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    crashed = crash_extract(home, "manifest renamed")
    _, seen = serve(home, monkeypatch)
    assert seen["rows"][crashed]["status"] == "published"
    assert not [action for action, _ in seen["actions"] if action == "delivery.abandon"]
    manifest = home.home / "deliveries" / SHORT / f"{crashed}.manifest.json"
    assert "verifies" in home("delivery", "verify", str(manifest)).output
    # When it was made is the manifest's own time, as for a delivery that did not crash.
    created = json.loads(manifest.read_bytes())["created_at"]
    finished = seen["rows"][crashed]["finished_at"]
    assert finished is not None
    assert datetime.fromisoformat(finished).replace(tzinfo=UTC) == datetime.fromisoformat(created)
    # …so a person asking who received their record is told when.
    answers = (subject_answer(home, nik) for nik in source_niks(home.gateway)[:60])
    received = next(answer for answer in answers if answer)
    assert [(r["delivery"], r["delivered_at"]) for r in received] == [
        (crashed, datetime.fromisoformat(created).isoformat())
    ]


def subject_answer(home: Home, nik: str) -> list[dict[str, Any]]:
    return list(json.loads(home("subject", "deliveries", nik, "--as", "pf", "--json").stdout))


def test_serve_leaves_a_delivery_whose_lock_is_held(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    crashed = crash_extract(home, "data fsynced")
    files = DeliveryFiles.at(home.home / "deliveries", SHORT, crashed)
    staged = home.visible()
    assert staged  # the crash left its partial files
    with held(files.lock):  # as a run still working in another process holds it
        _, seen = serve(home, monkeypatch)
    assert seen["rows"][crashed]["status"] == "running"
    assert seen["visible"] == staged
    # Once no one holds the lock, the next start closes it.
    _, seen = serve(home, monkeypatch)
    assert seen["rows"][crashed]["status"] == "abandoned"
    assert seen["visible"] == []


def test_serve_before_init_starts_without_recovery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[Any] = []
    monkeypatch.setattr(waitress, "serve", lambda app, **options: served.append(app))
    result = CliRunner().invoke(main, ["serve"], env={"PKS_GATEWAY_HOME": str(tmp_path / "h")})
    assert result.exit_code == 0, result.output
    assert len(served) == 1  # nothing to close; /health then says needs-migration
