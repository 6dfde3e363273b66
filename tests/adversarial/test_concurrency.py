"""Status and quota under concurrency (issue 9, items 4-5), on SQLite and PostgreSQL.

Threats: parallel `delivery extract` runs racing past a quota of one (the count and the `running`
row were not under one lock), and a suspension committed while a delivery runs (the status was
checked only at the start). Real processes race for the quota; the suspension is made by the CLI,
on its own connection, from inside a running delivery.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner

from gateway.cli import main
from gateway.context import delivery_environment as environment
from gateway.services import deliveries as service
from gateway.settings import load_settings
from tests.harness import REPO, SHORT
from tests.office import Office, refused

PARALLEL = 3


# Each racer widens the window between counting the quota and recording its `running` row (as a
# slow database would), so that without a lock all of them would count zero: the test then shows
# the lock, not the scheduler's luck.
RACER = """
import sys, time
from gateway.services import deliveries
counted = deliveries._check_quota
def slow(*args, **kwargs):
    counted(*args, **kwargs)
    time.sleep(1.0)
deliveries._check_quota = slow
from gateway.cli import main
main(["delivery", "extract", sys.argv[1], "--as", "adb"])
"""


@pytest.mark.slow  # parallel processes: 3-4 s
def test_parallel_extracts_against_a_quota_of_one_publish_exactly_one(office: Office) -> None:
    """Threat: N parallel extracts of an agreement allowed one delivery a month."""
    office.agree()
    env = {**os.environ, **office.gateway.env}
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, SHORT],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(PARALLEL)
    ]
    results = [(run.wait(timeout=300), run.stderr.read().decode()) for run in runs]  # type: ignore[union-attr]
    for run in runs:
        run.stderr.close()  # type: ignore[union-attr]
    codes = sorted(code for code, _ in results)
    assert codes == [0] + [6] * (PARALLEL - 1), results  # 6: conflict (the quota)
    for code, stderr in results:
        if code:
            assert "allows 1 delivery per month" in stderr, stderr
            assert "Traceback" not in stderr
    assert len(office.published()) == 1
    starts = [e["outcome"] for e in office.audit() if e["action"] == "delivery.start"]
    assert sorted(starts) == ["ok"] + ["refused"] * (PARALLEL - 1)


def run_in_process(office: Office, *, during: Callable[[], None], hook: str) -> Any:
    """Run a delivery in this process, calling `during` at `hook`: `progress` (while the
    pipeline reads) or `manifest` (after the extract is recorded, before the manifest)."""
    settings = load_settings(
        {"home": office.home, **_database(office)},
        environ={},
    )
    from gateway import db

    engine = db.metadata_engine(settings.metadata_url)
    original = service.build_manifest
    done: list[bool] = []

    def once() -> None:
        if not done:
            done.append(True)
            during()

    def build_manifest(*args: Any, **kwargs: Any) -> Any:
        once()
        return original(*args, **kwargs)

    try:
        if hook == "manifest":
            service.build_manifest = build_manifest  # type: ignore[assignment]
        with pytest.raises(Exception) as caught:
            service.extract_delivery(
                engine,
                environment(settings),
                SHORT,
                "adb",
                lambda: datetime.now(UTC),
                progress=(lambda rows: once()) if hook == "progress" else None,
            )
        return caught.value
    finally:
        service.build_manifest = original  # type: ignore[assignment]
        engine.dispose()


def _database(office: Office) -> dict[str, str]:
    url = office.gateway.env.get("PKS_GATEWAY_DATABASE_URL")
    return {"database_url": url} if url else {}


def suspend(office: Office) -> Callable[[], None]:
    def act() -> None:
        result = CliRunner().invoke(
            main,
            ["agreement", "suspend", SHORT, "--reason", "misuse reported", "--as", "kadis"],
            env=office.gateway.env,
        )
        assert result.exit_code == 0, result.output

    return act


def test_a_suspension_during_the_read_ends_the_run_refused(office: Office) -> None:
    """Threat: a suspension committed while the pipeline reads (status checked only at the
    start): the transaction that would record the extract finds it, with the agreement locked."""
    office.agree()
    error = run_in_process(office, during=suspend(office), hook="progress")
    assert f"agreement {SHORT}: suspended, not active" in str(error)
    assert office.published() == [] and office.visible() == []
    [row] = [e for e in office.audit() if e["action"] == "delivery.extract"]
    assert row["outcome"] == "failed" and "suspended" in row["details"]["cause"]
    refused(office.extract(), "suspended", code=6)


def test_a_suspension_just_before_the_manifest_publishes_nothing(office: Office) -> None:
    """Threat: a suspension committed after the extract was recorded, before the manifest makes
    the delivery visible: the last check, just before the rename, abandons it."""
    office.agree()
    error = run_in_process(office, during=suspend(office), hook="manifest")
    assert "suspended" in str(error)
    assert office.published() == [] and office.visible() == []
    [abandoned] = [e for e in office.audit() if e["action"] == "delivery.abandon"]
    assert "suspended" in abandoned["details"]["cause"]
    statuses = [row[0] for row in office.sql("SELECT status FROM deliveries")]
    assert statuses == ["abandoned"]
