"""Crash recovery on the gateway's start: `pks-gateway serve` closes what a crashed delivery left
before it serves, under the same lock rule as `delivery extract` (a run still holding its lock is
left alone), so "on the next start an entry without a published delivery is closed as abandoned"
holds for the gateway process too, not only for the next extract."""

from __future__ import annotations

import base64
import errno
import json
import os
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import pytest
import waitress
from click.testing import CliRunner
from sqlalchemy import create_engine, event

from exports import pipeline
from exports.formats.sinks import StagedFile
from exports.publishing.publish import DeliveryFiles
from exports.risk.counter import RiskCounter
from gateway.cli import main
from gateway.context import delivery_environment as environment
from gateway.context import delivery_places
from gateway.services import deliveries as service
from gateway.services.delivery_recovery import held, locked_elsewhere
from gateway.settings import load_settings
from pks_partner.leaf import parse_leaf
from tests.exports.risk.spilling import spilling_process
from tests.gateway.delivery_homes import Home, copy_home, crash_extract, source_niks
from tests.harness import EXAMPLE, SHORT


@pytest.fixture
def home(delivery_template: Path, tmp_path: Path) -> Home:
    gateway_home = copy_home(delivery_template, tmp_path)
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
    assert not [name for name in home.files() if name.endswith(".lock")]


def test_serve_publishes_a_crashed_delivery_whose_manifest_made_it(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    crashed = crash_extract(home, "manifest renamed")
    _, seen = serve(home, monkeypatch)
    assert seen["rows"][crashed]["status"] == "published"
    assert not [action for action, _ in seen["actions"] if action == "delivery.abandon"]
    manifest = home.home / "deliveries" / SHORT / f"{crashed}.manifest.json"
    assert "verifies" in home("delivery", "verify", str(manifest)).output
    # When it was made is the time of the delivery.extract entry its manifest cites: the last
    # time the crashed run recorded, after its start.
    cited = json.loads(manifest.read_bytes())
    recorded = datetime.fromisoformat(parse_leaf(base64.b64decode(cited["audit"]["leaf"]))["time"])
    finished = seen["rows"][crashed]["finished_at"]
    assert finished is not None
    # Listings give times to the second, with the office's offset.
    assert datetime.fromisoformat(finished) == recorded.replace(microsecond=0)
    assert recorded >= datetime.fromisoformat(seen["rows"][crashed]["started_at"]).replace(
        microsecond=0
    )
    # …so a person asking who received their record is told when.
    answers = (subject_answer(home, nik) for nik in source_niks(home.home)[:60])
    received = next(answer for answer in answers if answer)
    assert [(r["delivery"], r["delivered_at"]) for r in received] == [
        (crashed, recorded.astimezone(UTC).isoformat())
    ]


def subject_answer(home: Home, nik: str) -> list[dict[str, Any]]:
    return list(json.loads(home("subject", "deliveries", nik, "--as", "pf", "--json").stdout))


def test_serve_leaves_a_delivery_whose_lock_is_held(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    crashed = crash_extract(home, "data fsynced")
    places = delivery_places(load_settings({"home": home.home}, environ={}))
    files = DeliveryFiles.at(places, SHORT, crashed)
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


# --- the lock comes before the row, and a publish that cannot clean up waits for recovery ------


def test_the_run_holds_its_lock_before_its_running_row_is_visible(home: Home) -> None:
    """Another process's start-up recovery sees the `running` row only once its lock is held,
    so it can never close a live run as crashed."""
    env = environment(load_settings({"home": home.home}, environ={}))
    engine = create_engine(f"sqlite:///{home.home / 'gateway.db'}")
    seen: list[bool] = []

    @event.listens_for(engine, "before_cursor_execute")
    def row_about_to_appear(
        connection: Any, cursor: Any, statement: str, parameters: Any, *_: Any
    ) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO DELIVERIES"):
            delivery_id = str(parameters[0])  # the first column of the insert, `id`
            lock = DeliveryFiles.at(env.places, SHORT, delivery_id).lock
            seen.append((locked_elsewhere(lock), lock.parent))

    try:
        service.extract_delivery(engine, env, SHORT, "adb", lambda: datetime.now(UTC))
    finally:
        engine.dispose()
    assert seen == [(True, home.home / "work" / "locks")]


def test_a_failed_publish_whose_files_cannot_be_removed_is_left_to_recovery(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish = StagedFile.publish

    def manifest_rename_fails(self: StagedFile) -> None:
        if self.final.name.endswith(".manifest.json"):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        publish(self)

    def read_only(self: DeliveryFiles) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(StagedFile, "publish", manifest_rename_fails)
    monkeypatch.setattr(DeliveryFiles, "withdraw", read_only)
    result = home.extract(ok=False)
    assert result.exit_code == 7
    assert "Input/output error" in result.output  # the publish's own cause, not the cleanup's
    [row] = home.deliveries()
    assert row["status"] == "recorded"  # not abandoned: nothing would look at it again
    assert any(name.endswith(".parquet.age") for name in home.visible())  # still in place

    monkeypatch.undo()
    later = json.loads(home.extract().stdout)  # the next start settles the stranded run
    rows = {d["id"]: d["status"] for d in home.deliveries()}
    assert rows == {row["id"]: "abandoned", later["delivery"]: "published"}
    assert all(name.split("/")[-1].startswith(later["delivery"]) for name in home.visible())


# --- the re-identification counters' spill directories -----------------------------------------


def test_extract_and_serve_remove_the_spills_of_dead_runs_and_keep_live_ones(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = home.home / "work"
    with spilling_process(work) as (live, kept), spilling_process(work) as (dead, gone):
        dead.send_signal(signal.SIGKILL)  # kill -9 during a delivery: nothing cleans up
        dead.wait(timeout=30)
        assert gone.is_dir()
        home.extract()
        assert not gone.exists()
        assert kept.is_dir() and any(kept.iterdir())  # another process's live run
        live.kill()
        live.wait(timeout=30)
        assert kept.is_dir()
        serve(home, monkeypatch)
        assert not kept.exists()
    assert not list(work.glob("pks-risk-*"))
    assert not list(work.rglob("*.lock"))  # the run's lock went with it


def test_a_delivery_and_a_preview_spill_into_the_work_directory(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    directories: list[Path | None] = []

    class Recorded(RiskCounter):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            directories.append(kwargs.get("directory"))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(pipeline, "RiskCounter", Recorded)
    home.extract()
    home("delivery", "preview", SHORT)
    assert len(directories) >= 2  # the stream's counter, and the preview's
    assert set(directories) == {home.home / "work"}
