"""What an amendment changes: a readable list of differences between two scope versions.

Officers review an addendum by what it adds or takes away, so the changes are grouped the way
they read the PKS: elements added or removed, masks changed, filter changed, recipients added,
removed or changed, then every other section field by field. The values shown are scope settings
(masks, codes, dates of validity), never population data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agreements.scope import Scope

_SECTIONS_IN_ORDER = ("elements", "filter", "recipients")


@dataclass(frozen=True)
class Change:
    """One difference. `what` is e.g. "element added", `path` the field, values as JSON text."""

    what: str
    path: str
    old: str | None = None
    new: str | None = None

    def __str__(self) -> str:
        if self.old is None:
            return f"{self.what}: {self.path} = {self.new}"
        if self.new is None:
            return f"{self.what}: {self.path} (was {self.old})"
        return f"{self.what}: {self.path}: {self.old} -> {self.new}"


def _show(value: Any) -> str:
    if isinstance(value, dict) and "mask" in value:
        params = " ".join(f"{k}={_show(v)}" for k, v in sorted(value.items()) if k != "mask")
        return f"{value['mask']} {params}".strip()
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_show(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _flat(value: Any, path: str) -> dict[str, Any]:
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flat(item, f"{path}.{key}" if path else key))
        return out
    return {path: value}


def _fields(what: str, old: Any, new: Any, path: str) -> list[Change]:
    before, after = _flat(old, path), _flat(new, path)
    changes = []
    for key in sorted(before.keys() | after.keys()):
        if key not in after:
            changes.append(Change(f"{what} removed", key, old=_show(before[key])))
        elif key not in before:
            changes.append(Change(f"{what} added", key, new=_show(after[key])))
        elif before[key] != after[key]:
            changes.append(Change(f"{what} changed", key, _show(before[key]), _show(after[key])))
    return changes


def diff(old: Scope, new: Scope) -> list[Change]:
    """Changes from `old` to `new`, grouped: elements, masks, filter, recipients, the rest."""
    a, b = old.to_json(), new.to_json()
    changes: list[Change] = []
    old_elements, new_elements = a["elements"], b["elements"]
    for key in sorted(new_elements.keys() - old_elements.keys()):
        changes.append(Change("element added", key, new=_show(new_elements[key])))
    for key in sorted(old_elements.keys() - new_elements.keys()):
        changes.append(Change("element removed", key, old=_show(old_elements[key])))
    for key in sorted(old_elements.keys() & new_elements.keys()):
        if old_elements[key] != new_elements[key]:
            changes.append(
                Change("mask changed", key, _show(old_elements[key]), _show(new_elements[key]))
            )
    changes += _fields("filter", a["filter"], b["filter"], "filter")
    old_people = {r["name"]: r for r in a["recipients"]}
    new_people = {r["name"]: r for r in b["recipients"]}
    for name in sorted(new_people.keys() - old_people.keys()):
        changes.append(Change("recipient added", name, new=new_people[name]["age_recipient"]))
    for name in sorted(old_people.keys() - new_people.keys()):
        changes.append(Change("recipient removed", name, old=old_people[name]["age_recipient"]))
    for name in sorted(old_people.keys() & new_people.keys()):
        changes += _fields("recipient", old_people[name], new_people[name], f"recipients.{name}")
    for section in sorted((a.keys() | b.keys()) - set(_SECTIONS_IN_ORDER)):
        changes += _fields("setting", {section: a.get(section)}, {section: b.get(section)}, "")
    return changes
