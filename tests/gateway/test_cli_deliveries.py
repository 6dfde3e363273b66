"""Step 8 end to end through the CLI: a signed agreement becomes one verifiable delivery that the
stock `age` decrypts, refusals leave nothing, and a person can ask who received their record."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import re
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq
import pytest

from ageformat import AgeWriter, generate_identity
from exports.reading.source import Source
from gateway.cli.demo_agreement import this_years
from gateway.keys import load_signing_key
from pks_partner.manifest import parse_manifest, sign_manifest
from tests.gateway.delivery_homes import source_niks
from tests.harness import EXAMPLE, SHORT, Gateway, setup_gateway, write
from tests.services import require_tool

REPO = Path(__file__).resolve().parents[2]

ROWS = 3000


def signed_gateway(tmp_path: Path, scope_text: str = EXAMPLE) -> tuple[Gateway, Path]:
    """A gateway with a demo source and the demo agreement signed for a recipient we hold."""
    gateway = setup_gateway(tmp_path)
    gateway("demo-source", "--rows", str(ROWS))
    secret, recipient = generate_identity()
    key_file = tmp_path / "partner.key"
    key_file.write_text(secret + "\n", encoding="utf-8")
    scope = re.sub(r'age_recipient = "age1[0-9a-z]+"', f'age_recipient = "{recipient}"', scope_text)
    gateway("agreement", "import", write(tmp_path, "pks.toml", scope), "--as", "pf")
    gateway("agreement", "sign", SHORT, "--key", str(tmp_path / "kadis"), "--as", "kadis")
    return gateway, key_file


def test_a_delivery_is_published_verified_and_decrypted_by_stock_age(tmp_path: Path) -> None:
    age = require_tool("age", "age")
    gateway, key_file = signed_gateway(tmp_path)
    previewed = json.loads(gateway("delivery", "preview", SHORT, "--json").stdout)
    assert previewed["reidentification"]["identified"] is True  # nama_lengkap is kept
    result = json.loads(gateway("delivery", "extract", SHORT, "--as", "adb", "--json").stdout)
    assert result["rows"] == previewed["rows"] > 0
    data, manifest = Path(result["file"]), Path(result["manifest"])
    assert data.exists() and manifest.exists() and Path(result["signature"]).exists()
    assert not list(data.parent.glob("*.partial")) and not list(data.parent.glob("*.lock"))

    verified = gateway("delivery", "verify", str(manifest))
    assert "verifies" in verified.output and "FAIL" not in verified.output

    plain = tmp_path / "out.parquet"
    subprocess.run([age, "-d", "-i", str(key_file), "-o", str(plain), str(data)], check=True)
    table = pq.read_table(plain)
    granted = [
        "no_kk",
        "nik",
        "nama_lengkap",
        "jenis_kelamin",
        "tempat_lahir",
        "tanggal_lahir",
        "agama",
        "status_perkawinan",
        "pendidikan_terakhir",
        "pekerjaan",
        "no_kec",
        "no_kel",
    ]
    assert table.column_names == granted
    assert table.num_rows == result["rows"]
    assert table.schema.metadata[b"pks.agreement_short_id"] == SHORT.encode()
    niks = set(source_niks(gateway.home))
    assert not niks & set(table.column("nik").to_pylist())  # tokens, never the NIK

    ours = tmp_path / "ours.parquet"
    gateway("delivery", "decrypt", str(data), "--identity", str(key_file), "--out", str(ours))
    assert ours.read_bytes() == plain.read_bytes()

    listed = json.loads(gateway("delivery", "list", "--json").stdout)
    assert [d["status"] for d in listed] == ["published"]
    shown = json.loads(gateway("delivery", "show", result["delivery"], "--json").stdout)
    assert shown["ciphertext_sha256"] == result["ciphertext_sha256"]


def test_verify_rejects_a_manifest_whose_proof_does_not_match_its_checkpoint(
    tmp_path: Path,
) -> None:
    gateway, _ = signed_gateway(tmp_path)
    result = json.loads(gateway("delivery", "extract", SHORT, "--as", "adb", "--json").stdout)
    path = Path(result["manifest"])
    manifest = parse_manifest(path.read_bytes())
    # The log grows and is checkpointed again; the entry's audit path in that larger tree is
    # presented with the manifest's own (earlier, validly signed) checkpoint.
    gateway("staff", "add", "auditor", "--role", "compliance", "--as", "admin")
    gateway("audit", "checkpoint")
    later_path = gateway("audit", "prove", "--entry", str(manifest.audit.seq)).stdout
    own_path, _, own_note = manifest.audit.proof.partition("\n\n")
    later_path = later_path.partition("\n\n")[0]
    assert later_path != own_path
    audit = dataclasses.replace(manifest.audit, proof=f"{later_path}\n\n{own_note}")
    altered = dataclasses.replace(manifest, audit=audit).canonical_bytes()
    # Re-signed with the gateway's manifest key, so the proof is the only thing wrong.
    key = load_signing_key(gateway.home / "keys", "manifest")
    path.write_bytes(altered)
    path.with_name(path.name + ".sig").write_text(sign_manifest(altered, key), encoding="ascii")

    verified = gateway("delivery", "verify", str(path), ok=False)
    assert verified.exit_code == 1
    assert isinstance(verified.exception, SystemExit)  # a clear error, no traceback
    checks = [line for line in verified.stdout.splitlines() if line.startswith(("ok", "FAIL"))]
    assert [line for line in checks if line.startswith("FAIL")] == [
        "FAIL inclusion: the leaf is not proven in the checkpoint"
    ]
    assert "ok   checkpoint: signed by the audit key for this log" in checks
    assert "ok   signature:" in verified.stdout
    assert f"Error: {path} does not verify" in verified.output


def test_the_extract_entry_records_what_docs_deliveries_says(tmp_path: Path) -> None:
    gateway, _ = signed_gateway(tmp_path)
    result = json.loads(gateway("delivery", "extract", SHORT, "--as", "adb", "--json").stdout)
    entries = [json.loads(line) for line in gateway("audit", "list", "--json").stdout.splitlines()]
    [entry] = [e for e in entries if e["action"] == "delivery.extract"]
    manifest = json.loads(Path(result["manifest"]).read_bytes())
    shown = json.loads(gateway("delivery", "show", result["delivery"], "--json").stdout)
    # One size, the encrypted file's; the plaintext size is the manifest's alone.
    assert entry["details"] == {
        "file": Path(result["file"]).name,
        "size": Path(result["file"]).stat().st_size,
        "sha256": result["ciphertext_sha256"],
        "plaintext_sha256": manifest["file"]["plaintext_sha256"],
        "rows": result["rows"],
        "agreement": SHORT,
        "version": 1,
        "scope_hash": manifest["agreement"]["scope_hash"],
        "identified": True,
        "k": result["reidentification"]["k"],
        "suppressed": 0,
    }
    assert entry["details"]["size"] == shown["ciphertext_size"] == manifest["file"]["size"]
    assert "plaintext_size" in manifest["file"]


# The demo scope without the name in clear (so k applies), suppressing records below k.
SUPPRESSING = EXAMPLE.replace('nama_lengkap = "keep"\n', "").replace(
    'action = "report"', 'action = "suppress"'
)


def test_preview_under_suppress_counts_before_it_and_says_what_it_would_drop(
    tmp_path: Path,
) -> None:
    assert SUPPRESSING.count('action = "suppress"') == 1
    gateway, _ = signed_gateway(tmp_path, SUPPRESSING)
    previewed = json.loads(gateway("delivery", "preview", SHORT, "--json").stdout)
    report = previewed["reidentification"]
    assert report["identified"] is False and report["k"] < report["k_required"]
    dropped = previewed["would_suppress"]
    assert dropped == report["records_in_small_groups"] > 0
    assert previewed["rows"] == report["records"]  # every row the filter selects
    text = gateway("delivery", "preview", SHORT).stdout
    assert f"rows                 {previewed['rows']} (before suppression)" in text
    assert f"would suppress       {dropped} ({previewed['rows'] - dropped} rows delivered)" in text
    assert "suppressed records" not in text
    # The delivery drops exactly that many, and what it delivers meets k.
    result = json.loads(gateway("delivery", "extract", SHORT, "--as", "adb", "--json").stdout)
    delivered = result["reidentification"]
    assert delivered["suppressed_records"] == dropped
    assert result["rows"] == previewed["rows"] - dropped
    assert delivered["k"] is None or delivered["k"] >= delivered["k_required"]


def test_preview_without_suppression_says_none_would_be_dropped(tmp_path: Path) -> None:
    gateway, _ = signed_gateway(tmp_path)  # identified, action report
    previewed = json.loads(gateway("delivery", "preview", SHORT, "--json").stdout)
    assert previewed["would_suppress"] is None
    text = gateway("delivery", "preview", SHORT).stdout
    assert "would suppress" not in text and "before suppression" not in text


def test_the_quota_refuses_a_second_delivery_and_the_refusal_is_audited(tmp_path: Path) -> None:
    gateway, _ = signed_gateway(tmp_path)
    gateway("delivery", "extract", SHORT, "--as", "adb")
    refused = gateway("delivery", "extract", SHORT, "--as", "adb", ok=False)
    assert refused.exit_code == 6
    assert "allows 1 delivery per month" in refused.output
    entries = [json.loads(line) for line in gateway("audit", "list", "--json").stdout.splitlines()]
    assert any(e["action"] == "delivery.start" and e["outcome"] == "refused" for e in entries)
    assert [d["status"] for d in json.loads(gateway("delivery", "list", "--json").stdout)] == [
        "published"
    ]


def test_an_agreement_that_is_not_executable_is_refused(tmp_path: Path) -> None:
    gateway, _ = signed_gateway(tmp_path)
    gateway("agreement", "suspend", SHORT, "--reason", "audit finding", "--as", "kadis")
    refused = gateway("delivery", "extract", SHORT, "--as", "adb", ok=False)
    assert refused.exit_code == 6 and "suspended" in refused.output
    assert not list((gateway.home / "deliveries").rglob("*.age"))


def test_the_deliveries_directory_holds_only_what_the_partner_receives(tmp_path: Path) -> None:
    """The deliveries directory is the partner-facing one: after a delivery it holds the encrypted
    file, the manifest and its signature, nothing else; the subject index and the run's lock are
    the gateway's own and live outside it (docs/deliveries.md, Files)."""
    gateway, _ = signed_gateway(tmp_path)
    result = json.loads(gateway("delivery", "extract", SHORT, "--as", "adb", "--json").stdout)
    delivery = result["delivery"]
    deliveries = gateway.home / "deliveries"
    held = sorted(str(p.relative_to(deliveries)) for p in deliveries.rglob("*"))
    data, manifest, signature = (Path(result[k]).name for k in ("file", "manifest", "signature"))
    assert (data, manifest, signature) == (
        f"{delivery}.parquet.age",
        f"{delivery}.manifest.json",
        f"{delivery}.manifest.json.sig",
    )
    assert held == [SHORT, *sorted(f"{SHORT}/{name}" for name in (data, manifest, signature))]
    index = gateway.home / "subjects" / SHORT / f"{delivery}.subjects.parquet"
    assert pq.read_metadata(index).num_rows == result["rows"]
    assert not list(gateway.home.glob("work/**/*.lock"))  # the run's lock went with the run


