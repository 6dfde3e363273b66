"""Shared test material for scope tests: a small catalog and a valid scope to vary.

The small catalog mirrors the shipped one's shape (keys, types, flags) so the scope and policy tests
do not depend on every detail of config/catalog.toml; test_example_scope checks the shipped one.
"""

from __future__ import annotations

import copy
import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agreements.errors import NotFound

REPO = Path(__file__).resolve().parents[2]
# A real age X25519 recipient (public key only).
AGE_KYC = "age1k3gfy6yp6a46mc35vs8azsf9ksprlha4w637pdh3tz238enc3dvsttd8ge"
AGE_AUDIT = "age1993z9m8zgd89h8mkyj4f65g5e03krj62wtd79xupn098s2xy3qhskg0lwe"


@dataclass(frozen=True)
class Element:
    key: str
    type: str
    sensitivity: str = "general"
    identifier: str = "none"
    deliverable: bool = True
    high_risk: bool = False


class SmallCatalog:
    def __init__(self, *elements: Element) -> None:
        self.elements = {e.key: e for e in elements}

    def get(self, key: str) -> Element:
        if key not in self.elements:
            raise NotFound("element", key)
        return self.elements[key]


CATALOG = SmallCatalog(
    Element("no_kk", "kk", identifier="direct"),
    Element("nik", "nik", identifier="direct"),
    Element("nama_lengkap", "name", identifier="direct"),
    Element("jenis_kelamin", "code", identifier="quasi"),
    Element("tempat_lahir", "string", identifier="quasi"),
    Element("tanggal_lahir", "date", identifier="quasi"),
    Element("agama", "code", "specific"),
    Element("status_perkawinan", "code"),
    Element("disabilitas", "code", "protected", high_risk=True),
    Element("pendidikan_terakhir", "code"),
    Element("pekerjaan", "code"),
    Element("nik_ibu", "nik", identifier="direct"),
    Element("alamat", "text", identifier="quasi"),
    Element("no_kec", "region", identifier="quasi"),
    Element("no_kel", "region", identifier="quasi"),
    Element("akta_lahir", "flag"),
    Element("sidik_jari", "text", "protected", deliverable=False),
)


def region_codes() -> frozenset[str]:
    with (REPO / "config" / "wilayah_paser.csv").open(encoding="utf-8") as file:
        return frozenset(row["kode"] for row in csv.DictReader(file))


REGIONS = region_codes()

_BASE: dict[str, Any] = {
    "schema_version": 1,
    "purpose": "Verifikasi identitas nasabah (KYC) pembukaan rekening",
    "legal_basis": ["UU 24/2013 Pasal 58 dan 79", "Permendagri 102/2019 jo. 17/2023"],
    "access_modes": ["bulk_delivery", "nik_verification"],
    "elements": {
        "nik": {"mask": "token"},
        "nama_lengkap": "keep",
        "jenis_kelamin": "decode",
        "tanggal_lahir": {"mask": "generalize_date", "to": "year"},
        "agama": {"mask": "recode", "mapping": {"1": "ISLAM", "2": "KRISTEN"}},
        "no_kec": {"mask": "generalize_region", "to": "kecamatan"},
    },
    "filter": {
        "regions": ["64.01.01", "64.01.02.2004"],
        "min_age": 17,
        "max_age": 150,
        "alive_only": True,
        "active_only": True,
        "include_minors": False,
        "predicates": [{"element": "pekerjaan", "op": "in", "values": [5, 15]}],
    },
    "recipients": [
        {
            "name": "Tim KYC",
            "contact": "kyc@bank.example",
            "age_recipient": AGE_KYC,
            "ip_allow": ["203.0.113.0/24"],
        }
    ],
    "validity": {"start": "2026-01-01", "end": "2026-12-31"},
    "delivery": {
        "format": "parquet",
        "schedule": "monthly",
        "quota": 1,
        "quota_period": "month",
        "max_rows": 500_000,
    },
    "reidentification": {"k": 5, "action": "suppress", "rare_category_threshold": 10},
    "reporting": {"semester_report_due": ["2026-07-31", "2027-01-31"], "data_balikan": True},
}


def scope_data(**changes: Any) -> dict[str, Any]:
    """A deep copy of the valid base scope; `section__field=value` replaces one nested field and
    a value of DELETE removes it."""
    data = copy.deepcopy(_BASE)
    for path, value in changes.items():
        *parents, last = path.split("__")
        target = data
        for part in parents:
            target = target[part]
        if value is DELETE:
            del target[last]
        else:
            target[last] = value
    return data


DELETE = object()
