"""Benchmark: the partner API (issue 11) served by gunicorn, against baselines from the same run.

    .venv/bin/python bench/api.py download [--rows 2900000] [--rounds 5] [--keep DIR]
    .venv/bin/python bench/api.py partners [--partners 50] [--min-seconds 20] [--keep DIR]
    .venv/bin/python bench/api.py ids [--rounds 500] [--jobs 5] [--keep DIR]
    .venv/bin/python bench/api.py nik [--batches 10] [--rounds 5] [--keep DIR]

Every server is started here, bound to 127.0.0.1, as docs/operations.md runs it:
`gunicorn 'gateway.wsgi:app' --worker-class gthread --timeout 120 --access-logfile -` with the
settings in PKS_GATEWAY_* variables (its log goes to DIR/logs/). `--workers/--threads` default to
the documented 4 and 4 (`download` uses one worker, so that the RSS sampled is the one serving).

Set-up, through the CLI as an office would, kept in `--keep DIR` (default /tmp/pks-bench-api) and
reused by later runs: demo sources (`demo-source --rows N`; 1M people ~25 s, 2.9M ~75 s on the
machine of bench/README.md), a home per source (`init`, staff, a Kepala Dinas key from ssh-keygen
registered as signer), agreements imported and signed (`agreement import`, `agreement sign`),
their first deliveries (`delivery extract`) and tokens (`token create`; cached in DIR/tokens.json,
mode 0600, with the synthetic homes they open). Two agreements, valid around today:
  bench-file     CSV, 35 elements of everyone (a high-risk scope: it includes minors), ~362 bytes
                 a person: the 1 GB file on 2.9M people; on 1M people the ~360 MB delivery job;
  bench-partner  the demo agreement's elements, Parquet, access_modes bulk_delivery and
                 nik_verification: the partners' deliveries and the NIK verification calls.

download  The bench-file delivery of the 2.9M source (~1.05 GB), fetched by curl to /dev/null
          from gunicorn (one worker, 4 threads, GET /api/v1/deliveries/ID/file with a token) and
          from `python -m http.server` serving the file's directory, alternately first, for
          `--rounds` rounds, from the page cache. Prints MB/s, the ratio (target >= 0.90), the CPU
          of each server and of curl per download, and the gunicorn worker's RSS sampled every
          10 ms: its peak during 64 MiB ranges of the file (one in each round) against its peak
          during the whole 1 GB downloads (target: flat, at most 4 MiB more for 16x the bytes).
partners  `--partners` threads, each with its own token of bench-partner, loop: GET
          /agreements, /deliveries, /deliveries/ID, then the file cut off at a random point (the
          connection dropped) and resumed with `Range: bytes=N-` and `If-Range: ETAG`, its
          SHA-256 checked against the ETag. Meanwhile `pks-gateway worker` runs a bench-file
          delivery queued with `delivery extract --queue`; the load stops when the job is done
          (and `--min-seconds` have passed). Prints requests/s, MB/s, p50/p99 time to first byte
          per kind of request, errors (target: none), the job's outcome and the gateway log's
          errors.
ids       Another partner's ids against ids that never existed (issue 11: the same status, body
          and timing class). A bench-file token asks, one client on a keep-alive connection, for
          bench-partner's existing deliveries (GET /deliveries/ID and /deliveries/ID/file) and
          jobs (GET /jobs/ID; `--jobs` of them run once by `pks-gateway worker` in the set-up),
          and for random ids of the same shape, in pairs whose order is drawn at random, for
          `--rounds` rounds. Prints per kind and class the median, p99 and mean time, the
          server's and the client's CPU a request and the load; the theirs/random ratios of
          p50 and p99, the median paired difference, and whether the bodies are one and the same.
nik       `--batches` POST /api/v1/nik-verifications of 1,000 items each (NIKs drawn from the 1M
          source, name and birth date claimed, some altered), one client, against as many
          `SELECT NIK, NAMA_LGKP, TGL_LHR FROM BIODATA_WNI WHERE NIK IN (1,000 NIKs)` through
          SQLAlchemy on the source (the primary key's index), interleaved for `--rounds` rounds.
          The token's rate limit is raised for the run (`nik_verification_rate = 100000/minute`).
          Prints verifications/s against NIKs/s (target >= 0.5x), the same ratio from the
          medians and from the CPU a call, the per-call times and CPU; and, to tell the query
          from the rest, the service's own SELECT (its query builder with the scope's row
          filter) run directly on the same batches in the same rounds.
          `--in-process PASSES` instead runs the calls through the app in this process (no
          server), the loop to profile: `py-spy record -- .venv/bin/python bench/api.py nik
          --in-process 8` (py-spy installed in the venv for diagnosis, not a project dependency).

Each `partners` run adds a delivery of ~360 MB under DIR/home-1000000 (the job's); remove DIR to
start over.

Beside every wall time: the CPU of the processes involved (from /proc) and the 1-minute load
average, because the machine is shared and other load stretches wall time. Exits 0 whatever
the figures are: a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import random
import re
import resource
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# Run as a script, this file's directory comes first on sys.path, and bench/audit.py would shadow
# the `audit` package that the gateway's modules (imported for set-up and the diagnostic) need.
sys.path.insert(0, str(REPO))
BIN = Path(sys.executable).parent
GATEWAY = str(BIN / "pks-gateway")
GUNICORN = str(BIN / "gunicorn")
SEED = 1
TICK = os.sysconf("SC_CLK_TCK")
MIB = 1024 * 1024
API = "/api/v1"

TARGET_DOWNLOAD_RATIO = 0.90  # gunicorn MB/s / http.server MB/s, at least
TARGET_RSS_FLAT = 4 * MIB  # peak RSS over a 1 GB download minus over a 64 MiB one, at most
TARGET_NIK_RATIO = 0.5  # verifications/s / NIKs/s of the bare SELECT, at least
NIK_RATE = "100000/minute"

FILE_ELEMENTS = """\
nik = "keep"
no_kk = "keep"
nama_lengkap = "keep"
jenis_kelamin = "decode"
tempat_lahir = "keep"
tanggal_lahir = "keep"
golongan_darah = "decode"
agama = "decode"
status_perkawinan = "decode"
hubungan_keluarga = "decode"
disabilitas = "decode"
pendidikan_terakhir = "decode"
pekerjaan = "decode"
nik_ibu = { mask = "token", length = 32 }
nama_ibu = "keep"
nik_ayah = { mask = "token", length = 32 }
nama_ayah = "keep"
alamat_sebelumnya = "keep"
alamat = "keep"
akta_lahir = "decode"
no_akta_lahir = "keep"
akta_kawin = "decode"
no_akta_kawin = "keep"
tanggal_kawin = "keep"
akta_cerai = "decode"
no_akta_cerai = "keep"
tanggal_cerai = "keep"
rt = "keep"
rw = "keep"
dusun = "keep"
kode_pos = "keep"
no_prop = "keep"
no_kab = "keep"
no_kec = "keep"
no_kel = "keep"
"""
FILE_FILTER = """\
regions = "all"
min_age = 0
max_age = 150
alive_only = false
active_only = false
include_minors = true
predicates = []
"""
# The demo agreement's (config/examples/demo-agreement.toml).
PARTNER_ELEMENTS = """\
nik = { mask = "token", length = 32 }
no_kk = { mask = "token", length = 32 }
nama_lengkap = "keep"
jenis_kelamin = "decode"
tempat_lahir = "keep"
tanggal_lahir = { mask = "generalize_date", to = "year" }
agama = "decode"
status_perkawinan = "decode"
pendidikan_terakhir = "decode"
pekerjaan = { mask = "recode", mapping = { "5" = "PNS", "15" = "KARYAWAN SWASTA", "88" = "WIRASWASTA" }, other = "LAINNYA", rare_threshold = 10 }
no_kec = { mask = "generalize_region", to = "kecamatan" }
no_kel = "keep"
"""  # noqa: E501
PARTNER_FILTER = """\
regions = "all"
min_age = 17
max_age = 150
alive_only = true
active_only = true
include_minors = false
predicates = []
"""
SCOPE = """\
schema_version = 1
purpose = "Benchmark of the partner API on synthetic people"
legal_basis = ["UU 24/2013 Pasal 58 dan 79"]
access_modes = {access_modes}
high_risk = {high_risk}
{high_risk_reason}
[agreement]
number = "BENCH/API/{short_id}"
short_id = "{short_id}"
institution = "Benchmark"
version = 1