@pytest.mark.slow  # two deliveries and init again: ~3 s
def test_init_moves_a_subject_index_an_earlier_version_left_beside_the_partner_files(
    tmp_path: Path,
) -> None:
    gateway, _ = signed_gateway(tmp_path)
    result = json.loads(gateway("delivery", "extract", SHORT, "--as", "adb", "--json").stdout)
    index = gateway.home / "subjects" / SHORT / f"{result['delivery']}.subjects.parquet"
    old = gateway.home / "deliveries" / SHORT / index.name
    index.rename(old)  # where the gateway kept it before docs/decisions/0004
    niks = source_niks(gateway.home)[:60]

    def answered() -> list[str]:
        asked = (gateway("subject", "deliveries", nik, "--as", "pf", "--json") for nik in niks)
        return [d["delivery"] for answer in asked for d in json.loads(answer.stdout)]

    assert answered() == []
    assert "subject indexes  1 moved out of the deliveries directory" in gateway("init").output
    assert index.is_file() and not old.exists()
    assert set(answered()) == {result["delivery"]}
    assert "subject indexes" not in gateway("init").output  # nothing left to move


def test_a_subject_learns_which_deliveries_held_their_record(tmp_path: Path) -> None:
    gateway, _ = signed_gateway(tmp_path)
    result = json.loads(gateway("delivery", "extract", SHORT, "--as", "adb", "--json").stdout)
    index = gateway.home / "subjects" / SHORT / f"{result['delivery']}.subjects.parquet"
    subjects = pq.read_table(index)
    assert subjects.num_rows == result["rows"]
    niks = source_niks(gateway.home)
    found_any = missing_any = False
    for nik in niks[:60]:
        asked = json.loads(gateway("subject", "deliveries", nik, "--as", "pf", "--json").stdout)
        if asked:
            found_any = True
            assert asked[0]["delivery"] == result["delivery"]
            assert asked[0]["agreement"] == SHORT
        else:
            missing_any = True  # children and the dead are filtered out by the scope
    assert found_any and missing_any
    entries = gateway("audit", "list", "--json").stdout
    assert not any(nik in entries for nik in niks[:60])
    bad = gateway("subject", "deliveries", "1234", "--as", "pf", ok=False)
    assert bad.exit_code == 3 and "not a valid NIK" in bad.output


