"""Benchmark: how long `pks-gateway` takes to start, against `python -c "import click"`.

    .venv/bin/python bench/startup.py [--runs 9]

Runs, interleaved in one loop so that the machine's other load falls on all alike: the baseline
(an interpreter importing click, the CLI library itself), `pks-gateway --help` (which imports no
command module) and `pks-gateway staff list` on a fresh data directory (a command that opens the
metadata database: SQLAlchemy, nothing of pandas, pyarrow, ADBC, Faker or Alembic). Prints the
median wall time and CPU time of each, the ratio to the baseline, and the load average beside
them. Issue 10's target: at most 0.35 s, or at most 3x the baseline.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, cwd=REPO)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "PKS_GATEWAY_HOME": home}
        gateway = str(BIN / "pks-gateway")
        subprocess.run([gateway, "init"], env=env, check=True, stdout=subprocess.DEVNULL)
        commands = {
            "baseline: import click": [sys.executable, "-c", "import click"],
            "pks-gateway --help": [gateway, "--help"],
            "pks-gateway staff list": [gateway, "staff", "list"],
        }
        figures: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        loads = []
        for _ in range(args.runs):
            for name, command in commands.items():
                figures[name].append(timed(command, env))
            loads.append(os.getloadavg()[0])
    base = statistics.median(wall for wall, _ in figures["baseline: import click"])
    print(f"runs {args.runs}, interleaved; load average (1 min) {statistics.median(loads):.2f}")
    print(f"{'':<26} {'wall s':>8} {'cpu s':>8} {'x baseline':>11} {'target':>8}")
    for name, runs in figures.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        verdict = (
            ""
            if name.startswith("baseline")
            else ("PASS" if wall <= 0.35 or wall <= 3 * base else "MISS")
        )
        print(f"{name:<26} {wall:>8.3f} {cpu:>8.3f} {wall / base:>11.1f} {verdict:>8}")


if __name__ == "__main__":
    main()
