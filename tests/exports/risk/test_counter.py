"""The re-identification check: every figure of the report against a brute-force recount with
collections.Counter over random small tables (per record and per household), the same report
however the rows are split into batches and whether the counts stay in memory or spill to disk,
weights equal to repeated rows, and suppression that drops exactly the records of the small
groups. The spill files: private, free of input values, gone after close; memory flat in the
number of distinct combinations (tracemalloc, not timed)."""

from __future__ import annotations

import gc
import itertools
import json
import os
import stat
import tracemalloc
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exports.risk.combination_hashes import Hasher
from exports.risk.counter import BUFFER_ENTRIES, PARTITIONS, RiskCounter, RiskReport

# Small pools, so that groups of every size occur; NULL and "" are different values, and text
# with multi-byte characters and of many lengths exercises the byte hashing.
POOLS: dict[str, tuple[pa.DataType, tuple[Any, ...]]] = {
    "age": (pa.int16(), (None, 0, 7, 30, 31, 95)),
    "sex": (pa.string(), (None, "Laki-laki", "Perempuan")),
    "region": (pa.string(), (None, "", "64.01", "64.01.01", "64.01.01.2001", "Łódź-Ñ")),
    "born": (pa.date32(), (None, date(1990, 1, 1), date(1990, 1, 2), date(2000, 12, 31))),
    "flag": (pa.bool_(), (None, True, False)),
}
TOKENS = (None, "a3f9", "b71c", "0000", "ffff", "c0ffee00c0ffee00c0ffee00c0ffee00", "ß")
KK = "no_kk"


@dataclass(frozen=True)
class Case:
    keys: tuple[str, ...]
    rows: list[dict[str, Any]]

    def table(self, household: bool = True) -> pa.Table:
        columns = {key: pa.array([r[key] for r in self.rows], POOLS[key][0]) for key in self.keys}
        if household:
            columns[KK] = pa.array([r[KK] for r in self.rows], pa.string())
        columns["other"] = pa.array(range(len(self.rows)), pa.int64())  # not a quasi-identifier
        return pa.table(columns)


@st.composite
def cases(draw: st.DrawFn, min_rows: int = 0) -> Case:
    keys = tuple(draw(st.lists(st.sampled_from(sorted(POOLS)), max_size=4, unique=True)))
    row = st.fixed_dictionaries(
        {key: st.sampled_from(POOLS[key][1]) for key in keys} | {KK: st.sampled_from(TOKENS)}
    )
    return Case(keys, draw(st.lists(row, min_size=min_rows, max_size=40)))


# --- the brute force --------------------------------------------------------------------------


def combination(row: dict[str, Any], keys: Sequence[str]) -> tuple[Any, ...]:
    return tuple(row[key] for key in keys)


def brute_force(
    case: Case, k_required: int, weights: Sequence[int] | None = None, household: bool = True
) -> dict[str, Any]:
    weights = weights if weights is not None else [1] * len(case.rows)
    groups: Counter[tuple[Any, ...]] = Counter()
    members: dict[str, Counter[tuple[Any, ...]]] = {}
    descriptions: Counter[frozenset[tuple[tuple[Any, ...], int]]] = Counter()
    for row, weight in zip(case.rows, weights, strict=True):
        if not weight:
            continue
        combo = combination(row, case.keys)
        groups[combo] += weight
        if row[KK] is None:
            # Without a token, each record is a household of its own.
            descriptions[frozenset({(combo, 1)})] += weight
        else:
            members.setdefault(row[KK], Counter())[combo] += weight
    for multiset in members.values():
        descriptions[frozenset(multiset.items())] += 1
    sizes = list(groups.values()) if case.keys else []
    house_sizes = list(descriptions.values())
    expected: dict[str, Any] = {
        "records": sum(weights),
        "groups": len(sizes),
        "k": min(sizes, default=None),
        "records_in_small_groups": sum(n for n in sizes if n < k_required),
        "unique_combinations": sum(n == 1 for n in sizes),
        "households": None,
    }
    if household:
        expected["households"] = {
            "households": sum(house_sizes),
            "k": min(house_sizes, default=None),
            "households_in_small_groups": sum(n for n in house_sizes if n < k_required),
            "unique_households": sum(n == 1 for n in house_sizes),
        }
    return expected


