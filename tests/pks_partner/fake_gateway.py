"""A stand-in for the partner API on 127.0.0.1, for the client's unit tests: one delivery, signed
and logged as the real gateway does it (a manifest signed with SSHSIG, a one-entry audit log with
its checkpoint), served with ETag, Range and If-Range — and knobs to misbehave: cut a download
short, answer with a problem, redirect, rate-limit, serve another file. The data are synthetic.

The real gateway is exercised end to end by test_against_the_gateway.py; this one lets each
failure be produced on purpose and fast.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ageformat import AgeWriter, generate_identity
from pks_partner import merkle
from pks_partner.checkpoint import Checkpoint, note_verifier, sign_checkpoint
from pks_partner.consistency import format_consistency_proof
from pks_partner.manifest import (
    AgreementRef,
    AuditRef,
    DeliveryFile,
    ElementRef,
    Manifest,
    RecipientRef,
    entry_details,
    sign_manifest,
)
from pks_partner.tlog_proof import format_tlog_proof

TOKEN = "pks_fake0001_" + "A" * 43
ORIGIN = "example.org/pks-gateway/audit"
SHORT = "bank-uji-2026"
DELIVERY = f"{SHORT}-20261203-abc123"
ELEMENTS = ("nik", "nama_lengkap", "tanggal_lahir")


def synthetic_table(rows: int) -> pa.Table:
    """Columns named like a delivery's, holding made-up values (no person's data)."""
    return pa.table(
        {
            "nik": [hashlib.sha256(b"%d" % i).hexdigest()[:32] for i in range(rows)],
            "nama_lengkap": [f"ORANG UJI {i}" for i in range(rows)],
            "tanggal_lahir": [str(1950 + i % 50) for i in range(rows)],
        }
    )


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


@dataclass
class Delivery:
    """One delivery's three files as the gateway publishes them, and the keys behind them."""

    manifest_key: Ed25519PrivateKey
    audit_key: Ed25519PrivateKey
    identity: str  # the recipient's AGE-SECRET-KEY-1…
    plaintext: bytes
    encrypted: bytes
    manifest: Manifest
    manifest_bytes: bytes
    signature: str

    @property
    def etag(self) -> str:
        return f'"{self.manifest.file.sha256}"'

    @property
    def verifier_key(self) -> str:
        return note_verifier(ORIGIN, self.audit_key.public_key()).key_string


def make_delivery(
    plaintext: bytes | None = None,
    *,
    delivery_id: str = DELIVERY,
    fmt: str = "parquet",
    manifest_key: Ed25519PrivateKey | None = None,
    claimed_plaintext_sha256: str | None = None,
) -> Delivery:
    """A delivery of `plaintext` (default: a synthetic Parquet table); a manifest that claims
    another plaintext hash, consistently with its audit entry, when asked."""
    plaintext = parquet_bytes(synthetic_table(300)) if plaintext is None else plaintext
    identity, recipient = generate_identity()
    sink = io.BytesIO()
    with AgeWriter(sink, [recipient]) as writer:
        writer.write(plaintext)
    encrypted = sink.getvalue()
    file = DeliveryFile(
        name=f"{delivery_id}.{fmt}.age",
        format=fmt,
        size=len(encrypted),
        sha256=hashlib.sha256(encrypted).hexdigest(),
        plaintext_sha256=claimed_plaintext_sha256 or hashlib.sha256(plaintext).hexdigest(),
        plaintext_size=len(plaintext),
    )
    agreement = AgreementRef("470/1/UJI/2026", SHORT, 1, "ab" * 32)
    leaf = rfc8785.dumps(
        {
            "action": "delivery.extract",
            "actor_id": "adb",
            "actor_role": "petugas_adb",
            "details": entry_details(file, 300, agreement),
            "object_id": delivery_id,
            "object_type": "delivery",
            "outcome": "ok",
            "seq": 0,
            "time": "2026-12-03T01:00:00.000000Z",
            "v": 1,
        }
    )
    audit_key = Ed25519PrivateKey.generate()
    note = sign_checkpoint(Checkpoint(ORIGIN, 1, merkle.leaf_hash(leaf)), audit_key)
    manifest = Manifest(
        delivery_id=delivery_id,
        agreement=agreement,
        recipients=(RecipientRef.for_key("Divisi Uji", recipient),),
        elements=tuple(ElementRef(key, key, {"mask": "keep"}) for key in ELEMENTS),
        row_filter={"regions": ["64.01"]},
        rows=300,
        reidentification={},
        file=file,
        created_at=datetime(2026, 12, 3, 1, tzinfo=UTC),
        audit=AuditRef(0, leaf, format_tlog_proof(0, [], note)),
        software_version="0.1.0",
    )
    key = manifest_key or Ed25519PrivateKey.generate()
    data = manifest.canonical_bytes()
    return Delivery(
        key, audit_key, identity, plaintext, encrypted, manifest, data, sign_manifest(data, key)
    )


