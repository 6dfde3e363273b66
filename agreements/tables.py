"""Typed reads from nested plain data (a TOML or JSON table), naming every field by its dotted path.

An unknown key in a scope or an import file is an error naming that key, never silently ignored
(a misspelt `include_minors` must not fall back to anything). Given the known `keys`, a `Table`
refuses the others before reading anything, so a typo is reported as the typo rather than as the
missing field it was meant to be; `done()` catches what was never read.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date

from agreements.errors import Invalid


class Table:
    """One table of the input: typed reads named by dotted path, and unknown keys refused."""

    def __init__(self, data: object, path: str, keys: Collection[str] | None = None) -> None:
        if not isinstance(data, Mapping):
            raise Invalid(path or "scope", "must be a table")
        self.data, self.path, self.seen = data, path, set[str]()
        if keys is not None:
            for key in sorted(set(map(str, data)) - set(keys)):
                raise Invalid(self.at(key), "unknown key")

    def at(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def raw(self, name: str, *, required: bool = True) -> object:
        self.seen.add(name)
        if name not in self.data:
            if required:
                raise Invalid(self.at(name), "required (state it explicitly)")
            return None
        return self.data[name]

    def text(self, name: str, *, limit: int = 500, required: bool = True) -> str:
        value = self.raw(name, required=required)
        if value is None or (value == "" and not required):
            return ""
        if not isinstance(value, str) or not value.strip() or len(value) > limit:
            raise Invalid(self.at(name), f"must be text of 1-{limit} characters")
        return value

    def whole(self, name: str, low: int, high: int) -> int:
        value = self.raw(name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise Invalid(self.at(name), f"must be a whole number from {low} to {high}")
        return value

    def flag(self, name: str, *, required: bool = True) -> bool:
        value = self.raw(name, required=required)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise Invalid(self.at(name), "must be true or false")
        return value

    def choice(self, name: str, choices: tuple[str, ...]) -> str:
        value = self.raw(name)
        if value not in choices:
            raise Invalid(self.at(name), f"must be one of: {', '.join(choices)}")
        return str(value)

    def items(self, name: str, *, required: bool = True, allow_empty: bool = False) -> list[object]:
        value = self.raw(name, required=required)
        if value is None:
            return []
        if not isinstance(value, list | tuple) or (not value and not allow_empty):
            raise Invalid(
                self.at(name), "must be a list" + ("" if allow_empty else " of 1 or more")
            )
        return list(value)

    def texts(self, name: str, *, limit: int = 300) -> tuple[str, ...]:
        values = self.items(name)
        for value in values:
            if not isinstance(value, str) or not value.strip() or len(value) > limit:
                raise Invalid(self.at(name), f"each item must be text of 1-{limit} characters")
        return tuple(str(v) for v in values)

    def table(
        self, name: str, keys: Collection[str] | None = None, *, required: bool = True
    ) -> Table | None:
        value = self.raw(name, required=required)
        return None if value is None else Table(value, self.at(name), keys)

    def section(self, name: str, keys: Collection[str] | None = None) -> Table:
        return Table(self.raw(name), self.at(name), keys)

    def done(self) -> None:
        for key in sorted(set(map(str, self.data)) - self.seen):
            raise Invalid(self.at(key), "unknown key")


def read_date(value: object, where: str) -> date:
    # TOML gives dates, JSON gives ISO strings; a TOML date-time (a datetime) is refused.
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    elif isinstance(value, date) and type(value) is date:
        return value
    raise Invalid(where, "must be a date (YYYY-MM-DD)")