def test_a_nik_written_with_separators_finds_the_same_deliveries(tmp_path: Path) -> None:
    gateway, _ = signed_gateway(tmp_path)
    result = json.loads(gateway("delivery", "extract", SHORT, "--as", "adb", "--json").stdout)
    nik = next(
        n
        for n in source_niks(gateway.home)
        if json.loads(gateway("subject", "deliveries", n, "--as", "pf", "--json").stdout)
    )
    groups = (nik[:4], nik[4:8], nik[8:12], nik[12:])
    for written in (" ".join(groups), "-".join(groups), ".".join(groups), f"  {nik}\t\n"):
        asked = json.loads(gateway("subject", "deliveries", written, "--as", "pf", "--json").stdout)
        assert [a["delivery"] for a in asked] == [result["delivery"]], written
    questions = [
        json.loads(line)
        for line in gateway("audit", "list", "--json").stdout.splitlines()
        if json.loads(line)["action"] == "subject.deliveries"
    ]
    # However it was written, the question names the same person: one keyed hash for the 5.
    assert len({q["object_id"] for q in questions[-5:]}) == 1


def test_a_nik_in_other_digits_is_refused_in_one_line_and_audited(gateway: Gateway) -> None:
    fullwidth = "".join(chr(ord("０") + int(d)) for d in "6401025505880001")
    for written in (fullwidth, "6401\u00a00255\u00a00588\u00a00001", "6401025505880001\u0663"):
        refused = gateway("subject", "deliveries", written, "--as", "pf", ok=False)
        assert refused.exit_code == 3 and isinstance(refused.exception, SystemExit), written
        assert refused.output.count("\n") == 1 and "digits 0-9" in refused.output
        assert written not in refused.output and "6401025505880001" not in refused.output
    entries = [json.loads(line) for line in gateway("audit", "list", "--json").stdout.splitlines()]
    questions = [e for e in entries if e["action"] == "subject.deliveries"]
    assert [q["outcome"] for q in questions] == ["refused"] * 3
    assert all("6401025505880001" not in json.dumps(q) for q in questions)


