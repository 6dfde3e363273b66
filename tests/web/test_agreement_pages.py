"""The agreements pages say a scope in words: every granted element with its mask as a sentence,
the recipients' key fingerprints, quota, reporting duties and history."""

from __future__ import annotations

import json

from flask import Flask

from ageformat.keys import recipient_fingerprint
from tests.harness import SHORT
from tests.office import Office
from tests.webapp import log_in


def test_an_agreement_page_lists_every_element_and_its_mask_in_words(
    web: Flask, web_office: Office
) -> None:
    shown = json.loads(web_office("agreement", "show", SHORT, "--json").stdout)
    client = web.test_client()
    log_in(client, "kepatuhan")
    page = client.get(f"/perjanjian/{SHORT}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    for element in shown["elements"]:
        assert f"<code>{element['key']}</code>" in text
    assert "tanggal dipotong menjadi tahunnya" in text  # generalize_date to year, in words
    assert "diganti pseudonim berkunci" in text  # the example's NIK token
    assert shown["scope_hash"] in text
    assert recipient_fingerprint(web_office.recipient) in text
    assert "Riwayat" in text and "Tugas saya" not in text


def test_an_unknown_agreement_is_a_404_page(web: Flask) -> None:
    client = web.test_client()
    log_in(client, "pf")
    answer = client.get("/perjanjian/no-such-agreement")
    assert answer.status_code == 404 and "Tidak ditemukan" in answer.get_data(as_text=True)
    listing = client.get("/perjanjian").get_data(as_text=True)
    assert SHORT in listing
