"""The re-identification check: how many delivered records share each quasi-identifier combination.

A record whose combination of quasi-identifiers (age or birth year, sex, region, religion, job …,
as delivered, so after masking) is shared by fewer than k records can be singled out by someone who
knows those facts about a person. `RiskCounter` counts records per combination as batches pass; its
`report` gives k (the smallest group), the records in groups smaller than the agreement's k and the
unique combinations, and the same per household when the KK number is delivered as a token: a
household is described by the multiset of its members' combinations, so a family of four whose
ages and sexes no other family shares is unique even if each member is not.

Memory stays flat, whatever the number of rows or of distinct combinations: a combination is
counted by a 64-bit hash of it (`Hasher`), and the (hash, weight) pairs are spilled by partition
(the hash's top bits, `PARTITIONS` of them): in memory up to `BUFFER_ENTRIES` pairs, then
appended to a file as one run ordered by partition. `report` counts one partition at a time (a
sort of its hashes), so what it holds is one batch, the buffer and one partition (about 40,000
pairs for ten million distinct combinations); it may be called any number of times, and adding
may go on after it. A household is the sum modulo 2**64 of its members' hashes (order-
independent, so members may arrive in any batch), summed per token hash the same way; the
descriptions' frequencies are a second partitioned count. `small_groups(k)` holds 8 bytes per
small group (their sorted hashes): the one figure that grows, and only with the small groups.

The price is collisions: two different combinations with the same hash are counted as one group,
which can only make a group look bigger (a k too high, a small group left unsuppressed). With n
distinct combinations that happens with probability about n²/2**65 (3e-6 for ten million).

The spill files are not population data: they hold 64-bit hashes (keyed with SipHash-2-4 under a
random 128-bit key drawn per counter and never written down, so they cannot be recomputed, nor
linked between runs, from the values) and counts, in a private directory (mode 0700) that
`close()` removes (so do leaving a `with` block and garbage collection). A small delivery never
writes them. A process killed outright leaves them, still meaningless without the key, until
`exports.risk.spill.remove_abandoned` removes them (the gateway runs it at start-up on its work
directory, which it passes down as `directory`).

For suppression the counter is filled before the stream from the source's GROUP BY
(`exports.reading.precount`), each group masked and added with its size as weight;
`small_groups(k)` then gives the `Suppression` that drops, batch by batch, the records of every
combination rarer than k.
Reports and errors hold counts and element keys only, never a value.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from agreements.scope import REIDENTIFICATION_ACTIONS
from exports.risk.combination_hashes import Hasher, Hashes, cast_column, column_of
from exports.risk.spill import Spill, SpillDirectory, entries_of, reduce_by_key

# 256 partitions: ten million distinct combinations are ~40,000 pairs (640 kB) per partition.
PARTITIONS = 256
# Pairs held before they are written out: a few MB, so a small delivery never touches the disk.
BUFFER_ENTRIES = 1 << 18
_GROUP = np.dtype([("key", "<u8"), ("n", "<i8")])
# A token hash, the sum of its members' combination hashes (modulo 2**64) and the member count.
_HOUSE = np.dtype([("key", "<u8"), ("sum", "<u8"), ("n", "<i8")])


@dataclass(frozen=True)
class HouseholdReport:
    """The k figures per household: how many households share each household description."""

    households: int
    k: int | None
    households_in_small_groups: int
    unique_households: int

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class RiskReport:
    """What the re-identification check found in one delivery (counts and element keys only).

    `k` is None when there are no records or no quasi-identifiers (nothing to single anyone out
    by). An *identified* delivery names its people outright (a direct identifier in clear): the
    figures are reported, but the k rule neither suppresses nor refuses.
    """

    identified: bool
    quasi_identifiers: tuple[str, ...]
    k_required: int
    action: str
    records: int
    groups: int
    k: int | None
    records_in_small_groups: int
    unique_combinations: int
    suppressed_records: int
    households: HouseholdReport | None

    @property
    def passes(self) -> bool:
        """Whether the k rule is met: identified, nothing to group by, or k at least k_required."""
        return self.identified or self.k is None or self.k >= self.k_required

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["quasi_identifiers"] = list(self.quasi_identifiers)
        data["households"] = None if self.households is None else self.households.to_json()
        return data


class Suppression:
    """The masked combinations rarer than k, and which records of a batch are outside them.

    The small groups are held as the sorted hashes of their combinations (8 bytes per small
    group), hashed with the key of the counter that found them; `keep` hashes each record the
    same way and looks it up. Independent of the counter's files: it outlives `close()`.
    """

    def __init__(
        self, quasi_identifiers: tuple[str, ...], hashes: Hashes, records: int, hasher: Hasher
    ) -> None:
        self.quasi_identifiers = quasi_identifiers
        self.groups = len(hashes)
        self.records = records  # records the pre-pass counted in those groups
        self._hashes = hashes
        self._hasher = hasher

    def keep(self, batch: pa.RecordBatch | pa.Table) -> pa.BooleanArray:
        """True for each record whose masked combination is not one of the small groups."""
        if not self.groups:
            return pa.array(np.ones(batch.num_rows, dtype=bool), type=pa.bool_())
        hashes = self._hasher.combinations(batch, self.quasi_identifiers)
        at = np.minimum(np.searchsorted(self._hashes, hashes), self.groups - 1)
        return pa.array(self._hashes[at] != hashes, type=pa.bool_())


class RiskCounter:
    """Records per masked quasi-identifier combination (and per household), batch by batch.

    Close it when done (`close()`, or use it as a context manager): that removes its spill
    directory. `report` and `small_groups` may be called any number of times, also between adds.
    """

    def __init__(
        self,
        quasi_identifiers: Sequence[str],
        household: str | None = None,
        *,
        directory: str | Path | None = None,
        partitions: int = PARTITIONS,
        buffer_entries: int = BUFFER_ENTRIES,
    ) -> None:
        self.quasi_identifiers = tuple(quasi_identifiers)
        if len(set(self.quasi_identifiers)) != len(self.quasi_identifiers):
            raise ValueError("a quasi-identifier is listed twice")
        if household is not None and household in self.quasi_identifiers:
            raise ValueError(f"the household column {household} is not a quasi-identifier")
        if partitions < 1 or partitions & (partitions - 1) or partitions > 1 << 16:
            raise ValueError("partitions must be a power of two up to 65536")
        self.household = household
        self.records = 0
        self._hasher = Hasher(secrets.token_bytes(16))
        self._files = SpillDirectory(directory)
        spill = (self._files, partitions, max(buffer_entries, 1))
        self._groups = Spill("groups", _GROUP, *spill)
        # A record without a token is a household of its own: counted per member hash, since it
        # can never gain members.
        self._houses = Spill("houses", _HOUSE, *spill)
        self._alone = Spill("alone", _GROUP, *spill)

    @property
    def directory(self) -> Path | None:
        """The spill directory, once anything has been written to it (None before, or closed)."""
        return self._files.path

    def close(self) -> None:
        """Remove the spill files and forget the counts; the counter cannot be used again."""
        self._files.remove()
        for spill in (self._groups, self._houses, self._alone):
            spill.pending.clear()

    def __enter__(self) -> RiskCounter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def add(self, batch: pa.RecordBatch | pa.Table, weights: pa.Array | None = None) -> None:
        """Count `batch`'s records; with `weights`, row i stands for weights[i] records (a
        pre-pass group of that size)."""
        self._files.check()
        needed = (*self.quasi_identifiers, *((self.household,) if self.household else ()))
        missing = [name for name in needed if name not in batch.schema.names]
        if missing:
            raise ValueError(f"the batch has no column for {', '.join(missing)}")
        counts = _weights(weights, batch.num_rows)
        if batch.num_rows == 0:
            return
        self.records += int(counts.sum())
        if not self.quasi_identifiers and self.household is None:
            return
        member = self._hasher.combinations(batch, self.quasi_identifiers)
        if self.quasi_identifiers:
            self._groups.add(entries_of(_GROUP, key=member, n=counts))
        if self.household is not None:
            token = column_of(batch, self.household)
            where = pc.is_valid(token).to_numpy(zero_copy_only=False)
            if where.any():
                present = cast_column(token.filter(pa.array(where)), pa.string(), self.household)
                houses = self._hasher.strings(present)
                weight = counts[where]
                # Multiplying wraps modulo 2**64, which is what a sum of `weight` copies does.
                summed = member[where] * weight.astype(np.uint64)
                self._houses.add(entries_of(_HOUSE, key=houses, sum=summed, n=weight))
            if not where.all():
                self._alone.add(entries_of(_GROUP, key=member[~where], n=counts[~where]))

    def small_groups(self, k: int) -> Suppression:
        """The combinations held by fewer than `k` records, as a Suppression for the stream."""
        self._files.check()
        small: list[Hashes] = []
        records = 0
        if k > 1 and self.quasi_identifiers:
            for part in self._groups.partitions():
                groups = reduce_by_key(part)
                rare = groups[(groups["n"] > 0) & (groups["n"] < k)]
                small.append(rare["key"])
                records += int(rare["n"].sum())
        # Partitions come in the order of the hashes' top bits, each sorted: the whole is sorted.
        hashes = np.concatenate(small) if small else np.zeros(0, np.uint64)
        return Suppression(self.quasi_identifiers, hashes, records, self._hasher)

    def report(
        self, *, k_required: int, action: str, identified: bool, suppressed_records: int = 0
    ) -> RiskReport:
        """The figures of everything added so far, against the agreement's k and action."""
        if k_required < 1:
            raise ValueError("k_required must be at least 1")
        if action not in REIDENTIFICATION_ACTIONS:
            raise ValueError(f"action must be one of {', '.join(REIDENTIFICATION_ACTIONS)}")
        self._files.check()
        figures = _Figures(k_required)
        if self.quasi_identifiers:
            for part in self._groups.partitions():
                figures.add(reduce_by_key(part)["n"])
        return RiskReport(
            identified=identified,
            quasi_identifiers=self.quasi_identifiers,
            k_required=k_required,
            action=action,
            records=self.records,
            groups=figures.groups,
            k=figures.smallest,
            records_in_small_groups=figures.in_small,
            unique_combinations=figures.unique,
            suppressed_records=suppressed_records,
            households=None if self.household is None else self._household_report(k_required),
        )

    def _household_report(self, k_required: int) -> HouseholdReport:
        # Each household's description (its members' hash sum) into a spill of its own, with the
        # records without a token, then the descriptions counted partition by partition.
        described = Spill("described", _GROUP, *self._groups.settings)
        try:
            for part in self._houses.partitions():
                houses = reduce_by_key(part)
                houses = houses[houses["n"] > 0]
                ones = np.ones(len(houses), np.int64)
                described.add(entries_of(_GROUP, key=houses["sum"], n=ones))
            for part in self._alone.partitions():
                described.add(part)
            figures = _Figures(k_required)
            for part in described.partitions():
                figures.add(reduce_by_key(part)["n"])
        finally:
            described.remove()
        return HouseholdReport(
            households=figures.records,
            k=figures.smallest,
            households_in_small_groups=figures.in_small,
            unique_households=figures.unique,
        )


