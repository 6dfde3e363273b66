"""Step 8 refused or broken (issue 5, "Bad input" and the publish order): every failing delivery
ends with one clear error naming its cause, nothing visible in the deliveries directory, its row
`failed` (or no row at all when the start itself is refused), and the failure in the audit log.

Covered: an agreement unsigned, edited after signing, expired, suspended or revoked; over quota or
over its maximum rows; re-identification refused below k; a source column missing or holding a
value of the wrong type; a recipient key that is not an age key; a disk that fills mid-write; a
PostgreSQL source whose connection drops mid-stream; a rename in the publish order that fails (an
exception) after the data file's; and a real crash (a subprocess ending in `os._exit`) at each
point of the publish order, after which the next extract closes the run as abandoned and leaves
either nothing or a complete, verifiable delivery.
"""

from __future__ import annotations

import errno
import functools
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import pytest
from sqlalchemy import create_engine, text

from exports.formats.sinks import StagedFile
from exports.reading.source import SourceUnavailable
from gateway.context import delivery_environment as environment
from gateway.services import deliveries as service
from gateway.settings import load_settings
from tests.gateway.delivery_homes import Home, copy_home, crash_extract, placed
from tests.harness import EXAMPLE, SHORT, write
from tests.services import postgres_url, scratch_database


@pytest.fixture
def home(delivery_template: Path, tmp_path: Path) -> Home:
    return copy_home(delivery_template, tmp_path)


def assert_failed(home: Home, result: click.testing.Result, cause: str) -> dict[str, Any]:
    """A delivery that started and failed: exit 1 naming the cause, nothing visible, its row
    `failed` with the cause, and a `delivery.extract` entry with outcome `failed`."""
    assert result.exit_code == 3
    assert cause in result.output, result.output
    assert home.visible() == []
    [row] = home.deliveries()
    assert row["status"] == "failed"
    entries = home.audit()
    started = [e for e in entries if e["action"] == "delivery.start"]
    assert [(e["outcome"], e["object_id"]) for e in started] == [("ok", row["id"])]
    failed = [e for e in entries if e["action"] == "delivery.extract"]
    assert [(e["outcome"], e["object_id"]) for e in failed] == [("failed", row["id"])]
    assert failed[0]["details"]["cause"] == row["failure"]
    return row


# --- refused before the start: no row, nothing written, the refusal audited ---------------------


def _edit_scope_after_signing(home: Home) -> None:
    home.agree()
    engine = create_engine(f"sqlite:///{home.home / 'gateway.db'}")
    with engine.begin() as connection:
        scope = connection.execute(text("SELECT scope_json FROM agreement_versions")).scalar_one()
        widened = scope.replace('"max_rows": 400000', '"max_rows": 900000')
        assert widened != scope
        connection.execute(text("UPDATE agreement_versions SET scope_json = :s"), {"s": widened})
    engine.dispose()


def _status(action: str) -> Any:
    def change(home: Home) -> None:
        home.agree()
        home("agreement", action, SHORT, "--reason", "temuan audit", "--as", "kadis")

    return change


def _used_quota(home: Home) -> None:
    home.agree()
    home.extract()


# Validity over before today, on any day these tests run; the import does not look at the clock.
EXPIRED = (
    EXAMPLE.replace("start = 2026-01-01", "start = 2025-01-01")
    .replace("end = 2026-12-31", "end = 2025-12-31")
    .replace("semester_report_due = [2026-07-31, 2027-01-31]", "semester_report_due = [2025-07-31]")
)

