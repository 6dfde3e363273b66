"""Benchmark: one delivery through the product path against the limit and naive pipelines.

    .venv/bin/python bench/extract.py [--rows 1000000] [--flat 10000000] [--keep DIR]
                                      [--only full|limit|naive] [--repeat 1] [--suppress]
                                      [--profile FILE]

Set-up (not timed): a demo SQLite source of `--rows` people (kept in `--keep DIR` between runs:
1M takes ~40 s to build, 10M ~7 min), then a gateway home made through the CLI as an officer
would (`init`, staff, a registered signer, a recipient key generated in this run, and a signed
agreement of 20 elements: nik and no_kk as tokens; tanggal_lahir as 5-year age bands, no_kec
cut to the kecamatan and pekerjaan recoded (rare threshold 10); 15 kept or decoded; parquet;
re-identification "report"). No direct identifier is delivered in clear, so the scope is not
*identified* and the k rule applies to it.

Pipelines, each in its own process (so peak RSS is its own), on the same source file:
  full   `gateway.services.deliveries.extract_delivery`, as `pks-gateway delivery extract` calls
         it: verify the signature, quota, plan, rare-category pre-pass, stream (read-ahead
         thread, masks, re-identification count, Parquet, age, hashes, subject hashes), audit
         entry, checkpoint, signed manifest, publish;
  limit  the same SELECT (the plan's ExtractionRequest through
         `exports.reading.extract.extract`, i.e. `read_batches`) written straight to unencrypted
         Parquet zstd with pq.ParquetWriter;
  naive  pandas.read_sql of the same SQL over SQLAlchemy, masks with pandas string operations
         (per-row hmac.new for tokens, Series.map through the code tables for decodes),
         DataFrame.to_parquet into a BytesIO, the whole buffer encrypted in memory with
         ChaCha20-Poly1305, written out.
`--suppress` adds a line for the same scope with action "suppress": the source's GROUP BY of the
quasi-identifiers runs before the stream, and the records of groups below k are dropped.
`--flat N` runs full and limit again on N people for the peak-memory flatness ratio (naive is
skipped there: it holds the whole result several times over, ~20+ GB at 10M).
`--profile FILE` runs the full pipeline under cProfile (main thread only: the reader thread's
time shows up as waiting on its queue) and writes the stats to FILE; the timings of a profiled
run are not used for the ratios.

Prints rows, seconds, rows/s and peak RSS for each, then the ratios against the targets of
issue 5 with PASS/MISS. Exits 0 whatever they are: a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHORT_ID = "bench-extract"
SUPPRESS_ID = "bench-extract-suppress"
SEED = 1
PIPELINES = ("limit", "full", "naive")

TARGET_RATE = 250_000  # rows/s of the full path
TARGET_FULL_VS_LIMIT = 1.3  # full time / limit time, at most
TARGET_NAIVE_VS_FULL = 6.0  # naive / full, time and peak memory, at least
TARGET_FLAT = 1.2  # peak at the larger size / peak at --rows, at most

ELEMENTS = """\
nik = { mask = "token", length = 32 }
no_kk = { mask = "token", length = 32 }
jenis_kelamin = "decode"
tempat_lahir = "keep"
tanggal_lahir = { mask = "generalize_date", to = "age_band", band = 5 }
golongan_darah = "decode"
agama = "decode"
status_perkawinan = "decode"
hubungan_keluarga = "decode"
pendidikan_terakhir = "decode"
akta_lahir = "decode"
akta_kawin = "decode"
akta_cerai = "decode"
tanggal_kawin = "keep"
alamat = "keep"
rt = "keep"
rw = "keep"
dusun = "keep"
no_kec = { mask = "generalize_region", to = "kecamatan" }

[elements.pekerjaan]
mask = "recode"
other = "LAINNYA"
rare_threshold = 10
mapping = { "1" = "BELUM/TIDAK BEKERJA", "2" = "MENGURUS RUMAH TANGGA", "5" = "PNS" }
"""

SCOPE = """\
schema_version = 1
purpose = "Benchmark of the delivery path on synthetic people"
legal_basis = ["UU 24/2013 Pasal 58 dan 79"]
access_modes = ["bulk_delivery"]
high_risk = false

[agreement]
number = "BENCH/{short_id}"
short_id = "{short_id}"
institution = "Benchmark"
version = 1

[elements]
{elements}
[filter]
regions = "all"
min_age = 18
max_age = 150
alive_only = true
active_only = true
include_minors = false
predicates = []

