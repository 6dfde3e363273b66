"""The canonical form (RFC 8785) and scope hash: stable, sensitive to every change, signable."""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from agreements.canonical import (
    SIGNATURE_NAMESPACE,
    AgreementIdentity,
    canonical_bytes,
    canonical_document,
    scope_hash,
)
from agreements.errors import BadSignature, Invalid
from agreements.scope import Scope
from agreements.signing import AllowedSigner, AllowedSigners, sign, verify
from tests.agreements.scope_fixtures import CATALOG, REGIONS, scope_data

IDENTITY = AgreementIdentity(
    "500.12/045/PKS/DISDUKCAPIL/2026", "bps-kyc-2026", "Bank Paser Sejahtera"
)


def load(data: dict[str, Any]) -> Scope:
    return Scope.from_dict(data, CATALOG, 12, region_codes=REGIONS)


def shuffled(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: shuffled(v, rng) for k, v in items}
    if isinstance(value, list):
        return [shuffled(v, rng) for v in value]
    return value


def test_canonical_bytes_are_rfc8785() -> None:
    data = canonical_bytes(IDENTITY, load(scope_data()))
    parsed = json.loads(data)
    assert (
        data
        == json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    )
    assert parsed == canonical_document(IDENTITY, load(scope_data()))
    assert parsed["agreement"]["number"] == IDENTITY.number
    assert scope_hash(IDENTITY, load(scope_data())) == hashlib.sha256(data).hexdigest()


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_canonical_bytes_do_not_depend_on_input_order(seed: int) -> None:
    rng = random.Random(seed)
    data = scope_data()
    # Lists whose order carries no meaning are also shuffled: the scope sorts them.
    data["filter"]["regions"].reverse()
    reordered = shuffled(data, rng)
    assert canonical_bytes(IDENTITY, load(reordered)) == canonical_bytes(
        IDENTITY, load(scope_data())
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"elements__tanggal_lahir": {"mask": "generalize_date", "to": "year_month"}},
        {"filter__alive_only": False},
        {"validity__end": "2026-12-30"},
        {"delivery__max_rows": 500_001},
        {"purpose": "Verifikasi identitas nasabah"},
    ],
)
def test_every_change_changes_the_hash(changes: dict[str, Any]) -> None:
    assert scope_hash(IDENTITY, load(scope_data(**changes))) != scope_hash(
        IDENTITY, load(scope_data())
    )


def test_the_identity_is_signed_too() -> None:
    scope = load(scope_data())
    other = AgreementIdentity(IDENTITY.number, IDENTITY.short_id, "Bank Lain")
    assert scope_hash(other, scope) != scope_hash(IDENTITY, scope)
    key = Ed25519PrivateKey.generate()
    signers = AllowedSigners((AllowedSigner.for_key("kadis@paser", key.public_key()),))
    armored = sign(canonical_bytes(IDENTITY, scope), key, SIGNATURE_NAMESPACE)
    assert verify(canonical_bytes(IDENTITY, scope), armored, SIGNATURE_NAMESPACE, signers)
    with pytest.raises(BadSignature):
        verify(canonical_bytes(other, scope), armored, SIGNATURE_NAMESPACE, signers)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"number": " "}, "agreement.number"),
        ({"short_id": "BPS/2026"}, "agreement.short_id"),
        ({"short_id": "-bps"}, "agreement.short_id"),
        ({"institution": ""}, "agreement.institution"),
        ({"version": 0}, "agreement.version"),
        ({"version": 2}, "agreement.previous_scope_hash"),
        ({"previous_scope_hash": "ab" * 32}, "agreement.previous_scope_hash"),
        ({"version": 2, "previous_scope_hash": "XY" * 32}, "agreement.previous_scope_hash"),
    ],
)
def test_identity_rules(kwargs: dict[str, Any], field: str) -> None:
    base = {"number": IDENTITY.number, "short_id": "bps-kyc-2026", "institution": "Bank"}
    with pytest.raises(Invalid) as caught:
        AgreementIdentity(**(base | kwargs))
    assert caught.value.field == field


def test_amendment_identity_round_trips() -> None:
    amended = AgreementIdentity(IDENTITY.number, IDENTITY.short_id, IDENTITY.institution, 2,
                                scope_hash(IDENTITY, load(scope_data())))  # fmt: skip
    assert AgreementIdentity.from_json(amended.to_json()) == amended