[elements]
{elements}
[filter]
{filter}
[[recipients]]
name = "Benchmark recipient"
contact = "bench@example.org"
age_recipient = "{recipient}"
ip_allow = []

[validity]
start = {start}
end = {end}

[delivery]
format = "{format}"
schedule = "on_demand"
quota = 1000
quota_period = "month"
max_rows = 100000000

[reidentification]
k = 2
action = "report"
rare_category_threshold = 0

[reporting]
semester_report_due = [{due}]
data_balikan = false
"""


def scope(short_id: str, recipient: str) -> str:
    """A scope valid around today (so the benchmark does not expire with a fixed date)."""
    start = date.today() - timedelta(days=30)
    big = short_id == "bench-file"
    return SCOPE.format(
        short_id=short_id,
        recipient=recipient,
        access_modes='["bulk_delivery"]' if big else '["bulk_delivery", "nik_verification"]',
        high_risk="true" if big else "false",
        high_risk_reason='high_risk_reason = "benchmark: minors included"\n' if big else "",
        elements=FILE_ELEMENTS if big else PARTNER_ELEMENTS,
        filter=FILE_FILTER if big else PARTNER_FILTER,
        format="csv" if big else "parquet",
        start=start.isoformat(),
        end=(start + timedelta(days=330)).isoformat(),
        due=(start + timedelta(days=180)).isoformat(),
    )


# --- /proc: CPU, RSS, load --------------------------------------------------------------------
def cpu_of(pid: int) -> float:
    """User + system CPU seconds of process `pid` (all its threads) so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def threads_of(pid: int) -> dict[str, float]:
    """CPU seconds per thread of `pid`, keyed `name/tid`."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text(encoding="utf-8").strip()
            fields = (task / "stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended
        found[f"{name}/{task.name}"] = (int(fields[11]) + int(fields[12])) / TICK
    return found


def rss_of(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return sorted(found)


def load1() -> float:
    return os.getloadavg()[0]


def child_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


class LoadSampler:
    """The 1-minute load average, sampled every second while it runs (median and max)."""

    def __init__(self) -> None:
        self.samples: list[float] = [load1()]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="load-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.samples.append(load1())

    def stop(self) -> str:
        self._stop.set()
        self._thread.join()
        self.samples.append(load1())
        return f"load {statistics.median(self.samples):.2f} (max {max(self.samples):.2f})"


# --- set-up through the CLI -------------------------------------------------------------------
def run(command: list[str], env: dict[str, str]) -> str:
    """The command's standard output; its error output in the exit message if it fails."""
    done = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} … failed:\n{done.stderr}{done.stdout}")
    return done.stdout


def source(keep: Path, rows: int) -> Path:
    """The demo source of `rows` people in `keep`, built once and reused."""
    path = keep / f"demo-{rows}-seed{SEED}.db"
    if not path.exists():
        print(f"building the demo source ({rows:,} people) at {path} …", flush=True)
        started, load = time.perf_counter(), LoadSampler()
        cpu = child_cpu()
        env = {**os.environ, "PKS_GATEWAY_HOME": str(keep / "scratch-home")}
        url = f"sqlite:///{path}"
        run([GATEWAY, "demo-source", "--rows", str(rows), "--seed", str(SEED), "--url", url], env)
        print(
            f"  built in {time.perf_counter() - started:.1f} s (cpu {child_cpu() - cpu:.1f} s, "
            f"{load.stop()})",
            flush=True,
        )
    return path