def person_values(gateway: Gateway, nik: str) -> set[str]:
    """Every value of one person's source record that could identify them (5 characters or more:
    NIK, KK, names, birth place and date, certificate numbers …)."""
    connection = sqlite3.connect(gateway.home / "demo-source.db")
    try:
        row = connection.execute('SELECT * FROM "BIODATA_WNI" WHERE "NIK" = ?', (nik,)).fetchone()
    finally:
        connection.close()
    return {str(value) for value in row if value is not None and len(str(value)) >= 5}


def test_a_subject_question_is_audited_without_the_nik_or_any_value(tmp_path: Path) -> None:
    gateway, _ = signed_gateway(tmp_path)
    delivered = json.loads(gateway("delivery", "extract", SHORT, "--as", "adb", "--json").stdout)
    asked: list[str] = []
    for nik in source_niks(gateway.home):
        asked.append(nik)
        if json.loads(gateway("subject", "deliveries", nik, "--as", "pf", "--json").stdout):
            break
    invalid = asked[-1][:6] + "999999" + asked[-1][12:]  # 16 digits, no such date
    assert gateway("subject", "deliveries", invalid, "--as", "pf", ok=False).exit_code == 3
    entries = [json.loads(line) for line in gateway("audit", "list", "--json").stdout.splitlines()]
    questions = [e for e in entries if e["action"] == "subject.deliveries"]
    assert [(e["outcome"], e["actor_id"]) for e in questions] == [("ok", "pf")] * len(asked) + [
        ("refused", "pf")
    ]
    assert questions[len(asked) - 1]["details"]["deliveries"] == [delivered["delivery"]]
    assert len({e["object_id"] for e in questions}) == len(asked) + 1  # one keyed hash per NIK
    # The entries as the log stores them, leaf bytes included: no NIK, no value of anyone asked.
    connection = sqlite3.connect(gateway.home / "gateway.db")
    try:
        stored = connection.execute(
            "SELECT object_id, details, leaf FROM audit_entries WHERE action = 'subject.deliveries'"
        ).fetchall()
    finally:
        connection.close()
    assert len(stored) == len(questions)
    forbidden = {invalid}.union(*(person_values(gateway, nik) for nik in asked))
    assert all(nik in forbidden for nik in asked)
    for object_id, details, leaf in stored:
        text = f"{object_id}\n{details}\n{bytes(leaf).decode('utf-8')}"
        leaked = sum(value in text for value in forbidden)  # a count: values stay out of output
        assert leaked == 0, "an audit entry of a subject question holds a person's value"


