"""Keyed pseudonyms for the `token` mask: HMAC-SHA-256 of each value, and the per-agreement key.

A NIK has only about 10^10-10^11 plausible values, so an unkeyed hash of one is reversed by brute
force: every token is keyed. Each agreement gets its own key, derived from the gateway's secret
with HKDF, so the same person has the same token in every delivery of one agreement (the partner
can follow people across deliveries) and unrelated tokens under two agreements (two partners cannot
join their files on the token).

Arrow has no HMAC kernel, so hashing is per value in Python. Instead of `hmac.new` per value (which
repeats the key schedule: two SHA-256 blocks of padded key) the RFC 2104 inner and outer states are
computed once per column and copied per value; the output is identical to `hmac.new` and about
twice as fast (DESIGN.md §6; `bench/masking.py` measures it in each run).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# HKDF's salt is a fixed, public label: the secrecy is in the gateway secret, the label only keeps
# these keys apart from anything else a future version might derive from the same secret.
_SALT = b"pks-gateway token key salt v1"
_INFO_PREFIX = b"pks-gateway token v1\x00"
_SUBJECT_INFO = b"pks-gateway subject hash v1"  # no NUL: never equal to a token key's info
TOKEN_KEY_BYTES = 32
# Shorter secrets than the derived key itself would make the key weaker than its length says.
MIN_SECRET_BYTES = 32
_BLOCK = 64  # SHA-256 block size in bytes (RFC 2104's B)
# `Tokenizer.column` tokenises distinct values only when a prefix this long has fewer distinct
# values than this share of its length.
_SAMPLE = 4096
_REPEATED = 0.75


def derive_token_key(gateway_secret: bytes, agreement_id: str) -> bytes:
    """The 32-byte HMAC key for one agreement's tokens.

    `agreement_id` must be stable across the agreement's versions (its id or `short_id`, not a
    scope hash): an addendum must not change every token the partner already holds.
    """
    if not agreement_id:
        raise ValueError("an agreement id is required to derive its token key")
    return _derive(gateway_secret, _INFO_PREFIX + agreement_id.encode("utf-8"))


def derive_subject_key(gateway_secret: bytes) -> bytes:
    """The 32-byte HMAC key of the subject hashes each delivery keeps of the NIKs it contained.

    One key for all agreements (a person's question "who received my record" is answered by
    hashing their NIK once), and a label of its own, so no partner's token equals a subject hash.
    """
    return _derive(gateway_secret, _SUBJECT_INFO)


def _derive(gateway_secret: bytes, info: bytes) -> bytes:
    if len(gateway_secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the gateway token secret must be at least {MIN_SECRET_BYTES} bytes")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=TOKEN_KEY_BYTES, salt=_SALT, info=info)
    return hkdf.derive(gateway_secret)


class Tokenizer:
    """HMAC-SHA-256 under one key, from precomputed inner and outer SHA-256 states (RFC 2104)."""

    def __init__(self, key: bytes, length: int) -> None:
        if not 1 <= length <= 64:
            raise ValueError("a token has 1-64 hex digits")
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        block = key.ljust(_BLOCK, b"\x00")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))
        self.length = length

    def token(self, value: bytes) -> str:
        inner = self._inner.copy()
        inner.update(value)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()[: self.length]

    def tokens(self, values: Iterable[bytes | None]) -> list[str | None]:
        """One token per value, None for None. The hot loop: attribute look-ups hoisted."""
        inner_copy, outer_copy, length = self._inner.copy, self._outer.copy, self.length
        out: list[str | None] = []
        append = out.append
        for value in values:
            if value is None:
                append(None)
                continue
            inner = inner_copy()
            inner.update(value)
            outer = outer_copy()
            outer.update(inner.digest())
            append(outer.hexdigest()[:length])
        return out

    def column(self, column: pa.Array) -> pa.Array:
        """Tokens of a string column (UTF-8 bytes of each value), nulls kept, as `pa.string()`.

        A column that repeats its values (a KK: every member of a household) is tokenised once
        per distinct value; whether it does is judged on a prefix, since encoding a column of
        distinct values (NIKs) costs about a third of tokenising it. Either way, the same tokens.
        """
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        sample = column.slice(0, _SAMPLE)
        if len(sample) and pc.count_distinct(sample).as_py() < _REPEATED * len(sample):
            encoded = pc.dictionary_encode(column)
            return pc.take(self._column(encoded.dictionary), encoded.indices)
        return self._column(column)

    def _column(self, column: pa.Array) -> pa.Array:
        # Casting to binary hands Python the UTF-8 bytes directly: no str -> bytes encode per row.
        raw = column.cast(pa.binary()).to_pylist()
        return pa.array(self.tokens(raw), type=pa.string())