class Home:
    """A gateway home on one source: staff, a registered Kepala Dinas key, agreements, tokens."""

    def __init__(self, keep: Path, name: str, source_path: Path, **settings: str) -> None:
        self.keep = keep
        self.root = keep / name
        self.env = {
            **os.environ,
            "PKS_GATEWAY_HOME": str(self.root),
            "PKS_GATEWAY_SOURCE_URL": f"sqlite:///{source_path}",
            "PKS_GATEWAY_LOG_LEVEL": "INFO",
            **{f"PKS_GATEWAY_{key.upper()}": value for key, value in settings.items()},
        }
        self.bench = self.root / "bench"  # our own files: the signer key, the partner identity
        if not (self.bench / "ready").exists():
            self._set_up()

    def cli(self, *args: str) -> str:
        return run([GATEWAY, *args], self.env)

    def _set_up(self) -> None:
        from ageformat import generate_identity

        print(f"setting up the home {self.root} …", flush=True)
        self.cli("init")
        self.cli("staff", "add", "admin", "--role", "admin")
        for name, role in (("kadis", "Kepala Dinas"), ("pf", "pejabat_fungsional")):
            self.cli("staff", "add", name, "--role", role, "--as", "admin")
        self.cli("staff", "add", "adb", "--role", "petugas_adb", "--as", "admin")
        self.bench.mkdir(mode=0o700, exist_ok=True)
        key = self.bench / "kadis"
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kadis", "-f", str(key)],
            check=True,
        )
        self.cli("signer", "add", "kadis", "--key", f"{key}.pub", "--as", "admin")
        secret, recipient = generate_identity()
        (self.bench / "partner.agekey").write_text(f"{secret}\n", encoding="ascii")
        (self.bench / "recipient").write_text(recipient, encoding="ascii")
        (self.bench / "ready").touch()

    def agreement(self, short_id: str) -> None:
        marker = self.bench / f"{short_id}.toml"
        if marker.exists():
            return
        recipient = (self.bench / "recipient").read_text(encoding="ascii")
        draft = self.bench / f"{short_id}.draft.toml"
        draft.write_text(scope(short_id, recipient), encoding="utf-8")
        self.cli("agreement", "import", str(draft), "--as", "pf")
        self.cli("agreement", "sign", short_id, "--key", str(self.bench / "kadis"), "--as", "kadis")
        draft.rename(marker)

    def delivery(self, short_id: str) -> tuple[str, Path]:
        """The agreement's newest published delivery (made now if there is none): id, file."""
        self.agreement(short_id)
        listed = json.loads(self.cli("delivery", "list", "--agreement", short_id, "--json"))
        published = [d for d in listed if d["status"] == "published"]
        if not published:
            print(f"delivering {short_id} …", flush=True)
            started, cpu, load = time.perf_counter(), child_cpu(), LoadSampler()
            made = json.loads(self.cli("delivery", "extract", short_id, "--as", "adb", "--json"))
            print(
                f"  {made['rows']:,} rows in {time.perf_counter() - started:.1f} s "
                f"(cpu {child_cpu() - cpu:.1f} s, {load.stop()})",
                flush=True,
            )
            return str(made["delivery"]), Path(made["file"])
        newest = published[0]["id"]
        files = list((self.root / "deliveries" / short_id).glob(f"{newest}.*.age"))
        return str(newest), files[0]

    def tokens(self, short_id: str, count: int, purpose: str) -> list[str]:
        """`count` tokens of the agreement, made once and kept in DIR/tokens.json (mode 0600)."""
        self.agreement(short_id)
        path = self.keep / "tokens.json"
        kept = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        key = f"{self.root.name}/{short_id}/{purpose}"
        have = kept.get(key, [])
        if len(have) < count:
            print(f"issuing {count - len(have)} token(s) for {short_id} …", flush=True)
        while len(have) < count:
            made = json.loads(self.cli("token", "create", short_id, "--as", "adb", "--json"))
            have.append(made["token"])
        kept[key] = have
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(kept, file, indent=1)
        return list(have[:count])


# --- servers ----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int

    @property
    def pid(self) -> int:
        return self.process.pid

    def processes(self) -> list[int]:
        """The server's processes: gunicorn's master and workers, or the one http.server."""
        return [self.pid, *children_of(self.pid)]

    def workers(self) -> list[int]:
        return children_of(self.pid) or [self.pid]

    def cpu(self) -> float:
        return sum(cpu_of(pid) for pid in self.processes())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def started(
    name: str,
    command: list[str],
    env: dict[str, str],
    log: Path,
    port: int,
    ready: Callable[[int], bool],
) -> Iterator[Server]:
    log.parent.mkdir(exist_ok=True)
    with open(log, "ab") as out:
        out.write(f"\n=== {time.strftime('%F %T')} {' '.join(command)}\n".encode())
        out.flush()
        process = subprocess.Popen(command, env=env, cwd=REPO, stdout=out, stderr=out)
    server = Server(name, process, port)
    try:
        deadline = time.monotonic() + 90
        while not ready(process.pid):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{name} did not start; see {log}")
            time.sleep(0.2)
        yield server
    finally:
        server.stop()


def answers(port: int, path: str, headers: dict[str, str]) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", path, headers=headers)
        status = connection.getresponse().status
        connection.close()
        return status == 200
    except OSError:
        return False


def gunicorn(
    home: Home, token: str, workers: int, threads: int, log_name: str
) -> AbstractContextManager[Server]:
    port = free_port()
    command = [
        GUNICORN,
        "gateway.wsgi:app",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "gthread",
        "--timeout",
        "120",
        "--graceful-timeout",
        "30",
        "--access-logfile",
        "-",
    ]
    auth = {"Authorization": f"Bearer {token}"}
    idle: dict[str, float] = {}

    def ready(master: int) -> bool:
        # Every worker imports the app after the fork: timing starts once each of them is up
        # and has stopped using CPU for a second, and the server answers.
        workers_now = children_of(master)
        if len(workers_now) < workers:
            return False
        used = sum(cpu_of(pid) for pid in workers_now)
        if idle.get("cpu") != used:
            idle.update(cpu=used, since=time.monotonic())
            return False
        return time.monotonic() - idle["since"] >= 1.0 and answers(port, f"{API}/agreements", auth)

    return started("gunicorn", command, home.env, home.keep / "logs" / log_name, port, ready)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


# --- download ---------------------------------------------------------------------------------
@dataclass
class Fetch:
    seconds: float  # curl's time_total
    ttfb: float
    size: int
    server_cpu: float
    client_cpu: float
    load: float
    peak_rss: int = 0

    @property
    def mb_s(self) -> float:
        return self.size / self.seconds / 1e6


class RssSampler:
    def __init__(self, pid: int, every: float = 0.01) -> None:
        self.pid, self.every, self.peak = pid, every, rss_of(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, rss_of(self.pid))

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return max(self.peak, rss_of(self.pid))


def curl(
    server: Server, url: str, headers: list[str], size: int, rss_pid: int | None = None
) -> Fetch:
    command = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download} "]
    command[-1] += "%{time_starttransfer} %{time_total}"
    for header in headers:
        command += ["-H", header]
    sampler = RssSampler(rss_pid) if rss_pid else None
    load, server_before, client_before = load1(), server.cpu(), child_cpu()
    out = subprocess.run([*command, url], check=True, capture_output=True, text=True).stdout
    server_cpu, client_cpu = server.cpu() - server_before, child_cpu() - client_before
    peak = sampler.stop() if sampler else 0
    code, got, ttfb, total = out.split()
    if code not in ("200", "206") or int(got) != size:
        raise SystemExit(f"{server.name}: HTTP {code}, {got} bytes where {size} were expected")
    return Fetch(float(total), float(ttfb), size, server_cpu, client_cpu, load, peak)


