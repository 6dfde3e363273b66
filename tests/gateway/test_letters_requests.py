"""The letters of SOP steps 1-7 through the services (the `engine` and `clock` fixtures, no CLI):
the Lembar Disposisi as the request moves, the Surat Penolakan before and after step 4, and the
Konsep PKS of a drafted, unsigned version — its hash the hash of the bytes the Kepala Dinas signs,
refused once the stored scope is edited behind the gateway's back."""

from __future__ import annotations

import dataclasses
from hashlib import sha256
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, text

from agreements.errors import Conflict, Invalid, NotFound, Tampered
from gateway.context import letter_environment
from gateway.letters.masks import describe_mask
from gateway.seals import SealStore
from gateway.services import agreements as agreement_service
from gateway.services import letters
from gateway.services import requests as service
from gateway.services.letters import LetterEnvironment
from gateway.settings import Settings
from tests.clock import OfficeClock
from tests.gateway.letters import LETTER, at, doc, staff_the_office
from tests.gateway.pdfs import pdf_text, words
from tests.harness import CATALOG, REGIONS, REPO

EXAMPLE = REPO / "config" / "examples" / "demo-agreement.toml"


@pytest.fixture(autouse=True)
def staffed(engine: Engine, seals: SealStore, clock: OfficeClock) -> None:
    staff_the_office(engine, seals, clock.set(at(1, 8)), Ed25519PrivateKey.generate())


@pytest.fixture
def env(settings: Settings, tmp_path: Path) -> LetterEnvironment:
    # The `seals` fixture keeps its keys in tmp_path/keys, beside the test's home.
    return dataclasses.replace(letter_environment(settings), keys_dir=tmp_path / "keys")


def submitted(engine: Engine) -> int:
    return service.submit(
        engine, "ratna", LETTER, doc("letter.pdf"), now=at(23, 15), received_at=at(23, 9)
    )


def assigned(engine: Engine, request_id: int | None = None) -> int:
    """Steps 2 and 3 on 28 December (on a new request unless given one)."""
    request_id = request_id or submitted(engine)
    service.dispose(engine, "kadis", request_id, note="Pelajari dan tindak lanjuti", now=at(28, 9))
    service.assign(engine, "kabid", request_id, assignee="pf", now=at(28, 11))
    return request_id


def test_the_disposition_sheet_follows_the_request(engine: Engine, env: LetterEnvironment) -> None:
    request_id = submitted(engine)
    with engine.connect() as connection:
        before = pdf_text(letters.disposisi(connection, env, request_id, now=at(23, 16)))
    for part in (
        "LEMBAR DISPOSISI",
        "Surat dari : Bank Kaltimtara",
        "Nomor surat : B/77/2026",
        "Tanggal surat : 22 Desember 2026",
        "Diterima : 23 Desember 2026 pukul 09.00 WITA",
        f"permohonan nomor {request_id}",
        "diterima (langkah 1)",
    ):
        assert part in before, part
    assert "Kepala Dinas (kadis)" not in before  # step 2 not taken: its row is left blank
    assigned(engine, request_id)
    with engine.connect() as connection:
        after = pdf_text(letters.disposisi(connection, env, request_id, now=at(28, 12)))
    for part in (
        "Kepala Dinas (kadis) Kepala Bidang PDIP 28 Desember 2026 pukul 09.00 WITA",
        "Pelajari dan tindak lanjuti",
        "Kepala Bidang PDIP (kabid) Pejabat Fungsional (pf)",
        "ditugaskan (langkah 3)",
        "Dicetak pada 28 Desember 2026",
    ):
        assert part in after, part
    assert "assigned to" not in after  # the gateway's own note is no instruction


def test_the_rejection_letter_before_and_after_step_4(
    engine: Engine, env: LetterEnvironment
) -> None:
    request_id = assigned(engine)
    with engine.connect() as connection, pytest.raises(Invalid, match="reason"):
        letters.penolakan(connection, env, request_id, now=at(29, 9))
    reason = "Dasar hukum yang dirujuk tidak memuat kewenangan pemohon."
    with engine.connect() as connection:
        pdf = letters.penolakan(
            connection, env, request_id, now=at(29, 9), reason=reason, number="470/5/2026"
        )
    text = pdf_text(pdf)
    for part in (
        "Tana Paser, 29 Desember 2026",
        "Nomor : 470/5/2026",
        "Yth. Pimpinan Bank Kaltimtara",
        "Nomor B/77/2026 tanggal 22 Desember 2026",
        reason,
    ):
        assert part in text, part
    service.reject(engine, "pf", request_id, reason=reason, letter=doc("scan.pdf"), now=at(29, 10))
    with engine.connect() as connection:
        reprinted = pdf_text(letters.penolakan(connection, env, request_id, now=at(30, 9)))
        assert reason in reprinted
        with pytest.raises(Invalid, match="recorded reason"):
            letters.penolakan(connection, env, request_id, now=at(30, 9), reason="another")


def test_no_rejection_letter_outside_step_4(engine: Engine, env: LetterEnvironment) -> None:
    request_id = submitted(engine)
    with engine.connect() as connection, pytest.raises(Conflict, match="step 4"):
        letters.penolakan(connection, env, request_id, now=at(23, 16), reason="r")
    with engine.connect() as connection, pytest.raises(NotFound):
        letters.disposisi(connection, env, request_id + 1, now=at(23, 16))


def test_the_draft_pks_is_what_the_kepala_dinas_signs(
    engine: Engine, seals: SealStore, env: LetterEnvironment
) -> None:
    request_id = assigned(engine)
    service.draft(
        engine,
        seals,
        "pf",
        request_id,
        scope_text=EXAMPLE.read_text(encoding="utf-8"),
        document=doc("scope.toml"),
        catalog=CATALOG,
        region_codes=REGIONS,
        now=at(29, 10),
    )
    with engine.connect() as connection:
        stored = agreement_service.load_version(connection, "bank-kaltimtara-2026", None)
        pdf = letters.konsep_pks(connection, env, "bank-kaltimtara-2026", now=at(29, 11))
    shown = pdf_text(pdf)
    assert shown.startswith("PEMERINTAH KABUPATEN PASER")
    assert "KONSEP PERJANJIAN KERJA SAMA" in shown
    assert "Pada hari ..." in shown  # the day of signing is written when it is signed
    assert "konsep, belum ditandatangani" in shown
    assert sha256(stored.canonical_bytes()).hexdigest() == stored.scope_hash
    assert stored.scope_hash in shown
    for key, mask in stored.scope["elements"].items():
        assert CATALOG.get(key).label_id in shown, key
        assert words(describe_mask(mask)) in shown, key
    # A scope edited in the database after drafting no longer matches its seal: no letter.
    with engine.begin() as connection:
        edited = connection.execute(
            text("UPDATE agreement_versions SET scope_json = replace(scope_json, 'KYC', 'KYB')")
        )
        assert edited.rowcount == 1
    with engine.connect() as connection, pytest.raises(Tampered):
        letters.konsep_pks(connection, env, "bank-kaltimtara-2026", now=at(29, 11))