# Each with its exit code from the error table (docs/cli.md): 1 verification failed, 6 conflict.
REFUSALS = {
    "unsigned": (lambda home: home.agree(sign=False), "not signed", 1),
    "edited after signing": (_edit_scope_after_signing, "differs from the signed one", 1),
    "expired": (lambda home: home.agree(EXPIRED), f"agreement {SHORT}: expired", 6),
    "suspended": (_status("suspend"), "suspended, not active", 6),
    "revoked": (_status("revoke"), "revoked, not active", 6),
    "over quota": (_used_quota, "allows 1 delivery per month", 6),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_refused_start_names_the_cause_writes_nothing_and_is_audited(
    home: Home, case: str
) -> None:
    prepare, cause, code = REFUSALS[case]
    prepare(home)
    before_files, before_rows = home.visible(), home.deliveries()
    result = home.extract(ok=False)
    assert result.exit_code == code
    assert cause in result.output, result.output
    assert "Traceback" not in result.output
    assert home.visible() == before_files
    assert home.deliveries() == before_rows  # refused before a row was written
    last_start = [e for e in home.audit() if e["action"] == "delivery.start"][-1]
    assert last_start["outcome"] == "refused"
    assert cause in last_start["details"]["rule"]


# --- started, then failed: row `failed`, the failure audited ------------------------------------


def test_more_rows_than_the_agreement_allows_fails_and_leaves_nothing(home: Home) -> None:
    home.agree(EXAMPLE.replace("max_rows = 400000", "max_rows = 10"))
    result = home.extract(ok=False)
    row = assert_failed(home, result, "allows at most 10 rows")
    assert "at most 10 rows" in row["failure"]


NO_RARE_COUNT = EXAMPLE.replace(", rare_threshold = 10 }", " }")
assert NO_RARE_COUNT != EXAMPLE, "the demo agreement no longer counts rare pekerjaan codes"


@pytest.mark.parametrize(
    ("column", "element", "scope"),
    [
        # A kept column, read by the stream.
        ("TMPT_LHR", "tempat_lahir", EXAMPLE),
        # A column only the row filter uses (alive_only).
        ("STAT_HIDUP", "hidup", NO_RARE_COUNT),
        # The recoded pekerjaan, whose rare categories are counted before the stream.
        pytest.param("JENIS_PKRJN", "pekerjaan", EXAMPLE),
    ],
)
def test_a_missing_source_column_names_the_element(
    home: Home, column: str, element: str, scope: str
) -> None:
    home.agree(scope)
    home.source(f'ALTER TABLE "BIODATA_WNI" RENAME COLUMN "{column}" TO "{column}_OLD"')
    result = home.extract(ok=False)
    assert_failed(home, result, f"elements.{element}.source")
    assert f"no column BIODATA_WNI.{column}" in result.output


# The demo scope without the name in clear (so k applies) and with refuse as the k rule: its many
# quasi-identifiers single people out in a source of 1,500.
REFUSE_BELOW_K = EXAMPLE.replace('nama_lengkap = "keep"\n', "").replace(
    'action = "report"', 'action = "refuse"'
)


def test_refuse_stops_a_delivery_below_k_naming_k_and_leaves_nothing(home: Home) -> None:
    assert REFUSE_BELOW_K.count('action = "refuse"') == 1 and "nama_lengkap" not in REFUSE_BELOW_K
    home.agree(REFUSE_BELOW_K)
    previewed = json.loads(home("delivery", "preview", SHORT, "--json").stdout)
    report = previewed["reidentification"]
    assert report["identified"] is False and report["action"] == "refuse"
    assert report["k"] < report["k_required"] == 5
    result = home.extract(ok=False)
    assert isinstance(result.exception, SystemExit), result.exception  # one line, no traceback
    cause = (
        f"reidentification.k: agreement {SHORT} refuses deliveries below k=5; this one would "
        f"have k={report['k']} ({report['records_in_small_groups']} records in smaller groups)"
    )
    row = assert_failed(home, result, f"Error: {cause}")
    assert row["failure"] == cause and row["rows"] is None
    [failed] = [e for e in home.audit() if e["action"] == "delivery.extract"]
    assert failed["details"] == {"error": "DeliveryRefused", "cause": cause}
    assert home.files() == []  # nothing at all: no partial, no lock


# Text where the source holds the village number of a region code (SQLite keeps whatever it is
# given): the delivered no_kel cannot be built from it.
TEXT_IN_A_NUMBER_COLUMN = """UPDATE "BIODATA_WNI" SET "NO_KEL" = 'ZZNOTACODE'"""


def test_a_source_value_of_the_wrong_type_is_one_line_naming_no_value(home: Home) -> None:
    home.agree()
    home.source(TEXT_IN_A_NUMBER_COLUMN)
    result = home.extract(ok=False)
    assert isinstance(result.exception, SystemExit), result.exception  # no traceback
    cause = "the source's values for element no_kel (string) do not convert to int64"
    row = assert_failed(home, result, f"Error: {cause}")
    assert row["failure"] == cause  # our own text, so the audit entry names the element too
    assert "ZZNOTACODE" not in result.output
    assert "ZZNOTACODE" not in json.dumps(row) and "ZZNOTACODE" not in json.dumps(home.audit())


def test_a_recipient_key_that_is_not_an_age_key_is_refused_at_import(home: Home) -> None:
    bad = EXAMPLE.replace('age_recipient = "age1k3', 'age_recipient = "age1x3')
    result = home("agreement", "import", write(home.root, "bad.toml", bad), "--as", "pf", ok=False)
    assert result.exit_code == 3 and "recipients[0].age_recipient" in result.output
    assert home("agreement", "list", "--json").stdout.strip() == "[]"
    refused = [e for e in home.audit() if e["outcome"] == "refused"]
    assert [e["action"] for e in refused] == ["agreement.import"]
    assert home.visible() == []


# --- a full disk --------------------------------------------------------------------------------


class FullDisk:
    """A file that takes `room` bytes and then fails like a full disk (ENOSPC)."""

    def __init__(self, inner: Any, room: int) -> None:
        self.inner, self.room = inner, room

    def write(self, data: Any) -> int:
        size = len(memoryview(data).cast("B"))
        if size > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= size
        return int(self.inner.write(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def full_disk_staging(data_room: int, subjects_room: int = 1 << 30) -> type[StagedFile]:
    """StagedFile whose data file (or subjects file) runs out of room after so many bytes."""

    class FullDiskStaged(StagedFile):
        def __enter__(self) -> StagedFile:
            super().__enter__()
            subjects = self.final.name.endswith(".subjects.parquet")
            room = subjects_room if subjects else data_room
            self._file = FullDisk(self._file, room)  # type: ignore[assignment]
            return self

    return FullDiskStaged


# The demo delivery's data file is about 45 kB (one age chunk) and its subjects file about 18 kB.
@pytest.mark.parametrize(
    ("data_room", "subjects_room"),
    [(0, 1 << 30), (30_000, 1 << 30), (1 << 30, 5_000)],
    ids=["before the age header", "in the data", "in the subjects file"],
)
def test_a_disk_that_fills_mid_write_leaves_nothing(
    home: Home, monkeypatch: pytest.MonkeyPatch, data_room: int, subjects_room: int
) -> None:
    home.agree()
    monkeypatch.setattr(service, "StagedFile", full_disk_staging(data_room, subjects_room))
    result = home.extract(ok=False)
    assert result.exit_code == 7
    assert isinstance(result.exception, SystemExit)  # one line naming the cause, no traceback
    assert "No space left on device" in result.output
    assert home.visible() == []
    [row] = home.deliveries()
    assert row["status"] == "failed" and row["failure"] == "OSError ENOSPC"
    failed = [e for e in home.audit() if e["action"] == "delivery.extract"]
    assert [(e["outcome"], e["details"]["error"]) for e in failed] == [("failed", "OSError")]
    # The disk has room again: the next run delivers (the failed one does not count).
    monkeypatch.setattr(service, "StagedFile", StagedFile)
    json.loads(home.extract().stdout)
    assert [d["status"] for d in home.deliveries()] == ["published", "failed"]


def test_a_full_disk_is_reported_in_one_line(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    home.agree()
    monkeypatch.setattr(service, "StagedFile", full_disk_staging(30_000))
    result = home.extract(ok=False)
    assert result.exit_code == 7
    assert isinstance(result.exception, SystemExit)  # click's one-line error, not a traceback
    assert "No space left on device" in result.output


# --- a PostgreSQL source whose connection drops mid-stream -------------------------------------


@pytest.fixture
def postgres_source(home: Home) -> Iterator[str]:
    """The demo source on a scratch PostgreSQL database, its person table behind a view that
    repeats every person 1,000 times: far more than the driver fetches in one go (16 MB), so the
    server is still sending when its session is killed, at no cost to insert."""
    with scratch_database(postgres_url(), "pks_delivery_drop") as url:
        home("demo-source", "--rows", "500", "--url", url)
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text('ALTER TABLE "BIODATA_WNI" RENAME TO "BIODATA_BASE"'))
            connection.execute(
                text(
                    'CREATE VIEW "BIODATA_WNI" AS SELECT b.* FROM "BIODATA_BASE" b '
                    "CROSS JOIN generate_series(1, 1000)"
                )
            )
        engine.dispose()
        yield url


def kill_sessions(url: str) -> int:
    """Terminate every other session on the database (the gateway's source reader)."""
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        killed = connection.execute(
            text(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    admin.dispose()
    return int(killed)


@pytest.mark.postgres
def test_a_source_connection_dropped_mid_stream_fails_cleanly(
    home: Home, postgres_source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    home.agree()
    env = environment(load_settings({"home": home.home, "source_url": postgres_source}, environ={}))
    killed: list[int] = []

    def kill_after_the_first_batch(rows: int) -> None:
        if not killed:
            killed.append(kill_sessions(postgres_source))

    # Small batches, so the first progress call comes while the stream is young.
    monkeypatch.setattr(
        service, "run_pipeline", functools.partial(service.run_pipeline, batch_rows=1_000)
    )
    engine = create_engine(f"sqlite:///{home.home / 'gateway.db'}")
    try:
        with pytest.raises(SourceUnavailable) as caught:
            service.extract_delivery(
                engine,
                env,
                SHORT,
                "adb",
                lambda: datetime.now(UTC),
                progress=kill_after_the_first_batch,
            )
    finally:
        engine.dispose()
    assert killed == [1], killed
    assert "broke off" in str(caught.value) or "lost the source" in str(caught.value)
    assert "127.0.0.1" in str(caught.value)  # names the source (without a password)
    assert home.visible() == []
    [row] = home.deliveries()
    # One list decides whose text may be recorded (gateway/errors.py): ours names the source,
    # its password redacted, and the driver's SQLSTATE, never a value.
    assert row["status"] == "failed" and row["failure"] == str(caught.value)
    failed = [e for e in home.audit() if e["action"] == "delivery.extract"]
    assert [(e["outcome"], e["details"]["error"]) for e in failed] == [
        ("failed", "SourceUnavailable")
    ]


# --- a real crash at each point of the publish order ---------------------------------------------

# The crash point, the row status it leaves, and what the deliveries directory shows meanwhile.
CRASH_POINTS = {
    "data fsynced": ("running", []),
    "audit entry committed": ("recorded", []),
    "checkpoint committed": ("recorded", []),
    "manifest and signature written": ("recorded", []),
    "data renamed": ("recorded", [".parquet.age", ".subjects.parquet"]),
    "signature renamed": ("recorded", [".parquet.age", ".subjects.parquet", ".manifest.json.sig"]),
    "manifest renamed": (
        "recorded",
        [".parquet.age", ".subjects.parquet", ".manifest.json.sig", ".manifest.json"],
    ),
}


@pytest.mark.slow  # a process per point: ~1 s each
@pytest.mark.parametrize("point", list(CRASH_POINTS))
def test_a_crash_leaves_nothing_or_a_verifiable_delivery_and_a_rerun_works(
    home: Home, point: str
) -> None:
    home.agree(EXAMPLE.replace("quota = 1", "quota = 5"))
    crashed = crash_extract(home, point)
    status, shown = CRASH_POINTS[point]
    [row] = home.deliveries()
    assert row["status"] == status
    staged = [n for n in home.visible() if n.endswith(".partial")]
    assert [n for n in home.visible() if n not in staged] == sorted(
        placed(crashed, suffix) for suffix in shown
    )
    assert bool(staged) == (point != "manifest renamed")  # the crash left staged files

    # The next extract first closes what the crash left, then delivers anew.
    rerun = json.loads(home.extract().stdout)
    rows = {d["id"]: d["status"] for d in home.deliveries()}
    assert rows[rerun["delivery"]] == "published"
    assert "verifies" in home("delivery", "verify", rerun["manifest"]).output
    assert not [n for n in home.visible() if n.endswith(".partial")]
    left = [n for n in home.visible() if n.rpartition("/")[2].startswith(crashed)]
    abandons = [e for e in home.audit() if e["action"] == "delivery.abandon"]
    if point == "manifest renamed":
        # The manifest made it: the delivery is complete and verifiable, and counted published.
        assert rows[crashed] == "published" and abandons == []
        manifest = home.home / placed(crashed, ".manifest.json")
        assert left == sorted(placed(crashed, suffix) for suffix in shown)
        verified = home("delivery", "verify", str(manifest)).output
        assert "FAIL" not in verified and "verifies" in verified
    else:
        assert rows[crashed] == "abandoned"
        assert left == []
        assert [(e["object_id"], e["details"]["was"]) for e in abandons] == [(crashed, status)]


# --- a rename that fails (an exception, not a crash) part way through the publish order ----------

# Where the fault strikes: before a rename of that file (its name ends so), or just after it.
RENAME_FAULTS = {
    "subjects rename, after the data's": (".subjects.parquet", False),
    "signature rename": (".manifest.json.sig", False),
    "manifest rename": (".manifest.json", False),
    "after the manifest rename": (".manifest.json", True),
}


@pytest.mark.parametrize("fault", list(RENAME_FAULTS))
def test_a_rename_that_fails_takes_back_what_was_already_in_place(
    home: Home, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    home.agree(EXAMPLE.replace("quota = 1", "quota = 5"))
    earlier = json.loads(home.extract().stdout)  # another delivery's files must stay untouched
    kept = {name: (home.home / name).read_bytes() for name in home.visible()}
    suffix, after = RENAME_FAULTS[fault]
    publish = StagedFile.publish
    renamed: list[str] = []

    def faulty(self: StagedFile) -> None:
        if after:
            publish(self)
            renamed.append(self.final.name)
        if self.final.name.endswith(suffix):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        if not after:
            publish(self)
            renamed.append(self.final.name)

    monkeypatch.setattr(StagedFile, "publish", faulty)
    result = home.extract(ok=False)
    assert result.exit_code == 7
    assert isinstance(result.exception, SystemExit)  # one line, no traceback
    assert "Input/output error" in result.output
    assert any(name.endswith(".parquet.age") for name in renamed)  # the data had been in place
    assert home.visible() == sorted(kept)
    for name, content in kept.items():
        assert (home.home / name).read_bytes() == content
    assert not [name for name in home.files() if name.endswith(".lock")]
    rows = {d["id"]: d["status"] for d in home.deliveries()}
    [failed] = [i for i in rows if i != earlier["delivery"]]
    assert rows == {earlier["delivery"]: "published", failed: "abandoned"}
    abandons = [e for e in home.audit() if e["action"] == "delivery.abandon"]
    assert [(e["object_id"], e["details"]["was"]) for e in abandons] == [(failed, "recorded")]


def test_a_failed_run_leaves_no_lock_file(home: Home) -> None:
    home.agree(EXAMPLE.replace("max_rows = 400000", "max_rows = 10"))
    assert home.extract(ok=False).exit_code == 3
    assert home.files() == []
