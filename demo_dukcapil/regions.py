"""Kecamatan and villages of Kabupaten Paser, as read from the region CSV.

The shipped list is config/wilayah_paser.csv (Kemendagri codes); settings may name another.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]


@dataclass(frozen=True)
class Regions:
    """Kecamatan and villages of Kabupaten Paser as read from the region CSV."""

    prop_name: str
    kab_name: str
    kec_no: Ints  # NO_KEC, ascending
    kec_names: tuple[str, ...]
    vil_kec: Ints  # NO_KEC of each village
    vil_kel: Ints  # NO_KEL of each village
    vil_names: tuple[str, ...]
    vil_urban: Bools  # kelurahan (village code starting with 1) rather than desa


def load_regions(path: Path) -> Regions:
    """Read the `kode,tingkat,nama` CSV; only province 64 and regency 64.01 are used."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [
            (r["kode"].strip(), r["tingkat"].strip(), r["nama"].strip())
            for r in csv.DictReader(handle)
        ]
    names = {code: name for code, _, name in rows}
    kec = sorted(
        (int(c.split(".")[2]), n) for c, t, n in rows if t == "kecamatan" and c[:6] == "64.01."
    )
    vil = [
        (c.split("."), n) for c, t, n in rows if t in ("desa", "kelurahan") and c[:6] == "64.01."
    ]
    if "64" not in names or "64.01" not in names or not kec or not vil:
        raise ValueError(f"{path}: needs province 64, regency 64.01, its kecamatan and villages")
    return Regions(
        prop_name=names["64"],
        kab_name=names["64.01"],
        kec_no=np.array([k for k, _ in kec], dtype=np.int64),
        kec_names=tuple(n for _, n in kec),
        vil_kec=np.array([int(p[2]) for p, _ in vil], dtype=np.int64),
        vil_kel=np.array([int(p[3]) for p, _ in vil], dtype=np.int64),
        vil_names=tuple(n for _, n in vil),
        vil_urban=np.array([p[3].startswith("1") for p, _ in vil], dtype=bool),
    )
