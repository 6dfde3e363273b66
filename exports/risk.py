"""The re-identification check: how many delivered records share each quasi-identifier combination.

A record whose combination of quasi-identifiers (age or birth year, sex, region, religion, job …,
as delivered, so after masking) is shared by fewer than k records can be singled out by someone who
knows those facts about a person. `RiskCounter` counts records per combination as batches pass; its
`report` gives k (the smallest group), the records in groups smaller than the agreement's k and the
unique combinations, and the same per household when the KK number is delivered as a token: a
household is described by the multiset of its members' combinations, so a family of four whose
ages and sexes no other family shares is unique even if each member is not.

Memory stays flat, whatever the number of rows or of distinct combinations: a combination is
counted by a 64-bit hash of it (`_Hasher`), and the (hash, weight) pairs are spilled by partition
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
writes them. A process killed outright leaves them, still meaningless without the key.

For suppression the counter is filled before the stream from the source's GROUP BY
(`exports.precount`), each group masked and added with its size as weight; `small_groups(k)` then
gives the `Suppression` that drops, batch by batch, the records of every combination rarer than k.
Reports and errors hold counts and element keys only, never a value.
"""

from __future__ import annotations

import dataclasses
import secrets
import shutil
import tempfile
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from agreements.scope import REIDENTIFICATION_ACTIONS

