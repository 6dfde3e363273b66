"""The masking operators: one per kind of the vocabulary, checked by hand-worked examples and by
properties over generated columns (length and type kept, nulls kept, nothing delivered whole)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agreements.masks import MASK_KINDS, Mask, validate_mask
from exports.masking.operators import (
    ARROW_TYPES,
    IMPLEMENTATIONS,
    OUTPUT_TYPES,
    MaskContext,
    apply_mask,
    input_type,
    output_type,
)
from exports.masking.tokens import derive_token_key
from exports.masking.years_of_age import ages_at

SECRET = bytes(range(100, 132))
AS_OF = date(2025, 2, 28)


@dataclass(frozen=True)
class Element:
    key: str
    type: str


def mask(element_type: str, spec: str | dict[str, Any]) -> Mask:
    """A mask as the vocabulary validates it (defaults filled in), for an element of that type."""
    return validate_mask(Element("e", element_type), spec)


def context(as_of: date = AS_OF, agreement: str = "bps-kyc-2026", **rare: set[str]) -> MaskContext:
    return MaskContext(
        as_of=as_of,
        token_key=derive_token_key(SECRET, agreement),
        rare={key: frozenset(values) for key, values in rare.items()},
    )


def run(element_type: str, spec: str | dict[str, Any], values: list[Any], **kw: Any) -> list[Any]:
    m = mask(element_type, spec)
    column = pa.array(values, type=input_type(element_type, m))
    return apply_mask("e", element_type, m, column, context(**kw)).to_pylist()


def hmac_hex(key: bytes, value: str, length: int = 32) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:length]


# One mask per kind and parameter set, with an element type it fits.
CASES: list[tuple[str, str | dict[str, Any]]] = [
    *((t, "keep") for t in sorted(ARROW_TYPES)),
    *((t, "redact") for t in sorted(ARROW_TYPES)),
    ("nik", {"mask": "partial", "first": 6, "last": 4}),
    ("kk", {"mask": "partial", "last": 4}),
    ("name", {"mask": "partial", "first": 1, "last": 1}),
    ("string", {"mask": "partial", "first": 3}),
    ("nik", "token"),
    ("name", {"mask": "token", "length": 64}),
    ("date", {"mask": "generalize_date", "to": "year"}),
    ("date", {"mask": "generalize_date", "to": "year_month"}),
    ("date", {"mask": "generalize_date", "to": "age"}),
    ("date", {"mask": "generalize_date", "to": "age", "top_code": 90}),
    ("date", {"mask": "generalize_date", "to": "age_band"}),
    ("date", {"mask": "generalize_date", "to": "age_band", "band": 10, "top_code": 80}),
    *(("region", {"mask": "generalize_region", "to": to}) for to in ("province", "village")),
    ("region", {"mask": "generalize_region", "to": "kecamatan"}),
    ("date", {"mask": "bucket", "edges": [18, 60]}),
    ("date", {"mask": "bucket", "edges": [0, 18, 65], "labels": ["-", "anak", "dewasa", "lansia"]}),
    ("code", {"mask": "recode", "mapping": {"1": "ISLAM", "2": "KRISTEN"}}),
    ("string", {"mask": "recode", "mapping": {"A": "GOL A"}, "other": "LAIN"}),
    ("code", "decode"),
    ("flag", "decode"),
]

NIKS = st.from_regex(r"64010[1-9][0-7][0-9][01][0-9][0-9]{2}[0-9]{4}", fullmatch=True)
# No "*" in generated text: the star is the mask character, a value made of stars stays stars.
NAME_ALPHABET = st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyzÑñéü' .-")
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "nik": NIKS,
    "kk": NIKS,
    "name": st.text(NAME_ALPHABET, max_size=40),
    "string": st.text(NAME_ALPHABET, max_size=20),
    "text": st.text(max_size=60),
    "date": st.dates(date(1880, 1, 1), date(2030, 12, 31)),
    "code": st.integers(1, 89),
    "flag": st.booleans(),
    "region": st.from_regex(r"64(\.01(\.0[1-9](\.[12]0[0-9]{2})?)?)?", fullmatch=True),
}


def column_of(element_type: str, m: Mask) -> st.SearchStrategy[pa.Array]:
    if m.kind == "decode":
        values: st.SearchStrategy[Any] = st.sampled_from(["Islam", "Kristen", "Ya", "Tidak"])
    elif m.kind == "recode" and element_type == "string":
        values = st.sampled_from(["A", "B", "AB", "O"])
    else:
        values = VALUES[element_type]
    items = st.lists(st.one_of(st.none(), values), max_size=60)
    return items.map(lambda xs: pa.array(xs, type=input_type(element_type, m)))


# --- the registry -------------------------------------------------------------------------------


def test_every_kind_of_the_vocabulary_has_an_implementation_and_an_output_type() -> None:
    assert set(IMPLEMENTATIONS) == set(MASK_KINDS)
    assert set(OUTPUT_TYPES) == set(MASK_KINDS)
    assert {spec if isinstance(spec, str) else spec["mask"] for _, spec in CASES} == set(MASK_KINDS)


def test_every_accepted_element_type_has_a_column_type() -> None:
    for kind in MASK_KINDS.values():
        assert kind.types <= set(ARROW_TYPES), kind.name


@pytest.mark.parametrize(("element_type", "spec"), CASES, ids=str)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_output_has_the_declared_type_the_input_length_and_its_nulls(
    element_type: str, spec: str | dict[str, Any], data: st.DataObject
) -> None:
    m = mask(element_type, spec)
    column = data.draw(column_of(element_type, m))
    as_of = data.draw(st.dates(date(2000, 1, 1), date(2030, 12, 31)))
    out = apply_mask("e", element_type, m, column, context(as_of, e=set()))
    assert out.type == output_type(element_type, m)
    assert len(out) == len(column)
    if m.kind == "redact":
        assert out.null_count == len(out)
    else:
        # Nulls stay null; a value becomes null only for an impossible (future) birth date.
        nulls_in = [v is None for v in column.to_pylist()]
        nulls_out = [v is None for v in out.to_pylist()]
        assert all(o for i, o in zip(nulls_in, nulls_out, strict=True) if i)
        if element_type != "date":
            assert nulls_in == nulls_out


# --- keep, redact, decode -----------------------------------------------------------------------


@pytest.mark.parametrize("element_type", sorted(ARROW_TYPES))
def test_keep_delivers_the_column_as_extracted(element_type: str) -> None:
    m = mask(element_type, "keep")
    sample = {"date": date(1990, 5, 17), "code": 7, "flag": True}.get(element_type, "64.01.01")
    column = pa.array([sample, None], type=ARROW_TYPES[element_type])
    assert apply_mask("e", element_type, m, column, context()).equals(column)


def test_redact_keeps_the_column_with_every_value_empty() -> None:
    assert run("nik", "redact", ["6401015208900001", None]) == [None, None]
    assert output_type("date", mask("date", "redact")) == pa.date32()
    assert run("code", "redact", [1, 2, 3]) == [None, None, None]


def test_decode_passes_the_database_labels_through() -> None:
    assert run("code", "decode", ["Islam", None, "Hindu"]) == ["Islam", None, "Hindu"]
    assert run("flag", "decode", ["Ada", "Tidak Ada"]) == ["Ada", "Tidak Ada"]


def test_a_column_of_the_wrong_type_is_refused_naming_the_element_not_the_values() -> None:
    m = mask("code", "decode")
    with pytest.raises(TypeError) as caught:
        apply_mask("agama", "code", m, pa.array([4017], type=pa.int32()), context())
    assert "agama" in str(caught.value) and "4017" not in str(caught.value)
    with pytest.raises(TypeError, match="nik"):
        apply_mask("nik", "nik", mask("nik", "token"), pa.array([6401015208900001]), context())


def test_a_mask_that_does_not_fit_the_element_type_is_refused() -> None:
    with pytest.raises(ValueError, match="does not fit a date"):
        apply_mask("e", "date", mask("nik", "token"), pa.array([date(2000, 1, 1)]), context())


# --- partial ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("element_type", "first", "last", "value", "expected"),
    [
        ("nik", 6, 4, "6401015208900001", "640101******0001"),
        ("nik", 0, 4, "6401015208900001", "************0001"),
        ("kk", 4, 0, "6401022010150003", "6401************"),
        ("name", 1, 0, "Siti Aminah", "S**********"),
        ("name", 1, 1, "Ñoño", "Ñ**o"),  # characters, not UTF-8 bytes
        ("name", 2, 2, "Budi", "Bu*i"),  # too short to keep 4: the tail gives way first
        ("name", 1, 1, "Al", "A*"),
        ("name", 2, 0, "Al", "A*"),  # then the head
        ("name", 1, 1, "A", "*"),
        ("name", 1, 1, "", ""),
    ],
)
def test_partial_examples(
    element_type: str, first: int, last: int, value: str, expected: str
) -> None:
    spec = {"mask": "partial", "first": first, "last": last}
    assert run(element_type, spec, [value, None]) == [expected, None]


@st.composite
def partial_cases(draw: st.DrawFn) -> tuple[str, int, int, list[str]]:
    element_type = draw(st.sampled_from(["nik", "kk", "name", "string"]))
    limit = {"nik": 12, "kk": 12, "name": 4, "string": 8}[element_type]
    first = draw(st.integers(0, limit))
    last = draw(st.integers(0 if first else 1, limit - first))
    if element_type in ("nik", "kk"):
        values = draw(st.lists(NIKS, min_size=1, max_size=30))
    else:
        values = draw(st.lists(st.text(NAME_ALPHABET, min_size=2, max_size=30), min_size=1))
    return element_type, first, last, values


@settings(max_examples=300)
@given(partial_cases())
def test_partial_hides_something_keeps_length_and_keeps_exactly_the_kept_characters(
    case: tuple[str, int, int, list[str]],
) -> None:
    element_type, first, last, values = case
    out = run(element_type, {"mask": "partial", "first": first, "last": last}, values)
    for value, masked in zip(values, out, strict=True):
        size = len(value)
        assert masked != value
        assert len(masked) == size
        assert "*" in masked
        assert all(m in (v, "*") for v, m in zip(value, masked, strict=True))
        head = min(first, size - 1)
        assert masked[:head] == value[:head]
        if size > first + last:
            assert masked == value[:first] + "*" * (size - first - last) + value[size - last :]


# --- token --------------------------------------------------------------------------------------


def test_token_is_hmac_sha256_under_the_agreement_key() -> None:
    key = derive_token_key(SECRET, "bps-kyc-2026")
    out = run("nik", "token", ["6401015208900001", None, "Siti"])
    assert out == [hmac_hex(key, "6401015208900001"), None, hmac_hex(key, "Siti")]
    assert len(run("name", {"mask": "token", "length": 64}, ["Siti"])[0]) == 64


def test_the_default_token_carries_at_least_128_bits() -> None:
    token = run("nik", "token", ["6401015208900001"])[0]
    assert len(token) * 4 >= 128
    assert int(token, 16) >= 0 and token == token.lower()


def test_a_short_token_key_is_refused() -> None:
    weak = MaskContext(as_of=AS_OF, token_key=b"x" * 16)
    with pytest.raises(ValueError, match="token key"):
        apply_mask("nik", "nik", mask("nik", "token"), pa.array(["6401015208900001"]), weak)


@settings(max_examples=100)
@given(
    element_type=st.sampled_from(["nik", "kk", "name", "string"]),
    values=st.lists(st.text(min_size=2, max_size=40), min_size=1, max_size=30),
)
def test_tokens_are_stable_per_agreement_and_unlinkable_across_agreements(
    element_type: str, values: list[str]
) -> None:
    m = mask(element_type, "token")
    column = pa.array(values, type=pa.string())
    monday = apply_mask("e", element_type, m, column, context(date(2026, 1, 5))).to_pylist()
    later = apply_mask("e", element_type, m, column, context(date(2026, 7, 6))).to_pylist()
    other = apply_mask("e", element_type, m, column, context(agreement="rsud-paser-2026"))
    assert monday == later
    key = derive_token_key(SECRET, "bps-kyc-2026")
    assert monday == [hmac_hex(key, v) for v in values]
    assert all(a != b for a, b in zip(monday, other.to_pylist(), strict=True))
    assert all(t != v for t, v in zip(monday, values, strict=True))


# --- ages and generalize_date -------------------------------------------------------------------


def reference_age(born: date, as_of: date) -> int | None:
    """Age written the slow, obvious way: 29 February birthdays fall on 1 March in other years."""
    try:
        birthday = born.replace(year=as_of.year)
    except ValueError:
        birthday = date(as_of.year, 3, 1)
    age = as_of.year - born.year - (as_of < birthday)
    return age if age >= 0 else None


@settings(max_examples=300)
@given(
    born=st.lists(st.dates(date(1880, 1, 1), date(2030, 12, 31)), max_size=40),
    as_of=st.dates(date(1990, 1, 1), date(2030, 12, 31)),
)
def test_vectorised_ages_equal_the_obvious_computation(born: list[date], as_of: date) -> None:
    ages = ages_at(pa.array(born, type=pa.date32()), as_of).to_pylist()
    assert ages == [reference_age(b, as_of) for b in born]


@pytest.mark.parametrize(
    ("born", "as_of", "age"),
    [
        (date(2000, 5, 17), date(2025, 5, 16), 24),  # the day before the birthday
        (date(2000, 5, 17), date(2025, 5, 17), 25),  # on the birthday
        (date(2000, 2, 29), date(2025, 2, 28), 24),  # no 29 Feb in 2025: birthday on 1 March
        (date(2000, 2, 29), date(2025, 3, 1), 25),
        (date(2000, 2, 29), date(2024, 2, 28), 23),  # a leap year: birthday on 29 Feb itself
        (date(2000, 2, 29), date(2024, 2, 29), 24),
        (date(2007, 12, 31), date(2025, 12, 30), 17),  # a minor until the very day
        (date(2025, 2, 28), date(2025, 2, 28), 0),
    ],
)
def test_age_around_birthdays(born: date, as_of: date, age: int) -> None:
    spec = {"mask": "generalize_date", "to": "age"}
    assert run("date", spec, [born, None], as_of=as_of) == [age, None]


def test_a_birth_date_after_the_delivery_date_has_no_age() -> None:
    spec = {"mask": "generalize_date", "to": "age"}
    assert run("date", spec, [AS_OF + timedelta(days=1)]) == [None]


def test_generalize_date_to_year_and_year_month() -> None:
    born = [date(1987, 3, 9), date(2000, 12, 31), None]
    assert run("date", {"mask": "generalize_date", "to": "year"}, born) == [1987, 2000, None]
    ym = run("date", {"mask": "generalize_date", "to": "year_month"}, born)
    assert ym == ["1987-03", "2000-12", None]


def born_aged(age: int, as_of: date = AS_OF) -> date:
    """Someone who turned `age` a month ago (a birthday away from any edge case)."""
    return date(as_of.year - age, as_of.month, 1) - timedelta(days=31)


def test_generalize_date_age_top_coded_reads_n_plus_and_is_text() -> None:
    spec = {"mask": "generalize_date", "to": "age", "top_code": 90}
    assert run("date", spec, [born_aged(89), born_aged(90), born_aged(104), None]) == [
        "89",
        "90+",
        "90+",
        None,
    ]
    assert output_type("date", mask("date", spec)) == pa.string()
    assert output_type("date", mask("date", {"mask": "generalize_date", "to": "age"})) == pa.int16()


def test_generalize_date_age_bands() -> None:
    spec = {"mask": "generalize_date", "to": "age_band"}  # band 5 by default
    born = [born_aged(a) for a in (0, 4, 5, 22, 97)]
    assert run("date", spec, born) == ["0-4", "0-4", "5-9", "20-24", "95-99"]
    top = {"mask": "generalize_date", "to": "age_band", "band": 10, "top_code": 80}
    assert run("date", top, [born_aged(79), born_aged(80), None]) == ["70-79", "80+", None]


# --- generalize_region --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("to", "expected"),
    [
        ("province", "64"),
        ("kabupaten", "64.01"),
        ("kecamatan", "64.01.01"),
        ("village", "64.01.01.2009"),
    ],
)
def test_generalize_region_cuts_the_dotted_code(to: str, expected: str) -> None:
    spec = {"mask": "generalize_region", "to": to}
    assert run("region", spec, ["64.01.01.2009", None]) == [expected, None]


def test_a_region_code_already_coarser_than_the_level_stays_as_it_is() -> None:
    spec = {"mask": "generalize_region", "to": "village"}
    assert run("region", spec, ["64.01.10", "64"]) == ["64.01.10", "64"]


# --- bucket -------------------------------------------------------------------------------------


def test_bucket_edges_and_default_labels() -> None:
    spec = {"mask": "bucket", "edges": [18, 60]}
    born = [born_aged(a) for a in (0, 17, 18, 59, 60, 101)]
    assert run("date", spec, [*born, None]) == [
        "0-17",
        "0-17",
        "18-59",
        "18-59",
        "60+",
        "60+",
        None,
    ]


def test_bucket_edges_on_the_birthday_itself() -> None:
    spec = {"mask": "bucket", "edges": [18, 60]}
    eighteen_today = date(AS_OF.year - 18, AS_OF.month, AS_OF.day)
    assert run("date", spec, [eighteen_today, eighteen_today + timedelta(days=1)]) == [
        "18-59",
        "0-17",
    ]


def test_bucket_labels_name_the_bands_in_order() -> None:
    spec = {"mask": "bucket", "edges": [18, 65], "labels": ["anak", "dewasa", "lansia"]}
    born = [born_aged(a) for a in (3, 30, 70)]
    assert run("date", spec, born) == ["anak", "dewasa", "lansia"]
    # From an edge of 0 the band below the first edge is empty; its label never appears.
    spec = {"mask": "bucket", "edges": [0, 18], "labels": ["-", "anak", "dewasa"]}
    assert run("date", spec, [born_aged(0), born_aged(18)]) == ["anak", "dewasa"]


# --- recode -------------------------------------------------------------------------------------

RELIGION = {"mask": "recode", "mapping": {"1": "ISLAM", "2": "KRISTEN", "6": "KHONGHUCU"}}


def test_recode_maps_codes_and_sends_unmapped_to_other() -> None:
    assert run("code", RELIGION, [1, 2, 4, None, 6]) == [
        "ISLAM",
        "KRISTEN",
        "LAINNYA",
        None,
        "KHONGHUCU",
    ]
    spec = {"mask": "recode", "mapping": {"A": "GOL A"}, "other": "LAIN"}
    assert run("string", spec, ["A", "B", None]) == ["GOL A", "LAIN", None]


def test_recode_sends_the_delivery_s_rare_categories_to_other() -> None:
    spec = {**RELIGION, "rare_threshold": 10}
    out = run("code", spec, [1, 6, 4, 2, None], e={"6", "4"})
    assert out == ["ISLAM", "LAINNYA", "LAINNYA", "KRISTEN", None]


def test_recode_with_a_threshold_but_no_counts_fails_closed() -> None:
    m = mask("code", {**RELIGION, "rare_threshold": 10})
    with pytest.raises(ValueError, match="agama"):
        apply_mask("agama", "code", m, pa.array([6], type=pa.int32()), context())


@pytest.mark.parametrize(("element_type", "spec"), CASES, ids=str)
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_a_sliced_column_is_masked_like_its_values(
    element_type: str, spec: str | dict[str, Any], data: st.DataObject
) -> None:
    # Record batches cut from a larger one are slices (an offset into shared buffers).
    m = mask(element_type, spec)
    whole = data.draw(column_of(element_type, m).filter(lambda c: len(c) >= 8))
    sliced = whole.slice(3, len(whole) - 5)
    copied = pa.array(sliced.to_pylist(), type=sliced.type)
    masked = apply_mask("e", element_type, m, sliced, context(e=set()))
    assert masked.equals(apply_mask("e", element_type, m, copied, context(e=set())))
