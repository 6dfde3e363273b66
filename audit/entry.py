"""What one audit entry is: its fields, the guard against population values, and its leaf bytes.

The leaf is the RFC 8785 (JCS) canonical JSON of every field including `seq` and `time`:

    {"action":…,"actor_id":…,"actor_role":…,"details":{…},"object_id":…,"object_type":…,
     "outcome":…,"seq":N,"time":"YYYY-MM-DDTHH:MM:SS.ffffffZ","v":1}

Those exact bytes are stored and hashed; nobody ever needs to re-serialise an entry to check it.
They are read back with `pks_partner.leaf.parse_leaf`, which partners run on the entry a delivery's
manifest cites.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import rfc8785

from pks_partner.leaf import LEAF_VERSION

# Column widths in audit.schema; checked here so that every backend stores the same text.
FIELD_LIMITS = {
    "actor_role": 64,
    "actor_id": 128,
    "action": 128,
    "object_type": 64,
    "object_id": 128,
    "outcome": 32,
}
MAX_SAFE_INTEGER = 2**53 - 1  # RFC 8785 numbers are I-JSON (RFC 7493) numbers
# A NIK is 16 digits. A run of exactly 16 digits that is not part of a longer alphanumeric token
# (so a hex digest that happens to hold 16 digits in a row does not trip it).
_NIK_LIKE = re.compile(r"(?<![0-9A-Za-z])[0-9]{16}(?![0-9A-Za-z])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class EntryFields:
    """The caller-supplied part of an entry, validated."""

    actor_role: str
    actor_id: str
    action: str
    object_type: str
    object_id: str
    outcome: str
    details: Mapping[str, Any]


_NIK_HASH_DOMAIN = b"pks-gateway/audit/nik\x00"


def keyed_nik_hash(secret: bytes, nik: str) -> str:
    """How an entry refers to a NIK: HMAC-SHA-256 under a gateway secret, hex.

    The message is domain-separated ("pks-gateway/audit/nik\\0" + NIK), so the value differs from
    any pseudonym token a partner receives even if the same secret were used for both.
    """
    if len(secret) < 16:
        raise ValueError("the NIK hashing secret must be at least 16 bytes")
    return hmac.new(secret, _NIK_HASH_DOMAIN + nik.encode("utf-8"), hashlib.sha256).hexdigest()


def keyed_nik_hasher(secret: bytes) -> Callable[[str], str]:
    """`keyed_nik_hash` for many NIKs under one secret, the same values: RFC 2104 HMAC from the
    key's inner and outer SHA-256 states, made once (the domain already in the inner one) and
    copied per NIK — a third of `hmac.new`'s work, half of copying an `hmac` object."""
    if len(secret) < 16:
        raise ValueError("the NIK hashing secret must be at least 16 bytes")
    block = (hashlib.sha256(secret).digest() if len(secret) > 64 else secret).ljust(64, b"\0")
    inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in block))
    inner.update(_NIK_HASH_DOMAIN)
    outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in block))
    inner_copy, outer_copy = inner.copy, outer.copy

    def hashed(nik: str) -> str:
        message = inner_copy()
        message.update(nik.encode("utf-8"))
        keyed = outer_copy()
        keyed.update(message.digest())
        return keyed.hexdigest()

    return hashed


def validate_fields(
    *,
    actor_role: str,
    actor_id: str,
    action: str,
    object_type: str,
    object_id: str,
    outcome: str,
    details: Mapping[str, Any] | None,
) -> EntryFields:
    """Check every field; ValueError names the field (never its value) on the first problem."""
    values = {
        "actor_role": actor_role,
        "actor_id": actor_id,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "outcome": outcome,
    }
    for name, value in values.items():
        check_field(name, value)
    details = {} if details is None else details
    if not isinstance(details, Mapping):
        raise ValueError("audit details must be a mapping")
    _check_details(details, "details")
    return EntryFields(details=details, **values)