def download(args: argparse.Namespace) -> None:
    keep = args.keep
    home = Home(keep, f"home-{args.rows}", source(keep, args.rows))
    delivery_id, path = home.delivery("bench-file")
    size = path.stat().st_size
    (token,) = home.tokens("bench-file", 1, "download")
    print(f"file {path.name}: {size:,} bytes ({size / 1e6:,.0f} MB)", flush=True)
    started_at = time.perf_counter()
    with open(path, "rb") as warm:  # both servers read it from the page cache
        while warm.read(16 * MIB):
            pass
    print(f"read once into the page cache in {time.perf_counter() - started_at:.1f} s")

    static_port = free_port()
    static_cmd = [sys.executable, "-m", "http.server", str(static_port), "--bind", "127.0.0.1"]
    static_cmd += ["--directory", str(path.parent)]
    auth = f"Authorization: Bearer {token}"
    with (
        gunicorn(home, token, 1, args.threads, "gunicorn-download.log") as api,
        started(
            "http.server",
            static_cmd,
            {**os.environ},
            keep / "logs" / "http-server.log",
            static_port,
            lambda _pid: answers(static_port, "/", {}),
        ) as static,
    ):
        (worker,) = api.workers()
        api_url = f"http://127.0.0.1:{api.port}{API}/deliveries/{delivery_id}/file"
        static_url = f"http://127.0.0.1:{static.port}/{path.name}"
        idle = rss_of(worker)
        # The same code path over 64 MiB, once before the rounds and once in each: the reference
        # the 1 GB peak is held to.
        small_range = [auth, f"Range: bytes=0-{64 * MIB - 1}"]
        small = [curl(api, api_url, small_range, 64 * MIB, worker)]
        curl(static, static_url, [], size)  # warm-up, not counted
        rounds: dict[str, list[Fetch]] = {"gunicorn": [], "http.server": []}
        load = LoadSampler()
        for round_ in range(args.rounds):
            order = ["gunicorn", "http.server"] if round_ % 2 == 0 else ["http.server", "gunicorn"]
            for name in order:
                if name == "gunicorn":
                    rounds[name].append(curl(api, api_url, [auth], size, worker))
                else:
                    rounds[name].append(curl(static, static_url, [], size))
            small.append(curl(api, api_url, small_range, 64 * MIB, worker))
            a, b = rounds["gunicorn"][-1], rounds["http.server"][-1]
            print(
                f"round {round_ + 1}: gunicorn {a.mb_s:,.0f} MB/s, http.server {b.mb_s:,.0f} MB/s "
                f"(load {a.load:.2f}/{b.load:.2f})",
                flush=True,
            )
        threads = threads_of(worker)
        load_text = load.stop()

    def med(name: str, attribute: str) -> float:
        return float(statistics.median(getattr(f, attribute) for f in rounds[name]))

    print(
        f"\n{args.rounds} rounds of {size / 1e6:,.0f} MB over loopback, interleaved "
        f"(medians; {load_text} on {os.cpu_count()} cores)"
    )
    print(
        f"{'server':<36} {'MB/s':>7} {'s':>6} {'TTFB':>9} {'server cpu s':>13} "
        f"{'curl cpu s':>11} {'load':>5}"
    )
    for name, label in (
        ("http.server", "baseline: python -m http.server"),
        ("gunicorn", "gunicorn gateway.wsgi:app (1 worker)"),
    ):
        rate, seconds, ttfb = (med(name, a) for a in ("mb_s", "seconds", "ttfb"))
        server, client, load_ = (med(name, a) for a in ("server_cpu", "client_cpu", "load"))
        print(
            f"{label:<36} {rate:>7,.0f} {seconds:>6.2f} {fmt_ms(ttfb):>9} {server:>13.2f}"
            f" {client:>11.2f} {load_:>5.2f}"
        )
    ratio = med("gunicorn", "mb_s") / med("http.server", "mb_s")
    paired = statistics.median(
        a.mb_s / b.mb_s for a, b in zip(rounds["gunicorn"], rounds["http.server"], strict=True)
    )
    verdict = "PASS" if ratio >= TARGET_DOWNLOAD_RATIO else "MISS"
    print(
        f"gunicorn / http.server: {ratio:.2f} of the medians, {paired:.2f} median of the rounds' "
        f"ratios (target >= {TARGET_DOWNLOAD_RATIO}): {verdict}"
    )
    peak_small = max(f.peak_rss for f in small)
    peak_full = max(f.peak_rss for f in rounds["gunicorn"])
    growth = peak_full - peak_small
    verdict = "PASS" if growth <= TARGET_RSS_FLAT else "MISS"
    print(
        f"gunicorn worker RSS (sampled every 10 ms): {idle / MIB:.1f} MiB before any download, "
        f"peak {peak_small / MIB:.1f} MiB over 64 MiB ranges, peak {peak_full / MIB:.1f} MiB over "
        f"the {size / 1e6:,.0f} MB downloads: {growth / MIB:+.2f} MiB for "
        f"{size / (64 * MIB):.0f}x the bytes (target <= {TARGET_RSS_FLAT // MIB} MiB): {verdict}"
    )
    busy = sorted(threads.items(), key=lambda item: -item[1])[:4]
    shown = ", ".join(f"{name} {seconds:.2f}" for name, seconds in busy)
    print(f"gunicorn worker's busiest threads, CPU s over the whole run: {shown}")


# --- 50 partners ------------------------------------------------------------------------------
@dataclass
class Request:
    kind: str
    status: int
    ttfb: float
    seconds: float
    size: int = 0
    error: str = ""


