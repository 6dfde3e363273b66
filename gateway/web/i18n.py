"""The web UI's languages: Bahasa Indonesia by default, English on request, through gettext
message catalogs (Babel), never strings chosen in templates.

Message ids are the English texts, so English needs no catalog; `translations/id/.../messages.po`
is the only source of the Indonesian ones. It is compiled in memory when first used: there is no
binary `.mo` to forget to rebuild. tests/web/test_i18n.py holds every message the templates and
the web code use to a translation in it.

Dates are written as the office writes them (`2 Desember 2026`) and times in the office's zone
with its name (`14.05 WITA`).
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from gettext import NullTranslations
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from flask import g, has_request_context

LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"
CATALOGS = Path(__file__).parent / "translations"
ZONE_NAMES = {"Asia/Makassar": "WITA", "Asia/Jakarta": "WIB", "Asia/Jayapura": "WIT"}


@cache
def catalog(language: str) -> NullTranslations:
    """The compiled catalog of `language` (English: the message ids themselves)."""
    path = CATALOGS / language / "LC_MESSAGES" / "messages.po"
    if language == "en" or not path.exists():
        return NullTranslations()
    with path.open("rb") as source:
        messages = read_po(source, locale=language)
    compiled = BytesIO()
    write_mo(compiled, messages)
    compiled.seek(0)
    return Translations(compiled)


def language() -> str:
    """The language of the request being served (the default outside a request)."""
    if has_request_context():
        return str(g.get("language", DEFAULT_LANGUAGE))
    return DEFAULT_LANGUAGE


def gettext(message: str, **variables: object) -> str:
    text = catalog(language()).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: object) -> str:
    text = catalog(language()).ngettext(singular, plural, n)
    return text % {"num": n, **variables}


_ = gettext


def long_date(value: date | datetime | None, zone: ZoneInfo) -> str:
    """`2 Desember 2026` (`2 December 2026` in English); a time is taken in the office's zone."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(zone).date()
    return format_date(value, "d MMMM y", locale=language())


def office_time(value: datetime | None, zone: ZoneInfo) -> str:
    """`2 Desember 2026 14.05 WITA`: the date, the time in the office's zone, and its name."""
    if value is None:
        return ""
    local = value.astimezone(zone)
    clock = format_time(local, "HH.mm" if language() == "id" else "HH:mm", locale=language())
    name = ZONE_NAMES.get(str(zone.key), local.strftime("%Z"))
    return f"{long_date(local, zone)} {clock} {name}"


def month_name(value: date) -> str:
    """`Desember 2026`."""
    return format_date(value, "MMMM y", locale=language())
