"""Benchmark: read a 20-column extraction from a 1M-person SQLite source, ADBC path vs pandas.

Builds the demo source once and keeps it under /tmp (reused while its name matches rows and
seed). Then, each in a fresh subprocess so that its peak RSS is its own, reads the same request
(20 elements: codes decoded and raw, flags, dates, region codes, a joined address table; adults
only) through (a) `exports.reading.extract.extract` — ADBC record batches cast to the request's
schema — and (b) the naive baseline, `pandas.read_sql` over SQLAlchemy with the same SELECT.
Prints rows, seconds, rows/s, peak RSS and the ratios.

    .venv/bin/python bench/extract_readers.py [--rows 1000000] [--seed 1] [--batch-rows 65536]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE = Path("/tmp/pks-bench-extract")

BUILD = """
import datetime, sys
from pathlib import Path
from demo_dukcapil.database import build_demo_source
build_demo_source("sqlite:///" + sys.argv[1], rows=int(sys.argv[2]), seed=int(sys.argv[3]),
                  regions_csv=Path(sys.argv[4]), today=datetime.date(2025, 1, 15))
"""

REQUEST = """
import datetime, json, resource, sys, time
from pathlib import Path
from agreements.catalog import load_catalog
from agreements.scope import RowFilter
from exports.reading.query import ColumnRequest, ExtractionRequest, build_query
from exports.reading.source_mapping import load_source_mapping
catalog_file = Path("config/catalog.toml")
COLUMNS = (
    ("nik", False), ("no_kk", False), ("nama_lengkap", False), ("jenis_kelamin", True),
    ("tempat_lahir", False), ("tanggal_lahir", False), ("golongan_darah", True),
    ("agama", True), ("status_perkawinan", True), ("hubungan_keluarga", False),
    ("pendidikan_terakhir", True), ("pekerjaan", False), ("nama_ibu", False),
    ("akta_lahir", False), ("akta_kawin", True), ("tanggal_kawin", False),
    ("alamat", False), ("rt", False), ("rw", False), ("no_kel", False),
)
request = ExtractionRequest(
    load_catalog(catalog_file), load_source_mapping(catalog_file),
    tuple(ColumnRequest(k, d) for k, d in COLUMNS),
    RowFilter(None, 0, 150, alive_only=True, active_only=True, include_minors=False),
    datetime.date(2025, 1, 15),
)
url = "sqlite:///" + sys.argv[1]
"""

ADBC = (
    REQUEST
    + """
from exports.reading.extract import extract
from exports.reading.source import Source
started = time.perf_counter()
rows = 0
with Source.open(url) as source:
    for batch in extract(source, request, batch_rows=int(sys.argv[2])):
        rows += batch.num_rows
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"rows": rows, "seconds": seconds, "peak_mb": peak, "columns": len(COLUMNS)}))
"""
)

PANDAS = (
    REQUEST
    + """
import pandas
from exports.reading.source import open_source
engine = open_source(url)
started = time.perf_counter()
frame = pandas.read_sql(build_query(request), engine)
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"rows": len(frame), "seconds": seconds, "peak_mb": peak,
                  "columns": len(frame.columns)}))
"""
)


def child(code: str, *args: str) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=REPO, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        sys.exit(f"benchmark child failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def source(rows: int, seed: int) -> Path:
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"demo-{rows}-seed{seed}.db"
    if not path.exists():
        print(f"building the demo source ({rows:,} people) at {path} …", flush=True)
        started = time.perf_counter()
        child_build = [str(path), str(rows), str(seed), str(REPO / "config" / "wilayah_paser.csv")]
        subprocess.run([sys.executable, "-c", BUILD, *child_build], cwd=REPO, check=True)
        print(f"  built in {time.perf_counter() - started:.1f} s", flush=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="people in the source")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-rows", type=int, default=65_536)
    args = parser.parse_args()
    path = source(args.rows, args.seed)
    adbc = child(ADBC, str(path), str(args.batch_rows))
    pandas = child(PANDAS, str(path))
    if adbc["rows"] != pandas["rows"]:
        sys.exit(f"the two readers disagree: {adbc['rows']} vs {pandas['rows']} rows")
    print(
        f"extraction of {int(adbc['rows']):,} rows x {int(adbc['columns'])} columns "
        f"from {args.rows:,} people (SQLite, {path.stat().st_size / 2**20:.0f} MB)"
    )
    for name, run in (
        ("ADBC -> Arrow (exports.reading.extract)", adbc),
        ("pandas.read_sql", pandas),
    ):
        print(
            f"  {name:32s} {run['seconds']:7.2f} s  {run['rows'] / run['seconds']:10,.0f} rows/s"
            f"  peak RSS {run['peak_mb']:7.0f} MB"
        )
    print(
        f"  ADBC / pandas: {pandas['seconds'] / adbc['seconds']:.1f}x the rows/s, "
        f"{adbc['peak_mb'] / pandas['peak_mb']:.2f}x the peak memory"
    )


if __name__ == "__main__":
    main()