def figures(report: RiskReport) -> dict[str, Any]:
    data = report.to_json()
    return {key: data[key] for key in ("records", "groups", "k", "records_in_small_groups")} | {
        "unique_combinations": data["unique_combinations"],
        "households": data["households"],
    }


def counted(
    case: Case,
    cuts: Sequence[int] = (),
    weights: Sequence[int] | None = None,
    household: bool = True,
    spill: bool = False,
) -> RiskCounter:
    # Spilling: 4 partitions and a buffer of 3 entries, so a few rows already make several runs.
    counter = RiskCounter(
        case.keys,
        KK if household else None,
        partitions=4 if spill else PARTITIONS,
        buffer_entries=3 if spill else BUFFER_ENTRIES,
    )
    table = case.table(household)
    edges = [0, *sorted(c % (len(case.rows) + 1) for c in cuts), len(case.rows)]
    for i, (start, stop) in enumerate(itertools.pairwise(edges)):
        part = table.slice(start, stop - start)
        # Alternate record batches and tables (whose columns are sliced chunked arrays).
        batch = part.combine_chunks().to_batches()[0] if i % 2 and part.num_rows else part
        w = None if weights is None else pa.array(weights[start:stop], pa.int64())
        counter.add(batch, weights=w)
    return counter


def report_of(counter: RiskCounter, k: int) -> RiskReport:
    return counter.report(k_required=k, action="report", identified=False)


# --- properties ---------------------------------------------------------------------------------


@given(cases(), st.integers(1, 6), st.booleans(), st.booleans())
def test_report_equals_a_brute_force_recount(
    case: Case, k: int, household: bool, spill: bool
) -> None:
    counter = counted(case, household=household, spill=spill)
    report = report_of(counter, k)
    assert figures(report) == brute_force(case, k, household=household)
    assert report_of(counter, k) == report  # a report changes nothing
    assert report.quasi_identifiers == case.keys
    assert report.passes == (report.k is None or report.k >= k)


@given(cases(), st.lists(st.integers(0, 40), max_size=6), st.integers(1, 6), st.booleans())
def test_any_split_into_batches_gives_the_same_report(
    case: Case, cuts: list[int], k: int, spill: bool
) -> None:
    whole = report_of(counted(case), k)
    assert report_of(counted(case, cuts, spill=spill), k) == whole


@given(cases(), st.data(), st.integers(1, 6))
def test_weights_count_as_repeated_rows(case: Case, data: st.DataObject, k: int) -> None:
    weights = data.draw(
        st.lists(st.integers(0, 4), min_size=len(case.rows), max_size=len(case.rows))
    )
    repeated = Case(
        case.keys, [row for row, w in zip(case.rows, weights, strict=True) for _ in range(w)]
    )
    cuts = data.draw(st.lists(st.integers(0, 40), max_size=3))
    weighted = report_of(counted(case, cuts, weights, spill=data.draw(st.booleans())), k)
    assert weighted == report_of(counted(repeated), k)
    assert figures(weighted) == brute_force(case, k, weights)


@given(
    cases(),
    st.integers(1, 6),
    st.booleans(),
    st.lists(st.integers(0, 40), max_size=3),
    st.booleans(),
)
def test_suppression_drops_exactly_the_small_groups(
    case: Case, k: int, weighted: bool, cuts: list[int], spill: bool
) -> None:
    # The pre-pass: the same rows grouped first (as the source's GROUP BY does), with sizes.
    sizes = Counter(combination(row, case.keys) for row in case.rows)
    if weighted:
        grouped = Case(
            case.keys, [dict(zip(case.keys, c, strict=True)) | {KK: None} for c in sizes]
        )
        prepass = counted(grouped, weights=list(sizes.values()), household=False, spill=spill)
    else:
        prepass = counted(case, household=False, spill=spill)
    suppression = prepass.small_groups(k)
    prepass.close()  # the suppression holds its own hashes and key
    small = {c for c, n in sizes.items() if n < k} if case.keys else set()
    assert suppression.groups == len(small)
    assert suppression.records == sum(sizes[c] for c in small)

    table = case.table()
    kept = pa.chunked_array(
        [suppression.keep(batch) for batch in table.to_batches(max_chunksize=7)], pa.bool_()
    ).to_pylist()
    assert kept == [combination(row, case.keys) not in small for row in case.rows]
    assert suppression.keep(table).to_pylist() == kept

    after = Case(case.keys, [row for row, keep in zip(case.rows, kept, strict=True) if keep])
    recount = report_of(counted(after, cuts), k)
    assert recount.records == 0 or recount.k is None or recount.k >= k
    assert recount.passes


