"""Notifications: what waits on a member, in the app and by e-mail to a local SMTP sink (aiosmtpd
on 127.0.0.1), each notice once, naming ids, never a person's data."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from flask import Flask

from gateway.settings import load_settings
from gateway.web.notices import send_new_notices
from tests.office import Office
from tests.webapp import intake, log_in


class Sink:
    """Keeps every message it is handed."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.messages.append(message_from_bytes(envelope.content))  # type: ignore[attr-defined]
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Sink, int]]:
    sink = Sink()
    with socket.socket() as probe:  # a free port (aiosmtpd checks its own start by connecting)
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


def register_letter(web: Flask) -> int:
    adb = web.test_client()
    log_in(adb, "adb")
    status, location = intake(adb)
    assert status == 303
    return int(location.rsplit("/", 1)[1])


def test_a_new_request_is_a_notice_for_the_kepala_dinas_only(web: Flask) -> None:
    request_id = register_letter(web)
    kadis, pf = web.test_client(), web.test_client()
    log_in(kadis, "kadis")
    log_in(pf, "pf")
    page = kadis.get("/pemberitahuan").get_data(as_text=True)
    assert f'href="/permohonan/{request_id}"' in page and "menunggu tindakan Anda" in page
    assert 'Pemberitahuan <span class="count">(1)</span>' in kadis.get("/").get_data(as_text=True)
    assert f"/permohonan/{request_id}" not in pf.get("/pemberitahuan").get_data(as_text=True)


def test_notices_are_e_mailed_once_each_to_members_with_an_address(
    web: Flask, web_office: Office, smtp: tuple[Sink, int]
) -> None:
    sink, port = smtp
    web_office("staff", "email", "kadis", "kadis@paserkab.go.id", "--as", "admin")
    request_id = register_letter(web)
    settings = load_settings(
        {"home": web_office.home, "smtp_host": "127.0.0.1", "smtp_port": port}, environ={}
    )
    engine = web.extensions["pks_engine"]
    now = datetime.now(UTC)
    assert send_new_notices(engine, settings, now) == 1
    assert send_new_notices(engine, settings, now) == 0  # told once
    (message,) = sink.messages
    assert message["To"] == "kadis@paserkab.go.id"
    body = message.get_payload(decode=True).decode("utf-8")  # type: ignore[union-attr]
    assert f"Permohonan {request_id}" in body and "menunggu tindakan Anda" in body
    entries = [e for e in web_office.audit() if e["action"] == "staff.email_set"]
    assert entries and "kadis@paserkab.go.id" not in str(entries)


def test_without_a_relay_nothing_is_sent(web: Flask, web_office: Office) -> None:
    web_office("staff", "email", "kadis", "kadis@paserkab.go.id", "--as", "admin")
    register_letter(web)
    settings = load_settings({"home": web_office.home}, environ={})
    assert send_new_notices(web.extensions["pks_engine"], settings, datetime.now(UTC)) == 0


def test_a_malformed_address_is_refused(web_office: Office) -> None:
    refused = web_office("staff", "email", "kadis", "not an address", "--as", "admin", ok=False)
    assert refused.exit_code == 3 and "email" in refused.output
