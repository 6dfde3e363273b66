"""The age format stands alone, as the partner client will ship it: a fresh interpreter that
encrypts and decrypts with `ageformat` loads no other package of ours and no data library."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import io, json, sys
from ageformat import AgeWriter, decrypt_chunks, generate_identity
identity, recipient = generate_identity()
sink = io.BytesIO()
with AgeWriter(sink, [recipient]) as writer:
    writer.write(b"uji" * 40000)
plain = b"".join(decrypt_chunks(io.BytesIO(sink.getvalue()), identity))
loaded = sorted({name.split(".")[0] for name in sys.modules})
print(json.dumps({"ok": plain == b"uji" * 40000, "loaded": loaded}))
"""


def test_ageformat_round_trips_without_loading_anything_else_of_ours() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True
    )
    report = json.loads(result.stdout)
    assert report["ok"]
    loaded = set(report["loaded"])
    ours = {"agreements", "audit", "exports", "gateway", "demo_dukcapil", "pks_partner"}
    data = {"pandas", "pyarrow", "numpy", "sqlalchemy", "flask", "click"}
    assert "ageformat" in loaded
    assert not loaded & (ours | data), sorted(loaded & (ours | data))
