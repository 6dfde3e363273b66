"""Downloading a delivery through the API: the bytes are the manifest's (SHA-256, size), streamed
in chunks; ETag and Repr-Digest come from the signed manifest; a download resumes with Range and
If-Range and comes out whole; ranges beyond the end and multi-range requests get 416; the manifest
and its signature verify as a partner checks them; every download is in the audit log with the
bytes served, a broken-off one as incomplete."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.api import files
from gateway.keys import load_signing_key
from pks_partner.verify import verify_delivery
from tests.api.partners import Partner, manifest_of, problem_of


@pytest.fixture(scope="module")
def delivery(served: Partner) -> Iterator[tuple[str, dict[str, object]]]:
    delivery_id = served.delivery_ids()[0]
    yield delivery_id, manifest_of(served.office, delivery_id)


def downloads(partner: Partner, delivery_id: str) -> list[dict[str, object]]:
    return [
        e
        for e in partner.office.audit()
        if e["action"] == "delivery.download" and e["object_id"] == delivery_id
    ]


def test_the_whole_file_is_the_manifests_and_its_download_is_recorded(
    served: Partner, delivery: tuple[str, dict[str, object]]
) -> None:
    delivery_id, manifest = delivery
    described = manifest["file"]
    assert isinstance(described, dict)
    before = len(downloads(served, delivery_id))
    response = served.get(f"deliveries/{delivery_id}/file")
    assert response.status_code == 200
    assert hashlib.sha256(response.data).hexdigest() == described["sha256"]
    assert len(response.data) == described["size"] == int(response.headers["Content-Length"])
    assert response.headers["ETag"] == f'"{described["sha256"]}"'
    digest = base64.b64encode(bytes.fromhex(str(described["sha256"]))).decode()
    assert response.headers["Repr-Digest"] == f"sha-256=:{digest}:"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert described["name"] in response.headers["Content-Disposition"]
    (entry,) = downloads(served, delivery_id)[before:]
    assert entry["actor_role"] == "partner" and entry["actor_id"] == served.prefix
    assert entry["outcome"] == "ok"
    assert entry["details"]["bytes"] == described["size"]
    assert entry["details"]["status"] == 200 and entry["details"]["range"] is None


def test_a_download_resumes_with_range_and_if_range_and_ends_with_the_same_hash(
    served: Partner, delivery: tuple[str, dict[str, object]]
) -> None:
    delivery_id, manifest = delivery
    described = manifest["file"]
    assert isinstance(described, dict)
    size, etag = int(str(described["size"])), f'"{described["sha256"]}"'
    url = f"deliveries/{delivery_id}/file"
    first = served.get(url, Range="bytes=0-999")
    assert first.status_code == 206 and len(first.data) == 1000
    assert first.headers["Content-Range"] == f"bytes 0-999/{size}"
    assert first.headers["Repr-Digest"] == served.get(url).headers["Repr-Digest"]
    rest = served.get(url, Range="bytes=1000-", If_Range=etag)
    assert rest.status_code == 206
    assert rest.headers["Content-Range"] == f"bytes 1000-{size - 1}/{size}"
    assert int(rest.headers["Content-Length"]) == size - 1000
    assert hashlib.sha256(first.data + rest.data).hexdigest() == described["sha256"]
    # A copy of another file (another ETag, or a date) starts again from the first byte.
    for validator in ('"0000"', "Wed, 21 Oct 2026 07:28:00 GMT", f"W/{etag}"):
        again = served.get(url, Range="bytes=1000-", If_Range=validator)
        assert again.status_code == 200 and len(again.data) == size
    suffix = served.get(url, Range="bytes=-100")
    assert suffix.status_code == 206 and suffix.data == rest.data[-100:]
    clipped = served.get(url, Range=f"bytes={size - 10}-{size + 500}")
    assert clipped.status_code == 206 and len(clipped.data) == 10
    unknown_unit = served.get(url, Range="items=0-1")
    assert unknown_unit.status_code == 200 and len(unknown_unit.data) == size
    ranges = [e["details"]["range"] for e in downloads(served, delivery_id)]
    assert "0-999" in ranges and f"1000-{size - 1}" in ranges


@pytest.mark.parametrize(
    "header",
    ["bytes={size}-", "bytes={size}-{size}", "bytes=0-1,5-9", "bytes=0-1, 3-4", "bytes=-0",
     "bytes=9-2", "bytes=abc", "bytes=", "bytes=--1", "bytes=1-2-3", "bytes=99999999999999999999-"],
)  # fmt: skip
def test_unsatisfiable_and_multiple_ranges_get_416(
    served: Partner, delivery: tuple[str, dict[str, object]], header: str
) -> None:
    delivery_id, manifest = delivery
    described = manifest["file"]
    assert isinstance(described, dict)
    size = described["size"]
    response = served.get(f"deliveries/{delivery_id}/file", Range=header.format(size=size))
    body = problem_of(response)
    assert body["status"] == 416 and body["type"] == "about:blank"
    assert body["title"] == "Range Not Satisfiable"
    assert response.headers["Content-Range"] == f"bytes */{size}"


def test_a_matching_if_none_match_gets_304_and_head_serves_nothing_unrecorded(
    served: Partner, delivery: tuple[str, dict[str, object]]
) -> None:
    delivery_id, manifest = delivery
    described = manifest["file"]
    assert isinstance(described, dict)
    url = f"deliveries/{delivery_id}/file"
    before = len(downloads(served, delivery_id))
    unchanged = served.get(url, If_None_Match=f'"{described["sha256"]}"')
    assert unchanged.status_code == 304 and unchanged.data == b""
    head = served.get(url, method="HEAD")
    assert head.status_code == 200 and head.data == b""
    assert head.headers["Content-Length"] == str(described["size"])
    assert len(downloads(served, delivery_id)) == before


def test_the_file_is_streamed_in_chunks_and_a_broken_off_download_is_recorded_as_such(
    served: Partner, delivery: tuple[str, dict[str, object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    delivery_id, manifest = delivery
    described = manifest["file"]
    assert isinstance(described, dict)
    monkeypatch.setattr(files, "CHUNK", 4096)
    response = served.client.get(
        f"/api/v1/deliveries/{delivery_id}/file",
        headers={"Authorization": f"Bearer {served.token}"},
    )
    stream = iter(response.response)
    first, second = next(stream), next(stream)
    assert len(first) == len(second) == 4096  # read a chunk at a time, never the whole file
    response.close()  # the partner goes away after two chunks
    entry = downloads(served, delivery_id)[-1]
    assert entry["outcome"] == "incomplete"
    assert entry["details"]["bytes"] == 8192 and entry["details"]["expected"] == described["size"]


def test_the_manifest_and_its_signature_verify_as_a_partner_checks_them(
    served: Partner, delivery: tuple[str, dict[str, object]]
) -> None:
    delivery_id, manifest = delivery
    keys = served.office.home / "keys"
    manifest_bytes = served.get(f"deliveries/{delivery_id}/manifest")
    signature = served.get(f"deliveries/{delivery_id}/manifest.sig")
    assert manifest_bytes.mimetype == "application/json"
    assert signature.headers["Content-Type"] == "text/plain; charset=us-ascii"
    data = served.office.root / "downloaded.age"
    data.write_bytes(served.get(f"deliveries/{delivery_id}/file").data)
    checked = verify_delivery(
        manifest_bytes.data,
        signature.get_data(as_text=True),
        manifest_key=load_signing_key(keys, "manifest").public_key(),
        audit_key=load_signing_key(keys, "audit").public_key(),
        audit_origin="paserkab.go.id/pks-gateway/audit",
        data_file=data,
    )
    assert checked.ok, checked.failed
    shown = served.get(f"deliveries/{delivery_id}").get_json()
    assert shown["file"]["sha256"] == manifest["file"]["sha256"]  # type: ignore[index]
    assert shown["rows"] == manifest["rows"]
    assert shown["links"]["file"].endswith(f"/api/v1/deliveries/{delivery_id}/file")


def test_deliveries_are_listed_a_page_at_a_time(served: Partner) -> None:
    first = served.get("deliveries?per_page=2").get_json()
    assert first["total"] == 3 and len(first["items"]) == 2
    assert first["links"]["prev"] is None and "page=2" in first["links"]["next"]
    second = served.get("deliveries?per_page=2&page=2").get_json()
    assert len(second["items"]) == 1 and second["links"]["next"] is None
    ids = [item["id"] for item in first["items"] + second["items"]]
    assert len(set(ids)) == 3
    started = [item["started_at"] for item in first["items"] + second["items"]]
    assert started == sorted(started, reverse=True)
    # Times as every read model writes them: what `delivery list --json` says, +08:00.
    listed = {d["id"]: d for d in json.loads(served.office("delivery", "list", "--json").stdout)}
    for item in first["items"] + second["items"]:
        office = listed[item["id"]]
        assert (item["started_at"], item["published_at"]) == (
            office["started_at"],
            office["finished_at"],
        )
        assert item["started_at"].endswith("+08:00")
    beyond = served.get("deliveries?page=9").get_json()
    assert beyond["items"] == [] and beyond["total"] == 3
    for query in ("page=0", "per_page=101", "page=abc", "per_page=-1", "page=%C2%B2"):
        body = problem_of(served.get(f"deliveries?{query}"))
        assert body["status"] == 400 and body["code"] == "usage"


def test_files_that_are_not_as_published_are_not_served(partner: Partner) -> None:
    """The gateway vouches for what it serves: a data file of another size than its manifest
    states, or a manifest whose signature no longer verifies, is not served (503, recorded, the
    office's log names it) rather than handed out."""
    (delivery_id,) = partner.delivery_ids()
    directory = next(Path(partner.office.home, "deliveries").glob("*/"))
    data = next(directory.glob(f"{delivery_id}.*.age"))
    whole = data.read_bytes()
    data.write_bytes(whole[:-1])
    body = problem_of(partner.get(f"deliveries/{delivery_id}/file"))
    assert body["status"] == 503 and body["code"] == "unavailable"
    assert "not as published" in partner.refusals()[-1]["details"]["rule"]
    data.write_bytes(whole)
    assert partner.get(f"deliveries/{delivery_id}/file").status_code == 200
    manifest = directory / f"{delivery_id}.manifest.json"
    manifest.write_bytes(manifest.read_bytes().replace(b'"rows":', b'"rows" :', 1))
    for suffix in ("", "/file", "/manifest"):
        assert problem_of(partner.get(f"deliveries/{delivery_id}{suffix}"))["status"] == 503
    assert "does not verify" in partner.refusals()[-1]["details"]["rule"]