def check_field(name: str, value: object) -> None:
    """ValueError naming the field (never its value) if `value` cannot be that entry field."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"audit field {name} must be a non-empty string")
    if len(value) > FIELD_LIMITS[name]:
        raise ValueError(f"audit field {name} is longer than {FIELD_LIMITS[name]} characters")
    if _CONTROL.search(value) or not _is_utf8(value):
        raise ValueError(f"audit field {name} contains control characters or lone surrogates")
    if _NIK_LIKE.search(value):
        raise ValueError(f"audit field {name} looks like it holds a NIK; use keyed_nik_hash")


def check_details(details: Mapping[str, Any]) -> None:
    """ValueError naming the path if the details break a rule of `validate_fields`."""
    _check_details(details, "details")


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: neither UTF-8 nor RFC 8785 can carry it
        return False
    return True


def _check_details(value: object, path: str) -> None:
    """Walk the details and refuse anything RFC 8785 would refuse, so that `build_leaf` cannot
    fail once `append` has reserved a seq; also no NUL (PostgreSQL text refuses it) and nothing
    NIK-like."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str) or not _is_utf8(key):
                raise ValueError(f"audit {path} has a key that is not a UTF-8 string")
            if _NIK_LIKE.search(key) or "\x00" in key:
                raise ValueError(f"audit {path} has a key that looks like a NIK or holds NUL")
            _check_details(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_details(item, f"{path}[{index}]")
    elif isinstance(value, str):
        if "\x00" in value or not _is_utf8(value):
            raise ValueError(f"audit {path} holds a NUL character or a lone surrogate")
        if _NIK_LIKE.search(value):
            raise ValueError(f"audit {path} looks like it holds a NIK; use keyed_nik_hash")
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if 10**15 <= abs(value) < 10**16:
            raise ValueError(f"audit {path} is a 16-digit number, which looks like a NIK")
        if abs(value) > MAX_SAFE_INTEGER:
            raise ValueError(f"audit {path} is an integer beyond 2**53 - 1 (I-JSON)")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"audit {path} is not a finite number")
        if value.is_integer() and 10**15 <= abs(value) < 10**16:
            raise ValueError(f"audit {path} is a 16-digit number, which looks like a NIK")
    else:
        raise ValueError(f"audit {path} is not a JSON value ({type(value).__name__})")


def format_time(moment: datetime) -> str:
    """RFC 3339 UTC with microseconds and `Z`: one fixed width, so times sort as text too."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond:06d}Z"


def utc_moment(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("audit times must be timezone-aware")
    return moment.astimezone(UTC)


def build_leaf(fields: EntryFields, seq: int, moment: datetime) -> tuple[bytes, str]:
    """The leaf bytes and the details text stored beside them, cut out of the leaf itself."""
    document: dict[str, Any] = {
        "v": LEAF_VERSION,
        "seq": seq,
        "time": format_time(moment),
        "actor_role": fields.actor_role,
        "actor_id": fields.actor_id,
        "action": fields.action,
        "object_type": fields.object_type,
        "object_id": fields.object_id,
        "outcome": fields.outcome,
        "details": fields.details,
    }
    leaf = rfc8785.dumps(document)
    details = details_text_in_leaf(leaf)
    if details is None:  # impossible for a leaf built here; kept as a guard, not an assert
        raise ValueError("audit leaf has no details member")
    return leaf, details.decode("utf-8")


_NEEDS_ESCAPING = re.compile(r'["\\\x00-\x1f]')


def leaf_from_columns(
    seq: int, time_text: str, texts: Sequence[str], details_text: str
) -> bytes | None:
    """The leaf that stored columns describe, when no value needs JSON escaping; else None.

    Verification's fast path: if this equals the stored leaf, every column agrees with it and the
    leaf's seq is its position, without parsing JSON. Exact because RFC 8785 writes keys sorted
    (as below), integers in decimal, and strings without `"`, `\\` or control characters
    verbatim between quotes; anything else returns None and takes the parsing path. The tests hold
    it to `build_leaf` over arbitrary text.
    """
    actor_role, actor_id, action, object_type, object_id, outcome = texts
    if _NEEDS_ESCAPING.search(time_text.join(texts)):
        return None
    return (
        f'{{"action":"{action}","actor_id":"{actor_id}","actor_role":"{actor_role}",'
        f'"details":{details_text},"object_id":"{object_id}","object_type":"{object_type}",'
        f'"outcome":"{outcome}","seq":{seq},"time":"{time_text}","v":{LEAF_VERSION}}}'
    ).encode()


def details_text_in_leaf(leaf: bytes) -> bytes | None:
    """The exact bytes of the `details` value inside a canonical leaf, without re-serialising.

    RFC 8785 sorts keys, so in a leaf `build_leaf` wrote, `"details":` follows only the string
    values of action/actor_id/actor_role and is followed by `,"object_id":`, after which come only
    strings and numbers. JSON escapes every `"` inside strings, so the first `"details":` and the
    last `,"object_id":` are the top-level keys. Comparing these bytes with the details column
    detects any edit of the column, including ones that keep the same JSON meaning.
    """
    start = leaf.find(b'"details":')
    end = leaf.rfind(b',"object_id":')
    if start < 0 or end < start:
        return None
    return leaf[start + len(b'"details":') : end]
