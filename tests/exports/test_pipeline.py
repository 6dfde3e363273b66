"""The delivery pipeline on a small demo SQLite source (issue 5, "Must show" and "Bad input").

Properties over random agreements (any subset of the deliverable elements, each with a random
valid mask): the delivered columns are exactly the granted elements in catalog order, in Parquet,
CSV and XLSX; `partial` and `token` never deliver a source value; tokens are stable across
deliveries of one agreement and differ between agreements; the rows delivered (plus those
suppressed) are the rows the plan's query counts in the source. And failures at the pipeline's
own level: a recipient that is not an age key fails before a byte is written, a sink that runs out
of space fails with ENOSPC and stops the source reader, and a refused run is never sealed.
"""

from __future__ import annotations

import csv
import dataclasses
import errno
import gc
import io
import os
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ageformat import AgeError, decrypt_chunks, generate_identity
from agreements.catalog import load_catalog
from agreements.scope import Scope
from demo_dukcapil.database import build_demo_source
from exports.masking.tokens import derive_subject_key, derive_token_key
from exports.pipeline import DeliveryOutput, DeliveryRefused, run_pipeline
from exports.plan import Plan, Recipient, make_plan
from exports.reading.extract import count_rows, extract
from exports.reading.query import arrow_schema, build_query
from exports.reading.source import Source
from exports.reading.source_mapping import load_source_mapping
from pks_partner.manifest import AgreementRef
from tests.agreements.scope_fixtures import REGIONS, REPO, scope_data

CATALOG_FILE = REPO / "config" / "catalog.toml"
CATALOG = load_catalog(CATALOG_FILE)
MAPPING = load_source_mapping(CATALOG_FILE)
AS_OF = date(2026, 11, 25)
SECRET = bytes(range(32))
IDENTITY, RECIPIENT = generate_identity()
IN_ORDER = CATALOG.keys()  # catalog order (iterating a Catalog gives its elements)
DELIVERABLE = tuple(
    key for key in IN_ORDER if CATALOG.get(key).deliverable and not CATALOG.get(key).high_risk
)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Source]:
    """The demo source, opened once for the module as a delivery opens it once."""
    path = tmp_path_factory.mktemp("pipeline") / "demo.db"
    url = f"sqlite:///{path}"
    build_demo_source(
        url, rows=700, seed=8, regions_csv=REPO / "config" / "wilayah_paser.csv", today=AS_OF
    )
    with Source.open(url) as opened:
        yield opened


# --- random valid grants --------------------------------------------------------------------------


@st.composite
def partial(draw: st.DrawFn, most: int) -> dict[str, Any]:
    """A partial mask keeping 1..`most` characters in all (for a NIK or KK at most 4: province and
    kabupaten digits or the serial, which the cross-column leak guard allows whatever else is
    granted)."""
    first = draw(st.integers(0, most))
    last = draw(st.integers(1 if first == 0 else 0, most - first))
    return {"mask": "partial", "first": first, "last": last}


TOKEN = st.integers(32, 64).map(lambda n: {"mask": "token", "length": n})
CLEAR = st.sampled_from(["keep", "redact"])
RECODE = st.builds(
    lambda codes, threshold: {
        "mask": "recode",
        "mapping": {str(code): f"KODE {code}" for code in codes},
        "rare_threshold": threshold,
    },
    st.sets(st.integers(1, 20), min_size=1, max_size=4),
    st.sampled_from([0, 0, 5, 40]),
)
DATES = st.one_of(
    CLEAR,
    st.sampled_from(["year", "year_month", "age"]).map(
        lambda to: {"mask": "generalize_date", "to": to}
    ),
    st.builds(
        lambda band, top: {
            "mask": "generalize_date",
            "to": "age_band",
            "band": band,
            "top_code": top * band,
        },
        st.sampled_from([5, 10]),
        st.integers(6, 10),
    ),
    st.lists(st.integers(0, 100), min_size=1, max_size=4, unique=True).map(
        lambda edges: {"mask": "bucket", "edges": sorted(edges)}
    ),
)
MASKS: dict[str, st.SearchStrategy[Any]] = {
    "nik": st.one_of(TOKEN, partial(4), st.just("redact")),
    "kk": st.one_of(TOKEN, partial(4), st.just("redact")),
    "name": st.one_of(CLEAR, TOKEN, partial(4)),
    "string": st.one_of(CLEAR, TOKEN, partial(8), RECODE),
    "text": CLEAR,
    "date": DATES,
    "code": st.one_of(CLEAR, st.just("decode"), RECODE),
    "flag": st.one_of(CLEAR, st.just("decode")),
    "region": st.one_of(
        CLEAR,
        st.sampled_from(["province", "kabupaten", "kecamatan", "village"]).map(
            lambda to: {"mask": "generalize_region", "to": to}
        ),
    ),
}


