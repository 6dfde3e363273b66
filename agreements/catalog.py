"""The data-element catalog: what each element is, how sensitive, and whether it identifies.

The catalog is a data file (`config/catalog.toml`, or the operator's copy named by the
`catalog_path` setting). This module reads the half that agreements need — key, statutory letter,
labels, type, sensitivity, identifier class, deliverable, high-risk — and checks it is complete: all
31 statutory elements of UU 24/2013 art. 58(2) present once, the specially protected ones of
art. 84 marked so. Where each element lives in the source database (`source` per element and the
top-level `[source]` table) belongs to `exports.reading.source_mapping`, which reads the same file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from agreements.errors import Invalid, NotFound, SafeError
from agreements.masks import ALL_TYPES
from agreements.tables import Table

SENSITIVITIES = ("general", "specific", "protected")
IDENTIFIERS = ("none", "quasi", "direct")
# UU 24/2013 art. 58(2) lists the elements a to ee; art. 84 protects k and bb to ee specially.
STATUTORY_LETTERS = (*"abcdefghijklmnopqrstuvwxyz", "aa", "bb", "cc", "dd", "ee")
SPECIALLY_PROTECTED = frozenset({"k", "bb", "cc", "dd", "ee"})
ELEMENT_KEYS = (
    "letter",
    "label_id",
    "label_en",
    "type",
    "sensitivity",
    "identifier",
    "deliverable",
    "high_risk",
    "source",
)


class CatalogError(SafeError):
    """The catalog file cannot be used; the message names the file and the element or field."""


@dataclass(frozen=True)
class DataElement:
    key: str
    letter: str | None  # statutory letter a-ee, None for address and region fields
    label_id: str
    label_en: str
    type: str
    sensitivity: str
    identifier: str
    deliverable: bool
    high_risk: bool


@dataclass(frozen=True)
class Catalog:
    """The elements in file order; `get` raises NotFound for an unknown key."""

    elements: tuple[DataElement, ...]

    def get(self, key: str) -> DataElement:
        for element in self.elements:
            if element.key == key:
                return element
        raise NotFound("element", key)

    def __contains__(self, key: object) -> bool:
        return any(element.key == key for element in self.elements)

    def __iter__(self) -> Iterator[DataElement]:
        return iter(self.elements)

    def keys(self) -> tuple[str, ...]:
        return tuple(element.key for element in self.elements)


def load_catalog(path: Path) -> Catalog:
    """Read and check the catalog file; CatalogError names the file and what is wrong."""
    try:
        with path.open("rb") as file:
            raw = tomllib.load(file)
    except FileNotFoundError:
        raise CatalogError(f"catalog file {path} does not exist") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CatalogError(f"catalog file {path} cannot be read: {exc}") from None
    except RecursionError:
        raise CatalogError(f"catalog file {path} is nested too deeply") from None
    try:
        return parse_catalog(raw)
    except Invalid as exc:
        raise CatalogError(f"catalog file {path}: {exc.message}") from None


def parse_catalog(raw: object) -> Catalog:
    """Check plain catalog data (as read from TOML); Invalid names the field."""
    top = Table(raw, "", ("catalog_version", "source", "elements"))
    top.whole("catalog_version", 1, 1)
    top.raw("source")  # exports.reading.source_mapping reads and checks it
    elements_table = top.section("elements")
    elements = tuple(
        _element(str(key), Table(value, f"elements.{key}", ELEMENT_KEYS))
        for key, value in elements_table.data.items()
    )
    _check_statutory(elements)
    return Catalog(elements)


def _element(key: str, table: Table) -> DataElement:
    letter = table.raw("letter", required=False)
    if letter is not None and letter not in STATUTORY_LETTERS:
        raise Invalid(table.at("letter"), "must be a statutory letter a-ee")
    element = DataElement(
        key=key,
        letter=None if letter is None else str(letter),
        label_id=table.text("label_id", limit=120),
        label_en=table.text("label_en", limit=120),
        type=table.choice("type", tuple(sorted(ALL_TYPES))),
        sensitivity=_optional_choice(table, "sensitivity", SENSITIVITIES),
        identifier=_optional_choice(table, "identifier", IDENTIFIERS),
        deliverable=table.flag("deliverable") if "deliverable" in table.data else True,
        high_risk=table.flag("high_risk", required=False),
    )
    table.raw("source", required=False)
    table.done()
    if element.deliverable and "source" not in table.data:
        raise Invalid(table.at("source"), "a deliverable element needs a source mapping")
    if element.sensitivity == "protected" and element.deliverable and not element.high_risk:
        raise Invalid(
            table.at("high_risk"), "a protected element that can be delivered must be high-risk"
        )
    return element


def _optional_choice(table: Table, name: str, choices: tuple[str, ...]) -> str:
    """The stated choice, or the first (the least sensitive) when the file leaves it out."""
    return table.choice(name, choices) if name in table.data else choices[0]


def _check_statutory(elements: tuple[DataElement, ...]) -> None:
    by_letter: dict[str, DataElement] = {}
    for element in elements:
        if element.letter is None:
            continue
        if element.letter in by_letter:
            raise Invalid(
                f"elements.{element.key}.letter",
                f"letter {element.letter} is already used by {by_letter[element.letter].key}",
            )
        by_letter[element.letter] = element
    missing = [letter for letter in STATUTORY_LETTERS if letter not in by_letter]
    if missing:
        raise Invalid("elements", f"statutory elements missing: {', '.join(missing)}")
    for letter in sorted(SPECIALLY_PROTECTED):
        element = by_letter[letter]
        if element.sensitivity != "protected":
            raise Invalid(
                f"elements.{element.key}.sensitivity",
                f"element {letter} is specially protected (UU 24/2013 art. 84)",
            )
