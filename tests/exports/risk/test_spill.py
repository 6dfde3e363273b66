"""Spill directories outlive a killed process only until `remove_abandoned` runs, which never
takes one a live counter holds, in this process or another (real processes, real SIGKILL)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from exports.risk import spill
from exports.risk.counter import RiskCounter
from exports.risk.spill import remove_abandoned
from tests.exports.risk.spilling import spilling_process


def killed(child: subprocess.Popen[str]) -> None:
    child.send_signal(signal.SIGKILL)
    assert child.wait(timeout=30) == -signal.SIGKILL


def test_a_killed_counters_directory_stays_until_removed_and_a_live_one_is_kept(
    tmp_path: Path,
) -> None:
    work = tmp_path / "work"
    other = tmp_path / "work" / "not-a-spill"
    with spilling_process(work) as (first, kept), spilling_process(work) as (second, gone):
        other.mkdir()
        assert stat.S_IMODE(work.stat().st_mode) == 0o700  # made by the first counter
        assert remove_abandoned(work) == []  # both owners alive, in other processes
        killed(second)
        assert gone.is_dir() and any(gone.iterdir())  # kill -9: nothing removed it
        assert remove_abandoned(work) == [gone.name]
        assert not gone.exists() and kept.is_dir() and other.is_dir()
        assert first.poll() is None
        killed(first)
        assert remove_abandoned(work) == [kept.name]
    assert sorted(p.name for p in work.iterdir()) == ["not-a-spill"]


def test_a_counter_alive_in_this_process_keeps_its_directory(tmp_path: Path) -> None:
    with RiskCounter(("code",), None, directory=tmp_path, buffer_entries=100) as counter:
        counter.add(pa.table({"code": np.arange(1000)}))
        assert counter.directory is not None
        assert remove_abandoned(tmp_path) == []
        assert counter.directory.is_dir()
    assert os.listdir(tmp_path) == []
    assert remove_abandoned(tmp_path / "missing") == []


def test_a_directory_removed_before_it_was_locked_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window between making a directory and locking it: there a `pks-risk-*` is unlocked,
    fair game for another process's `remove_abandoned`. Recovery is made to strike exactly
    then, once: the counter must not write into the removed directory but into a new one."""
    made: list[Path] = []
    mkdtemp = tempfile.mkdtemp

    def recovery_strikes(*args: Any, **kwargs: Any) -> str:
        path = mkdtemp(*args, **kwargs)
        made.append(Path(path))
        if len(made) == 1:
            assert remove_abandoned(tmp_path) == [Path(path).name]
        return path

    monkeypatch.setattr(spill.tempfile, "mkdtemp", recovery_strikes)
    with RiskCounter(("code",), None, directory=tmp_path, buffer_entries=100) as counter:
        counter.add(pa.table({"code": np.arange(1000)}))
        assert len(made) == 2 and not made[0].exists()
        assert counter.directory == made[1] and any(made[1].iterdir())
        assert counter.report(k_required=2, action="report", identified=False).records == 1000
        assert remove_abandoned(tmp_path) == []
