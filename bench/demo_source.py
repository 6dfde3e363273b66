"""Benchmark: build the demo source database into SQLite and compare with bare inserts.

Runs `build_demo_source` in a fresh subprocess (so its peak RSS is its own), then, as the baseline
measured in the same run, writes the same number of trivial rows `(i, str(i))` into SQLite with
executemany. Prints time, rows/s, peak RSS, the ratios to the targets (60 s and 1 GB for a million
people) and generator time / bare-insert time.

    .venv/bin/python bench/demo_source.py [--rows 1000000] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_SECONDS_PER_MILLION = 60.0
TARGET_RSS_MB = 1024.0

CHILD = """
import datetime, json, sys
from pathlib import Path
from demo_dukcapil.database import build_demo_source
summary = build_demo_source(
    "sqlite:///" + sys.argv[1], rows=int(sys.argv[2]), seed=int(sys.argv[3]),
    regions_csv=Path(sys.argv[4]), today=datetime.date(2025, 1, 15),
)
print(json.dumps({"people": summary.people, "families": summary.families,
                  "seconds": summary.seconds}))
"""


def generator_run(directory: Path, rows: int, seed: int) -> tuple[dict[str, float], float, float]:
    """(summary, wall seconds, peak RSS in MB) of one build in a child process."""
    started = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(directory / "demo.db"),
            str(rows),
            str(seed),
            str(REPO / "config" / "wilayah_paser.csv"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - started
    # ru_maxrss is in KiB on Linux; RUSAGE_CHILDREN covers the (only) child waited for so far.
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return json.loads(result.stdout.strip().splitlines()[-1]), wall, peak_mb


def bare_insert_seconds(directory: Path, rows: int) -> float:
    """The floor: executemany of trivial rows, with the same pragmas as the generator."""
    path = directory / "bare.db"
    connection = sqlite3.connect(path)
    try:
        started = time.perf_counter()
        connection.execute("PRAGMA journal_mode=OFF")
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("CREATE TABLE t (i INTEGER PRIMARY KEY, s TEXT)")
        connection.executemany("INSERT INTO t VALUES (?, ?)", ((i, str(i)) for i in range(rows)))
        connection.commit()
        return time.perf_counter() - started
    finally:
        connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="people to generate")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pks-bench-demo-") as tmp:
        directory = Path(tmp)
        summary, wall, peak_mb = generator_run(directory, args.rows, args.seed)
        size_mb = (directory / "demo.db").stat().st_size / 2**20
        bare = bare_insert_seconds(directory, args.rows)
    target_seconds = TARGET_SECONDS_PER_MILLION * args.rows / 1_000_000
    print(f"demo source, {summary['people']:,} people in {summary['families']:,} families")
    print(
        f"  build        {summary['seconds']:8.1f} s  ({wall:.1f} s wall incl. interpreter start)"
    )
    print(f"  rate         {summary['people'] / summary['seconds']:8,.0f} people/s")
    print(f"  peak RSS     {peak_mb:8.0f} MB")
    print(f"  file size    {size_mb:8.0f} MB")
    print(f"  vs target    {summary['seconds'] / target_seconds:8.2f} x {target_seconds:.0f} s")
    print(f"               {peak_mb / TARGET_RSS_MB:8.2f} x {TARGET_RSS_MB:.0f} MB")
    print(f"baseline: {args.rows:,} trivial rows (i, str(i)) by executemany into SQLite")
    print(f"  bare insert  {bare:8.1f} s  ({args.rows / bare:,.0f} rows/s)")
    print(f"  generator / bare insert  {summary['seconds'] / bare:.1f} x")


if __name__ == "__main__":
    main()