# 256 partitions: ten million distinct combinations are ~40,000 pairs (640 kB) per partition.
PARTITIONS = 256
# Pairs held before they are written out: a few MB, so a small delivery never touches the disk.
BUFFER_ENTRIES = 1 << 18
Hashes = NDArray[np.uint64]
_GROUP = np.dtype([("key", "<u8"), ("n", "<i8")])
# A token hash, the sum of its members' combination hashes (modulo 2**64) and the member count.
_HOUSE = np.dtype([("key", "<u8"), ("sum", "<u8"), ("n", "<i8")])
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

    The small groups are held as the sorted hashes of their combinations (8 bytes per small
    group), hashed with the key of the counter that found them; `keep` hashes each record the
    same way and looks it up. Independent of the counter's files: it outlives `close()`.
    """

    def __init__(
        self, quasi_identifiers: tuple[str, ...], hashes: Hashes, records: int, hasher: _Hasher
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
        self._hasher = _Hasher(secrets.token_bytes(16))
        self._files = _Directory(directory)
        spill = (self._files, partitions, max(buffer_entries, 1))
        self._groups = _Spill("groups", _GROUP, *spill)
        # A record without a token is a household of its own: counted per member hash, since it
        # can never gain members.
        self._houses = _Spill("houses", _HOUSE, *spill)
        self._alone = _Spill("alone", _GROUP, *spill)

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
            self._groups.add(_entries(_GROUP, key=member, n=counts))
        if self.household is not None:
            token = _column(batch, self.household)
            where = pc.is_valid(token).to_numpy(zero_copy_only=False)
            if where.any():
                present = _cast(token.filter(pa.array(where)), pa.string(), self.household)
                houses = self._hasher.strings(present)
                weight = counts[where]
                # Multiplying wraps modulo 2**64, which is what a sum of `weight` copies does.
                summed = member[where] * weight.astype(np.uint64)
                self._houses.add(_entries(_HOUSE, key=houses, sum=summed, n=weight))
            if not where.all():
                self._alone.add(_entries(_GROUP, key=member[~where], n=counts[~where]))

    def small_groups(self, k: int) -> Suppression:
        """The combinations held by fewer than `k` records, as a Suppression for the stream."""
        self._files.check()
        small: list[Hashes] = []
        records = 0
        if k > 1 and self.quasi_identifiers:
            for part in self._groups.partitions():
                groups = _reduce(part)
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
                figures.add(_reduce(part)["n"])
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
        described = _Spill("described", _GROUP, *self._groups.settings)
        try:
            for part in self._houses.partitions():
                houses = _reduce(part)
                houses = houses[houses["n"] > 0]
                ones = np.ones(len(houses), np.int64)
                described.add(_entries(_GROUP, key=houses["sum"], n=ones))
            for part in self._alone.partitions():
                described.add(part)
            figures = _Figures(k_required)
            for part in described.partitions():
                figures.add(_reduce(part)["n"])
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


class _Directory:
    """The counter's private spill directory: made on first use, removed on close or when the
    counter is garbage-collected (`weakref.finalize`, which also runs at interpreter exit)."""

    def __init__(self, parent: str | Path | None) -> None:
        self.parent = parent
        self.path: Path | None = None
        self.closed = False
        self._finalizer: weakref.finalize[Any, Any] | None = None

    def get(self) -> Path:
        self.check()
        if self.path is None:
            self.path = Path(tempfile.mkdtemp(prefix="pks-risk-", dir=self.parent))  # mode 0700
            self._finalizer = weakref.finalize(self, shutil.rmtree, self.path, True)
        return self.path

    def check(self) -> None:
        if self.closed:
            raise ValueError("the risk counter is closed")

    def remove(self) -> None:
        self.closed = True
        if self._finalizer is not None:
            self._finalizer()
        self.path = None


class _Spill:
    """Entries (a 64-bit key first, then counts) by partition of the key's top bits: in memory up
    to a buffer's size, then appended to one file as a run ordered by partition, whose bounds
    are kept, so a partition is read back as one slice of each run."""

    def __init__(
        self, name: str, dtype: np.dtype[Any], files: _Directory, partitions: int, buffer: int
    ) -> None:
        self.name, self.dtype, self.files = name, dtype, files
        self.settings = (files, partitions, buffer)
        self.count, self.buffer = partitions, buffer
        self.shift = np.uint64(64 - (partitions.bit_length() - 1))
        self.pending: list[NDArray[Any]] = []
        self.pending_entries = 0
        self.written = 0  # entries in the file
        self.runs: list[tuple[int, NDArray[np.int64]]] = []  # (first entry, partition bounds)

    def add(self, entries: NDArray[Any]) -> None:
        self.pending.append(entries)
        self.pending_entries += len(entries)
        if self.pending_entries >= self.buffer:
            self._write(self._take())

    def partitions(self) -> Iterator[NDArray[Any]]:
        """Every entry added, one partition at a time (unsorted, a key possibly repeated)."""
        pending = _reduce(self._take())
        if not self.runs:
            self.pending, self.pending_entries = [pending], len(pending)
            yield pending
            return
        self._write(pending)
        with self._path().open("rb") as file:
            for part in range(self.count):
                slices = []
                for first, bounds in self.runs:
                    if bounds[part + 1] > bounds[part]:
                        file.seek((first + int(bounds[part])) * self.dtype.itemsize)
                        count = int(bounds[part + 1] - bounds[part])
                        slices.append(np.fromfile(file, dtype=self.dtype, count=count))
                if slices:
                    yield np.concatenate(slices)

    def remove(self) -> None:
        if self.runs:
            self._path().unlink(missing_ok=True)
        self.runs.clear()
        self.pending.clear()
        self.written = 0

    def _take(self) -> NDArray[Any]:
        entries = np.concatenate(self.pending) if self.pending else np.zeros(0, self.dtype)
        self.pending, self.pending_entries = [], 0
        return entries

    def _write(self, entries: NDArray[Any]) -> None:
        if not len(entries):
            return
        part = (entries["key"] >> self.shift).astype(np.uint16)
        order = np.argsort(part, kind="stable")  # a radix sort on 16 bits
        bounds = np.searchsorted(part[order], np.arange(self.count + 1)).astype(np.int64)
        with self._path().open("ab") as file:
            entries[order].tofile(file)
        self.runs.append((self.written, bounds))
        self.written += len(entries)

    def _path(self) -> Path:
        return self.files.get() / self.name


def _entries(dtype: np.dtype[Any], **columns: NDArray[Any]) -> NDArray[Any]:
    entries = np.empty(len(columns["key"]), dtype=dtype)
    for name, values in columns.items():
        entries[name] = values
    return entries


def _reduce(entries: NDArray[Any]) -> NDArray[Any]:
    """One entry per key, sorted by key, its counts summed (a uint64 sum wraps modulo 2**64)."""
    if len(entries) < 2:
        return entries
    order = np.argsort(entries["key"])
    keys = entries["key"][order]
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    reduced = np.empty(len(starts), dtype=entries.dtype)
    reduced["key"] = keys[starts]
    for name in (entries.dtype.names or ())[1:]:
        reduced[name] = np.add.reduceat(entries[name][order], starts)
    return reduced


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


# --- 64-bit hashes, vectorised -----------------------------------------------------------------


class _Hasher:
    """Keyed 64-bit hashes of records' combinations and of household tokens.

    The unkeyed hash (MurmurHash3's finaliser over each column's values as text, chained) is
    then keyed with SipHash-2-4 under a random 128-bit key: without the key a hash cannot be
    recomputed from guessed values, and the counter and its Suppression share one key.
    """

    def __init__(self, key: bytes) -> None:
        self._k0 = np.uint64(int.from_bytes(key[:8], "little"))
        self._k1 = np.uint64(int.from_bytes(key[8:16], "little"))

    def combinations(self, batch: pa.RecordBatch | pa.Table, keys: tuple[str, ...]) -> Hashes:
        return self._keyed(_combination_hashes(batch, keys))

    def strings(self, strings: pa.Array) -> Hashes:
        return self._keyed(_string_hashes(strings))

    def _keyed(self, message: Hashes) -> Hashes:
        """SipHash-2-4 of each 8-byte little-endian message under the key."""
        m = message.astype(np.uint64, copy=False)
        v0 = np.full(len(m), self._k0 ^ np.uint64(0x736F_6D65_7073_6575), np.uint64)
        v1 = np.full(len(m), self._k1 ^ np.uint64(0x646F_7261_6E64_6F6D), np.uint64)
        v2 = np.full(len(m), self._k0 ^ np.uint64(0x6C79_6765_6E65_7261), np.uint64)
        v3 = np.full(len(m), self._k1 ^ np.uint64(0x7465_6462_7974_6573), np.uint64)
        state = [v0, v1, v2, v3]
        final = np.uint64(8 << 56)  # the message length, in the last block
        v3 ^= m
        _sip_rounds(state, 2)
        v0 ^= m
        v3 ^= final
        _sip_rounds(state, 2)
        v0 ^= final
        v2 ^= np.uint64(0xFF)
        _sip_rounds(state, 4)
        result: Hashes = v0 ^ v1 ^ v2 ^ v3
        return result


def _sip_rounds(state: list[Hashes], rounds: int) -> None:
    v0, v1, v2, v3 = state  # updated in place
    for _ in range(rounds):
        v0 += v1
        _rotate(v1, 13)
        v1 ^= v0
        _rotate(v0, 32)
        v2 += v3
        _rotate(v3, 16)
        v3 ^= v2
        v0 += v3
        _rotate(v3, 21)
        v3 ^= v0
        v2 += v1
        _rotate(v1, 17)
        v1 ^= v2
        _rotate(v2, 32)


def _rotate(x: Hashes, bits: int) -> None:
    low = x >> np.uint64(64 - bits)
    x <<= np.uint64(bits)
    x |= low


def _mix(x: Hashes) -> Hashes:
    """MurmurHash3's 64-bit finaliser: a bijection that spreads every input bit over the output."""
    x = x ^ (x >> np.uint64(33))
    x = x * np.uint64(0xFF51_AFD7_ED55_8CCD)
    x = x ^ (x >> np.uint64(33))
    x = x * np.uint64(0xC4CE_B9FE_1A85_EC53)
    return x ^ (x >> np.uint64(33))


