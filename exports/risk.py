"""The re-identification check: how many delivered records share each quasi-identifier combination.

A record whose combination of quasi-identifiers (age or birth year, sex, region, religion, job …,
as delivered, so after masking) is shared by fewer than k records can be singled out by someone who
knows those facts about a person. `RiskCounter` counts records per combination as batches pass; its
`report` gives k (the smallest group), the records in groups smaller than the agreement's k and the
unique combinations, and the same per household when the KK number is delivered as a token: a
household is described by the multiset of its members' combinations, so a family of four whose
ages and sexes no other family shares is unique even if each member is not.

Memory grows with the number of distinct combinations, never with rows: each batch is grouped with
Arrow (`Table.group_by`) and merged into a running table that is re-grouped as it grows. Households
cost three 64-bit numbers each (a hash of the token, and the order-independent sum of the members'
combination hashes kept as two 32-bit halves' sums, so no sum can overflow) plus a member count.

For suppression the counter is filled before the stream from the source's GROUP BY
(`exports.precount`), each group masked and added with its size as weight; `small_groups(k)` then
gives the `Suppression` that drops, batch by batch, the records of every combination rarer than k.
Reports and errors hold counts and element keys only, never a value.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from agreements.scope import REIDENTIFICATION_ACTIONS

# Re-group the running table once the groups of batches added since the last merge outnumber it
# (and this floor): amortised linear work, and never more than twice the distinct groups plus
# the floor. A floor of four 64 k-row batches keeps re-grouping rare (Arrow's group_by is the cost
# here: about 0.3 s per million rows on five string columns).
COMPACT_ROWS = 262_144
COUNT = "n"
Hashes = NDArray[np.uint64]
_LOW32 = np.uint64(0xFFFF_FFFF)
_SEED = np.uint64(0x9E37_79B9_7F4A_7C15)
_NULL_HASH = np.uint64(0x6A09_E667_F3BC_C909)  # a NULL quasi-identifier, a value of its own
_EMPTY_HASH = np.uint64(0xBB67_AE85_84CA_A73B)  # a member when there are no quasi-identifiers


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

    `keep` is exact (no hashing): each quasi-identifier column is mapped to its position among
    the values the small groups hold (`index_in`, NULL matching NULL), and the positions are
    combined column by column, re-numbered after each step against the small groups' own
    combined positions, so the numbers stay below (small groups)² and a record maps to a small
    group exactly when its whole combination is one.
    """

    def __init__(self, quasi_identifiers: tuple[str, ...], small: pa.Table, records: int) -> None:
        self.quasi_identifiers = quasi_identifiers
        self.groups = small.num_rows
        self.records = records  # records the pre-pass counted in those groups
        self._values: list[pa.Array] = []
        self._steps: list[pa.Array] = []
        key: pa.Array | None = None
        for name in quasi_identifiers if self.groups else ():
            column = small.column(name).combine_chunks()
            values = pc.unique(column)
            key = self._combine(
                key, pc.index_in(column, value_set=values, skip_nulls=False), values
            )
            step = pc.unique(key)
            key = pc.index_in(key, value_set=step)
            self._values.append(values)
            self._steps.append(step)

    @staticmethod
    def _combine(key: pa.Array | None, code: pa.Array, values: pa.Array) -> pa.Array:
        code = pc.cast(code, pa.int64())
        return (
            code
            if key is None
            else pc.add(pc.multiply(pc.cast(key, pa.int64()), len(values)), code)
        )

    def keep(self, batch: pa.RecordBatch | pa.Table) -> pa.BooleanArray:
        """True for each record whose masked combination is not one of the small groups."""
        if not self._values:
            return pa.array(np.ones(batch.num_rows, dtype=bool), type=pa.bool_())
        key: pa.Array | None = None
        for name, values, step in zip(
            self.quasi_identifiers, self._values, self._steps, strict=True
        ):
            column = _column(batch, name)
            if column.type != values.type:
                column = _cast(column, values.type, name)
            code = pc.index_in(column, value_set=values, skip_nulls=False)
            key = pc.index_in(self._combine(key, code, values), value_set=step)
        kept = pc.is_null(key)
        return kept.combine_chunks() if isinstance(kept, pa.ChunkedArray) else kept