@dataclass
class Knobs:
    """How the fake misbehaves; every request it saw is in `seen` (path, headers)."""

    cut_after: int | None = None  # close a file response after this many body bytes, once
    redirect_to: str | None = None
    rate_limited: int = 0  # answer this many NIK calls 429 first
    other_etag: bool = False  # serve the file under an ETag the manifest does not name
    corrupt: bool = False  # flip a byte of the file as served
    forked: bool = False  # the latest checkpoint's log does not hold the delivery's entry
    seen: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    nik_batches: list[int] = field(default_factory=list)


class FakeGateway:
    """The partner API of one token and one delivery, served on a loopback port."""

    def __init__(self, delivery: Delivery, knobs: Knobs | None = None) -> None:
        self.delivery = delivery
        self.knobs = knobs or Knobs()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> FakeGateway:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def files_seen(self) -> list[dict[str, str]]:
        return [headers for _, path, headers in self.knobs.seen if path.endswith("/file")]


def _handler(gateway: FakeGateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet: the test output stays clean
            pass

        def do_GET(self) -> None:
            self._answer("GET")

        def do_POST(self) -> None:
            self._answer("POST")

        def _answer(self, method: str) -> None:
            knobs, delivery = gateway.knobs, gateway.delivery
            knobs.seen.append((method, self.path, dict(self.headers.items())))
            if knobs.redirect_to is not None:
                self.send_response(302)
                self.send_header("Location", knobs.redirect_to)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._problem(401, "Not authenticated", "a valid partner token is needed")
                return
            path = self.path.split("?")[0]
            base = f"/api/v1/deliveries/{delivery.manifest.delivery_id}"
            if method == "POST" and path == "/api/v1/nik-verifications":
                self._nik()
            elif path == "/api/v1/agreements":
                self._json({"items": [_agreement()]})
            elif path == "/api/v1/deliveries":
                self._json(_listing(delivery, self.path))
            elif path == f"{base}/manifest":
                self._bytes(200, delivery.manifest_bytes, "application/json")
            elif path == f"{base}/manifest.sig":
                self._bytes(200, delivery.signature.encode(), "text/plain")
            elif path == f"{base}/file":
                self._file()
            elif path == "/api/v1/audit/checkpoint":
                self._bytes(200, _later_log(delivery, knobs.forked)[0].encode(), "text/plain")
            elif path == "/api/v1/audit/consistency":
                wanted = re.search(r"[?&]from=(\d+)&to=(\d+)", self.path)
                assert wanted is not None and wanted.groups() == ("1", "3"), self.path
                proof = _later_log(delivery, knobs.forked)[1]
                self._bytes(200, proof.encode(), "text/plain")
            else:
                self._problem(404, "Not found", "no such delivery for this token")

        def _file(self) -> None:
            knobs, delivery = gateway.knobs, gateway.delivery
            body = bytearray(delivery.encrypted)
            if knobs.corrupt:
                body[len(body) // 2] ^= 1
            etag = '"' + "0" * 64 + '"' if knobs.other_etag else delivery.etag
            wanted = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
            same = self.headers.get("If-Range", etag) == etag
            start = int(wanted.group(1)) if wanted and same else 0
            if start >= len(body):
                self._problem(416, "Range Not Satisfiable", "the range is not satisfiable")
                return
            self.send_response(206 if start else 200)
            self.send_header("ETag", etag)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body) - start))
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            self.end_headers()
            part = bytes(body[start:])
            if knobs.cut_after is not None:
                part, knobs.cut_after = part[: knobs.cut_after], None
                self.close_connection = True
            self.wfile.write(part)

        def _nik(self) -> None:
            knobs = gateway.knobs
            if knobs.rate_limited:
                knobs.rate_limited -= 1
                self._problem(429, "Too Many Requests", "slow down", {"Retry-After": "0"})
                return
            length = int(self.headers.get("Content-Length", "0"))
            items = json.loads(self.rfile.read(length))["items"]
            knobs.nik_batches.append(len(items))
            # A NIK "is found" when its last digit is even; a field matches when it is not "X".
            answers = [
                {
                    "index": i,
                    "found": int(item["nik"][-1]) % 2 == 0,
                    "fields": {k: v != "X" for k, v in item["fields"].items()},
                }
                for i, item in reversed(list(enumerate(items)))  # order is the index's job
            ]
            self._json({"items": answers})

        def _json(self, document: object) -> None:
            self._bytes(200, json.dumps(document).encode(), "application/json")

        def _problem(
            self, status: int, title: str, detail: str, headers: dict[str, str] | None = None
        ) -> None:
            body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
            self._bytes(status, json.dumps(body).encode(), "application/problem+json", headers)

        def _bytes(
            self, status: int, body: bytes, kind: str, headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

    return Handler


def _later_log(delivery: Delivery, forked: bool) -> tuple[str, str]:
    """The log three entries long, its checkpoint signed by the delivery's audit key, and the
    consistency proof from the manifest's one-entry tree; `forked`: the first entry replaced."""
    first = b"another first entry" if forked else delivery.manifest.audit.leaf
    hashes = [merkle.leaf_hash(leaf) for leaf in (first, b"second", b"third")]
    note = sign_checkpoint(Checkpoint(ORIGIN, 3, merkle.root_of(hashes)), delivery.audit_key)
    proof = merkle.consistency_proof(hashes, 1, 3)
    return note, format_consistency_proof(1, 3, proof)


def _agreement() -> dict[str, Any]:
    return {
        "agreement": SHORT,
        "number": "470/1/UJI/2026",
        "institution": "Lembaga Uji",
        "version": 1,
        "status": "active",
        "valid_from": "2026-01-01",
        "valid_until": "2026-12-31",
        "elements": [{"key": key, "label": key, "mask": "keep", "params": {}} for key in ELEMENTS],
        "delivery": {
            "format": "parquet",
            "schedule": "monthly",
            "quota": 1,
            "quota_period": "month",
            "max_rows": 1000000,
        },
        "quota": {"quota": 1, "period": "month", "since": "2026-12-01", "used": 0, "left": 1},
    }


def _listing(delivery: Delivery, path: str) -> dict[str, Any]:
    """250 deliveries, the fake's own first: enough for three pages of 100."""
    found = re.search(r"[?&]page=(\d+)", path)
    page = int(found.group(1)) if found else 1
    ids = [delivery.manifest.delivery_id] + [f"{SHORT}-2026110{i % 9}-{i:06x}" for i in range(249)]
    chunk = ids[(page - 1) * 100 : page * 100]
    items = [
        {
            "id": ident,
            "agreement": SHORT,
            "version": 1,
            "format": "parquet",
            "started_at": "2026-12-03T09:00:00+08:00",
            "published_at": "2026-12-03T09:00:05+08:00",
        }
        for ident in chunk
    ]
    return {"items": items, "page": page, "per_page": 100, "total": len(ids)}
