"""Issue 11's Must-show, end to end: `pks-gateway serve` (with its job worker) on 127.0.0.1 over a
home with the demo agreement signed (granting NIK verification too), one delivery published and a
partner token; the partner client against it. The partner gets a DataFrame whose columns are
exactly the agreement's granted elements; a download cut off mid-way resumes and ends with the
signed hashes; the stock `age` tool decrypts what the client downloaded; `pks-partner` does the
same from the command line, and verifies a CSV of NIKs longer than one call takes.

No population value is printed: the assertions compare names, counts and hashes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pks_partner import load_as_pandas
from pks_partner.client import Client
from pks_partner.errors import TransportError
from tests.office import Office, current_example
from tests.services import require_tool

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Served:
    office: Office
    url: str
    token: str = field(repr=False)
    manifest_key: str  # the OpenSSH line the office hands partners
    audit_key: str  # the note verifier key

    @property
    def identity(self) -> Path:
        return self.office.root / "partner.key"

    def client(self, url: str | None = None) -> Client:
        return Client(
            url or self.url,
            self.token,
            identity=self.identity,
            manifest_key=self.manifest_key,
            audit_key=self.audit_key,
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    office = Office(tmp_path_factory.mktemp("gateway"), {})
    office.agree(
        current_example().replace('"bulk_delivery"]', '"bulk_delivery", "nik_verification"]')
    )
    assert office.extract().exit_code == 0
    short_id = re.search(r'short_id = "([^"]+)"', current_example()).group(1)  # type: ignore[union-attr]
    token = office("token", "create", short_id, "--as", "adb").stdout.strip()
    manifest_key = office("keys", "public", "manifest").stdout.strip()
    audit_key = office("keys", "public", "audit", "--verifier-key").stdout.strip()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve", "--port", str(port)],
        env={**os.environ, "PKS_GATEWAY_HOME": str(office.home)},
        stdout=subprocess.DEVNULL,
        stderr=(office.root / "serve.log").open("wb"),  # the office's log, for a failure's cause
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:  # noqa: S310
                    assert json.loads(answer.read())["status"] == "ok"
                    break
            except OSError:
                assert time.monotonic() < deadline, "the gateway did not answer within 30 s"
                time.sleep(0.2)
        yield Served(office, url, token, manifest_key, audit_key)
    finally:
        server.terminate()
        server.wait(timeout=30)
        office.engine.dispose()


def granted_elements() -> set[str]:
    """The element keys the demo agreement's signed scope grants."""
    return set(tomllib.loads(current_example())["elements"])


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_partner_gets_a_dataframe_of_exactly_the_granted_elements(served: Served) -> None:
    client = served.client()
    [agreement] = client.agreements()
    [delivery] = client.deliveries()
    signed = client.delivery(delivery.id)  # as its signed manifest states it
    columns = [element["key"] for element in signed["elements"]]
    assert set(agreement.elements) == granted_elements() == set(columns)
    frame = client.load_as_pandas()
    assert list(frame.columns) == columns  # in the manifest's order, nothing more, nothing less
    assert len(frame) == signed["rows"] > 0
    # The one-call form, trusting the manifest key on first use instead of a configured one.
    again = load_as_pandas(served.url, served.token, served.identity)
    assert list(again.columns) == columns and len(again) == len(frame)


class CuttingProxy:
    """A TCP relay to the gateway that cuts the first response longer than `cut_after` bytes
    (headers included) at that length, as a dropped connection would, and relays the rest."""

    def __init__(self, upstream: int, cut_after: int) -> None:
        self.upstream, self.cut_after, self.cuts = upstream, cut_after, 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                partner, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(partner,), daemon=True).start()

    def _relay(self, partner: socket.socket) -> None:
        with partner, socket.create_connection(("127.0.0.1", self.upstream)) as gateway:
            threading.Thread(target=self._pump, args=(partner, gateway), daemon=True).start()
            sent = 0
            while chunk := gateway.recv(4096):
                if self.cuts == 0 and sent + len(chunk) > self.cut_after:
                    partner.sendall(chunk[: self.cut_after - sent])
                    self.cuts += 1
                    partner.shutdown(socket.SHUT_RDWR)  # the FIN a dropped line ends with
                    gateway.shutdown(socket.SHUT_RDWR)
                    return
                partner.sendall(chunk)
                sent += len(chunk)

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while chunk := source.recv(4096):
                target.sendall(chunk)
        except OSError:
            pass


