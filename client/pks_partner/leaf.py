"""The audit log's leaf as a reader checks it: the exact fields of one entry's canonical bytes.

A leaf is the RFC 8785 (JCS) JSON of every field of an entry, `seq` and `time` included:

    {"action":…,"actor_id":…,"actor_role":…,"details":{…},"object_id":…,"object_type":…,
     "outcome":…,"seq":N,"time":"YYYY-MM-DDTHH:MM:SS.ffffffZ","v":1}

The gateway writes leaves (audit/entry.py) and reads them back when it verifies its log; a partner
reads the one its delivery's manifest cites. Both read them here.
"""

from __future__ import annotations

import json
from typing import Any

LEAF_VERSION = 1
# The text fields of a leaf; audit/entry.py limits the widths of all but `time`.
TEXT_FIELDS = ("actor_role", "actor_id", "action", "object_type", "object_id", "outcome", "time")
LEAF_KEYS = frozenset({*TEXT_FIELDS, "details", "seq", "v"})


class LeafFormatError(ValueError):
    """Stored leaf bytes that are not an entry of this log (the message names no values)."""


_raw_decode = json.JSONDecoder().raw_decode


def parse_leaf(leaf: bytes) -> dict[str, Any]:
    """The leaf's fields, after checking it has exactly the shape the gateway's log writes."""
    # Called once per entry when a million entries are verified: kept to plain loops and the
    # decoder's bound method, which is measurably faster than json.loads on bytes.
    try:
        text = leaf.decode("utf-8")
        document, end = _raw_decode(text)  # canonical JSON has no surrounding whitespace
    except (UnicodeDecodeError, ValueError):
        raise LeafFormatError("leaf is not JSON") from None
    if end != len(text) or type(document) is not dict or document.keys() != LEAF_KEYS:
        raise LeafFormatError("leaf does not have the entry fields")
    if document["v"] != LEAF_VERSION or type(document["seq"]) is not int:
        raise LeafFormatError("leaf has an unknown version or a non-integer seq")
    if type(document["details"]) is not dict:
        raise LeafFormatError("leaf details are not an object")
    for name in TEXT_FIELDS:
        if type(document[name]) is not str:
            raise LeafFormatError("leaf has a non-string field")
    return document
