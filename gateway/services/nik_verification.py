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

import functools
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, select
from stdnum.exceptions import ValidationError
from stdnum.id import nik as stdnum_nik

from agreements.errors import Invalid, NotPermitted
from agreements.roles import Action, require
from audit.entry import keyed_nik_hasher
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
NOT_A_NIK = "not a valid NIK (16 digits, a real region and date)"
_SIXTEEN_DIGITS = re.compile(r"[0-9]{16}")
# python-stdnum's NIK rule reads only the region (digits 1-4) and the birth date (7-12) of a
# 16-digit number, so each part is checked once — the region by `is_valid` on a number whose date
# is known to be valid, the date by the `get_birth_date` that `validate` calls — and remembered:
# the same accept set as `stdnum_nik.validate` (a property test holds them together), without its
# three passes of `compact` and its region-file walk per NIK (28 % of a call, bench/README.md).
_VALID_REGION = "6401"  # Kabupaten Paser
_VALID_BIRTH = "010190"  # 1 January 1990


class Claim(NamedTuple):
    """One item asked about: a NIK and the facts claimed for it (element key -> value)."""

    nik: str
    fields: Mapping[str, str]


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs 3x, 1,000 times a call
class Verdict:
    """The answer about one item: found among the people the filter selects, and per field
    whether it matches."""

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
        niks = valid_niks([claim.nik for claim in claims])
        stored, _ = executable_version(connection, SealStore(env.keys_dir), short_id, today)
        scope = stored.parsed_scope(env.catalog, env.region_codes)
        if "nik_verification" not in scope.access_modes:
            raise NotPermitted(f"agreement {short_id} grants no nik_verification")
        asked = sorted({key for claim in claims for key in claim.fields})
        kinds = {key: _comparable(key, scope.element(key) is not None, env) for key in asked}
        claimed = _claimed_values(claims, kinds)
        held = _lookup(source, env, scope.row_filter, asked, niks, today)
        verdicts = _verdicts(claims, niks, claimed, held, asked, kinds)
        found = sum(v.found for v in verdicts)
        matched = sum(v.found and all(v.fields.values()) for v in verdicts)
        hashed = keyed_nik_hasher(secret)
        details = {
            "agreement": short_id,
            "items": len(claims),
            "found": found,
            "all_fields_match": matched,
            "fields": asked,
            "nik_hashes": [hashed(nik)[:AUDIT_HASH_HEX] for nik in niks],
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
    if value.isascii():  # NFKC leaves ASCII as it is, and case folding is lower case there
        return " ".join(value.lower().split())
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())


def valid_niks(values: Sequence[object]) -> list[str]:
    """Each value as python-stdnum compacts it, or Invalid naming the first that is not a NIK
    (16 digits, a real region and date, as `stdnum.id.nik.validate` has it)."""
    niks = []
    for index, value in enumerate(values):
        if isinstance(value, str) and len(value) == 16 and _SIXTEEN_DIGITS.fullmatch(value):
            nik = value  # already compact: the common case, without stdnum's character walk
        elif isinstance(value, str) and value.isascii():
            nik = stdnum_nik.compact(value)
        else:
            nik = ""
        if not (
            _SIXTEEN_DIGITS.fullmatch(nik) and _valid_region(nik[:4]) and _valid_birth(nik[6:12])
        ):
            raise Invalid(f"items[{index}].nik", NOT_A_NIK)
        niks.append(nik)
    return niks


@functools.lru_cache(maxsize=10_000)  # every 4-digit prefix there is
def _valid_region(prefix: str) -> bool:
    return stdnum_nik.is_valid(f"{prefix}00{_VALID_BIRTH}0000")


@functools.lru_cache(maxsize=1 << 16)  # the ~73,000 valid DDMMYY (with women's day + 40) fit
def _valid_birth(ddmmyy: str) -> bool:
    try:
        stdnum_nik.get_birth_date(f"{_VALID_REGION}00{ddmmyy}0000")  # validate's date check
    except ValidationError:
        return False
    return True


def _comparable(key: str, granted: bool, env: DeliveryEnvironment) -> str:
    at = f"fields.{key}"
    if not granted or key not in env.catalog:
        raise Invalid(at, "not an element this agreement grants")
    kind = COMPARABLE.get(env.catalog.get(key).type)
    if kind is None:
        raise Invalid(at, "only names, text and dates can be verified")
    return kind


def _claimed_values(
    claims: Sequence[Claim], kinds: Mapping[str, str]
) -> list[dict[str, date | str]]:
    """Each claim's values in the form they are compared in (a date, or normalised text), or
    Invalid naming the first item and field that breaks a rule."""
    prepared: list[dict[str, date | str]] = []
    for index, claim in enumerate(claims):
        if not claim.fields:
            raise Invalid(f"items[{index}].fields", "at least one field to compare")
        values: dict[str, date | str] = {}
        for key, value in claim.fields.items():
            if not isinstance(value, str) or len(value) > 300 or not value.strip():
                rule = "must be a non-empty string of at most 300 characters"
                raise Invalid(f"items[{index}].fields.{key}", rule)
            if kinds[key] == "date":
                try:
                    values[key] = date.fromisoformat(value)
                except ValueError:
                    at = f"items[{index}].fields.{key}"
                    raise Invalid(at, "must be a date YYYY-MM-DD") from None
            else:
                values[key] = normalised_text(value)
        prepared.append(values)
    return prepared


def _lookup(
    source: Source,
    env: DeliveryEnvironment,
    row_filter: Any,
    keys: list[str],
    niks: list[str],
    today: date,
) -> dict[str, tuple[Any, ...]]:
    """NIK -> the stored values of `keys` (in that order), of the people the filter selects: one
    SELECT over the deliveries' query builder, `nik IN (…)` on the indexed column."""
    asked = [key for key in keys if key != NIK]
    columns = (ColumnRequest(NIK), *(ColumnRequest(key) for key in asked))
    request = ExtractionRequest(env.catalog, env.mapping, columns, row_filter, today)
    selected = build_query(request).subquery("granted")
    query = select(*(selected.c[key] for key in [NIK, *keys])).where(
        selected.c[NIK].in_(sorted(set(niks)))
    )
    with source.engine.connect() as connection:
        rows = connection.execute(query).all()
    return {str(row[0]): tuple(row)[1:] for row in rows}


def _verdicts(
    claims: Sequence[Claim],
    niks: Sequence[str],
    claimed: Sequence[Mapping[str, date | str]],
    held: Mapping[str, tuple[Any, ...]],
    keys: Sequence[str],
    kinds: Mapping[str, str],
) -> list[Verdict]:
    """Match or no match per claimed field; a stored value is read to compare, never kept."""
    column = {key: position for position, key in enumerate(keys)}
    compare: dict[str, Callable[[Any], date | str | None]] = {
        key: _stored_date if kinds[key] == "date" else _stored_text for key in keys
    }
    verdicts = []
    for index, (claim, nik, values) in enumerate(zip(claims, niks, claimed, strict=True)):
        row = held.get(nik)
        if row is None:
            verdicts.append(Verdict(index, False, dict.fromkeys(claim.fields, False)))
            continue
        verdicts.append(
            Verdict(
                index,
                True,
                {key: compare[key](row[column[key]]) == value for key, value in values.items()},
            )
        )
    return verdicts


def _stored_text(stored: Any) -> str | None:
    return None if stored is None else normalised_text(str(stored))


def _stored_date(stored: Any) -> date | None:
    if stored is None:
        return None
    if isinstance(stored, datetime):
        return stored.date()
    if isinstance(stored, date):
        return stored
    return date.fromisoformat(str(stored)[:10])
