"""Keyed 64-bit hashes of quasi-identifier combinations and household tokens, vectorised.

`Hasher` hashes each record's combination of columns (as delivered, nulls a value of their own)
to 64 bits with NumPy, then keys the result with SipHash-2-4 under a key the caller draws at
random, so the hashes cannot be recomputed from the values without it. Used by
`exports.risk.counter`.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

Hashes = NDArray[np.uint64]
_SEED = np.uint64(0x9E37_79B9_7F4A_7C15)
_NULL_HASH = np.uint64(0x6A09_E667_F3BC_C909)  # a NULL quasi-identifier, a value of its own
_EMPTY_HASH = np.uint64(0xBB67_AE85_84CA_A73B)  # a member when there are no quasi-identifiers


def column_of(batch: pa.RecordBatch | pa.Table, name: str) -> pa.Array:
    if name not in batch.schema.names:
        raise ValueError(f"the batch has no column for {name}")
    column = batch.column(name)
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def cast_column(column: pa.Array, to: pa.DataType, name: str) -> pa.Array:
    try:
        return pc.cast(column, to)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        # Arrow's message may quote a value.
        raise ValueError(f"column {name} ({column.type}) does not convert to {to}") from None


# --- 64-bit hashes, vectorised -----------------------------------------------------------------


class Hasher:
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
        column = column_of(batch, key)
        try:
            encoded = pc.dictionary_encode(column)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            raise ValueError(f"column {key} ({column.type}) cannot be counted") from None
        values = _string_hashes(cast_column(encoded.dictionary, pa.string(), key))
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