# --- examples -----------------------------------------------------------------------------------


def test_a_worked_example() -> None:
    table = pa.table(
        {
            "sex": ["L", "L", "P", "P", "P", None],
            "age": pa.array([30, 30, 30, 30, 41, None], pa.int16()),
            KK: ["k1", "k1", "k2", "k2", "k3", None],
        }
    )
    counter = RiskCounter(("sex", "age"), KK)
    counter.add(table)
    report = counter.report(k_required=2, action="suppress", identified=False, suppressed_records=0)
    assert report.to_json() == {
        "identified": False,
        "quasi_identifiers": ["sex", "age"],
        "k_required": 2,
        "action": "suppress",
        "records": 6,
        "groups": 4,
        "k": 1,
        "records_in_small_groups": 2,
        "unique_combinations": 2,
        "suppressed_records": 0,
        # k1 = {L30, L30}, k2 = {P30, P30}, k3 = {P41}, and the record without a KK alone.
        "households": {
            "households": 4,
            "k": 1,
            "households_in_small_groups": 4,
            "unique_households": 4,
        },
    }
    assert not report.passes
    suppression = counter.small_groups(2)
    assert suppression.keep(table).to_pylist() == [True, True, True, True, False, False]


def test_identified_scopes_pass_whatever_k_is() -> None:
    counter = RiskCounter(("sex",), None)
    counter.add(pa.table({"sex": ["L", "P", "P"]}))
    report = counter.report(k_required=5, action="refuse", identified=True)
    assert report.k == 1 and report.records_in_small_groups == 3
    assert report.identified and report.passes
    assert report.to_json()["identified"] is True


def test_without_quasi_identifiers_there_is_no_k_and_nothing_to_suppress() -> None:
    counter = RiskCounter((), None)
    table = pa.table({"token": ["a", "b", "c"]})
    counter.add(table)
    report = counter.report(k_required=5, action="suppress", identified=False)
    assert report.records == 3 and report.groups == 0 and report.k is None
    assert report.quasi_identifiers == () and report.to_json()["quasi_identifiers"] == []
    assert report.passes
    assert counter.small_groups(5).keep(table).to_pylist() == [True, True, True]


def test_no_rows_has_no_k() -> None:
    counter = RiskCounter(("sex",), KK)
    counter.add(pa.table({"sex": pa.array([], pa.string()), KK: pa.array([], pa.string())}))
    report = counter.report(k_required=3, action="refuse", identified=False)
    assert report.records == 0 and report.k is None and report.passes
    assert report.households is not None and report.households.k is None
    assert counter.small_groups(3).groups == 0


def test_household_size_alone_describes_a_household_without_quasi_identifiers() -> None:
    counter = RiskCounter((), KK)
    counter.add(pa.table({KK: ["a", "a", "b", "b", "c", "c", "c"]}))
    households = counter.report(k_required=2, action="report", identified=False).households
    assert households is not None
    assert (households.households, households.k, households.unique_households) == (3, 1, 1)


def test_the_report_holds_counts_and_keys_never_values() -> None:
    secret = "Siti Nurhaliza binti Ahmad"
    counter = RiskCounter(("name_like", "born"), KK)
    counter.add(
        pa.table(
            {
                "name_like": [secret, secret],
                "born": pa.array([date(1987, 6, 5)] * 2, pa.date32()),
                KK: ["6401020304050607", "6401020304050607"],
            }
        )
    )
    text = json.dumps(counter.report(k_required=2, action="report", identified=False).to_json())
    for value in (secret, "1987", "6401020304050607"):
        assert value not in text
    assert set(json.loads(text)) == {
        "identified",
        "quasi_identifiers",
        "k_required",
        "action",
        "records",
        "groups",
        "k",
        "records_in_small_groups",
        "unique_combinations",
        "suppressed_records",
        "households",
    }


