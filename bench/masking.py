"""Benchmark: every mask kind on one column of synthetic rows, against per-row Python baselines.

    .venv/bin/python bench/masking.py [--rows 1000000] [--repeat 3]

Each kind runs through `exports.masking.operators.apply_mask`, exactly as the pipeline calls it,
on a column typed as the extraction step delivers it (5 % nulls). The figure is the best of
`--repeat` runs.

Baselines from the same run, on the same values:
  token    per-row `hmac.new(key, value, sha256)` (what one would write first), and the C one-shot
           `hmac.digest` for reference; the ratio shows what the copied inner/outer states buy
  partial  a per-row Python slice `v[:f] + "*" * (n - f - l) + v[n - l:]`
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import hmac
import random
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from agreements.masks import validate_mask  # noqa: E402
from exports.masking.operators import MaskContext, apply_mask, input_type  # noqa: E402
from exports.masking.tokens import derive_token_key  # noqa: E402

AS_OF = date(2026, 1, 15)
NAMES = ["Siti", "Muhammad", "Nur", "Ahmad", "Dewi", "Budi", "Rahmat", "Sri", "Agus", "Wati"]
SURNAMES = ["Aminah", "Rahman", "Hidayat", "Lestari", "Saputra", "Wulandari", "Hasan", "Yusuf"]


class Element:
    def __init__(self, key: str, type_: str) -> None:
        self.key, self.type = key, type_


def synthetic(rows: int, seed: int) -> dict[str, list[Any]]:
    rng = random.Random(seed)
    villages = [
        r["kode"]
        for r in csv.DictReader((REPO / "config" / "wilayah_paser.csv").open())
        if r["kode"].count(".") == 3
    ]
    nik = [
        f"6401{rng.randint(1, 10):02d}{rng.randint(1, 71):02d}{rng.randint(1, 12):02d}"
        f"{rng.randint(0, 99):02d}{rng.randint(1, 9999):04d}"
        for _ in range(rows)
    ]
    name = [f"{rng.choice(NAMES)} {rng.choice(SURNAMES)}" for _ in range(rows)]
    born = [date.fromordinal(rng.randint(693_596, 739_000)) for _ in range(rows)]  # 1900-2024
    code = [rng.randint(1, 7) for _ in range(rows)]
    region = [rng.choice(villages) for _ in range(rows)]
    columns = {"nik": nik, "name": name, "date": born, "code": code, "region": region}
    for values in columns.values():
        for i in rng.sample(range(rows), rows // 20):
            values[i] = None
    return columns


CASES: list[tuple[str, str, dict[str, Any] | str]] = [
    ("keep", "nik", "keep"),
    ("redact", "nik", "redact"),
    ("partial nik 6+4", "nik", {"mask": "partial", "first": 6, "last": 4}),
    ("partial name 1+0", "name", {"mask": "partial", "first": 1}),
    ("token nik (32)", "nik", "token"),
    ("generalize_date year", "date", {"mask": "generalize_date", "to": "year"}),
    ("generalize_date year_month", "date", {"mask": "generalize_date", "to": "year_month"}),
    ("generalize_date age", "date", {"mask": "generalize_date", "to": "age"}),
    (
        "age top 90",
        "date",
        {"mask": "generalize_date", "to": "age", "top_code": 90},
    ),
    ("generalize_date age_band 5", "date", {"mask": "generalize_date", "to": "age_band"}),
    ("generalize_region kecamatan", "region", {"mask": "generalize_region", "to": "kecamatan"}),
    ("bucket 0/18/60", "date", {"mask": "bucket", "edges": [0, 18, 60]}),
    ("recode (rare)", "code", {"mask": "recode", "mapping": {"1": "ISLAM"}, "rare_threshold": 5}),
    ("decode", "code", "decode"),
]


def best(repeat: int, run: Callable[..., object], *args: object) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        run(*args)
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n, repeat = args.rows, args.repeat

    values = synthetic(n, seed=7)
    key = derive_token_key(bytes(range(32)), "bench-agreement")
    context = MaskContext(as_of=AS_OF, token_key=key, rare={"code": frozenset({"6", "7"})})
    labels = pa.array([None if c is None else f"label {c}" for c in values["code"]], pa.string())

    print(f"rows {n:,} (5 % null), best of {repeat}")
    seconds: dict[str, float] = {}
    for title, element_type, spec in CASES:
        mask = validate_mask(Element("code", element_type), spec)
        wanted = input_type(element_type, mask)
        column = labels if mask.kind == "decode" else pa.array(values[element_type], type=wanted)
        seconds[title] = best(repeat, apply_mask, "code", element_type, mask, column, context)
        rate = n / seconds[title] / 1e6
        shown = f"{rate:>8.1f} M rows/s" if rate < 1000 else "   (no per-row work)"
        print(f"  {title:<30} {seconds[title]:>8.3f} s  {shown}")

    raw = [None if v is None else v.encode() for v in values["nik"]]
    sha256 = hashlib.sha256

    def per_row_hmac_new() -> None:
        [None if v is None else hmac.new(key, v, sha256).hexdigest()[:32] for v in raw]

    def per_row_hmac_digest() -> None:
        [None if v is None else hmac.digest(key, v, "sha256").hex()[:32] for v in raw]

    def per_row_slice() -> None:
        [None if v is None else v[:6] + "*" * (len(v) - 10) + v[-4:] for v in values["nik"]]

    hmac_new = best(repeat, per_row_hmac_new)
    hmac_digest = best(repeat, per_row_hmac_digest)
    py_slice = best(repeat, per_row_slice)
    token, partial = seconds["token nik (32)"], seconds["partial nik 6+4"]
    print("baselines (same values, plain Python lists)")
    for title, spent in [
        ("per-row hmac.new", hmac_new),
        ("per-row hmac.digest", hmac_digest),
        ("per-row Python slice", py_slice),
    ]:
        print(f"  {title:<30} {spent:>8.3f} s  {n / spent / 1e6:>8.1f} M rows/s")
    print("ratios (baseline time / masking time; > 1 means the mask is faster)")
    print(f"  token vs hmac.new              {hmac_new / token:>8.2f} x")
    print(f"  token vs hmac.digest           {hmac_digest / token:>8.2f} x")
    print(f"  partial vs Python slice        {py_slice / partial:>8.2f} x")


if __name__ == "__main__":
    main()