@pytest.fixture
def encrypted(tmp_path: Path) -> tuple[Path, Path]:
    """A small age file and the identity file that opens it (no gateway needed to decrypt)."""
    secret, recipient = generate_identity()
    identity = tmp_path / "partner.key"
    identity.write_text(secret + "\n", encoding="utf-8")
    data = tmp_path / "d.csv.age"
    with data.open("wb") as sink, AgeWriter(sink, [recipient]) as writer:
        writer.write(b"a,b\n1,2\n")
    return data, identity


DECRYPT_FAILURES = {
    "identity not text": (b"\xff\xfe\x00\x01", "is not an age identity file"),
    "identity malformed": (b"AGE-SECRET-KEY-1NOTBECH32\n", "line 1: age identity: not valid"),
    "identity empty": (b"# nothing here\n", "holds no AGE-SECRET-KEY-1... line"),
    "identity of someone else": (None, "no identity matches"),
}


@pytest.mark.parametrize("case", list(DECRYPT_FAILURES))
def test_decrypt_with_a_bad_identity_is_one_clear_line(
    tmp_path: Path, encrypted: tuple[Path, Path], case: str
) -> None:
    data, identity = encrypted
    content, expected = DECRYPT_FAILURES[case]
    identity.write_bytes(content or (generate_identity()[0] + "\n").encode("ascii"))
    gateway = Gateway(tmp_path / "home", {})
    result = gateway("delivery", "decrypt", str(data), "--identity", str(identity), ok=False)
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), result.exception  # no traceback
    [line] = result.output.splitlines()
    assert line.startswith("Error: ") and expected in line, line
    assert str(identity if content else data) in line  # names the file at fault
    assert identity.read_text(encoding="utf-8", errors="replace").strip() not in line  # no key
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([data.name, identity.name])


