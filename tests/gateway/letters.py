"""A request's letter and the documents of its steps, for tests that walk the SOP through the
services (no CLI): `staff_the_office` the staff who take the steps, `LETTER` as step 1 registers
it, `doc` a document reference by name, `at` a time in December 2026 in the office's zone
(WITA)."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine

from agreements.signing import public_key_line
from agreements.workflow import Document, Role
from gateway.seals import SealStore
from gateway.services import staff
from gateway.services.requests import Letter

WITA = ZoneInfo("Asia/Makassar")

LETTER = Letter(
    institution="Bank Kaltimtara",
    letter_number="B/77/2026",
    letter_date=date(2026, 12, 22),
    purpose="KYC",
    legal_basis=("UU 24/2013",),
    requested_elements=("nik", "nama_lengkap"),
    access_modes=("bulk_delivery",),
    duration_months=12,
    data_balikan_plan="semester report",
)


def at(day: int, hour: int, month: int = 12) -> datetime:
    """`day` `month` 2026 at `hour`:00 WITA."""
    return datetime(2026, month, day, hour, tzinfo=WITA)


def doc(name: str) -> Document:
    """A document reference: the name and a SHA-256 (of the name: no file is read)."""
    return Document(name, hashlib.sha256(name.encode()).hexdigest())


def staff_the_office(
    engine: Engine, seals: SealStore, now: datetime, kadis_key: Ed25519PrivateKey
) -> None:
    """admin, then ratna (Petugas ADB), kadis, kabid and pf, and kadis's signer key."""
    staff.add_staff(engine, "admin", Role.ADMIN, by=None, now=now)
    for name, role in [
        ("ratna", Role.PETUGAS_ADB),
        ("kadis", Role.KEPALA_DINAS),
        ("kabid", Role.KEPALA_BIDANG),
        ("pf", Role.PEJABAT_FUNGSIONAL),
    ]:
        staff.add_staff(engine, name, role, by="admin", now=now)
    staff.add_signer(engine, seals, "kadis", public_key_line(kadis_key), by="admin", now=now)