def test_an_interrupted_download_resumes_and_ends_with_the_same_hashes(
    served: Served, tmp_path: Path
) -> None:
    straight = served.client().download(served.client().newest().id, tmp_path / "straight")
    size = straight.manifest.file.size
    proxy = CuttingProxy(int(served.url.rsplit(":", 1)[1]), cut_after=size // 2)
    try:
        client = served.client(proxy.url)
        with pytest.raises(TransportError, match=r"stopped at \d+ of \d+ bytes.*run it again"):
            client.download(straight.delivery_id, tmp_path / "cut")
        assert proxy.cuts == 1
        partial = tmp_path / "cut" / f"{straight.manifest.file.name}.partial"
        had = partial.stat().st_size
        assert 0 < had < size
        assert not (tmp_path / "cut" / straight.manifest.file.name).exists()
        resumed = client.download(straight.delivery_id, tmp_path / "cut")
    finally:
        proxy.close()
    assert (resumed.resumed_from, resumed.fetched) == (had, size - had)
    assert resumed.check.ok and not partial.exists()
    assert sha256(resumed.encrypted) == sha256(straight.encrypted) == straight.manifest.file.sha256
    assert resumed.data is not None and straight.data is not None
    assert sha256(resumed.data) == sha256(straight.data) == straight.manifest.file.plaintext_sha256
    names = [check.name for check in resumed.check.checks]
    assert names == [
        "signature", "canonical", "version", "format", "checkpoint", "inclusion", "entry",
        "data_file", "plaintext",
    ]  # fmt: skip


def test_the_stock_age_tool_decrypts_what_the_client_downloaded(
    served: Served, tmp_path: Path
) -> None:
    age = require_tool("age", "age")
    client = Client(served.url, served.token, manifest_key=served.manifest_key)  # no identity
    done = client.download(client.newest().id, tmp_path)
    assert done.data is None
    plain = tmp_path / "by-age.parquet"
    subprocess.run(
        [age, "-d", "-i", str(served.identity), "-o", str(plain), str(done.encrypted)],
        check=True,
        capture_output=True,
    )
    assert sha256(plain) == done.manifest.file.plaintext_sha256


def test_the_command_line_downloads_and_verifies(served: Served, tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("pks-partner")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "PKS_PARTNER_URL": served.url,
        "PKS_PARTNER_TOKEN": served.token,
        "PKS_PARTNER_IDENTITY": str(served.identity),
    }

    def partner(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(script), *args], capture_output=True, text=True, env=env, check=False
        )

    listed = partner("deliveries", "--json")
    assert listed.returncode == 0, listed.stderr
    [delivery] = json.loads(listed.stdout)
    done = partner("download", delivery["id"], "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "ok   plaintext:" in done.stdout and "(first use," in done.stdout
    manifest = tmp_path / "out" / f"{delivery['id']}.manifest.json"
    checked = partner("verify", str(manifest), "--url", served.url, "--audit-key", served.audit_key)
    assert checked.returncode == 0 and "ok   inclusion:" in checked.stdout
    served.office("audit", "checkpoint")  # the log has grown (downloads are audited): sign it
    latest = partner("verify", str(manifest), "--latest", "--audit-key", served.audit_key)
    assert latest.returncode == 0, latest.stderr
    assert "ok   consistency: the newer checkpoint (size" in latest.stdout
    kept = sorted(p.name for p in (tmp_path / "out" / f"{delivery['id']}.history").iterdir())
    assert [name.split("-")[0] for name in kept] == ["checkpoint", "consistency"]
    for result in (listed, done, checked, latest):
        assert "Traceback" not in result.stderr and served.token not in result.stdout


# docs/partners.md, "The same steps without our code", with this gateway's values.
BY_HAND = r"""
set -euo pipefail
AUTH="Authorization: Bearer $PKS_PARTNER_TOKEN"
ID=$(curl -fsS -H "$AUTH" "$API/deliveries" | jq -r '.items[0].id')
curl -fsS -H "$AUTH" -o "$ID.manifest.json"     "$API/deliveries/$ID/manifest"
curl -fsS -H "$AUTH" -o "$ID.manifest.json.sig" "$API/deliveries/$ID/manifest.sig"
echo "$ALLOWED" > allowed_signers
ssh-keygen -Y verify -f allowed_signers -I pks-gateway -n pks-manifest \
    -s "$ID.manifest.json.sig" < "$ID.manifest.json"
FILE=$(jq -r .file.name "$ID.manifest.json")
SHA=$(jq -r .file.sha256 "$ID.manifest.json")
curl -fsS -H "$AUTH" -r 0-999 -o "$FILE" "$API/deliveries/$ID/file"   # what a cut leaves
curl -S -H "$AUTH" -H "If-Range: \"$SHA\"" -C - -o "$FILE" "$API/deliveries/$ID/file"
echo "$SHA  $FILE" | sha256sum -c -
age -d -i "$IDENTITY" -o "${FILE%.age}" "$FILE"
echo "$(jq -r .file.plaintext_sha256 "$ID.manifest.json")  ${FILE%.age}" | sha256sum -c -
"""


def test_the_documented_steps_with_curl_ssh_keygen_and_age(served: Served, tmp_path: Path) -> None:
    for tool, package in (("curl", "curl"), ("jq", "jq"), ("ssh-keygen", "openssh-client")):
        require_tool(tool, package)
    require_tool("age", "age")
    allowed = served.office("keys", "public", "manifest", "--allowed-signers").stdout.strip()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "API": f"{served.url}/api/v1",
        "PKS_PARTNER_TOKEN": served.token,
        "ALLOWED": allowed,
        "IDENTITY": str(served.identity),
    }
    done = subprocess.run(
        ["bash", "-c", BY_HAND], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-1500:]
    assert 'Good "pks-manifest" signature for pks-gateway' in done.stderr + done.stdout
    assert done.stdout.count(": OK") == 2


def test_verify_nik_answers_a_csv_longer_than_one_call_row_by_row(
    served: Served, tmp_path: Path
) -> None:
    """1,100 rows go in two calls; the demo source's people are found and their names compared,
    made-up NIKs are not found; neither the result nor the output holds a NIK or a name."""
    with sqlite3.connect(served.office.home / "demo-source.db") as source:
        people = source.execute(
            "SELECT NIK, NAMA_LGKP FROM BIODATA_WNI WHERE STAT_HIDUP = 1 AND FLAG_STATUS = '0' "
            "AND TGL_LHR BETWEEN '1950-01-01' AND '2000-01-01' ORDER BY NIK LIMIT 40"
        ).fetchall()
        registered = {str(nik) for (nik,) in source.execute("SELECT NIK FROM BIODATA_WNI")}
    assert len(people) == 40
    rows = [  # (nik, name claimed, found, name matches)
        (str(nik), str(name).lower() if i % 2 == 0 else "ORANG LAIN", True, i % 2 == 0)
        for i, (nik, name) in enumerate(people)
    ]
    made_up = (
        f"640101{1 + i % 28:02d}{1 + i % 12:02d}{70 + i % 20:02d}{i:04d}" for i in range(9999)
    )
    rows += [(nik, "ORANG UJI", False, False) for nik in made_up if nik not in registered][:1060]
    source_csv = tmp_path / "niks.csv"
    source_csv.write_text(
        "nik,nama_lengkap\n" + "".join(f"{nik},{name}\n" for nik, name, _, _ in rows),
        encoding="utf-8",
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "PKS_PARTNER_URL": served.url,
        "PKS_PARTNER_TOKEN": served.token,
    }
    script = Path(sys.executable).with_name("pks-partner")
    done = subprocess.run(
        [str(script), "verify-nik", str(source_csv), "--out", str(tmp_path / "result.csv")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-500:]
    assert done.stderr == "1100 rows in 2 calls: 40 found, 20 matching in every field asked\n"
    result = (tmp_path / "result.csv").read_text(encoding="utf-8")
    expected = [
        f"{i},{str(found).lower()},{str(match).lower()}"
        for i, (_, _, found, match) in enumerate(rows, start=1)
    ]
    assert result.splitlines() == ["row,found,nama_lengkap", *expected]
    shown = result + done.stdout + done.stderr
    assert not any(nik in shown or name in shown for nik, name, _, _ in rows[:40])