def test_many_distinct_groups_over_many_spilled_runs() -> None:
    # Far more distinct groups than the buffer holds, spread over batches: every group is counted
    # once however its records fall into runs and partitions.
    rng = np.random.default_rng(7)
    codes = rng.integers(0, 200_000, size=500_000)
    with RiskCounter(("code",), None, partitions=8, buffer_entries=50_000) as counter:
        for batch in np.array_split(codes, 9):
            counter.add(pa.table({"code": batch}))
        assert counter.directory is not None  # it did spill
        report = report_of(counter, 3)
        suppression = counter.small_groups(3)
    values, counts = np.unique(codes, return_counts=True)
    assert report.records == len(codes)
    assert report.groups == len(counts)
    assert report.k == counts.min()
    assert report.records_in_small_groups == counts[counts < 3].sum()
    assert report.unique_combinations == (counts == 1).sum()
    assert suppression.groups == (counts < 3).sum()
    assert suppression.records == counts[counts < 3].sum()
    kept = suppression.keep(pa.table({"code": values})).to_numpy(zero_copy_only=False)
    assert np.array_equal(kept, counts >= 3)


def test_reports_repeat_and_adding_may_go_on_after_one() -> None:
    batch = pa.table(
        {"sex": ["L", "P"] * 5000, "age": pa.array(list(range(10)) * 1000, pa.int16())}
    )
    with RiskCounter(("sex", "age"), None, buffer_entries=4096) as counter:
        for _ in range(5):
            counter.add(batch)
        first = report_of(counter, 2)
        assert report_of(counter, 2) == first
        assert (first.records, first.groups, first.k) == (50_000, 10, 5000)
        counter.add(batch.slice(0, 3))
        after = report_of(counter, 2)
        assert (after.records, after.groups, after.k) == (50_003, 10, 5000)


def spilled_bytes(directory: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(directory.iterdir()))


def test_spill_files_are_private_hold_no_value_and_go_on_close() -> None:
    names = [f"Siti Nurhaliza {i:05d}" for i in range(3000)]
    tokens = [f"640102030405{i:04d}" for i in range(3000)]
    table = pa.table({"name_like": names, "rt": pa.array(range(3000), pa.int64()), KK: tokens})
    spilled = []
    for _ in range(2):
        counter = RiskCounter(("name_like", "rt"), KK, partitions=4, buffer_entries=500)
        counter.add(table)
        counter.add(table.slice(0, 10), weights=pa.array([2] * 10))
        directory = counter.directory
        assert directory is not None and directory.is_dir()
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        content = spilled_bytes(directory)
        assert len(content) >= 3000 * 16
        # No value, in any encoding the counter could have written it in.
        for value in [*names[:50], *tokens[:50], "Siti", "Nurhaliza"]:
            for encoded in (value.encode(), value.encode("utf-16-le"), value.encode("utf-32-le")):
                assert encoded not in content
        for number in range(0, 3000, 97):
            assert number.to_bytes(8, "little") + (1).to_bytes(8, "little") not in content
        spilled.append(content)
        counter.close()
        assert not directory.exists() and counter.directory is None
        with pytest.raises(ValueError, match="closed"):
            counter.add(table)
        with pytest.raises(ValueError, match="closed"):
            report_of(counter, 2)
    # Each counter has its own key: the same input gives other hashes.
    assert spilled[0] != spilled[1]


def test_leaving_the_block_or_dropping_the_counter_removes_the_directory(tmp_path: Path) -> None:
    table = pa.table({"code": np.arange(1000)})
    with RiskCounter(("code",), None, directory=tmp_path, buffer_entries=100) as counter:
        counter.add(table)
        inside = counter.directory
        assert inside is not None and inside.parent == tmp_path
    assert not inside.exists()

    dropped = RiskCounter(("code",), None, directory=tmp_path, buffer_entries=100)
    dropped.add(table)
    assert dropped.directory is not None
    del dropped
    gc.collect()
    assert os.listdir(tmp_path) == []

    # A small delivery never touches the disk.
    with RiskCounter(("code",), None, directory=tmp_path) as small:
        small.add(table)
        assert report_of(small, 2).unique_combinations == 1000
        assert small.directory is None and os.listdir(tmp_path) == []


