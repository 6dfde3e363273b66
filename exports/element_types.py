"""The Arrow type of each catalog element type: the contract between extraction and masking.

Extraction casts every batch to these types (a decoded code or flag arrives as a string label
instead); masking reads them to know each kind's input and output schema before the first batch.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa

ARROW_TYPES: Mapping[str, pa.DataType] = {
    "nik": pa.string(),
    "kk": pa.string(),
    "name": pa.string(),
    "string": pa.string(),
    "text": pa.string(),
    "date": pa.date32(),
    "code": pa.int32(),
    "flag": pa.bool_(),
    "region": pa.string(),
}
