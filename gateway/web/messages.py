"""The web UI's message ids, extracted from its code and templates, and the Indonesian catalog
kept in step with them (`python3 dev.py messages`; tests/web/test_i18n.py checks it is).

Extraction reads `_()`, `gettext()`, `ngettext()` and `N_()` calls in gateway/web/*.py and the
templates; a new message lands in translations/id/LC_MESSAGES/messages.po with an empty
translation for a translator to fill, and the test fails until one does.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from gateway.web.i18n import CATALOGS

WEB = Path(__file__).parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
INDONESIAN = CATALOGS / "id" / "LC_MESSAGES" / "messages.po"


def extract() -> Catalog:
    """Every message id the web UI uses, with where it is used."""
    found = Catalog(project="PKS Gateway", locale=None)
    for filename, line, message, comments, context in extract_from_dir(
        WEB, METHODS, options_map=OPTIONS, keywords=KEYWORDS
    ):
        found.add(message, None, [(filename, line)], auto_comments=comments, context=context)
    return found


def read_indonesian() -> Catalog:
    with INDONESIAN.open("rb") as source:
        return read_po(source, locale="id")


def update_indonesian() -> list[str]:
    """Add new message ids to the Indonesian catalog and drop unused ones (translations kept);
    the ids still without a translation."""
    template = extract()
    catalog = read_indonesian() if INDONESIAN.exists() else Catalog(locale="id")
    catalog.update(template, no_fuzzy_matching=True)
    catalog.obsolete.clear()
    INDONESIAN.parent.mkdir(parents=True, exist_ok=True)
    with INDONESIAN.open("wb") as target:
        write_po(target, catalog, width=100, omit_header=False, sort_output=False)
    return untranslated(catalog)


def untranslated(catalog: Catalog) -> list[str]:
    missing = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings) or message.fuzzy:
            missing.append(str(message.id if isinstance(message.id, str) else message.id[0]))
    return missing