def _combination_hashes(batch: pa.RecordBatch | pa.Table, keys: tuple[str, ...]) -> Hashes:
    """One hash per record of its values in `keys` (in order; NULL a value of its own).

    Each column is dictionary-encoded so only its distinct values are hashed, as text: within one
    column the type is fixed and its text form tells values apart.
    """
    hashes = np.full(batch.num_rows, _EMPTY_HASH if not keys else _SEED, dtype=np.uint64)
    for key in keys:
        column = _column(batch, key)
        try:
            encoded = pc.dictionary_encode(column)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            raise ValueError(f"column {key} ({column.type}) cannot be counted") from None
        values = _string_hashes(_cast(encoded.dictionary, pa.string(), key))
        lookup = np.append(values, _NULL_HASH)
        positions = pc.fill_null(encoded.indices, len(values)).to_numpy()
        hashes = _mix(hashes ^ lookup[positions])
    return hashes


def _string_hashes(strings: pa.Array) -> Hashes:
    """A 64-bit hash of each (non-null) string's UTF-8 bytes, 8 bytes per vector step.

    The length seeds the hash, so the zero padding of the last word cannot make two strings equal.
    """
    strings = pc.cast(strings, pa.large_string())
    count = len(strings)
    _, offsets_buffer, data_buffer = strings.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[strings.offset :][: count + 1]
    starts, lengths = offsets[:-1], np.diff(offsets)
    # Every byte position as the start of an unaligned little-endian 8-byte word (padded at the
    # end), so one gather reads a word of every string at once.
    data = np.zeros((int(offsets[-1]) if count else 0) + 8, dtype=np.uint8)
    if data_buffer is not None and count:
        data[: int(offsets[-1])] = np.frombuffer(data_buffer, np.uint8)[: int(offsets[-1])]
    words = np.ndarray((len(data) - 7,), dtype="<u8", buffer=data, strides=(1,))
    hashes = _mix(_SEED ^ lengths.astype(np.uint64))
    rows = np.arange(count)
    for at in range(0, int(lengths.max()) if count else 0, 8):
        rows = rows[lengths[rows] > at]
        left = np.minimum(lengths[rows] - at, 8).astype(np.uint64)
        # Keep the string's own bytes of the word: (2**(8*left) - 1), without shifting by 64.
        mask = ~np.uint64(0) >> (np.uint64(64) - np.uint64(8) * left)
        word = words[starts[rows] + at] & mask
        hashes[rows] = _mix(hashes[rows] ^ word)
    return hashes
