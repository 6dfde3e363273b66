"""Deliveries through the job queue (issue 11, item 5): queued under the agreement's lock and
quota, run once however often a job id is delivered, a refusal failed with its rule, any other
error retried once then failed with its cause, a worker killed mid-delivery leaving nothing
visible and its job run again; attributed to the partner or system actor who asked."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agreements.errors import Conflict
from gateway.context import delivery_environment
from gateway.services import jobs
from gateway.services.actions import SYSTEM, partner
from gateway.services.deliveries import DeliveryEnvironment
from gateway.settings import Settings, load_settings
from tests.office import SHORT, Office

REPO = Path(__file__).resolve().parents[2]


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def settings(office: Office) -> Settings:
    return load_settings({}, environ=office.gateway.env)


@pytest.fixture
def env(settings: Settings) -> DeliveryEnvironment:
    return delivery_environment(settings)


@pytest.fixture
def agreed(office: Office) -> Iterator[Office]:
    office.agree()
    yield office


def run(office: Office, env: DeliveryEnvironment, job_id: str, settings: Settings) -> str:
    return jobs.run_job(office.engine, env, job_id, now, locks_dir=settings.work_dir / "jobs")


def test_a_partner_job_runs_once_within_the_quota_and_is_attributed(
    agreed: Office, env: DeliveryEnvironment, settings: Settings
) -> None:
    job = jobs.queue_delivery(
        agreed.engine, env, partner("pks_abcd1234"), SHORT, now(), kind=jobs.ON_DEMAND
    )
    assert (job.status, job.requested_by, job.delivery_id) == (
        "queued",
        "pks_abcd1234",
        None,
    )
    # The quota is one a month: the queued job holds it, so a second request is refused now.
    with pytest.raises(Conflict, match="allows 1 delivery per month"):
        jobs.queue_delivery(agreed.engine, env, SYSTEM, SHORT, now(), kind=jobs.SCHEDULED)

    assert run(agreed, env, job.id, settings) == "done"
    assert run(agreed, env, job.id, settings) == "done"  # delivered twice, run once
    with agreed.engine.connect() as connection:
        done = jobs.show_job(connection, job.id)
    assert done.status == "done" and done.attempts == 1 and done.rows and done.delivery_id
    assert len(agreed.published()) == 1
    entries = agreed.audit()
    queued = [e for e in entries if e["action"] == "delivery.queue"]
    assert [(e["outcome"], e["actor_id"], e["actor_role"]) for e in queued] == [
        ("ok", "pks_abcd1234", "partner"),
        ("refused", "system", "system"),
    ]
    started = [e for e in entries if e["action"] == "delivery.start" and e["outcome"] == "ok"]
    assert [(e["actor_id"], e["object_id"]) for e in started] == [
        ("pks_abcd1234", done.delivery_id)
    ]


def test_a_refusal_at_run_time_fails_the_job_with_its_rule(
    agreed: Office, env: DeliveryEnvironment, settings: Settings
) -> None:
    job = jobs.queue_delivery(agreed.engine, env, "adb", SHORT, now(), kind=jobs.OFFICER)
    agreed("agreement", "suspend", SHORT, "--reason", "audit finding", "--as", "kadis")
    assert run(agreed, env, job.id, settings) == "failed"
    with agreed.engine.connect() as connection:
        failed = jobs.show_job(connection, job.id)
    assert failed.attempts == 1 and failed.cause and "suspended" in failed.cause
    assert agreed.published() == []


def test_another_error_is_retried_once_then_fails_with_its_cause(
    agreed: Office, env: DeliveryEnvironment, settings: Settings
) -> None:
    job = jobs.queue_delivery(agreed.engine, env, "adb", SHORT, now(), kind=jobs.OFFICER)
    gone = replace(env, source_url=f"sqlite:///{agreed.root / 'no-such-source.db'}")
    assert run(agreed, gone, job.id, settings) == "queued"
    assert run(agreed, gone, job.id, settings) == "failed"
    with agreed.engine.connect() as connection:
        failed = jobs.show_job(connection, job.id)
    assert failed.attempts == 2 and failed.cause
    assert "cannot open source database" in failed.cause
    assert agreed.visible() == []


# A worker that stops, as if killed, in the middle of a delivery: after the data file is staged
# and before anything is recorded. It signals the test, which then kills it with SIGKILL.
STALLING_WORKER = """
import pathlib, sys, time
from gateway.services import deliveries
def stall(*args, **kwargs):
    pathlib.Path(sys.argv[1]).write_text("staged")
    time.sleep(600)
deliveries._record = stall
from gateway.cli import main
main(["worker"])
"""


@pytest.mark.slow  # a worker process killed mid-delivery: ~3 s
def test_a_worker_killed_mid_delivery_leaves_nothing_visible_and_the_job_runs_again(
    agreed: Office, settings: Settings
) -> None:
    queued = agreed("delivery", "extract", SHORT, "--as", "adb", "--queue", "--json")
    job_id = json.loads(queued.stdout)["id"]
    environ = {**os.environ, **agreed.gateway.env}
    marker = agreed.root / "stalled"
    stalling = subprocess.Popen(
        [sys.executable, "-c", STALLING_WORKER, str(marker)],
        cwd=REPO,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert marker.exists(), "the worker never reached the delivery"
        stalling.send_signal(signal.SIGKILL)
        stalling.wait(timeout=30)
    finally:
        if stalling.poll() is None:
            stalling.kill()
    assert agreed.published() == []
    shown = json.loads(agreed("job", "show", job_id, "--json").stdout)
    assert (shown["status"], shown["attempts"]) == ("running", 1)

    worker = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "worker"],
        cwd=REPO,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            shown = json.loads(agreed("job", "show", job_id, "--json").stdout)
            if shown["status"] in ("done", "failed"):
                break
            time.sleep(0.5)
    finally:
        worker.send_signal(signal.SIGINT)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
    assert (shown["status"], shown["attempts"]) == ("done", 2), shown
    assert len(agreed.published()) == 1
    assert not [name for name in agreed.visible() if name.endswith(".partial")]
    statuses = {
        d["id"]: d["status"] for d in json.loads(agreed("delivery", "list", "--json").stdout)
    }
    assert sorted(statuses.values()) == ["abandoned", "published"]
    assert statuses[shown["delivery_id"]] == "published"