@st.composite
def grants(draw: st.DrawFn, *, with_token: bool = False) -> dict[str, Any]:
    keys = draw(st.lists(st.sampled_from(DELIVERABLE), min_size=1, max_size=10, unique=True))
    chosen = {key: draw(MASKS[CATALOG.get(key).type]) for key in keys}
    if with_token:
        chosen[draw(st.sampled_from(TOKENISABLE))] = draw(TOKEN)
    return chosen


TOKENISABLE = tuple(
    k for k in DELIVERABLE if CATALOG.get(k).type in ("nik", "kk", "name", "string")
)


def tokens_of(elements: dict[str, Any]) -> list[str]:
    return [k for k, m in elements.items() if isinstance(m, dict) and m.get("mask") == "token"]


def plan_of(
    elements: dict[str, Any],
    *,
    short_id: str = "bank-x-2026",
    delivery_id: str = "bank-x-2026-20261125-000001",
    min_age: int = 17,
    action: str = "report",
    max_rows: int = 500_000,
) -> Plan:
    data = scope_data(
        elements=elements,
        filter__regions="all",
        filter__predicates=[],
        filter__min_age=min_age,
        recipients=[{"name": "Mitra", "contact": "mitra@example.id", "age_recipient": RECIPIENT}],
        reidentification__action=action,
        delivery__max_rows=max_rows,
    )
    scope = Scope.from_dict(data, CATALOG, region_codes=REGIONS)
    return make_plan(
        scope,
        CATALOG,
        agreement=AgreementRef(f"470/{short_id}", short_id, 1, "ab" * 32),
        delivery_id=delivery_id,
        as_of=AS_OF,
        created_at=datetime(2026, 11, 25, 2, tzinfo=UTC),
        token_key=derive_token_key(SECRET, short_id),
    )


def deliver(plan: Plan, source: Source, **kwargs: Any) -> tuple[DeliveryOutput, pa.Table]:
    output, plaintext = deliver_bytes(plan, source, **kwargs)
    return output, pq.read_table(io.BytesIO(plaintext))


def deliver_bytes(plan: Plan, source: Source, **kwargs: Any) -> tuple[DeliveryOutput, bytes]:
    """Run the pipeline into memory; its output and the decrypted file."""
    data, subjects = io.BytesIO(), io.BytesIO()
    output = run_pipeline(
        plan,
        source,
        CATALOG,
        MAPPING,
        data_sink=data,
        subjects_sink=subjects,
        subject_key=derive_subject_key(SECRET),
        **kwargs,
    )
    return output, b"".join(decrypt_chunks(io.BytesIO(data.getvalue()), IDENTITY))


