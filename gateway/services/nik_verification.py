"""NIK verification (issue 11): does the register hold this NIK with these facts? — answered
match or no match per field, never with a stored value.

An agreement grants it by `access_modes = ["nik_verification"]`; only elements its scope grants,
of a type that compares sensibly (names, text, dates), may be asked about, and only people its row
filter selects are looked up (regions, ages, alive, active: someone outside them is "not found").
Up to `MAX_ITEMS` NIKs a call, read with one indexed SELECT (`nik IN (…)`) over the same query
builder deliveries use, so a column the scope does not grant is never read.

Comparison, documented in docs/api.md: a name or text is compared after Unicode NFKC, case folding
and collapsing runs of white space (`"  siti   AMINAH "` matches `Siti Aminah`); a date must be
`YYYY-MM-DD` and equal. Each call is audited (`nik.verify`) with the number of items, how many were
found and matched, the fields asked, and each NIK only as a truncated keyed hash.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, select
from stdnum.exceptions import ValidationError
from stdnum.id import nik as stdnum_nik

from agreements.errors import Invalid, NotPermitted
from agreements.roles import Action, require
from audit.entry import keyed_nik_hash
from exports.reading.query import ColumnRequest, ExtractionRequest, build_query
from exports.reading.source import Source
from gateway.keys import load_pseudonym_secret
from gateway.seals import SealStore
from gateway.services.actions import Actor, Outcome, perform
from gateway.services.agreements import executable_version
from gateway.services.deliveries import DeliveryEnvironment

MAX_ITEMS = 1000
COMPARABLE = {"name": "text", "string": "text", "text": "text", "date": "date"}
NIK = "nik"
# 80 bits: enough to find a NIK's calls again, short enough for 1,000. Not 16: sixteen hex
# characters are all digits once in ~1,850 hashes ((10/16)**16), which the audit log refuses as
# NIK-like, so a call of 1,000 NIKs failed about 4 times in 10 (found by bench/api.py nik).
AUDIT_HASH_HEX = 20


@dataclass(frozen=True)
class Claim:
    """One item asked about: a NIK and the facts claimed for it (element key -> value)."""

    nik: str
    fields: Mapping[str, str]


@dataclass(frozen=True)
class Verdict:
    index: int
    found: bool
    fields: Mapping[str, bool]  # element key -> match


def verify_niks(
    engine: Engine,
    env: DeliveryEnvironment,
    source: Source,
    by: str | Actor,
    short_id: str,
    claims: Sequence[Claim],
    now: datetime,
) -> list[Verdict]:
    secret = load_pseudonym_secret(env.keys_dir)
    today = now.astimezone(env.time_zone).date()

    def work(connection: Connection, actor: Actor) -> Outcome:
        # Every check inside the action, so that each refusal is on record.
        require(Action.NIK_VERIFY, actor.role)
        if not claims:
            raise Invalid("items", "at least one")
        if len(claims) > MAX_ITEMS:
            raise Invalid("items", f"at most {MAX_ITEMS:,} a call")
        niks = [_nik(claim.nik, index) for index, claim in enumerate(claims)]
        stored, _ = executable_version(connection, SealStore(env.keys_dir), short_id, today)
        scope = stored.parsed_scope(env.catalog, env.region_codes)
        if "nik_verification" not in scope.access_modes:
            raise NotPermitted(f"agreement {short_id} grants no nik_verification")
        asked = sorted({key for claim in claims for key in claim.fields})
        kinds = {key: _comparable(key, scope.element(key) is not None, env) for key in asked}
        for index, claim in enumerate(claims):
            if not claim.fields:
                raise Invalid(f"items[{index}].fields", "at least one field to compare")
            for key, value in claim.fields.items():
                _claimed(kinds[key], value, f"items[{index}].fields.{key}")
        stored_rows = _lookup(source, env, scope.row_filter, asked, niks, today)
        verdicts = [
            _verdict(index, claim, stored_rows.get(nik), kinds)
            for index, (claim, nik) in enumerate(zip(claims, niks, strict=True))
        ]
        found = sum(v.found for v in verdicts)
        matched = sum(v.found and all(v.fields.values()) for v in verdicts)
        details = {
            "agreement": short_id,
            "items": len(claims),
            "found": found,
            "all_fields_match": matched,
            "fields": asked,
            "nik_hashes": [keyed_nik_hash(secret, nik)[:AUDIT_HASH_HEX] for nik in niks],
        }
        return Outcome(short_id, details, verdicts)

    outcome = perform(
        engine,
        by,
        action=Action.NIK_VERIFY.value,
        object_type="agreement",
        object_id=short_id,
        now=now,
        work=work,
    )
    return list(outcome.value)


def normalised_text(value: str) -> str:
    """How names and text are compared: NFKC, case folded, white space collapsed and trimmed."""
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())


def _nik(value: str, index: int) -> str:
    compact = stdnum_nik.compact(value) if isinstance(value, str) and value.isascii() else ""
    try:
        stdnum_nik.validate(compact)
    except ValidationError:
        rule = "not a valid NIK (16 digits, a real region and date)"
        raise Invalid(f"items[{index}].nik", rule) from None
    return compact


def _comparable(key: str, granted: bool, env: DeliveryEnvironment) -> str:
    at = f"fields.{key}"
    if not granted or key not in env.catalog:
        raise Invalid(at, "not an element this agreement grants")
    kind = COMPARABLE.get(env.catalog.get(key).type)
    if kind is None:
        raise Invalid(at, "only names, text and dates can be verified")
    return kind


def _claimed(kind: str, value: object, at: str) -> None:
    if not isinstance(value, str) or not value.strip() or len(value) > 300:
        raise Invalid(at, "must be a non-empty string of at most 300 characters")
    if kind == "date":
        try:
            date.fromisoformat(value)
        except ValueError:
            raise Invalid(at, "must be a date YYYY-MM-DD") from None


def _lookup(
    source: Source,
    env: DeliveryEnvironment,
    row_filter: Any,
    keys: list[str],
    niks: list[str],
    today: date,
) -> dict[str, Mapping[str, Any]]:
    columns = (ColumnRequest(NIK), *(ColumnRequest(k) for k in keys if k != NIK))
    request = ExtractionRequest(env.catalog, env.mapping, columns, row_filter, today)
    selected = build_query(request).subquery("granted")
    query = select(selected).where(selected.c[NIK].in_(sorted(set(niks))))
    with source.engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    return {str(row[NIK]): dict(row) for row in rows}


def _verdict(
    index: int, claim: Claim, row: Mapping[str, Any] | None, kinds: Mapping[str, str]
) -> Verdict:
    if row is None:
        return Verdict(index, False, dict.fromkeys(claim.fields, False))
    return Verdict(
        index,
        True,
        {key: _matches(kinds[key], value, row[key]) for key, value in claim.fields.items()},
    )


def _matches(kind: str, claimed: str, stored: Any) -> bool:
    if stored is None:
        return False
    if kind == "date":
        held = stored if isinstance(stored, date) else date.fromisoformat(str(stored)[:10])
        return date.fromisoformat(claimed) == held
    return normalised_text(claimed) == normalised_text(str(stored))