@dataclass
class Partner:
    """One partner's client: lists, then downloads with an interruption and a resume."""

    port: int
    token: str
    rng: random.Random
    records: list[Request] = field(default_factory=list)
    downloads: int = 0
    connection: http.client.HTTPConnection | None = None

    def headers(self, **more: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **more}

    def open(self) -> http.client.HTTPConnection:
        if self.connection is None:
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        return self.connection

    def drop(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def get(self, path: str, **headers: str) -> tuple[http.client.HTTPResponse, float]:
        connection = self.open()
        started = time.perf_counter()
        connection.request("GET", path, headers=self.headers(**headers))
        response = connection.getresponse()
        return response, started

    def json(self, kind: str, path: str) -> Any:
        response, started = self.get(path)
        ttfb = time.perf_counter() - started
        body = response.read()
        record = Request(kind, response.status, ttfb, time.perf_counter() - started, len(body))
        self.records.append(record)
        if response.status != 200:
            record.error = f"{kind}: HTTP {response.status}"
            self.drop()
            return None
        return json.loads(body)

    def body(
        self, kind: str, path: str, digest: Any, limit: int | None, **headers: str
    ) -> tuple[int, str]:
        """Read the file's body (at most `limit` bytes, then drop the connection): bytes, ETag."""
        response, started = self.get(path, **headers)
        record = Request(kind, response.status, time.perf_counter() - started, 0.0)
        self.records.append(record)
        expected = 200 if kind == "file" else 206
        if response.status != expected:
            record.error = f"{kind}: HTTP {response.status}"
            response.read()
            self.drop()
            return 0, ""
        buffer = memoryview(bytearray(MIB))
        got = 0
        while limit is None or got < limit:
            want = MIB if limit is None else min(MIB, limit - got)
            count = response.readinto(buffer[:want])
            if not count:
                break
            digest.update(buffer[:count])
            got += count
        record.seconds, record.size = time.perf_counter() - started, got
        if limit is not None:
            self.drop()  # the interruption: the partner's line goes down mid-file
        return got, response.getheader("ETag", "")

    def cycle(self) -> None:
        agreements = self.json("agreements", f"{API}/agreements")
        listed = self.json("deliveries", f"{API}/deliveries")
        if agreements is None or listed is None or not listed["items"]:
            return
        item = self.rng.choice(listed["items"])
        shown = self.json("delivery", f"{API}/deliveries/{item['id']}")
        if shown is None:
            return
        size = int(shown["file"]["size"])
        digest = hashlib.sha256()
        path = f"{API}/deliveries/{item['id']}/file"
        cut = self.rng.randrange(size // 10, size - size // 10)
        first, etag = self.body("file", path, digest, cut)
        if first != cut:
            self.records[-1].error = self.records[-1].error or f"file: {first} of {cut} bytes"
            return
        rest, _ = self.body("resume", path, digest, None, Range=f"bytes={cut}-", If_Range=etag)
        if first + rest != size or f'"{digest.hexdigest()}"' != etag:
            if not self.records[-1].error:
                self.records[-1].error = "resume: joined file does not match its ETag"
            return
        self.downloads += 1

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.cycle()
            except Exception as failed:  # every failure is an error to count
                self.records.append(Request("exception", 0, 0.0, 0.0, error=repr(failed)))
                self.drop()


def partners(args: argparse.Namespace) -> None:
    keep = args.keep
    home = Home(keep, "home-1000000", source(keep, 1_000_000))
    home.delivery("bench-partner")
    home.agreement("bench-file")
    tokens = home.tokens("bench-partner", args.partners, "partners")
    (job_token,) = home.tokens("bench-file", 1, "jobs")
    worker_log = keep / "logs" / "worker.log"
    log_name = "gunicorn-partners.log"
    server_log = keep / "logs" / log_name
    log_offset = server_log.stat().st_size if server_log.exists() else 0
    with gunicorn(home, tokens[0], args.workers, args.threads, log_name) as api:
        worker_log.parent.mkdir(exist_ok=True)
        with open(worker_log, "ab") as out:
            worker = subprocess.Popen([GATEWAY, "worker"], env=home.env, stdout=out, stderr=out)
        try:
            queued = json.loads(
                home.cli("delivery", "extract", "bench-file", "--queue", "--as", "adb", "--json")
            )
            job_id = queued["id"]
            print(f"job {job_id} queued (bench-file, 1M people, CSV)", flush=True)
            stop = threading.Event()
            rng = random.Random(SEED)
            clients = [Partner(api.port, token, random.Random(rng.random())) for token in tokens]
            pool = [
                threading.Thread(target=c.run, args=(stop,), name=f"partner-{i}")
                for i, c in enumerate(clients)
            ]
            load = LoadSampler()
            cpu_api, cpu_worker, cpu_self = api.cpu(), cpu_of(worker.pid), time.process_time()
            started_at, began = time.perf_counter(), time.time()
            for thread in pool:
                thread.start()
            poller = Partner(api.port, job_token, random.Random(0))
            job: dict[str, Any] = {}
            while True:
                time.sleep(1.0)
                job = poller.json("job", f"{API}/jobs/{job_id}") or job
                elapsed = time.perf_counter() - started_at
                finished = job.get("status") in ("done", "failed")
                if (finished and elapsed >= args.min_seconds) or elapsed > args.max_seconds:
                    break
            stop.set()
            for thread in pool:
                thread.join()
            wall = time.perf_counter() - started_at
            used_api = api.cpu() - cpu_api
            used_worker = cpu_of(worker.pid) - cpu_worker
            used_self = time.process_time() - cpu_self
            load_text = load.stop()
            api_processes = len(api.processes())
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=600)
    with open(server_log, "rb") as log:
        log.seek(log_offset)
        logged = log.read().decode("utf-8", "replace")
    log_errors = [
        line for line in logged.splitlines() if re.search(r"Traceback|\bERROR\b|CRITICAL", line)
    ]

    records = [r for c in clients for r in c.records]
    errors = [r for r in records if r.error]
    kinds = ("agreements", "deliveries", "delivery", "file", "resume")
    print(
        f"\n{args.partners} partners against gunicorn ({args.workers} workers x {args.threads} "
        f"threads, gthread) for {wall:.1f} s while the worker ran the job; {load_text}"
    )
    print(f"{'request':<12} {'count':>7} {'per s':>7} {'TTFB p50':>10} {'TTFB p99':>10} {'MB':>8}")
    for kind in (*kinds, "all"):
        chosen = [r for r in records if (kind == "all" or r.kind == kind) and r.kind in kinds]
        ttfb = [r.ttfb for r in chosen]
        print(
            f"{kind:<12} {len(chosen):>7,} {len(chosen) / wall:>7.1f} "
            f"{fmt_ms(percentile(ttfb, 0.5)):>10} {fmt_ms(percentile(ttfb, 0.99)):>10} "
            f"{sum(r.size for r in chosen) / 1e6:>8,.0f}"
        )
    whole = sum(c.downloads for c in clients)
    moved = sum(r.size for r in records) / 1e6
    print(
        f"{whole} whole downloads (cut, resumed, SHA-256 = ETag); {moved:,.0f} MB in "
        f"{wall:.1f} s = {moved / wall:,.1f} MB/s"
    )
    print(
        f"CPU s: gunicorn {used_api:.1f} ({api_processes} processes), worker {used_worker:.1f}, "
        f"clients {used_self:.1f} (this process); {wall * 2:.0f} core-seconds in all"
    )
    ran = ""
    if job.get("started_at") and job.get("finished_at"):
        job_start = datetime.fromisoformat(job["started_at"]).timestamp()
        job_end = datetime.fromisoformat(job["finished_at"]).timestamp()
        lead = job_start - began
        ran = (
            f", ran {job_end - job_start:.1f} s, started {abs(lead):.1f} s "
            f"{'before' if lead < 0 else 'after'} the partners"
        )
    print(
        f"job {job_id}: {job.get('status')}, {job.get('rows') or 0:,} rows, "
        f"{job.get('attempts')} attempt(s){ran}; cause {job.get('cause')}"
    )
    counted = len(errors) + len(log_errors) + (job.get("status") != "done")
    print(
        f"errors: {len(errors)} client, {len(log_errors)} in the gateway's log "
        f"({server_log}), job {'ok' if job.get('status') == 'done' else 'NOT done'}: "
        f"{'PASS' if counted == 0 else 'MISS'} (target: none)"
    )
    for record in errors[:10]:
        print(f"  {record.kind}: {record.error}")
    for line in log_errors[:10]:
        print(f"  log: {line[:200]}")


# --- another partner's ids against random ones ------------------------------------------------
def victim_ids(home: Home, count: int) -> tuple[list[str], list[str]]:
    """bench-partner's published delivery ids and done job ids, at least `count` jobs: queued
    with `delivery extract --queue` and run by `pks-gateway worker` once, then kept (each job
    leaves a delivery, so there are more delivery ids than jobs)."""
    home.delivery("bench-partner")

    def done_jobs() -> list[dict[str, Any]]:
        listed = json.loads(home.cli("job", "list", "--agreement", "bench-partner", "--json"))
        return [job for job in listed if job["status"] in ("done", "failed")]

    missing = count - len(done_jobs())
    if missing > 0:
        print(f"running {missing} bench-partner delivery job(s) through the worker …", flush=True)
        started_at, load = time.perf_counter(), LoadSampler()
        for _ in range(missing):
            home.cli("delivery", "extract", "bench-partner", "--queue", "--as", "adb", "--json")
        log = home.keep / "logs" / "worker.log"
        log.parent.mkdir(exist_ok=True)
        with open(log, "ab") as out:
            worker = subprocess.Popen([GATEWAY, "worker"], env=home.env, stdout=out, stderr=out)
        try:
            deadline = time.monotonic() + 60 * missing + 60
            while len(done_jobs()) < count and time.monotonic() < deadline:
                time.sleep(2.0)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=600)
        print(f"  done in {time.perf_counter() - started_at:.1f} s ({load.stop()})", flush=True)
    listed = json.loads(home.cli("delivery", "list", "--agreement", "bench-partner", "--json"))
    delivery_ids = [d["id"] for d in listed if d["status"] == "published"]
    return delivery_ids, [job["id"] for job in done_jobs()]


