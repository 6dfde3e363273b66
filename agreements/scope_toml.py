"""The TOML scope file: an `[agreement]` table (identity) plus the scope's sections, both ways.

`agreement import FILE.toml` reads one to register a PKS signed on paper; `dumps_scope_toml`
writes one (for `agreement show --toml` and amendments drafted from the current version). Reading
is tomllib's; every key must be known (an unknown key is an Invalid naming it), because a
misspelt setting must never fall back to a default. The writer is hand-written because no TOML
writer is locked and the shape is small and fixed: tables, arrays of tables, strings, whole
numbers, booleans and dates. Its output reads back to an equal scope (tested). docs/agreements.md
documents every field; config/examples/demo-agreement.toml is a complete example.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Collection, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from agreements.canonical import AgreementIdentity
from agreements.errors import Invalid
from agreements.policy import CatalogLike
from agreements.scope import Scope, keys_of
from agreements.tables import Table

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
# Fields written as TOML dates rather than strings (the JSON form holds ISO strings).
_DATE_FIELDS = {("validity", "start"), ("validity", "end"), ("reporting", "semester_report_due")}


def read_identity(data: Mapping[str, object]) -> AgreementIdentity:
    """The `[agreement]` table: number, short_id, institution, version, previous_scope_hash."""
    table = Table(data, "agreement", keys_of(AgreementIdentity))
    version = table.raw("version", required=False)
    identity = AgreementIdentity(
        number=table.text("number", limit=200),
        short_id=table.text("short_id", limit=40),
        institution=table.text("institution", limit=300),
        version=1 if version is None else version,  # type: ignore[arg-type]
        previous_scope_hash=table.text("previous_scope_hash", required=False) or None,
    )
    table.done()
    return identity


def read_scope_toml(
    text: str,
    catalog: CatalogLike,
    *,
    region_codes: Collection[str],
    request_duration: int | None = None,
) -> tuple[AgreementIdentity, Scope]:
    """Parse and validate a scope file; Invalid names the first bad field (or the TOML line)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        # tomllib's message gives the position and what was expected, not the file's content.
        raise Invalid("toml", f"not valid TOML: {error}") from None
    except RecursionError:
        # tomllib recurses once per nested array or table: a hostile file can exhaust the stack.
        raise Invalid("toml", "nested too deeply to be a scope") from None
    agreement = data.pop("agreement", None)
    if agreement is None:
        raise Invalid("agreement", "required (state it explicitly)")
    identity = read_identity(agreement)
    scope = Scope.from_dict(data, catalog, request_duration, region_codes=region_codes)
    return identity, scope


def load_scope_toml(
    path: Path,
    catalog: CatalogLike,
    *,
    region_codes: Collection[str],
    request_duration: int | None = None,
) -> tuple[AgreementIdentity, Scope]:
    return read_scope_toml(
        path.read_text(encoding="utf-8"),
        catalog,
        region_codes=region_codes,
        request_duration=request_duration,
    )


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else json.dumps(name, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | date):
        return value.isoformat() if isinstance(value, date) else str(value)
    if isinstance(value, str):
        # A JSON string is a TOML basic string (same escapes), except that TOML also wants DEL
        # escaped, which JSON leaves as it is.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _emit(table: Mapping[str, Any], path: tuple[str, ...], out: list[str]) -> None:
    subtables = []
    for name, value in table.items():
        if (isinstance(value, dict) and value) or _is_table_array(value):
            subtables.append((name, value))
        else:
            out.append(f"{_key(name)} = {_value(value)}")
    for name, value in subtables:
        header = ".".join(_key(p) for p in (*path, name))
        if isinstance(value, dict):
            # A table holding only sub-tables needs no header of its own.
            if any(not isinstance(v, dict) and not _is_table_array(v) for v in value.values()):
                out.extend(["", f"[{header}]"])
            _emit(value, (*path, name), out)
        else:
            for item in value:
                out.extend(["", f"[[{header}]]"])
                _emit(item, (*path, name), out)


def _with_dates(data: dict[str, Any]) -> dict[str, Any]:
    for section, name in _DATE_FIELDS:
        if section in data and name in data[section]:
            value = data[section][name]
            data[section][name] = (
                [date.fromisoformat(v) for v in value]
                if isinstance(value, list)
                else date.fromisoformat(value)
            )
    return data


def dumps_scope_toml(identity: AgreementIdentity, scope: Scope) -> str:
    """The scope file for this identity and scope; `read_scope_toml` gives them back."""
    out: list[str] = ["# PKS scope (docs/agreements.md describes every field)"]
    data = _with_dates(scope.to_json())
    top = {k: v for k, v in data.items() if not isinstance(v, dict) and not _is_table_array(v)}
    _emit(top, (), out)
    out.extend(["", "[agreement]"])
    _emit(identity.to_json(), ("agreement",), out)
    rest = {k: v for k, v in data.items() if k not in top}
    _emit(rest, (), out)
    return "\n".join(out).strip() + "\n"
