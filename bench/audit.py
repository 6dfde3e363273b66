"""Benchmark: append a busy day's audit entries (compressed) to SQLite, then verify the whole log.

    .venv/bin/python bench/audit.py [--entries 1000000] [--batch 100] [--checkpoints 10]

Appending goes through `audit.log.append`, one call per entry, exactly as the other packages call
it; entries are committed `--batch` at a time (one transaction per batch, like a delivery or a
burst of workflow steps writing several entries in one use case), and a signed checkpoint is
made `--checkpoints` times along the way and once at the end. Verification is `verify_log` on the
finished file: every leaf re-hashed and re-read against its columns, the tree recomputed, every
checkpoint checked.

Baseline from the same run: hashing the same leaf bytes with SHA-256 in a bare Python loop, so
the ratio shows what the tree, the column checks and the database cost on top of the hashing.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import create_engine, event, select

REPO = Path(__file__).resolve().parents[1]
# Run as a script, this file is "bench/audit.py": put the repository first so that `audit` is the
# package, not this file.
sys.path.insert(0, str(REPO))

from audit import log, tree  # noqa: E402
from audit.schema import audit_entries, metadata  # noqa: E402
from audit.verify import verify_log  # noqa: E402
from pks_partner.checkpoint import Checkpoint  # noqa: E402

ORIGIN = "paserkab.go.id/pks-gateway/audit"
ACTIONS = [
    ("officer", "agreement", "agreement.transition", "ok"),
    ("officer", "agreement", "scope.version", "ok"),
    ("system", "delivery", "delivery.started", "ok"),
    ("system", "delivery", "delivery.published", "ok"),
    ("partner", "delivery", "delivery.download", "ok"),
    ("partner", "token", "token.refused", "refused"),
]


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # The same settings gateway.db applies to the metadata database.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=100, help="entries per transaction")
    parser.add_argument("--checkpoints", type=int, default=10, help="checkpoints along the way")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'metadata.sqlite'}"
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        metadata.create_all(engine)
        key = Ed25519PrivateKey.generate()
        start_day = datetime(2025, 3, 3, 8, tzinfo=UTC)
        step = timedelta(seconds=86_400 / args.entries)
        checkpoint_every = max(1, args.entries // max(1, args.checkpoints))

        appended, checkpoint_seconds, started = 0, 0.0, time.perf_counter()
        while appended < args.entries:
            with engine.begin() as connection:
                for _ in range(min(args.batch, args.entries - appended)):
                    role, object_type, action, outcome = ACTIONS[appended % len(ACTIONS)]
                    log.append(
                        connection,
                        actor_role=role,
                        actor_id=f"user-{appended % 97}",
                        action=action,
                        object_type=object_type,
                        object_id=f"PKS-2025-{appended % 1000:03d}",
                        outcome=outcome,
                        details={"rows": appended % 50_000, "fields": ["nik_hash", "kecamatan"]},
                        now=start_day + appended * step,
                    )
                    appended += 1
                if appended % checkpoint_every == 0 or appended == args.entries:
                    t0 = time.perf_counter()
                    tree.create_checkpoint(connection, key, ORIGIN, datetime.now(UTC))
                    checkpoint_seconds += time.perf_counter() - t0
        append_seconds = time.perf_counter() - started - checkpoint_seconds
        size_mb = (Path(tmp) / "metadata.sqlite").stat().st_size / 1e6

        with engine.connect() as connection:
            t0 = time.perf_counter()
            leaves = [bytes(row[0]) for row in connection.execute(select(audit_entries.c.leaf))]
            read_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        sha256 = hashlib.sha256
        for leaf in leaves:
            sha256(b"\x00" + leaf).digest()
        hash_seconds = time.perf_counter() - t0
        del leaves

        with engine.connect() as connection:
            t0 = time.perf_counter()
            report = verify_log(connection, key.public_key(), ORIGIN)
            verify_seconds = time.perf_counter() - t0
            t0 = time.perf_counter()
            proof = tree.inclusion_proof(connection, args.entries // 3, args.entries)
            proof_seconds = time.perf_counter() - t0
            # What a delivery start checks once (and its checkpoint again): the log still
            # extends the checkpoint kept outside the database (gateway/checkpoints.py).
            kept = Checkpoint(ORIGIN, args.entries, report.root_hash)
            t0 = time.perf_counter()
            intact = tree.extends(connection, kept)
            extends_seconds = time.perf_counter() - t0
        assert intact
        assert report.ok, report.problems[:3]
        assert proof.verify(report.root_hash)

    n = args.entries
    print(f"entries                    {n:>12,}   (batch {args.batch} per transaction)")
    print(f"database size              {size_mb:>12.1f} MB")
    print(f"append                     {append_seconds:>12.1f} s   {n / append_seconds:>10,.0f} /s")
    print(
        f"checkpoints ({report.checkpoints_checked:>3})          {checkpoint_seconds:>12.1f} s"
        "   (each re-reads every stored leaf hash)"
    )
    print(f"verify whole log           {verify_seconds:>12.1f} s   {n / verify_seconds:>10,.0f} /s")
    print(f"baseline: read leaves      {read_seconds:>12.1f} s   {n / read_seconds:>10,.0f} /s")
    print(f"baseline: SHA-256 loop     {hash_seconds:>12.2f} s   {n / hash_seconds:>10,.0f} /s")
    print(f"verify / SHA-256 loop      {verify_seconds / hash_seconds:>12.1f} x")
    print(f"inclusion proof (1 entry)  {proof_seconds:>12.2f} s")
    print(f"log extends kept checkpoint {extends_seconds:>11.2f} s   (once per delivery start)")


if __name__ == "__main__":
    main()