@dataclass
class Asked:
    kind: str  # delivery, file or job
    theirs: bool  # another partner's existing id (else a random one)
    seconds: float
    server_cpu: float
    client_cpu: float
    load: float


def ids(args: argparse.Namespace) -> None:
    keep = args.keep
    home = Home(keep, "home-1000000", source(keep, 1_000_000))
    deliveries, job_ids = victim_ids(home, args.jobs)
    (token,) = home.tokens("bench-file", 1, "ids")  # the other partner: another agreement
    rng = random.Random(SEED)
    day = deliveries[0].rsplit("-", 2)[1]

    def random_id(kind: str) -> str:
        # Of the same shape and agreement as the real ones, so that both reach the one query.
        if kind == "job":
            return f"{rng.getrandbits(128):032x}"
        return f"bench-partner-{day}-{rng.getrandbits(24):06x}"

    paths = {
        "delivery": f"{API}/deliveries/{{}}",
        "file": f"{API}/deliveries/{{}}/file",
        "job": f"{API}/jobs/{{}}",
    }
    theirs = {"delivery": deliveries, "file": deliveries, "job": job_ids}
    asked: list[Asked] = []
    bodies: dict[tuple[str, bool], set[bytes]] = {}
    errors: list[str] = []
    with gunicorn(home, token, args.workers, args.threads, "gunicorn-ids.log") as api:
        workers = api.workers()
        connection = http.client.HTTPConnection("127.0.0.1", api.port, timeout=60)
        headers = {"Authorization": f"Bearer {token}"}

        processes = api.processes()  # read once: scanning /proc per request would load the client

        def server_cpu() -> float:
            return sum(cpu_of(pid) for pid in processes)

        def ask(kind: str, is_theirs: bool, ident: str) -> None:
            load, server = load1(), server_cpu()
            mine, started_at = time.thread_time(), time.perf_counter()
            connection.request("GET", paths[kind].format(ident), headers=headers)
            response = connection.getresponse()
            body = response.read()
            seconds, client = time.perf_counter() - started_at, time.thread_time() - mine
            if response.status != 404:
                errors.append(f"{kind}: HTTP {response.status} (expected 404)")
            bodies.setdefault((kind, is_theirs), set()).add(body)
            asked.append(Asked(kind, is_theirs, seconds, server_cpu() - server, client, load))

        for kind in paths:  # warm-up, not counted
            for _ in range(5):
                ask(kind, True, rng.choice(theirs[kind]))
                ask(kind, False, random_id(kind))
        asked.clear()
        load = LoadSampler()
        for round_ in range(args.rounds):
            for kind in paths:
                pair = [(True, theirs[kind][round_ % len(theirs[kind])]), (False, random_id(kind))]
                rng.shuffle(pair)  # which goes first, at random: no order effect
                for is_theirs, ident in pair:
                    ask(kind, is_theirs, ident)
        connection.close()
        load_text = load.stop()
        threads = {f"{pid}:{name}": cpu for pid in workers for name, cpu in threads_of(pid).items()}

    print(
        f"\n{args.rounds} rounds, each asking for another partner's existing id and a random "
        f"one of each kind in random order ({len(deliveries)} delivery ids, {len(job_ids)} job "
        f"ids of bench-partner, asked with a bench-file token); one client, keep-alive, gunicorn "
        f"{args.workers} workers x {args.threads} threads; {load_text}"
    )
    print(
        f"{'request (all 404)':<30} {'class':<8} {'count':>6} {'p50':>9} {'p99':>9} "
        f"{'mean':>9} {'server cpu':>11} {'client cpu':>11} {'load':>5}"
    )
    for kind in paths:
        chosen = {flag: [a for a in asked if (a.kind, a.theirs) == (kind, flag)] for flag in (1, 0)}
        for flag, label in ((1, "theirs"), (0, "random")):
            rows = chosen[flag]
            times = [a.seconds for a in rows]
            print(
                f"{'GET ' + paths[kind].format('ID')[len(API) :]:<30} {label:<8} {len(rows):>6} "
                f"{fmt_ms(percentile(times, 0.5)):>9} {fmt_ms(percentile(times, 0.99)):>9} "
                f"{fmt_ms(statistics.fmean(times)):>9} "
                f"{fmt_ms(sum(a.server_cpu for a in rows) / len(rows)):>11} "
                f"{fmt_ms(sum(a.client_cpu for a in rows) / len(rows)):>11} "
                f"{statistics.median(a.load for a in rows):>5.2f}"
            )
        mine, other = ([a.seconds for a in chosen[f]] for f in (1, 0))
        paired = [a - b for a, b in zip(mine, other, strict=True)]
        same = bodies[(kind, True)] == bodies[(kind, False)] and len(bodies[(kind, True)]) == 1
        # The median's standard error, from the spread (IQR / 1.349 for sigma, x 1.2533): a
        # difference well inside it is one this many requests cannot tell from noise.
        spread = percentile(paired, 0.75) - percentile(paired, 0.25)
        error = 1.2533 * spread / 1.349 / len(paired) ** 0.5
        print(
            f"  theirs / random: p50 {percentile(mine, 0.5) / percentile(other, 0.5):.3f}, "
            f"p99 {percentile(mine, 0.99) / percentile(other, 0.99):.3f}; paired difference "
            f"median {statistics.median(paired) * 1e6:+.0f} µs ± {error * 1e6:.0f} µs (1 s.e.; "
            f"quartiles {percentile(paired, 0.25) * 1e6:+.0f} / "
            f"{percentile(paired, 0.75) * 1e6:+.0f} µs); "
            f"bodies {'one and the same' if same else 'DIFFER'}"
        )
    busy = sorted(threads.items(), key=lambda item: -item[1])[:4]
    print(
        "gunicorn's busiest threads, CPU s over the whole run: "
        + ", ".join(f"{name} {seconds:.2f}" for name, seconds in busy)
    )
    print(
        "  (server cpu: gunicorn's processes from /proc, in 10 ms ticks, averaged over the "
        "requests of a class; client cpu: this thread)"
    )
    print(f"errors: {len(errors)}" + "".join(f"\n  {e}" for e in errors[:10]))


