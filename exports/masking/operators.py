"""The masking step: one vectorised implementation per mask kind of `agreements.masks`.

`apply_mask` takes one column of one record batch, as the extraction step typed it (`input_type`),
and returns the column the partner receives (`output_type`, known before the first batch so the
writers can fix the file schema). Everything is `pyarrow.compute` on whole columns except `token`,
for which Arrow has no HMAC kernel (see `exports.masking.tokens`).

Rules every kind keeps: the output has the input's length; null stays null (except `redact`, where
everything is null); error messages name the element and types, never a value.

Output types, one per kind and parameter set:
  keep, redact         the element's own column type (so a redacted column has the same schema)
  partial, token       string
  generalize_date      year: int16 · year_month: string "YYYY-MM" · age: int16, or string when
                       `top_code` is set (ages from N up read "N+", younger ones "37") ·
                       age_band: string "20-24" (and "N+" from `top_code`)
  generalize_region    string, the dotted code cut to the level ("64.01.01")
  bucket               string, the band's label
  recode, decode       string
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from agreements.masks import MASK_KINDS, REGION_LEVELS, Mask
from exports.element_types import ARROW_TYPES
from exports.masking import years_of_age
from exports.masking.tokens import TOKEN_KEY_BYTES, Tokenizer

STAR = "*"


@dataclass(frozen=True)
class MaskContext:
    """What masks need beyond the column and its mask, fixed for a whole delivery.

    `rare` maps an element key to its category values (as strings: a code's decimal form) that
    are rarer than the element's recode `rare_threshold` in this delivery; the pipeline counts
    them in the source before streaming, since one batch cannot know the whole delivery's counts.
    """

    as_of: date
    token_key: bytes
    rare: Mapping[str, frozenset[str]] = field(default_factory=dict)


Implementation = Callable[[pa.Array, Mask, str, MaskContext], pa.Array]


def input_type(element_type: str, mask: Mask) -> pa.DataType:
    """The Arrow type the extraction step delivers for this element under this mask."""
    if mask.kind == "decode":
        # The extraction labels decoded codes and flags (exports.reading.decoding): they arrive as
        # strings.
        return pa.string()
    return ARROW_TYPES[element_type]


def _keep(column: pa.Array, mask: Mask, key: str, context: MaskContext) -> pa.Array:
    return column


def _redact(column: pa.Array, mask: Mask, key: str, context: MaskContext) -> pa.Array:
    return pa.nulls(len(column), type=column.type)


def _counts(counts: pa.Array) -> pa.Array:
    """Repeat counts for `binary_repeat`, which checks even the slots under a null (whatever
    arithmetic left there) and refuses a negative one: nulls become 0, their row stays null
    through the join because its head is null."""
    return pc.max_element_wise(counts, 0, skip_nulls=True)


def _partial(column: pa.Array, mask: Mask, key: str, context: MaskContext) -> pa.Array:
    """Keep `first` leading and `last` trailing characters, star the rest, same length.

    At least one character is always starred: on a value no longer than `first + last` the kept
    tail shrinks first, then the kept head ("Al" under first 1, last 1 reads "A*"), so a short
    name is never delivered whole. Lengths count Unicode code points, not bytes.
    """
    first, last = int(mask.get("first")), int(mask.get("last"))
    length = pc.utf8_length(column)
    shortest = pc.min(length).as_py()
    if shortest is None or shortest > first + last:
        # Every value is long enough (always so for a NIK or KK): three slices and the stars.
        head = pc.utf8_slice_codeunits(column, 0, first)
        tail = pc.utf8_slice_codeunits(column, -last) if last else None
        stars = pc.binary_repeat(STAR, _counts(pc.subtract(length, first + last)))
        parts = [head, stars] if tail is None else [head, stars, tail]
        return pc.binary_join_element_wise(*parts, "")
    # Some values are short. Long ones still get fixed slices; for a short one the head is all but
    # its last character (length <= first) and the tail what follows position first + 1.
    head = pc.if_else(
        pc.greater(length, first),
        pc.utf8_slice_codeunits(column, 0, first),
        pc.utf8_slice_codeunits(column, 0, -1),
    )
    # A start of -0 would be the whole value: no kept tail is the empty slice instead.
    full_tail = pc.utf8_slice_codeunits(column, -last if last else 0, None if last else 0)
    tail = pc.if_else(
        pc.greater(length, first + last),
        full_tail,
        pc.utf8_slice_codeunits(column, first + 1),
    )
    hidden = pc.subtract(pc.subtract(length, pc.utf8_length(head)), pc.utf8_length(tail))
    stars = pc.binary_repeat(STAR, _counts(hidden))
    return pc.binary_join_element_wise(head, stars, tail, "")


def _token(column: pa.Array, mask: Mask, key: str, context: MaskContext) -> pa.Array:
    if len(context.token_key) < TOKEN_KEY_BYTES:
        raise ValueError(f"element {key}: the token key must be {TOKEN_KEY_BYTES} bytes or more")
    return Tokenizer(context.token_key, int(mask.get("length"))).column(column)


def _generalize_date(column: pa.Array, mask: Mask, key: str, context: MaskContext) -> pa.Array:
    to = mask.get("to")
    if to == "year":
        return pc.cast(pc.year(column), pa.int16())
    if to == "year_month":
        # The ISO text of a date cut after the month: the same "YYYY-MM" as strftime, 13x faster.
        return pc.utf8_slice_codeunits(pc.cast(column, pa.string()), 0, 7)
    years = years_of_age.ages_at(column, context.as_of)
    top = mask.get("top_code")
    if to == "age":
        if top is None:
            return years
        return years_of_age.label_ages(years, years_of_age.top_coded(top, str))
    return years_of_age.label_ages(
        years, years_of_age.top_coded(top, years_of_age.band_label(int(mask.get("band"))))
    )


def _generalize_region(column: pa.Array, mask: Mask, key: str, context: MaskContext) -> pa.Array:
    """Keep the first parts of the dotted code; a code already coarser than `to` stays as it is.

    Cut by parts rather than by character count so that the level, not the code's layout,
    decides what is kept.
    """
    parts = REGION_LEVELS.index(mask.get("to")) + 1
    return pc.binary_join(pc.list_slice(pc.split_pattern(column, "."), 0, parts), ".")


def _bucket(column: pa.Array, mask: Mask, key: str, context: MaskContext) -> pa.Array:
    edges, labels = mask.get("edges"), mask.get("labels")
    return years_of_age.label_ages(
        years_of_age.ages_at(column, context.as_of), years_of_age.bucket_label(edges, labels)
    )


def _recode(column: pa.Array, mask: Mask, key: str, context: MaskContext) -> pa.Array:
    """Mapped label; unmapped values and the delivery's rare categories read `other`."""
    values = column if pa.types.is_string(column.type) else pc.cast(column, pa.string())
    codes, labels = zip(*mask.get("mapping"), strict=True)
    other = pa.scalar(mask.get("other"), pa.string())
    index = pc.index_in(values, value_set=pa.array(codes, pa.string()))
    mapped = pc.coalesce(pc.take(pa.array(labels, pa.string()), index), other)
    if int(mask.get("rare_threshold")) > 0:
        if key not in context.rare:
            # Fail closed: without the delivery's counts a rare category would go out as itself.
            raise ValueError(f"element {key}: rare categories were not counted for this delivery")
        rare = pa.array(sorted(context.rare[key]), pa.string())
        mapped = pc.if_else(pc.is_in(values, value_set=rare), other, mapped)
    return pc.if_else(pc.is_null(values), pa.scalar(None, pa.string()), mapped)


def _decode(column: pa.Array, mask: Mask, key: str, context: MaskContext) -> pa.Array:
    # The extraction already labelled the codes (exports.reading.decoding); nothing is left to do
    # here. apply_mask has checked the column is string labels, so raw codes cannot pass as decoded.
    return column


IMPLEMENTATIONS: Mapping[str, Implementation] = {
    "keep": _keep,
    "partial": _partial,
    "token": _token,
    "redact": _redact,
    "generalize_date": _generalize_date,
    "generalize_region": _generalize_region,
    "bucket": _bucket,
    "recode": _recode,
    "decode": _decode,
}


def _date_output(element_type: str, mask: Mask) -> pa.DataType:
    to = mask.get("to")
    if to == "year" or (to == "age" and mask.get("top_code") is None):
        return years_of_age.AGE_TYPE
    return pa.string()


OUTPUT_TYPES: Mapping[str, Callable[[str, Mask], pa.DataType]] = {
    "keep": lambda element_type, mask: ARROW_TYPES[element_type],
    "redact": lambda element_type, mask: ARROW_TYPES[element_type],
    "generalize_date": _date_output,
    **{
        kind: (lambda element_type, mask: pa.string())
        for kind in ("partial", "token", "generalize_region", "bucket", "recode", "decode")
    },
}


def output_type(element_type: str, mask: Mask) -> pa.DataType:
    """The Arrow type `apply_mask` returns for this element type and mask."""
    return OUTPUT_TYPES[mask.kind](element_type, mask)


def apply_mask(
    element_key: str, element_type: str, mask: Mask, column: pa.Array, context: MaskContext
) -> pa.Array:
    """The delivered form of `column` (the element `element_key`) under `mask`."""
    if element_type not in MASK_KINDS[mask.kind].types:
        raise ValueError(f"element {element_key}: {mask.kind} does not fit a {element_type}")
    expected = input_type(element_type, mask)
    if column.type != expected:
        raise TypeError(
            f"element {element_key}: {mask.kind} on a {element_type} takes {expected}, "
            f"the column is {column.type}"
        )
    result = IMPLEMENTATIONS[mask.kind](column, mask, element_key, context)
    if result.type != output_type(element_type, mask) or len(result) != len(column):
        raise TypeError(f"element {element_key}: {mask.kind} broke its output contract")
    return result
