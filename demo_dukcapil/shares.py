"""The shares and name pools the demo population is drawn from (demo_dukcapil.people).

Plausible guesses for a young, mostly rural regency, explained in docs/demo-source.md; not
statistics of Paser. Tables of `(value, weight)` pairs are drawn with `people._pick`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Table = tuple[tuple[Any, float], ...]

# fmt: off
# Heads' ages: lower bound of 5-year bins and weight (a young regency: few heads over 70).
HEAD_AGE: Table = (
    (19, 0.05), (24, 0.09), (29, 0.12), (34, 0.13), (39, 0.14), (44, 0.13), (49, 0.11),
    (54, 0.085), (59, 0.065), (64, 0.04), (69, 0.022), (74, 0.011), (79, 0.006), (84, 0.002),
)
RELIGION: Table = (
    (1, 0.855), (2, 0.075), (3, 0.045), (4, 0.012), (5, 0.009), (6, 0.002), (7, 0.002),
)
BLOOD: Table = (  # most people do not know their blood type (13 Tidak Tahu)
    (1, 0.10), (2, 0.11), (3, 0.03), (4, 0.16), (5, 0.012), (6, 0.001), (7, 0.012),
    (8, 0.001), (9, 0.004), (10, 0.0005), (11, 0.018), (12, 0.0015), (13, 0.55),
)
# Last education (codes 1-10) by age group: <5, 5-6, 7-12, 13-15, 16-18, 19-24, 25-39, 40-59, 60+.
EDU_BOUNDS = np.array([5, 7, 13, 16, 19, 25, 40, 60])
EDUCATION = np.array([
    [1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    [0.7, 0.3, 0, 0, 0, 0, 0, 0, 0, 0],
    [0.05, 0.95, 0, 0, 0, 0, 0, 0, 0, 0],
    [0.02, 0.30, 0.65, 0.03, 0, 0, 0, 0, 0, 0],
    [0.02, 0.05, 0.25, 0.60, 0.08, 0, 0, 0, 0, 0],
    [0.02, 0.04, 0.14, 0.20, 0.48, 0.02, 0.03, 0.07, 0, 0],
    [0.03, 0.06, 0.20, 0.20, 0.35, 0.02, 0.04, 0.095, 0.004, 0.001],
    [0.05, 0.12, 0.30, 0.18, 0.25, 0.015, 0.03, 0.05, 0.004, 0.001],
    [0.18, 0.27, 0.33, 0.10, 0.08, 0.01, 0.01, 0.02, 0, 0],
])
# Occupation by group: <5, 5-17, 18-22 men, 18-22 women, 23-59 men, 23-59 women, 60+ men, 60+ women.
JOBS: tuple[dict[int, float], ...] = (
    {1: 1},
    {3: 0.93, 1: 0.06, 19: 0.01},
    {3: 0.35, 1: 0.2, 15: 0.14, 19: 0.1, 9: 0.08, 88: 0.05, 84: 0.02, 11: 0.02, 89: 0.02, 18: 0.01},
    {3: 0.38, 2: 0.25, 1: 0.15, 15: 0.08, 88: 0.04, 84: 0.03, 9: 0.03, 18: 0.02, 89: 0.02},
    {9: 0.24, 15: 0.2, 88: 0.17, 19: 0.09, 1: 0.04, 84: 0.03, 8: 0.02, 5: 0.04, 6: 0.006,
     7: 0.006, 11: 0.03, 10: 0.01, 18: 0.025, 65: 0.012, 16: 0.006, 17: 0.003, 85: 0.008,
     86: 0.0008, 72: 0.0007, 89: 0.03, 4: 0.003},
    {2: 0.48, 9: 0.1, 15: 0.07, 88: 0.08, 84: 0.05, 5: 0.04, 65: 0.03, 18: 0.03, 1: 0.05,
     19: 0.015, 8: 0.01, 72: 0.001, 85: 0.003, 16: 0.002, 89: 0.02},
    {9: 0.32, 1: 0.25, 4: 0.1, 88: 0.1, 84: 0.04, 11: 0.03, 10: 0.02, 19: 0.03, 89: 0.05,
     85: 0.005},
    {2: 0.45, 1: 0.3, 9: 0.12, 4: 0.05, 84: 0.04, 88: 0.03, 89: 0.01},
)
# fmt: on
JOB_CODES = np.array(sorted({code for group in JOBS for code in group}))
JOB_PROBS = np.array([[group.get(int(c), 0.0) for c in JOB_CODES] for group in JOBS])
# Where people first registered elsewhere come from: NIK prefix, kecamatan count, town, weight.
ORIGINS = (
    *(("6402", 18, "TENGGARONG", 6), ("6409", 4, "PENAJAM", 8), ("6471", 6, "BALIKPAPAN", 14)),
    *(("6472", 10, "SAMARINDA", 8), ("6301", 11, "PELAIHARI", 4), ("6302", 21, "KOTABARU", 6)),
    *(("6371", 5, "BANJARMASIN", 8), ("7371", 15, "MAKASSAR", 6), ("7308", 27, "BONE", 8)),
    *(("7313", 14, "WAJO", 6), ("7307", 9, "SINJAI", 3), ("3578", 31, "SURABAYA", 4)),
    *(("3507", 33, "MALANG", 3), ("3374", 16, "SEMARANG", 2), ("3171", 10, "JAKARTA", 3)),
)
TOWNS = np.array(
    [o[2] for o in ORIGINS]
    + ["KEDIRI", "BLITAR", "LAMONGAN", "BANYUWANGI", "PONOROGO", "YOGYAKARTA", "PAREPARE"]
    + ["PALOPO", "BANJARBARU", "AMUNTAI", "KANDANGAN", "MATARAM"],
    dtype=object,
)
# Relative population of the kecamatan (thousands, rounded, plausible) and their postcodes.
KEC_WEIGHT = {1: 24, 2: 10, 3: 27, 4: 70, 5: 30, 6: 44, 7: 13, 8: 30, 9: 17, 10: 7}
KEC_POSTCODE = {1: 76252, 2: 76261, 3: 76271, 4: 76211, 5: 76281}
KEC_POSTCODE |= {6: 76282, 7: 76253, 8: 76283, 9: 76262, 10: 76254}
LOCAL_STREETS = (
    *("JENDERAL SUDIRMAN", "AHMAD YANI", "KUSUMA BANGSA", "DIPONEGORO", "R.A. KARTINI", "MERDEKA"),
    *("SULTAN IBRAHIM KHALILULLAH", "PADAT KARYA", "NUSANTARA", "POROS DESA", "TRANS KALIMANTAN"),
    *("PROVINSI", "IMAM BONJOL", "GAJAH MADA", "HASANUDDIN", "SENOPATI", "PEMUDA", "PERINTIS"),
)
DUSUN_NAMES = np.array(
    [
        *("SUKA MAJU", "SUKA DAMAI", "MEKAR SARI", "SUMBER REJO", "KARYA BAKTI", "SIDO MULYO"),
        *("MARGA MULYA", "BUKIT RAYA", "SEJAHTERA", "TANJUNG", "SUNGAI BARU", "MUARA", "RANTAU"),
        *("I", "II", "III", "IV"),
    ],
    dtype=object,
)
ROMAN = np.array(["", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"])