class RiskCounter:
    """Records per masked quasi-identifier combination (and per household), batch by batch."""

    def __init__(self, quasi_identifiers: Sequence[str], household: str | None = None) -> None:
        self.quasi_identifiers = tuple(quasi_identifiers)
        if len(set(self.quasi_identifiers)) != len(self.quasi_identifiers):
            raise ValueError("a quasi-identifier is listed twice")
        if household is not None and household in self.quasi_identifiers:
            raise ValueError(f"the household column {household} is not a quasi-identifier")
        self.household = household
        self.records = 0
        self._groups = _Running(self.quasi_identifiers, (COUNT,))
        # Per household token hash: sums of the members' combination hashes (low and high 32 bits
        # apart) and the member count. A record without a token is a household of its own, kept
        # as a count per combination hash, since it can never gain members.
        self._households = _Running(("house",), ("low", "high", "members"))
        self._alone = _Running(("description",), (COUNT,))

    def add(self, batch: pa.RecordBatch | pa.Table, weights: pa.Array | None = None) -> None:
        """Count `batch`'s records; with `weights`, row i stands for weights[i] records (a
        pre-pass group of that size)."""
        table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
        needed = (*self.quasi_identifiers, *((self.household,) if self.household else ()))
        missing = [name for name in needed if name not in table.column_names]
        if missing:
            raise ValueError(f"the batch has no column for {', '.join(missing)}")
        counts = _weights(weights, table.num_rows)
        if table.num_rows == 0:
            return
        self.records += int(pc.sum(counts).as_py() or 0)
        if self.quasi_identifiers:
            self._groups.add(
                table.select(list(self.quasi_identifiers)).append_column(COUNT, counts)
            )
        if self.household is not None:
            self._add_households(table, counts)

    def _add_households(self, table: pa.Table, counts: pa.Array) -> None:
        assert self.household is not None
        weight = counts.to_numpy().astype(np.uint64)
        member = _combination_hashes(table, self.quasi_identifiers)
        token = _column(table, self.household)
        present = pc.is_valid(token)
        where = present.to_numpy(zero_copy_only=False)
        if where.any():
            # Multiplying wraps modulo 2**64, which is what a sum of `weight` copies does.
            summed = member[where] * weight[where]
            self._households.add(
                pa.table(
                    {
                        "house": _string_hashes(pc.cast(token.filter(present), pa.string())),
                        "low": summed & _LOW32,
                        "high": summed >> np.uint64(32),
                        "members": pa.array(weight[where].astype(np.int64)),
                    }
                )
            )
        if not where.all():
            alone = ~where
            self._alone.add(
                pa.table({"description": member[alone], COUNT: weight[alone].astype(np.int64)})
            )

    def small_groups(self, k: int) -> Suppression:
        """The combinations held by fewer than `k` records, as a Suppression for the stream."""
        table = self._groups.table()
        if table is None or k <= 1:
            return Suppression(self.quasi_identifiers, _empty(self.quasi_identifiers), 0)
        n = table.column(COUNT)
        small = table.filter(pc.and_(pc.greater(n, 0), pc.less(n, k)))
        records = int(pc.sum(small.column(COUNT)).as_py() or 0)
        return Suppression(self.quasi_identifiers, small.drop_columns([COUNT]), records)

    def report(
        self, *, k_required: int, action: str, identified: bool, suppressed_records: int = 0
    ) -> RiskReport:
        """The figures of everything added so far, against the agreement's k and action."""
        if k_required < 1:
            raise ValueError("k_required must be at least 1")
        if action not in REIDENTIFICATION_ACTIONS:
            raise ValueError(f"action must be one of {', '.join(REIDENTIFICATION_ACTIONS)}")
        table = self._groups.table()
        sizes = _positive(table.column(COUNT) if table is not None else None)
        k, small, unique = _figures(sizes, k_required)
        return RiskReport(
            identified=identified,
            quasi_identifiers=self.quasi_identifiers,
            k_required=k_required,
            action=action,
            records=self.records,
            groups=len(sizes),
            k=k,
            records_in_small_groups=small,
            unique_combinations=unique,
            suppressed_records=suppressed_records,
            households=None if self.household is None else self._household_report(k_required),
        )

    def _household_report(self, k_required: int) -> HouseholdReport:
        parts = []
        houses = self._households.table()
        if houses is not None:
            houses = houses.filter(pc.greater(houses.column("members"), 0))
            low = houses.column("low").to_numpy()
            high = houses.column("high").to_numpy()
            description = (high << np.uint64(32)) + low  # the members' hash sum, modulo 2**64
            ones = np.ones(len(description), dtype=np.int64)
            parts.append(pa.table({"description": description, COUNT: ones}))
        alone = self._alone.table()
        if alone is not None:
            parts.append(alone)
        sizes = np.zeros(0, dtype=np.int64)
        if parts:
            described = _group(pa.concat_tables(parts), ("description",), (COUNT,))
            sizes = _positive(described.column(COUNT))
        k, small, unique = _figures(sizes, k_required)
        return HouseholdReport(
            households=int(sizes.sum()),
            k=k,
            households_in_small_groups=small,
            unique_households=unique,
        )


class _Running:
    """Sums per key over everything added, as Arrow tables re-grouped as they grow."""

    def __init__(self, keys: tuple[str, ...], sums: tuple[str, ...]) -> None:
        self.keys, self.sums = keys, sums
        self.parts: list[pa.Table] = []
        self.merged_rows = self.pending_rows = 0

    def add(self, table: pa.Table) -> None:
        grouped = _group(table, self.keys, self.sums)
        self.parts.append(grouped)
        self.pending_rows += grouped.num_rows
        if self.pending_rows > max(COMPACT_ROWS, self.merged_rows):
            self.table()

    def table(self) -> pa.Table | None:
        """Everything added, one row per key; None before the first add."""
        if len(self.parts) > 1:
            merged = pa.concat_tables(self.parts, promote_options="default")
            self.parts = [_group(merged, self.keys, self.sums)]
            self.merged_rows, self.pending_rows = self.parts[0].num_rows, 0
        return self.parts[0] if self.parts else None


