"""How the gateway's views look, the same for every door: one JSON shape and one way to write time.

Views are typed, frozen dataclasses made by the services. `to_json` turns one into the shape the
CLI's `--json` prints and the API answers with: times in RFC 3339 with the office's offset, to the
second (`2026-12-02T14:05:00+08:00`), dates as ISO dates, enums as their values, tuples as lists.
`office_time` is the text form officers read (`2026-12-02 14:05 WITA`). Audit leaf bytes are not
views: they keep their own format (audit/entry.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, date, datetime, tzinfo
from enum import Enum
from typing import Any


def office_time(moment: datetime | None, zone: tzinfo, *, empty: str = "-") -> str:
    """`2026-12-02 14:05 WITA`: the office's wall clock to the minute, with the zone's name."""
    if moment is None:
        return empty
    local = _aware(moment).astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def rfc3339(moment: datetime, zone: tzinfo) -> str:
    """`2026-12-02T14:05:00+08:00`: RFC 3339 with the office's offset, to the second."""
    return _aware(moment).astimezone(zone).replace(microsecond=0).isoformat()


def to_json(view: object, zone: tzinfo) -> Any:
    """A view (dataclass, mapping, sequence or scalar) as JSON-ready values."""
    if isinstance(view, datetime):
        return rfc3339(view, zone)
    if isinstance(view, date):
        return view.isoformat()
    if isinstance(view, Enum):
        return view.value
    if dataclasses.is_dataclass(view) and not isinstance(view, type):
        return {
            field.name: to_json(getattr(view, field.name), zone)
            for field in dataclasses.fields(view)
        }
    if isinstance(view, Mapping):
        return {str(key): to_json(value, zone) for key, value in view.items()}
    if isinstance(view, list | tuple | frozenset | set):
        return [to_json(item, zone) for item in view]
    return view


def _aware(moment: datetime) -> datetime:
    # Some drivers (SQLite) hand back naive datetimes; the gateway stores UTC everywhere.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