def test_decrypt_names_an_unreadable_identity_file(
    tmp_path: Path, encrypted: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    data, identity = encrypted
    real_open = os.open

    def unreadable(path: Any, *args: Any, **kwargs: Any) -> int:
        if Path(path) == identity:  # what chmod 000 does to anyone but root
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", unreadable)
    result = Gateway(tmp_path / "home", {})(
        "delivery", "decrypt", str(data), "--identity", str(identity), ok=False
    )
    assert result.exit_code == 3 and isinstance(result.exception, SystemExit)
    assert result.output == f"Error: cannot read identity file {identity}: Permission denied\n"


def test_decrypt_names_a_missing_output_directory_or_identity_file(
    tmp_path: Path, encrypted: tuple[Path, Path]
) -> None:
    data, identity = encrypted
    gateway = Gateway(tmp_path / "home", {})
    out = tmp_path / "no" / "such" / "d.csv"
    result = gateway(
        "delivery", "decrypt", str(data), "--identity", str(identity), "--out", str(out), ok=False
    )
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.output == f"Error: output directory {out.parent} does not exist\n"
    # A path that does not exist is a wrong argument: click's usage error (exit 2), no traceback.
    missing = tmp_path / "nope.key"
    result = gateway("delivery", "decrypt", str(data), "--identity", str(missing), ok=False)
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert (
        f"Error: Invalid value for '--identity': File '{missing}' does not exist." in result.output
    )
    # And the happy path still decrypts, to FILE without .age by default.
    assert (
        "decrypted to"
        in gateway("delivery", "decrypt", str(data), "--identity", str(identity)).output
    )
    assert data.with_suffix("").read_bytes() == b"a,b\n1,2\n"


def test_decrypt_refuses_an_output_that_is_not_a_regular_file_in_one_line(
    tmp_path: Path, encrypted: tuple[Path, Path]
) -> None:
    data, identity = encrypted
    gateway = Gateway(tmp_path / "home", {})
    kept = tmp_path / "kept.csv"
    kept.write_bytes(b"previous")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    link = tmp_path / "link.csv"
    link.symlink_to(kept)
    for out in (link, fifo):
        result = gateway(
            "delivery",
            "decrypt",
            str(data),
            "--identity",
            str(identity),
            "--out",
            str(out),
            ok=False,
        )
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
        [line] = result.output.splitlines()
        assert line.startswith("Error: ") and str(out) in line and "not a regular file" in line
    assert link.is_symlink() and kept.read_bytes() == b"previous"
    assert fifo.is_fifo()


def test_decrypt_to_standard_output(tmp_path: Path, encrypted: tuple[Path, Path]) -> None:
    data, identity = encrypted
    before = sorted(p.name for p in tmp_path.iterdir())
    result = Gateway(tmp_path / "home", {})(
        "delivery", "decrypt", str(data), "--identity", str(identity), "--out", "-"
    )
    assert result.stdout_bytes == b"a,b\n1,2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no file named "-", no d.csv


def test_the_demo_agreement_is_set_up_once_and_delivers_to_the_demo_partner(tmp_path: Path) -> None:
    age = require_tool("age", "age")
    gateway = Gateway(tmp_path / "home", {})
    gateway("init")
    gateway("demo-source", "--rows", "500")
    first = gateway("demo-agreement")
    again = gateway("demo-agreement")  # idempotent: nothing new, still ready
    assert "signed and active" in first.output and "signed and active" in again.output
    assert len(json.loads(gateway("agreement", "list", "--json").stdout)) == 1
    result = json.loads(gateway("delivery", "extract", SHORT, "--as", "adb", "--json").stdout)
    identity = gateway.home / "demo" / "partner.agekey"
    assert identity.stat().st_mode & 0o777 == 0o600
    plain = subprocess.run(
        [age, "-d", "-i", str(identity), result["file"]], check=True, capture_output=True
    ).stdout
    assert plain.startswith(b"PAR1") and plain.endswith(b"PAR1")
    validity = json.loads(gateway("agreement", "show", SHORT, "--json").stdout)
    this_year = datetime.now(UTC).astimezone(ZoneInfo("Asia/Makassar")).year
    # The demo runs in any year: the example's dates are moved to the current one.
    assert (validity["valid_from"], validity["valid_until"]) == (
        f"{this_year}-01-01",
        f"{this_year}-12-31",
    )


def test_the_demo_dates_follow_the_year() -> None:
    text = (REPO / "config" / "examples" / "demo-agreement.toml").read_text(encoding="utf-8")
    moved = this_years(text, 2031)
    assert "start = 2031-01-01" in moved and "end = 2031-12-31" in moved
    assert "semester_report_due = [2031-07-31, 2032-01-31]" in moved
    assert "start = 2026" not in moved


def test_a_delivery_and_a_preview_each_open_the_source_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway, _ = signed_gateway(tmp_path)
    opened: list[str] = []
    really_open = Source.open.__func__  # type: ignore[attr-defined]

    def counted(cls: type[Source], url: Any) -> Source:
        opened.append(str(url))
        return really_open(cls, url)  # type: ignore[no-any-return]

    monkeypatch.setattr(Source, "open", classmethod(counted))
    gateway("delivery", "preview", SHORT)
    assert len(opened) == 1
    gateway("delivery", "extract", SHORT, "--as", "adb")
    assert opened == [f"sqlite:///{gateway.home / 'demo-source.db'}"] * 2