class _Figures:
    """The report's figures, accumulated over the partitions' group sizes."""

    def __init__(self, k_required: int) -> None:
        self.k_required = k_required
        self.records = self.groups = self.in_small = self.unique = 0
        self.smallest: int | None = None

    def add(self, sizes: NDArray[np.int64]) -> None:
        sizes = sizes[sizes > 0]
        if not len(sizes):
            return
        low = int(sizes.min())
        self.smallest = low if self.smallest is None else min(self.smallest, low)
        self.records += int(sizes.sum())
        self.groups += len(sizes)
        self.in_small += int(sizes[sizes < self.k_required].sum())
        self.unique += int((sizes == 1).sum())


def _weights(weights: pa.Array | pa.ChunkedArray | None, rows: int) -> NDArray[np.int64]:
    if weights is None:
        return np.ones(rows, dtype=np.int64)
    if len(weights) != rows:
        raise ValueError(f"{len(weights)} weights for a batch of {rows} rows")
    if not pa.types.is_integer(weights.type):
        raise ValueError("weights must be whole numbers")
    if weights.null_count:
        raise ValueError("weights must not be null")
    counts: NDArray[np.int64] = np.asarray(pc.cast(weights, pa.int64()).to_numpy(), np.int64)
    if rows and counts.min() < 0:
        raise ValueError("weights must not be negative")
    return counts
