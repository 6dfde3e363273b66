"""Every message the web UI shows has its Indonesian translation, and every page renders in both
languages without an untranslated message id; dates are written as the office writes them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import Flask

from gateway.web import messages
from gateway.web.i18n import catalog, long_date, office_time
from tests.harness import SHORT
from tests.webapp import log_in

PAGES = (
    "/",
    "/permohonan",
    "/perjanjian",
    f"/perjanjian/{SHORT}",
    "/pengiriman",
    "/audit",
    "/audit/chain",
)
WITA = ZoneInfo("Asia/Makassar")


def test_the_indonesian_catalog_translates_every_message_the_code_uses() -> None:
    used = {str(m.id) for m in messages.extract() if m.id}
    kept = messages.read_indonesian()
    assert used <= {str(m.id) for m in kept if m.id}, "run python3 dev.py messages"
    assert messages.untranslated(kept) == []


def test_every_page_renders_in_both_languages_with_no_message_id_left(web: Flask) -> None:
    indonesian = catalog("id")
    # Message ids of two words or more whose translation differs: one of them in an Indonesian
    # page means a text that was not translated (or not marked for translation).
    english = [
        str(m.id)
        for m in messages.read_indonesian()
        if m.id and " " in str(m.id) and indonesian.gettext(str(m.id)) != m.id
    ]
    client = web.test_client()
    log_in(client, "kadis")
    for path in PAGES:
        page = client.get(path)
        assert page.status_code == 200, path
        text = page.get_data(as_text=True)
        assert '<html lang="id">' in text
        left = [message for message in english if _literal(message) in text]
        assert left == [], path
    client.get("/bahasa/en")
    for path in PAGES:
        text = client.get(path).get_data(as_text=True)
        assert '<html lang="en">' in text and "Beranda" not in text, path


def test_dates_and_times_are_written_as_the_office_writes_them(web: Flask) -> None:
    with web.test_request_context("/"):
        assert long_date(date(2026, 12, 2), WITA) == "2 Desember 2026"
        when = datetime(2026, 12, 2, 6, 5, tzinfo=UTC)
        assert office_time(when, WITA) == "2 Desember 2026 14.05 WITA"


def _literal(message: str) -> str:
    """The longest piece of a message id between its placeholders."""
    pieces = [piece.split(")s", 1)[-1] for piece in message.split("%(")]
    return max(pieces, key=len)
