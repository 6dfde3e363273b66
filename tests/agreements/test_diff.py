"""An amendment's diff names the elements, masks, filter and recipients that changed."""

from __future__ import annotations

from agreements.diff import diff
from agreements.scope import Scope
from tests.agreements.scope_fixtures import AGE_AUDIT, CATALOG, DELETE, REGIONS, scope_data


def load(**changes: object) -> Scope:
    return Scope.from_dict(scope_data(**changes), CATALOG, None, region_codes=REGIONS)


def test_no_change_no_diff() -> None:
    assert diff(load(), load()) == []


def test_amendment_shows_elements_masks_filter_and_recipients() -> None:
    old = load()
    base_recipients = scope_data()["recipients"]
    auditor = {"name": "Auditor Internal", "contact": "audit@bank.example",
               "age_recipient": AGE_AUDIT}  # fmt: skip
    new = load(
        elements__pekerjaan="decode",
        elements__agama=DELETE,
        elements__tanggal_lahir={"mask": "generalize_date", "to": "age_band", "band": 10},
        filter__min_age=18,
        filter__regions=["64.01.01"],
        recipients=[dict(base_recipients[0], ip_allow=[]), auditor],
        validity__end="2027-06-30",
    )
    lines = [str(change) for change in diff(old, new)]
    assert lines == [
        "element added: pekerjaan = decode",
        "element removed: agama (was recode mapping={1=ISLAM, 2=KRISTEN} other=LAINNYA "
        "rare_threshold=0)",
        "mask changed: tanggal_lahir: generalize_date to=year -> generalize_date band=10 "
        "to=age_band",
        "filter changed: filter.min_age: 17 -> 18",
        "filter changed: filter.regions: [64.01.01, 64.01.02.2004] -> [64.01.01]",
        f"recipient added: Auditor Internal = {AGE_AUDIT}",
        "recipient changed: recipients.Tim KYC.ip_allow: [203.0.113.0/24] -> []",
        "setting changed: validity.end: 2026-12-31 -> 2027-06-30",
    ]
    removed = diff(new, old)
    assert any(c.what == "recipient removed" and c.path == "Auditor Internal" for c in removed)
    assert any(c.what == "element removed" and c.path == "pekerjaan" for c in removed)


def test_a_section_appearing_is_shown() -> None:
    only_verification = load(access_modes=["nik_verification"], delivery=DELETE)
    changes = diff(only_verification, load())
    assert any(c.path.startswith("delivery.") and c.what == "setting added" for c in changes)
    assert any(c.path == "access_modes" for c in changes)
