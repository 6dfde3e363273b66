"""Ages at the delivery date and the age labels the date masks deliver, on whole Arrow columns.

An age is the year difference, minus one when the birthday has not yet come in the delivery year.
The birthday test compares (month, day) pairs as `month * 100 + day`; a person born on 29 February
therefore has their birthday on 1 March in a year without one (0228 < 0229 < 0301), which is the
usual legal reading and needs no special case. A birth date after the delivery date is impossible
(a data error in the source), so its age is null rather than a negative number.

Labels for bands are built once per distinct age (0 up to the oldest person in the column, a table
of at most a few hundred strings) and picked with one `take`, so no label is formatted per row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from itertools import pairwise

import pyarrow as pa
import pyarrow.compute as pc

AGE_TYPE = pa.int16()


def ages_at(birth_dates: pa.Array, as_of: date) -> pa.Array:
    """Whole years of age at `as_of` for a `date32` column, as int16; null stays null."""
    # Three kernels rather than `year_month_day`: that struct-returning kernel crashes the process
    # (segmentation fault) on pyarrow 26 for ordinary date32 columns of a few dozen rows.
    years = pc.subtract(as_of.year, pc.year(birth_dates))
    birthdays = pc.add(pc.multiply(pc.month(birth_dates), 100), pc.day(birth_dates))
    not_yet = pc.greater(birthdays, as_of.month * 100 + as_of.day)
    ages = pc.subtract(years, pc.cast(not_yet, pa.int64()))
    ages = pc.if_else(pc.less(ages, 0), pa.scalar(None, pa.int64()), ages)
    return pc.cast(ages, AGE_TYPE)


def label_ages(ages: pa.Array, label_of: Callable[[int], str]) -> pa.Array:
    """`label_of(age)` for every age in an int16 column, as a string column; null stays null."""
    oldest = pc.max(ages).as_py()
    if oldest is None:
        return pa.nulls(len(ages), type=pa.string())
    table = pa.array([label_of(age) for age in range(oldest + 1)], type=pa.string())
    return pc.take(table, ages)


def top_coded(top_code: int | None, label_of: Callable[[int], str]) -> Callable[[int], str]:
    """`label_of`, except that ages from `top_code` up read "N+" (one label for the oldest)."""
    if top_code is None:
        return label_of
    return lambda age: f"{top_code}+" if age >= top_code else label_of(age)


def band_label(band: int) -> Callable[[int], str]:
    """Fixed-width bands from 0: with band 5, age 22 reads "20-24"."""

    def label(age: int) -> str:
        low = age - age % band
        return f"{low}-{low + band - 1}"

    return label


def bucket_label(edges: Sequence[int], labels: Sequence[str] | None) -> Callable[[int], str]:
    """The band of `[edge, next edge)` an age falls in, with `len(edges) + 1` bands.

    Band 0 holds the ages below the first edge (`0-(e0-1)`; empty when the first edge is 0), the
    last band is open (`eN+`). The vocabulary asks for one label per band, `len(edges) + 1`, so a
    given `labels` names these same bands in order.
    """
    bounds = [0, *edges]
    names = list(labels) if labels is not None else []
    if not names:
        for low, high in pairwise(bounds):
            names.append(f"{low}-{high - 1}")
        names.append(f"{edges[-1]}+")

    def label(age: int) -> str:
        index = sum(1 for edge in edges if age >= edge)
        return names[index]

    return label