[[recipients]]
name = "Benchmark recipient"
contact = "bench@example.org"
age_recipient = "{recipient}"
ip_allow = []

[validity]
start = {start}
end = {end}

[delivery]
format = "parquet"
schedule = "monthly"
quota = 1000
quota_period = "month"
max_rows = 100000000

[reidentification]
k = 5
action = "{action}"
rare_category_threshold = 10

[reporting]
semester_report_due = [{end}]
data_balikan = false
"""


# --- set-up (parent) --------------------------------------------------------------------------
def source(directory: Path, rows: int) -> Path:
    """The demo source of `rows` people in `directory`, built once (in a child) and reused."""
    path = directory / f"demo-{rows}-seed{SEED}.db"
    if not path.exists():
        print(f"building the demo source ({rows:,} people) at {path} …", flush=True)
        started = time.perf_counter()
        code = (
            "import sys; from pathlib import Path; "
            "from demo_dukcapil.database import build_demo_source; "
            "build_demo_source('sqlite:///' + sys.argv[1], rows=int(sys.argv[2]), "
            "seed=int(sys.argv[3]), regions_csv=Path(sys.argv[4]))"
        )
        regions = str(REPO / "config" / "wilayah_paser.csv")
        subprocess.run(
            [sys.executable, "-c", code, str(path), str(rows), str(SEED), regions],
            cwd=REPO,
            check=True,
        )
        print(f"  built in {time.perf_counter() - started:.1f} s", flush=True)
    return path


def replicated(directory: Path, base: Path, rows: int, factor: int) -> Path:
    """`base` with its people and families `factor` times over (built once, reused).

    The demo generator cannot make 10M people of one kabupaten (its NIK serials per region and
    birth date run out), so the larger source is the 1M one copied: in each copy the NIK and KK
    numbers start with a letter of its own (no copy's numbers meet another's), addresses get a
    suffix and birth dates a shift of a few days, so that tokens, households and the
    quasi-identifier combinations grow with the rows as they would in a real population.
    """
    if not 2 <= factor <= 10:
        raise SystemExit("--flat takes a factor from 2 to 10")
    path = directory / f"demo-{rows}x{factor}-seed{SEED}.db"
    if path.exists():
        return path
    print(f"building the {factor}x source at {path} …", flush=True)
    started = time.perf_counter()
    building = path.with_suffix(".building")
    shutil.copyfile(base, building)
    connection = sqlite3.connect(building)
    try:
        connection.execute("PRAGMA journal_mode=OFF")
        connection.execute("PRAGMA synchronous=OFF")
        changed = {
            "BIODATA_WNI": {
                "NIK": "? || NIK",
                "NO_KK": "? || NO_KK",
                "TGL_LHR": "date(TGL_LHR, '+' || (unicode(?) - 64) || ' days')",
            },
            "DATA_KELUARGA": {
                "NO_KK": "? || NO_KK",
                "ALAMAT": "ALAMAT || ' BLOK ' || ?",
            },
        }
        letters = list("ABCDEFGHI"[: factor - 1])
        for table, exprs in changed.items():
            columns = [row[1] for row in connection.execute(f'PRAGMA table_info("{table}")')]
            items = [exprs.get(c, f'"{c}"') for c in columns]
            sql = f'INSERT INTO "{table}" SELECT {", ".join(items)} FROM "{table}" WHERE rowid <= ?'
            last = connection.execute(f'SELECT max(rowid) FROM "{table}"').fetchone()[0]
            for letter in letters:
                marks = [letter] * sum(e.count("?") for e in items)
                connection.execute(sql, (*marks, last))
            connection.commit()
    finally:
        connection.close()
    building.rename(path)
    print(f"  built in {time.perf_counter() - started:.1f} s", flush=True)
    return path


def warm(path: Path) -> None:
    """Read the source file once so that no pipeline pays for the first read from disk."""
    with path.open("rb") as handle:
        while handle.read(16 << 20):
            pass


def gateway_home(home: Path, source_path: Path, suppress: bool) -> dict[str, str]:
    """A gateway home on `source_path` with the benchmark agreement(s) signed; its environment."""
    env = {
        **os.environ,
        "PKS_GATEWAY_HOME": str(home),
        "PKS_GATEWAY_SOURCE_URL": f"sqlite:///{source_path}",
    }
    cli = str(Path(sys.executable).with_name("pks-gateway"))

    def run(*args: str) -> None:
        done = subprocess.run([cli, *args], env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.exit(f"set-up step `{' '.join(args[:2])}` failed:\n{done.stderr[-2000:]}")

    sys.path.insert(0, str(REPO))
    from ageformat import generate_identity

    _secret, recipient = generate_identity()  # the partner's key; nobody decrypts in the bench
    run("init")
    run("staff", "add", "admin", "--role", "admin")
    run("staff", "add", "kadis", "--role", "Kepala Dinas", "--as", "admin")
    run("staff", "add", "pf", "--role", "pejabat_fungsional", "--as", "admin")
    run("staff", "add", "adb", "--role", "petugas_adb", "--as", "admin")
    key = home / "kadis"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kadis", "-f", str(key)], check=True
    )
    run("signer", "add", "kadis", "--key", f"{key}.pub", "--as", "admin")
    today = date.today()
    agreements = [(SHORT_ID, "report")] + ([(SUPPRESS_ID, "suppress")] if suppress else [])
    for short_id, action in agreements:
        scope = home / f"{short_id}.toml"
        scope.write_text(
            SCOPE.format(
                short_id=short_id,
                elements=ELEMENTS,
                recipient=recipient,
                start=today - timedelta(days=30),
                end=today + timedelta(days=365),
                action=action,
            ),
            encoding="utf-8",
        )
        run("agreement", "import", str(scope), "--as", "pf")
        run("agreement", "sign", short_id, "--key", str(key), "--as", "kadis")
    return env


def child(kind: str, env: dict[str, str], *extra: str) -> dict[str, Any]:
    """Run one pipeline in a fresh interpreter; its JSON line of figures."""
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, *extra],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"the {kind} pipeline failed:\n{done.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


# --- the pipelines (children) ----------------------------------------------------------------
def _plan(short_id: str) -> tuple[Any, Any, str]:
    """(plan, extraction request, source URL) of the agreement's current version, as the
    product makes them, for the baselines."""
    from gateway.context import delivery_environment as environment
    from gateway.context import ready_engine
    from gateway.services.agreements import load_version
    from gateway.services.deliveries import plan_delivery
    from gateway.settings import load_settings

    settings = load_settings()
    env = environment(settings)
    with ready_engine(settings) as engine, engine.connect() as connection:
        stored = load_version(connection, short_id, None)
    plan = plan_delivery(env, stored, delivery_id="bench", now=datetime.now(UTC))
    return plan, plan.extraction_request(env.catalog, env.mapping), env.source_url


def run_full(short_id: str, profile: str | None) -> dict[str, Any]:
    from gateway.context import delivery_environment as environment
    from gateway.context import ready_engine
    from gateway.services.deliveries import extract_delivery
    from gateway.settings import load_settings

    settings = load_settings()
    env = environment(settings)
    with ready_engine(settings) as engine:
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        started = time.perf_counter()
        published = extract_delivery(engine, env, short_id, "adb", lambda: datetime.now(UTC))
        seconds = time.perf_counter() - started
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(profile)
    report = published.output.report
    return {
        "rows": published.output.rows,
        "seconds": seconds,
        "bytes": published.output.ciphertext_size,
        "suppressed": report.suppressed_records,
        "groups": report.groups,
    }


def run_limit(short_id: str) -> dict[str, Any]:
    import pyarrow.parquet as pq

    from exports.reading.extract import extract
    from exports.reading.query import arrow_schema
    from exports.reading.source import Source

    _, request, url = _plan(short_id)
    out = Path(os.environ["PKS_GATEWAY_HOME"]) / "limit.parquet"
    started = time.perf_counter()
    rows = 0
    schema = arrow_schema(request)
    with Source.open(url) as source, pq.ParquetWriter(out, schema, compression="zstd") as writer:
        for batch in extract(source, request):
            writer.write_batch(batch)
            rows += batch.num_rows
    seconds = time.perf_counter() - started
    size = out.stat().st_size
    out.unlink()
    return {"rows": rows, "seconds": seconds, "bytes": size}


def run_naive(short_id: str) -> dict[str, Any]:
    import pandas
    from sqlalchemy import create_engine

    from exports.reading.decoding import read_labels
    from exports.reading.query import build_query

    plan, request, url = _plan(short_id)
    out = Path(os.environ["PKS_GATEWAY_HOME"]) / "naive.parquet.enc"
    started = time.perf_counter()
    engine = create_engine(url)
    frame = pandas.read_sql(build_query(request), engine)
    # The SELECT delivers decoded codes as stored (exports.reading.decoding): label them the
    # pandas way.
    labels = {
        key: dict(zip(found.codes.to_pylist(), found.labels.to_pylist(), strict=True))
        for key, found in read_labels(engine, request).items()
    }
    masked = pandas.DataFrame(
        {e.key: _naive_mask(frame, e, plan, labels.get(e.key)) for e in plan.elements}
    )
    buffer = io.BytesIO()
    masked.to_parquet(buffer, compression="zstd", index=False)
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    key = ChaCha20Poly1305.generate_key()
    sealed = ChaCha20Poly1305(key).encrypt(os.urandom(12), buffer.getvalue(), None)
    out.write_bytes(sealed)
    seconds = time.perf_counter() - started
    out.unlink()
    return {"rows": len(masked), "seconds": seconds, "bytes": len(sealed)}


def _naive_mask(frame: Any, element: Any, plan: Any, labels: dict[Any, str] | None) -> Any:
    """One column masked the way one would first write it in pandas."""
    import hashlib
    import hmac

    import pandas

    kind, key = element.mask.kind, element.key
    if element.element_type == "region":
        parts = [c for c in frame.columns if c.startswith(f"{key}__")]
        widths = (2, 2, 2, 4)[: len(parts)]
        texts = [
            frame[c].astype("Int64").astype(str).str.zfill(w)
            for c, w in zip(parts, widths, strict=True)
        ]
        if kind == "generalize_region":
            level = ("province", "kabupaten", "kecamatan").index(element.mask.get("to"))
            texts = texts[: level + 1]
        return pandas.Series([".".join(t) for t in zip(*texts, strict=True)], index=frame.index)
    column = frame[key]
    if kind == "decode" and labels is not None:
        if element.element_type == "flag":
            return column.map(lambda v: labels[bool(v)])
        return column.map(labels)
    if kind == "keep":
        return column
    if kind == "token":
        secret, length = plan.token_key, int(element.mask.get("length"))
        return column.map(
            lambda v: (
                None
                if v is None
                else hmac.new(secret, str(v).encode(), hashlib.sha256).hexdigest()[:length]
            )
        )
    if kind == "generalize_date":
        born = pandas.to_datetime(column, errors="coerce")
        as_of = pandas.Timestamp(plan.as_of)
        later = (born.dt.month * 100 + born.dt.day) > (as_of.month * 100 + as_of.day)
        ages = as_of.year - born.dt.year - later.astype(int)
        band = int(element.mask.get("band"))
        low = (ages // band * band).astype("Int64")
        return low.astype(str) + "-" + (low + band - 1).astype(str)
    if kind == "recode":
        mapping = dict(element.mask.get("mapping"))
        codes = column.astype("Int64").astype(str)
        counts = codes.value_counts()
        rare = set(counts[counts < int(element.mask.get("rare_threshold") or 0)].index)
        other = element.mask.get("other")
        return codes.map(lambda v: other if v in rare else mapping.get(v, other))
    raise ValueError(f"the naive pipeline has no mask {kind} (element {key})")


def child_main(kind: str, short_id: str, profile: str | None) -> None:
    sys.path.insert(0, str(REPO))
    if kind == "full":
        figures = run_full(short_id, profile)
    elif kind == "limit":
        figures = run_limit(short_id)
    else:
        figures = run_naive(short_id)
    # ru_maxrss is in KiB on Linux: the whole process, imports included, as for every pipeline.
    figures["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(figures))


# --- report (parent) --------------------------------------------------------------------------
def best(kind: str, env: dict[str, str], repeat: int, *extra: str) -> dict[str, Any]:
    """Best time of `repeat` runs, with the highest peak RSS any of them reached."""
    runs = [child(kind, env, *extra) for _ in range(repeat)]
    chosen = min(runs, key=lambda r: r["seconds"])
    return {**chosen, "peak_mb": max(r["peak_mb"] for r in runs)}


def line(name: str, run: dict[str, Any]) -> None:
    rate = run["rows"] / run["seconds"]
    extra = ""
    if "suppressed" in run:
        extra = f"  ({run['groups']:,} groups, {run['suppressed']:,} suppressed)"
    print(
        f"  {name:26s} {run['rows']:>11,} rows {run['seconds']:8.2f} s {rate:>11,.0f} rows/s"
        f"  peak RSS {run['peak_mb']:7.0f} MB  file {run['bytes'] / 2**20:6.0f} MB{extra}",
        flush=True,
    )


def verdict(title: str, value: float, target: float, at_most: bool) -> None:
    ok = value <= target if at_most else value >= target
    sign = "<=" if at_most else ">="
    print(f"  {title:40s} {value:8.2f}   target {sign} {target:<5}  {'PASS' if ok else 'MISS'}")


def run_size(
    path: Path, rows: int, home: Path, kinds: list[str], args: argparse.Namespace
) -> dict[str, dict[str, Any]]:
    warm(path)
    env = gateway_home(home, path, args.suppress and "full" in kinds)
    size_mb = path.stat().st_size / 2**20
    print(f"{rows:,} people (SQLite, {size_mb:,.0f} MB), 20 elements, best of {args.repeat}")
    results: dict[str, dict[str, Any]] = {}
    for kind in kinds:
        results[kind] = best(kind, env, args.repeat, "--agreement", SHORT_ID)
        line(kind, results[kind])
    if args.suppress and "full" in kinds:
        results["suppress"] = best("full", env, args.repeat, "--agreement", SUPPRESS_ID)
        line("full, action suppress", results["suppress"])
    if args.profile and "full" in kinds:
        child("full", env, "--agreement", SHORT_ID, "--profile", args.profile)
        print(f"  profile of one full run (report) written to {args.profile}")
    counts = {r["rows"] for k, r in results.items() if k != "suppress"}
    if len(counts) > 1:
        print(f"  WARNING: the pipelines disagree on the row count: {sorted(counts)}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="people in the source")
    parser.add_argument(
        "--flat",
        type=int,
        nargs="?",
        const=10,
        metavar="FACTOR",
        help="also run full and limit on the source copied FACTOR times (default 10)",
    )
    parser.add_argument("--keep", type=Path, help="keep the demo sources here between runs")
    parser.add_argument("--only", choices=PIPELINES, help="run one pipeline")
    parser.add_argument("--repeat", type=int, default=1, help="runs per pipeline (best counts)")
    parser.add_argument("--suppress", action="store_true", help="add the suppress variant")
    parser.add_argument("--profile", help="cProfile one full run into this file")
    parser.add_argument("--child", choices=PIPELINES, help=argparse.SUPPRESS)
    parser.add_argument("--agreement", default=SHORT_ID, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.child, args.agreement, args.profile)
        return

    kinds = [args.only] if args.only else list(PIPELINES)
    with tempfile.TemporaryDirectory(prefix="pks-bench-e2e-") as tmp:
        keep = args.keep or Path(tmp)
        keep.mkdir(parents=True, exist_ok=True)
        base = source(keep, args.rows)
        small = run_size(base, args.rows, Path(tmp) / "home", kinds, args)
        large: dict[str, dict[str, Any]] = {}
        if args.flat:
            bigger = replicated(keep, base, args.rows, args.flat)
            flat_kinds = [k for k in kinds if k != "naive"]
            if "naive" in kinds:
                print("naive skipped on the larger source: it holds the whole result in memory")
            args.suppress, args.profile = False, None
            large = run_size(
                bigger, args.rows * args.flat, Path(tmp) / "home-flat", flat_kinds, args
            )

    print("targets (issue 5)")
    full, limit, naive = small.get("full"), small.get("limit"), small.get("naive")
    if full:
        verdict(
            "full rows/s (thousands)",
            full["rows"] / full["seconds"] / 1000,
            TARGET_RATE / 1000,
            False,
        )
    if full and limit:
        verdict("full / limit time", full["seconds"] / limit["seconds"], TARGET_FULL_VS_LIMIT, True)
    if full and naive:
        verdict(
            "naive / full time", naive["seconds"] / full["seconds"], TARGET_NAIVE_VS_FULL, False
        )
        verdict("naive / full peak RSS", naive["peak_mb"] / full["peak_mb"], 6.0, False)
    if full and "full" in large:
        title = f"full peak RSS {args.flat}x / 1x people"
        verdict(title, large["full"]["peak_mb"] / full["peak_mb"], TARGET_FLAT, True)
    if "suppress" in small and full:
        print(
            f"  suppress / report time: {small['suppress']['seconds'] / full['seconds']:.2f} x "
            "(the GROUP BY pre-pass of the quasi-identifiers before the stream)"
        )


if __name__ == "__main__":
    main()
