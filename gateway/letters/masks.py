"""Each mask in words, for the people who sign and receive: one table, one entry per kind of
`agreements.masks.MASK_KINDS` (a test fails for a kind without one).

`describe_mask` takes a mask as the signed scope renders it (`{"mask": kind, parameter: value}`,
defaults filled in) and says what the partner receives, every parameter included: the Kepala Dinas
signs those parameters, so the annex must show them all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from itertools import pairwise
from typing import Any

from gateway.letters.wording import angka

Params = Mapping[str, Any]

REGION_LEVELS = {
    "province": "provinsi",
    "kabupaten": "kabupaten",
    "kecamatan": "kecamatan",
    "village": "desa/kelurahan",
}


def _partial(p: Params) -> str:
    first, last = int(p.get("first", 0)), int(p.get("last", 0))
    if first and last:
        kept = f"{first} karakter pertama dan {last} karakter terakhir tampak"
    elif first:
        kept = f"hanya {first} karakter pertama tampak"
    else:
        kept = f"hanya {last} karakter terakhir tampak"
    return f"Disamarkan sebagian: {kept}, selebihnya diganti tanda *."


def _token(p: Params) -> str:
    return (
        f"Diganti pseudonim (token) sepanjang {p.get('length', 32)} digit heksadesimal, "
        "HMAC-SHA-256 dengan kunci rahasia yang hanya dipegang Dinas: nilai aslinya tidak dapat "
        "diketahui penerima; orang yang sama mendapat token yang sama dalam setiap penyerahan "
        "berdasarkan perjanjian ini."
    )


def _top_code(p: Params) -> str:
    top = p.get("top_code")
    return f"; umur {top} tahun ke atas ditulis {top}+" if top is not None else ""


def _generalize_date(p: Params) -> str:
    to = p.get("to")
    if to == "year":
        return "Hanya tahunnya yang diserahkan."
    if to == "year_month":
        return "Hanya tahun dan bulannya yang diserahkan."
    if to == "age":
        return f"Diganti umur dalam tahun penuh pada tanggal penyerahan{_top_code(p)}."
    band = int(p.get("band", 5))
    return (
        f"Diganti kelompok umur {band} tahunan pada tanggal penyerahan "
        f"(misalnya 20-{20 + band - 1}){_top_code(p)}."
    )


def _generalize_region(p: Params) -> str:
    level = REGION_LEVELS.get(str(p.get("to")), str(p.get("to")))
    return f"Kode wilayah dipotong sampai tingkat {level}."


def age_bands(edges: Sequence[int], labels: Sequence[str] | None) -> list[str]:
    """The bands of a `bucket` mask as the delivery labels them (exports' `bucket_label`):
    `[edge, next edge)`, the first from 0, the last open; with labels, each label and its range."""
    bounds = [0, *edges]
    ranges = [f"{low}-{high - 1}" for low, high in pairwise(bounds)] + [f"{edges[-1]}+"]
    if labels:
        named = [f"{label} ({span})" for label, span in zip(labels, ranges, strict=True)]
    else:
        named = list(ranges)
    # A first edge of 0 leaves the band below it empty (`0--1`): nobody is in it.
    return named[1:] if edges and edges[0] == 0 else named


def _bucket(p: Params) -> str:
    edges = [int(edge) for edge in p.get("edges", ())]
    labels = p.get("labels")
    bands = "; ".join(age_bands(edges, list(labels) if labels else None)) if edges else "-"
    return f"Diganti kelompok umur pada tanggal penyerahan: {bands}."


def _recode(p: Params) -> str:
    mapping = p.get("mapping", {})
    pairs = "; ".join(f"{code} → {label}" for code, label in sorted(mapping.items(), key=_code))
    other = p.get("other", "LAINNYA")
    rare = int(p.get("rare_threshold", 0))
    rare_words = (
        f"; kategori yang muncul pada kurang dari {angka(rare)} baris dalam satu penyerahan juga "
        f"menjadi {other}"
        if rare
        else ""
    )
    return f"Dikelompokkan ulang: {pairs}; kode lain menjadi {other}{rare_words}."


def _code(item: tuple[str, str]) -> tuple[int, str]:
    code = item[0]
    return (int(code), code) if code.isdigit() else (10**9, code)


MASK_WORDS: Mapping[str, Callable[[Params], str]] = {
    "keep": lambda p: "Utuh: nilai sebagaimana tercatat dalam database kependudukan.",
    "partial": _partial,
    "token": _token,
    "redact": lambda p: "Dikosongkan: kolomnya ada, tetapi setiap nilainya kosong.",
    "generalize_date": _generalize_date,
    "generalize_region": _generalize_region,
    "bucket": _bucket,
    "recode": _recode,
    "decode": lambda p: "Kode diganti keterangannya menurut tabel kode kependudukan.",
}


def describe_mask(mask: Mapping[str, Any]) -> str:
    """The mask in words; a kind this table does not know is shown by its name and parameters
    rather than hidden (the test on MASK_KINDS keeps that from happening)."""
    kind = str(mask.get("mask"))
    params = {k: v for k, v in mask.items() if k != "mask"}
    words = MASK_WORDS.get(kind)
    if words is None:
        shown = ", ".join(f"{k}={v}" for k, v in sorted(params.items()))
        return f"{kind} ({shown})" if shown else kind
    return words(params)