def _group(table: pa.Table, keys: tuple[str, ...], sums: tuple[str, ...]) -> pa.Table:
    grouped = table.group_by(list(keys), use_threads=False).aggregate(
        [(name, "sum") for name in sums]
    )
    return grouped.select([*keys, *(f"{name}_sum" for name in sums)]).rename_columns([*keys, *sums])


def _positive(sizes: pa.ChunkedArray | None) -> NDArray[np.int64]:
    if sizes is None:
        return np.zeros(0, dtype=np.int64)
    values: NDArray[np.int64] = sizes.to_numpy().astype(np.int64)
    return values[values > 0]


def _figures(sizes: NDArray[np.int64], k_required: int) -> tuple[int | None, int, int]:
    """(smallest group, members of groups below k_required, groups of one)."""
    if not len(sizes):
        return None, 0, 0
    return int(sizes.min()), int(sizes[sizes < k_required].sum()), int((sizes == 1).sum())


def _weights(weights: pa.Array | pa.ChunkedArray | None, rows: int) -> pa.Array:
    if weights is None:
        return pa.array(np.ones(rows, dtype=np.int64))
    if len(weights) != rows:
        raise ValueError(f"{len(weights)} weights for a batch of {rows} rows")
    if not pa.types.is_integer(weights.type):
        raise ValueError("weights must be whole numbers")
    if weights.null_count:
        raise ValueError("weights must not be null")
    counts = pc.cast(weights, pa.int64())
    if isinstance(counts, pa.ChunkedArray):
        counts = counts.combine_chunks()
    if rows and pc.min(counts).as_py() < 0:
        raise ValueError("weights must not be negative")
    return counts


def _column(batch: pa.RecordBatch | pa.Table, name: str) -> pa.Array:
    if name not in batch.schema.names:
        raise ValueError(f"the batch has no column for {name}")
    column = batch.column(name)
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _cast(column: pa.Array, to: pa.DataType, name: str) -> pa.Array:
    try:
        return pc.cast(column, to)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        # Arrow's message may quote a value.
        raise ValueError(f"column {name} ({column.type}) does not convert to {to}") from None


def _empty(names: tuple[str, ...]) -> pa.Table:
    return pa.table({name: pa.array([], pa.null()) for name in names})


# --- 64-bit hashes, vectorised -----------------------------------------------------------------


def _mix(x: Hashes) -> Hashes:
    """MurmurHash3's 64-bit finaliser: a bijection that spreads every input bit over the output."""
    x = x ^ (x >> np.uint64(33))
    x = x * np.uint64(0xFF51_AFD7_ED55_8CCD)
    x = x ^ (x >> np.uint64(33))
    x = x * np.uint64(0xC4CE_B9FE_1A85_EC53)
    return x ^ (x >> np.uint64(33))


def _combination_hashes(table: pa.Table, keys: tuple[str, ...]) -> Hashes:
    """One hash per record of its values in `keys` (in order; NULL a value of its own).

    Each column is dictionary-encoded so only its distinct values are hashed, as text: within one
    column the type is fixed and its text form tells values apart.
    """
    hashes = np.full(table.num_rows, _EMPTY_HASH if not keys else _SEED, dtype=np.uint64)
    for key in keys:
        encoded = pc.dictionary_encode(_column(table, key))
        values = _string_hashes(pc.cast(encoded.dictionary, pa.string()))
        lookup = np.append(values, _NULL_HASH)
        positions = pc.fill_null(encoded.indices, len(values)).to_numpy()
        hashes = _mix(hashes ^ lookup[positions])
    return hashes


def _string_hashes(strings: pa.Array) -> Hashes:
    """A 64-bit hash of each (non-null) string's UTF-8 bytes, 8 bytes per vector step.

    Strings of one length are hashed together; the length seeds the hash, so zero padding of
    the last word cannot make two strings equal.
    """
    strings = pc.cast(strings, pa.large_string())
    count = len(strings)
    _, offsets_buffer, data_buffer = strings.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[strings.offset :][: count + 1]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer else np.zeros(0, np.uint8)
    starts, lengths = offsets[:-1], np.diff(offsets)
    hashes = np.empty(count, dtype=np.uint64)
    for length in np.unique(lengths):
        rows = np.flatnonzero(lengths == length)
        hashed = _mix(np.full(len(rows), _SEED ^ np.uint64(length), dtype=np.uint64))
        for word_start in range(0, int(length), 8):
            width = min(8, int(length) - word_start)
            word = np.zeros((len(rows), 8), dtype=np.uint8)
            word[:, :width] = data[starts[rows, None] + word_start + np.arange(width)]
            hashed = _mix(hashed ^ word.view("<u8")[:, 0].astype(np.uint64))
        hashes[rows] = hashed
    return hashes
