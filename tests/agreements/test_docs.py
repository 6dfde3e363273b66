"""docs/agreements.md documents every scope key, every mask kind and parameter, every SOP step."""

from __future__ import annotations

from pathlib import Path

import pytest

from agreements.canonical import AgreementIdentity
from agreements.masks import MASK_KINDS
from agreements.scope import (
    SCOPE_KEYS,
    Delivery,
    Predicate,
    Recipient,
    Reidentification,
    Reporting,
    RowFilter,
    Validity,
    keys_of,
)
from agreements.workflow import STEPS, AgreementAction

DOC = (Path(__file__).resolve().parents[2] / "docs" / "agreements.md").read_text(encoding="utf-8")

SECTIONS = [AgreementIdentity, Delivery, Predicate, Recipient, Reidentification, Reporting,
            RowFilter, Validity]  # fmt: skip


@pytest.mark.parametrize("key", sorted(SCOPE_KEYS | {k for c in SECTIONS for k in keys_of(c)}))
def test_every_scope_key_is_documented(key: str) -> None:
    # A key is documented as `key` in a table row, or as a section heading `[key]`/`[[key]]`.
    assert f"`{key}`" in DOC or f"`[{key}]`" in DOC or f"`[[{key}]]`" in DOC, key


@pytest.mark.parametrize("kind", sorted(MASK_KINDS))
def test_every_mask_kind_and_parameter_is_documented(kind: str) -> None:
    row = next(line for line in DOC.splitlines() if line.startswith(f"| `{kind}` |"))
    for param in MASK_KINDS[kind].params:
        assert f"`{param.name}`" in row, (kind, param.name)
    for element_type in MASK_KINDS[kind].types:
        assert element_type in row or "| all |" in row, (kind, element_type)


def test_every_transition_and_action_is_documented() -> None:
    for step in STEPS:
        assert f"`{step.transition.value}`" in DOC
    for action in AgreementAction:
        assert f"`{action.value}`" in DOC
