"""The frozen plan of one delivery: everything the pipeline may do, decided before it reads a row.

`make_plan` turns a verified agreement version (its parsed `Scope` and identity) into a `Plan`:
the granted elements with their masks and types, the row filter, the recipients' age keys, the
format, the delivery date, the per-agreement token key and the re-identification rule. The
pipeline takes a plan and a source URL, never an ORM object or a session, so it cannot read more
than the plan grants and can be tested on its own. Whether the agreement may run at all (signature,
status, validity, quota) is the gateway's check before it makes a plan.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime

import pyarrow as pa

from agreements.catalog import Catalog
from agreements.errors import Invalid
from agreements.masks import Mask
from agreements.scope import RowFilter, Scope
from exports.masking.operators import MaskContext, input_type, output_type
from exports.reading.query import ColumnRequest, ExtractionRequest
from exports.reading.source_mapping import SourceMapping
from pks_partner.manifest import AgreementRef

# The element whose keyed hash records who was in a delivery (`subject deliveries`); it is read
# even when not granted, and never written to the delivered file unless granted.
SUBJECT_ELEMENT = "nik"
HOUSEHOLD_ELEMENT = "no_kk"
CLEAR_MASKS = frozenset({"keep", "decode"})


@dataclass(frozen=True)
class PlannedElement:
    """One delivered column: the element, its catalog facts, and its mask."""

    key: str
    label: str
    element_type: str
    identifier: str  # direct | quasi | none (catalog)
    mask: Mask

    @property
    def input_type(self) -> pa.DataType:
        return input_type(self.element_type, self.mask)

    @property
    def output_type(self) -> pa.DataType:
        return output_type(self.element_type, self.mask)

    @property
    def in_clear(self) -> bool:
        return self.mask.kind in CLEAR_MASKS


@dataclass(frozen=True)
class Recipient:
    name: str
    age_recipient: str


@dataclass(frozen=True)
class Plan:
    delivery_id: str
    agreement: AgreementRef
    elements: tuple[PlannedElement, ...]
    row_filter: RowFilter
    recipients: tuple[Recipient, ...]
    format: str
    as_of: date
    created_at: datetime
    max_rows: int
    k: int
    reidentification_action: str  # report | suppress | refuse
    token_key: bytes = field(repr=False)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(element.key for element in self.elements)

    @property
    def identified(self) -> bool:
        """A direct identifier goes out in clear: the recipient can name every person."""
        return any(e.identifier == "direct" and e.in_clear for e in self.elements)

    @property
    def quasi_identifiers(self) -> tuple[str, ...]:
        """Delivered columns that, combined, could single a person out."""
        return tuple(
            e.key for e in self.elements if e.identifier == "quasi" and e.mask.kind != "redact"
        )

    @property
    def household(self) -> str | None:
        """The household column, when the KK number is delivered as a token."""
        element = next((e for e in self.elements if e.key == HOUSEHOLD_ELEMENT), None)
        return element.key if element is not None and element.mask.kind == "token" else None

    @property
    def reads_subject_separately(self) -> bool:
        """Whether the NIK must be read in addition to the granted columns."""
        return SUBJECT_ELEMENT not in self.keys

    def element(self, key: str) -> PlannedElement:
        for element in self.elements:
            if element.key == key:
                return element
        raise KeyError(key)

    def output_schema(self) -> pa.Schema:
        """The delivered file's schema, with the agreement and each column's label and mask."""
        fields = [
            pa.field(
                e.key,
                e.output_type,
                metadata={
                    "label": e.label,
                    "mask": json.dumps(e.mask.to_json(), sort_keys=True),
                },
            )
            for e in self.elements
        ]
        metadata = {
            "pks.delivery_id": self.delivery_id,
            "pks.agreement_number": self.agreement.number,
            "pks.agreement_short_id": self.agreement.short_id,
            "pks.agreement_version": str(self.agreement.version),
            "pks.scope_hash": self.agreement.scope_hash,
            "pks.as_of": self.as_of.isoformat(),
        }
        return pa.schema(fields, metadata=metadata)

    def extraction_request(
        self, catalog: Catalog, mapping: SourceMapping, *, with_subject: bool = True
    ) -> ExtractionRequest:
        """What to read: the granted columns (decoded where the mask decodes), then the NIK
        for subject hashes when it is not among them in raw form."""
        columns = [ColumnRequest(e.key, decode=e.mask.kind == "decode") for e in self.elements]
        if with_subject and self.reads_subject_separately:
            columns.append(ColumnRequest(SUBJECT_ELEMENT))
        return ExtractionRequest(
            catalog=catalog,
            mapping=mapping,
            columns=tuple(columns),
            row_filter=self.row_filter,
            as_of=self.as_of,
        )

    def mask_context(self, rare: dict[str, frozenset[str]] | None = None) -> MaskContext:
        return MaskContext(as_of=self.as_of, token_key=self.token_key, rare=rare or {})

    def rare_counted(self) -> tuple[PlannedElement, ...]:
        """Elements whose recode turns categories rarer than a threshold into `other`."""
        return tuple(
            e
            for e in self.elements
            if e.mask.kind == "recode" and int(e.mask.get("rare_threshold") or 0) > 0
        )


def make_plan(
    scope: Scope,
    catalog: Catalog,
    *,
    agreement: AgreementRef,
    delivery_id: str,
    as_of: date,
    created_at: datetime,
    token_key: bytes,
) -> Plan:
    """The plan for one delivery of `scope`; Invalid if the scope grants no bulk delivery."""
    if scope.delivery is None:
        raise Invalid("delivery", f"agreement {agreement.short_id} grants no bulk delivery")
    elements = []
    # Columns in catalog order (nik, no_kk, names, ...), not the signed document's sorted keys.
    order = {key: index for index, key in enumerate(catalog.keys())}
    for granted in sorted(scope.elements, key=lambda e: order[e.key]):
        info = catalog.get(granted.key)
        elements.append(
            PlannedElement(
                key=granted.key,
                label=info.label_id,
                element_type=info.type,
                identifier=info.identifier,
                mask=granted.mask,
            )
        )
    return Plan(
        delivery_id=delivery_id,
        agreement=agreement,
        elements=tuple(elements),
        row_filter=scope.row_filter,
        recipients=tuple(Recipient(r.name, r.age_recipient) for r in scope.recipients),
        format=scope.delivery.format,
        as_of=as_of,
        created_at=created_at,
        max_rows=scope.delivery.max_rows,
        k=scope.reidentification.k,
        reidentification_action=scope.reidentification.action,
        token_key=token_key,
    )