def memory(rows: int) -> tuple[int, int]:
    """Counting `rows` distinct combinations (10,000 per batch) with households, then reporting:
    tracemalloc's peak (NumPy's allocations, where the counter keeps its state) and the Arrow
    memory still allocated once the batches are added (none of it should be the counter's)."""
    arrow_before = pa.total_allocated_bytes()
    tracemalloc.start()
    try:
        with RiskCounter(("a", "b"), KK, partitions=16, buffer_entries=20_000) as counter:
            for start in range(0, rows, 10_000):
                ids = np.arange(start, start + 10_000)
                counter.add(
                    pa.table(
                        {
                            "a": pa.array(ids.astype(str)),
                            "b": pa.array(ids % 7, pa.int16()),
                            KK: pa.array((ids // 3).astype(str)),
                        }
                    )
                )
            arrow_held = pa.total_allocated_bytes() - arrow_before
            report = report_of(counter, 2)
        assert report.unique_combinations == rows and report.households is not None
        return tracemalloc.get_traced_memory()[1], arrow_held
    finally:
        tracemalloc.stop()


@pytest.mark.slow  # ~2.4 s
def test_memory_does_not_grow_with_the_number_of_combinations() -> None:
    memory(10_000)  # first use: lazy imports and Arrow's function registry
    (small, small_arrow), (large, large_arrow) = memory(20_000), memory(200_000)
    # One batch, the buffer and one partition (200,000 / 16 entries at most), whatever the rows.
    assert large < 1.5 * small + 1_000_000
    assert small_arrow < 1_000_000 and large_arrow < 1_000_000


def test_the_suppression_holds_eight_bytes_per_small_group() -> None:
    tracemalloc.start()
    try:
        with RiskCounter(("code",), None, partitions=16, buffer_entries=20_000) as counter:
            for start in range(0, 200_000, 10_000):
                counter.add(pa.table({"code": np.arange(start, start + 10_000)}))
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            suppression = counter.small_groups(2)
            held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert suppression.groups == 200_000
    assert 8 * 200_000 <= held < 8 * 200_000 + 100_000


def test_the_key_is_siphash_2_4() -> None:
    # The reference vector: key 00..0f, message 00..07 (SipHash paper, appendix A / vectors.h).
    hasher = Hasher(bytes(range(16)))
    message = np.array([int.from_bytes(bytes(range(8)), "little")], dtype=np.uint64)
    assert int(hasher._keyed(message)[0]) == 0x93F5_F579_9A93_2462


def test_errors_name_columns_and_rules_never_values() -> None:
    counter = RiskCounter(("sex",), KK)
    with pytest.raises(ValueError, match="no column for sex, no_kk"):
        counter.add(pa.table({"other": ["Siti"]}))
    batch = pa.table({"sex": ["L", "P"], KK: ["a", "b"]})
    with pytest.raises(ValueError, match="1 weights for a batch of 2 rows"):
        counter.add(batch, weights=pa.array([1]))
    with pytest.raises(ValueError, match="negative"):
        counter.add(batch, weights=pa.array([1, -1]))
    with pytest.raises(ValueError, match="null"):
        counter.add(batch, weights=pa.array([1, None]))
    with pytest.raises(ValueError, match="action"):
        counter.report(k_required=2, action="ignore", identified=False)
    with pytest.raises(ValueError, match="listed twice"):
        RiskCounter(("sex", "sex"), None)
    counter.add(batch)
    with pytest.raises(ValueError, match="column sex") as caught:
        counter.small_groups(2).keep(pa.table({"sex": pa.array([["Siti"], ["Ani"]])}))
    assert "Siti" not in str(caught.value)


@settings(max_examples=50)
@given(st.lists(st.text(max_size=30), min_size=1, max_size=30), st.integers(0, 29))
def test_household_tokens_of_any_text_hash_alike_in_any_batch(tokens: list[str], cut: int) -> None:
    # The same token must land on the same household whatever its neighbours (other lengths,
    # slicing offsets) in the batch it arrives in.
    rows = [{KK: token, "sex": "L"} for token in tokens + tokens[::-1]]
    case = Case(("sex",), rows)
    whole = report_of(counted(case), 2).households
    split = report_of(counted(case, [cut, len(tokens)]), 2).households
    assert whole == split
    assert whole is not None and whole.households == len(set(tokens))