def text_cells(format: str, plaintext: bytes) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a CSV or XLSX delivery, every cell as text ("" for empty)."""
    if format == "csv":
        header, *rows = list(csv.reader(io.StringIO(plaintext.decode("utf-8"))))
        return header, rows
    workbook = openpyxl.load_workbook(io.BytesIO(plaintext), read_only=True)
    rows = [["" if v is None else str(v) for v in row] for row in workbook.active.values]
    workbook.close()
    return rows[0], rows[1:]


def source_columns(plan: Plan, source: Source) -> dict[str, pa.ChunkedArray]:
    """The plan's columns as the source holds them (the pipeline's input)."""
    request = plan.extraction_request(CATALOG, MAPPING)
    table = pa.Table.from_batches(list(extract(source, request)), schema=arrow_schema(request))
    return {name: table.column(name) for name in table.column_names}


# --- properties -----------------------------------------------------------------------------------


@pytest.mark.slow  # 60 whole deliveries: ~2 s
@settings(max_examples=60)
@given(
    elements=grants(), min_age=st.integers(17, 70), action=st.sampled_from(["report", "suppress"])
)
def test_random_agreements_deliver_exactly_what_they_grant(
    source: Source, elements: dict[str, Any], min_age: int, action: str
) -> None:
    plan = plan_of(elements, min_age=min_age, action=action)
    output, table = deliver(plan, source)
    assert table.column_names == [key for key in IN_ORDER if key in elements]
    assert table.schema.equals(plan.output_schema(), check_metadata=False)
    assert table.num_rows == output.rows

    counted = count_rows(source, build_query(plan.extraction_request(CATALOG, MAPPING)))
    assert output.rows + output.report.suppressed_records == counted
    assert output.report.suppressed_records == 0 or action == "suppress"

    hiding = [e.key for e in plan.elements if e.mask.kind in ("partial", "token")]
    if not hiding:
        return
    raw = source_columns(plan, source)
    for key in hiding:
        given_values = {v for v in raw[key].to_pylist() if v is not None}
        delivered = {v for v in table.column(key).to_pylist() if v is not None}
        assert not delivered & given_values, (
            f"{key}: a {plan.element(key).mask.kind} output equals an input"
        )


@settings(max_examples=20)
@given(elements=grants(), format=st.sampled_from(["csv", "xlsx"]))
def test_csv_and_xlsx_deliver_exactly_the_granted_columns(
    source: Source, elements: dict[str, Any], format: str
) -> None:
    plan = dataclasses.replace(plan_of(elements), format=format)
    output, plaintext = deliver_bytes(plan, source)
    header, rows = text_cells(format, plaintext)
    assert header == [key for key in IN_ORDER if key in elements]
    assert len(rows) == output.rows
    raw = source_columns(plan, source)
    for index, element in enumerate(plan.elements):
        if element.mask.kind in ("partial", "token"):
            given_values = {v for v in raw[element.key].to_pylist() if v}
            delivered = {row[index] for row in rows if index < len(row) and row[index]}
            assert not delivered & given_values, f"{element.key}: an output equals an input"


@pytest.mark.slow  # ~2.5 s
@settings(max_examples=25)
@given(elements=grants(with_token=True))
def test_tokens_are_stable_within_an_agreement_and_differ_across_agreements(
    source: Source, elements: dict[str, Any]
) -> None:
    first = deliver(plan_of(elements, delivery_id="bank-x-2026-20261125-000001"), source)[1]
    again = deliver(plan_of(elements, delivery_id="bank-x-2026-20261225-000002"), source)[1]
    other = deliver(
        plan_of(elements, short_id="bank-y-2026", delivery_id="bank-y-2026-20261125-000003"),
        source,
    )[1]
    for key in tokens_of(elements):
        assert first.column(key).equals(again.column(key)), key
        pairs = zip(first.column(key).to_pylist(), other.column(key).to_pylist(), strict=True)
        assert all(a != b for a, b in pairs if a is not None), key


# --- failures at the pipeline's level -------------------------------------------------------------

DEMO = {
    "nik": {"mask": "token"},
    "nama_lengkap": "keep",
    "tanggal_lahir": {"mask": "generalize_date", "to": "year"},
}


class FullSink(io.BytesIO):
    """A sink with room for `room` bytes; then it fails as a full disk does (ENOSPC)."""

    def __init__(self, room: int) -> None:
        super().__init__()
        self.room = room

    def write(self, data: Any) -> int:
        size = len(memoryview(data).cast("B"))
        if self.tell() + size > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return super().write(data)


def test_a_recipient_that_is_not_an_age_key_fails_before_anything_is_written(
    source: Source,
) -> None:
    plan = dataclasses.replace(
        plan_of(DEMO), recipients=(Recipient("Mitra", "age1notarecipientatall"),)
    )
    data, subjects = io.BytesIO(), io.BytesIO()
    with pytest.raises(AgeError) as caught:
        run_pipeline(
            plan,
            source,
            CATALOG,
            MAPPING,
            data_sink=data,
            subjects_sink=subjects,
            subject_key=derive_subject_key(SECRET),
        )
    assert "recipient" in str(caught.value)
    assert data.getvalue() == b"" and subjects.getvalue() == b""


@pytest.mark.parametrize("room", [0, 100, 3_000])
def test_a_sink_that_runs_out_of_space_fails_with_enospc(source: Source, room: int) -> None:
    threads = threading.active_count()
    data = FullSink(room)
    with pytest.raises(OSError) as caught:
        run_pipeline(
            plan_of(DEMO),
            source,
            CATALOG,
            MAPPING,
            data_sink=data,
            subjects_sink=io.BytesIO(),
            subject_key=derive_subject_key(SECRET),
            batch_rows=50,
        )
    assert caught.value.errno == errno.ENOSPC
    assert len(data.getvalue()) <= room
    assert threading.active_count() == threads  # the source reader thread has stopped


def test_more_rows_than_the_agreement_allows_is_refused(source: Source) -> None:
    with pytest.raises(DeliveryRefused, match="allows at most 10 rows"):
        deliver(plan_of(DEMO, max_rows=10), source, batch_rows=4)


def test_a_failed_run_is_never_sealed_and_writes_nothing_later(source: Source) -> None:
    """A refused run's age file stays undecryptable, and no writer left open by it writes into
    the sinks once it is collected."""
    data, subjects = io.BytesIO(), io.BytesIO()
    try:
        run_pipeline(
            plan_of(DEMO, max_rows=10),
            source,
            CATALOG,
            MAPPING,
            data_sink=data,
            subjects_sink=subjects,
            subject_key=derive_subject_key(SECRET),
            batch_rows=4,
        )
    except DeliveryRefused as error:
        refused = error  # held, as a caller handling it holds it (its traceback keeps the frame)
    sizes = len(data.getvalue()), len(subjects.getvalue())
    del refused
    gc.collect()
    after = len(data.getvalue()), len(subjects.getvalue())
    assert after == sizes
    with pytest.raises(AgeError):
        b"".join(decrypt_chunks(io.BytesIO(data.getvalue()), IDENTITY))


def test_a_sink_that_fills_at_the_last_chunk_leaves_no_writer_behind(source: Source) -> None:
    data, subjects = FullSink(3_000), io.BytesIO()
    try:
        run_pipeline(
            plan_of(DEMO),
            source,
            CATALOG,
            MAPPING,
            data_sink=data,
            subjects_sink=subjects,
            subject_key=derive_subject_key(SECRET),
            batch_rows=50,
        )
    except OSError as error:
        failed = error  # held, as a caller handling it holds it
    assert failed.errno == errno.ENOSPC
    assert 0 < len(data.getvalue()) < 3_000  # the header went out; the one data chunk did not
    size = len(subjects.getvalue())
    del failed
    gc.collect()
    after = len(subjects.getvalue())  # sizes only: a failing assert must not print the hashes
    assert after == size


def test_every_read_of_a_delivery_goes_through_the_one_source_it_is_given(
    source: Source, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stream, the code tables, the rare-category counts and the suppression pre-count all
    read through the source the caller opened once: nothing opens the source database again."""
    from exports.reading import source as source_module

    # Only exports.reading.source makes engines, so replacing its makers catches any reopening.
    makers = [
        str(path.relative_to(REPO))
        for path in (REPO / "exports").rglob("*.py")
        if path.name != "source.py"
        and any(f"{name}(" in path.read_text() for name in ("open_source", "create_engine"))
    ]
    assert makers == []

    def opened_again(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the delivery opened the source database again")

    monkeypatch.setattr(source_module, "open_source", opened_again)
    monkeypatch.setattr(source_module, "create_engine", opened_again)
    elements = {
        "agama": "decode",  # a code table, read through the source's engine
        "pekerjaan": {"mask": "recode", "mapping": {"1": "KODE 1"}, "rare_threshold": 40},
        "jenis_kelamin": "decode",
        "tanggal_lahir": {"mask": "generalize_date", "to": "year"},
    }
    plan = plan_of(elements, action="suppress")
    assert plan.rare_counted() and not plan.identified and plan.quasi_identifiers
    output, table = deliver(plan, source, batch_rows=64)
    assert table.num_rows == output.rows > 0
    assert output.report.suppressed_records > 0  # the pre-count ran and found small groups