# --- NIK verification -------------------------------------------------------------------------
def draw_batches(path: Path, batches: int, rng: random.Random) -> list[list[dict[str, Any]]]:
    """`batches` lists of 1,000 claims about people drawn from the source: the stored name and
    birth date, in a quarter of them the name in other case and spacing, in a tenth a wrong date."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        (top,) = connection.execute("SELECT max(rowid) FROM BIODATA_WNI").fetchone()
        rowids = rng.sample(range(1, top + 1), batches * 1000)
        rows = []
        for start in range(0, len(rowids), 900):
            part = rowids[start : start + 900]
            marks = ",".join("?" * len(part))
            rows += connection.execute(
                f"SELECT NIK, NAMA_LGKP, TGL_LHR FROM BIODATA_WNI WHERE rowid IN ({marks})", part
            ).fetchall()
    finally:
        connection.close()
    rng.shuffle(rows)
    claims = []
    for nik, name, born in rows:
        if rng.random() < 0.25:
            name = "  " + "  ".join(name.lower().split()) + " "
        day = date.fromisoformat(str(born)[:10])
        if rng.random() < 0.1:
            day += timedelta(days=1)
        claims.append({"nik": nik, "fields": {"nama_lengkap": name, "tanggal_lahir": str(day)}})
    return [claims[i : i + 1000] for i in range(0, len(claims), 1000)]


def service_lookup(home: Home, short_id: str) -> Callable[[list[str]], int]:
    """The SELECT the NIK verification service runs for a call (its query builder: the scope's
    row filter, the asked columns), on a pooled read-only engine as the API opens it: the rows."""
    from sqlalchemy import create_engine

    from exports.reading.source import Source, open_source, parse_source_url
    from gateway.context import delivery_environment
    from gateway.seals import SealStore
    from gateway.services.agreements import executable_version
    from gateway.services.nik_verification import _lookup
    from gateway.settings import load_settings

    settings = load_settings({}, environ=home.env)
    env = delivery_environment(settings)
    metadata = create_engine(settings.metadata_url)
    with metadata.connect() as connection:
        stored, _ = executable_version(connection, SealStore(env.keys_dir), short_id, date.today())
    metadata.dispose()
    row_filter = stored.parsed_scope(env.catalog, env.region_codes).row_filter
    url = parse_source_url(env.source_url)
    source = Source(url, open_source(url, pooled=True))
    asked = ["nama_lengkap", "tanggal_lahir"]
    return lambda niks: len(_lookup(source, env, row_filter, asked, niks, date.today()))


def in_process(home: Home, bodies: list[bytes], headers: dict[str, str], passes: int) -> None:
    """The calls through the app in this process (Flask's test client, no server): the loop to
    put under a sampling profiler. Times only itself."""
    from gateway.app import create_app
    from gateway.settings import load_settings

    client = create_app(load_settings({}, environ=home.env)).test_client()
    for body in bodies:  # warm-up
        assert (
            client.post(f"{API}/nik-verifications", data=body, headers=headers).status == "200 OK"
        )
    started_at, cpu = time.perf_counter(), time.thread_time()
    for _ in range(passes):
        for body in bodies:
            client.post(f"{API}/nik-verifications", data=body, headers=headers)
    calls = passes * len(bodies)
    print(
        f"{calls} calls in process: {(time.perf_counter() - started_at) / calls * 1000:.1f} ms "
        f"a call, cpu {(time.thread_time() - cpu) / calls * 1000:.1f} ms (load {load1():.2f})"
    )


def nik(args: argparse.Namespace) -> None:
    from sqlalchemy import column, create_engine, select, table

    keep = args.keep
    source_path = source(keep, 1_000_000)
    home = Home(keep, "home-1000000", source_path, nik_verification_rate=NIK_RATE)
    home.agreement("bench-partner")
    (token,) = home.tokens("bench-partner", 1, "nik")
    batches = draw_batches(source_path, args.batches, random.Random(SEED))
    bodies = [json.dumps({"items": batch}).encode() for batch in batches]
    nik_lists = [[claim["nik"] for claim in batch] for batch in batches]
    person = table("BIODATA_WNI", column("NIK"), column("NAMA_LGKP"), column("TGL_LHR"))
    engine = create_engine(f"sqlite:///{source_path}")
    lookup = service_lookup(home, "bench-partner")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if args.in_process:
        in_process(home, bodies, headers, args.in_process)
        return
    sides = ("api", "direct", "service")
    times: dict[str, list[float]] = {side: [] for side in sides}
    cpu = dict.fromkeys(sides, 0.0)  # the API's: gunicorn's processes; the others': this thread
    client_api_cpu = 0.0
    loads: dict[str, list[float]] = {side: [] for side in sides}
    found = matched = 0
    with gunicorn(home, token, args.workers, args.threads, "gunicorn-nik.log") as api:
        connection = http.client.HTTPConnection("127.0.0.1", api.port, timeout=120)

        def post(body: bytes) -> dict[str, Any]:
            connection.request("POST", f"{API}/nik-verifications", body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            if response.status != 200:
                raise SystemExit(f"HTTP {response.status}: {data[:300]!r}")
            answer: dict[str, Any] = json.loads(data)
            return answer

        def select_direct(niks: list[str]) -> int:
            with engine.connect() as db:
                return len(db.execute(select(person).where(person.c.NIK.in_(niks))).all())

        # Warm-up, not counted: every gunicorn worker's first call loads the app's caches.
        for body in bodies[: args.workers * 2]:
            post(body)
        select_direct(nik_lists[0])
        lookup(nik_lists[0])
        load = LoadSampler()
        for round_ in range(args.rounds):
            shift = round_ % len(sides)
            for side in sides[shift:] + sides[:shift]:
                loads[side].append(load1())
                server_before, mine = api.cpu(), time.thread_time()
                for body, niks in zip(bodies, nik_lists, strict=True):
                    started_at = time.perf_counter()
                    if side == "api":
                        answer = post(body)
                    elif side == "direct":
                        select_direct(niks)
                    else:
                        lookup(niks)
                    times[side].append(time.perf_counter() - started_at)
                    if side == "api":
                        found += sum(item["found"] for item in answer["items"])
                        matched += sum(
                            item["found"] and all(item["fields"].values())
                            for item in answer["items"]
                        )
                if side == "api":
                    cpu[side] += api.cpu() - server_before
                    client_api_cpu += time.thread_time() - mine
                else:
                    cpu[side] += time.thread_time() - mine
            last = {side: statistics.median(times[side][-len(bodies) :]) for side in sides}
            print(
                f"round {round_ + 1}: api {last['api'] * 1000:.1f} ms a call, direct "
                f"{last['direct'] * 1000:.1f} ms a SELECT, the service's SELECT "
                f"{last['service'] * 1000:.1f} ms (load {load1():.2f})",
                flush=True,
            )
        connection.close()
        load_text = load.stop()
    calls = len(times["api"])
    rate = {side: calls * 1000 / sum(times[side]) for side in sides}
    print(
        f"\n{calls} calls of 1,000 NIKs each way ({args.batches} batches x {args.rounds} rounds, "
        f"interleaved; one client; {load_text})"
    )
    print(f"{'':<46} {'NIKs/s':>8} {'p50':>9} {'p99':>9} {'cpu s/call':>11} {'load':>5}")
    for side, label in (
        ("direct", "baseline: SELECT … WHERE NIK IN (1,000)"),
        ("service", "  the service's SELECT (filter, granted cols)"),
        ("api", "POST /nik-verifications (1,000 items)"),
    ):
        print(
            f"{label:<46} {rate[side]:>8,.0f} {fmt_ms(percentile(times[side], 0.5)):>9} "
            f"{fmt_ms(percentile(times[side], 0.99)):>9} {cpu[side] / calls:>11.4f} "
            f"{statistics.median(loads[side]):>5.2f}"
        )
    print(
        f"  (cpu: the API's is gunicorn's processes; its client's own {client_api_cpu / calls:.4f}"
        " s a call; the SELECTs' is this thread)"
    )
    ratio = rate["api"] / rate["direct"]
    verdict = "PASS" if ratio >= TARGET_NIK_RATIO else "MISS"
    print(
        f"verifications/s / NIKs/s of the bare SELECT: {ratio:.3f} (target >= {TARGET_NIK_RATIO}):"
        f" {verdict}; / the service's own SELECT: {rate['api'] / rate['service']:.3f}"
    )
    # The same comparison, robust to the shared machine: a few stalls of other load decide the
    # sums of times above, but not the medians, nor the CPU each side spent.
    median = {side: percentile(times[side], 0.5) for side in sides}
    print(
        f"  the same from the medians: {median['direct'] / median['api']:.3f}; from the CPU a "
        f"call (the API's server and client against the SELECT's): "
        f"{cpu['direct'] / (cpu['api'] + client_api_cpu):.3f}"
    )
    print(f"found {found / calls / 10:.1f} %, all fields matching {matched / calls / 10:.1f} %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--keep", type=Path, default=Path("/tmp/pks-bench-api"), help="sources and homes, reused"
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (not download)")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("download", help="a 1 GB file: gunicorn against http.server")
    one.add_argument("--rows", type=int, default=2_900_000, help="people in its source")
    one.add_argument("--rounds", type=int, default=5)
    two = commands.add_parser("partners", help="concurrent partners while a delivery job runs")
    two.add_argument("--partners", type=int, default=50)
    two.add_argument("--min-seconds", type=float, default=20.0)
    two.add_argument("--max-seconds", type=float, default=600.0)
    four = commands.add_parser("ids", help="another partner's ids against random ones: 404 times")
    four.add_argument("--rounds", type=int, default=500)
    four.add_argument("--jobs", type=int, default=5, help="bench-partner jobs to ask for")
    three = commands.add_parser("nik", help="NIK verification against the bare indexed SELECT")
    three.add_argument("--batches", type=int, default=10, help="distinct 1,000-NIK batches")
    three.add_argument("--rounds", type=int, default=5)
    three.add_argument(
        "--in-process",
        type=int,
        metavar="PASSES",
        default=0,
        help="instead: PASSES over the batches through the app in this process, for a profiler",
    )
    args = parser.parse_args()
    args.keep.mkdir(parents=True, exist_ok=True)
    run_command = {"download": download, "partners": partners, "ids": ids, "nik": nik}
    run_command[args.command](args)


if __name__ == "__main__":
    main()
