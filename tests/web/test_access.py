"""Every page and action of the web UI declares the roles it is open to (from the role table),
a role outside them is refused and audited, and every response carries the security headers."""

from __future__ import annotations

from flask import Flask

from gateway.web.access import declared_roles
from gateway.web.security import CONTENT_SECURITY_POLICY
from tests.harness import SHORT
from tests.office import Office
from tests.webapp import csrf, log_in, web_app


def test_every_web_route_declares_its_roles(web: Flask) -> None:
    undeclared = []
    for rule in web.url_map.iter_rules():
        if not rule.endpoint.startswith("web.") or rule.endpoint == "web.static":
            continue
        roles = declared_roles(web.view_functions[rule.endpoint])
        if roles is not None and not roles:
            undeclared.append(rule.rule)
    assert undeclared == []


def test_a_view_that_declares_nothing_is_refused_to_everyone(web: Flask) -> None:
    declared = web.view_functions["web.dashboard"]

    def undeclared() -> str:
        return "should never be seen"

    web.view_functions["web.dashboard"] = undeclared  # the dashboard, had it declared nothing
    client = web.test_client()
    log_in(client, "admin")
    answer = client.get("/")
    assert answer.status_code == 403 and "should never be seen" not in answer.get_data(as_text=True)
    web.view_functions["web.dashboard"] = declared
    assert client.get("/").status_code == 200


def test_a_role_outside_a_pages_roles_is_refused_and_audited(
    web: Flask, web_office: Office
) -> None:
    client = web.test_client()
    log_in(client, "pf")
    # The audit log page is for compliance, the heads of office and the Admin, not the PF.
    answer = client.get("/audit")
    assert answer.status_code == 403
    assert "Peran Anda tidak diizinkan" in answer.get_data(as_text=True)
    refused = [e for e in web_office.audit() if e["action"] == "web.refused"]
    assert refused[-1]["actor_id"] == "pf" and refused[-1]["object_id"] == "/audit"


def test_every_response_carries_the_security_headers(web: Flask) -> None:
    client = web.test_client()
    for path in ("/login", "/", "/no-such-page", "/api/v1/openapi.json", "/health"):
        headers = client.get(path).headers
        assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, path
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["Referrer-Policy"] == "same-origin", path


def test_an_unknown_page_is_a_page_in_the_visitors_language(web: Flask) -> None:
    client = web.test_client()
    answer = client.get("/no-such-page")
    assert answer.status_code == 404 and "Halaman ini tidak ada" in answer.get_data(as_text=True)
    client.get("/bahasa/en")
    answer = client.get("/no-such-page")
    assert answer.status_code == 404 and "This page does not exist" in answer.get_data(as_text=True)
    # The API's paths still answer with a problem.
    problem = client.get("/api/v1/no-such-route")
    assert problem.status_code == 404 and problem.mimetype == "application/problem+json"


def test_the_menu_shows_each_role_the_pages_it_may_open(web: Flask) -> None:
    def menu_of(name: str) -> str:
        client = web.test_client()
        log_in(client, name)
        page = client.get("/").get_data(as_text=True)
        return page[page.index("<nav") : page.index("</nav>")]

    pf, auditor, adb = menu_of("pf"), menu_of("kepatuhan"), menu_of("adb")
    assert 'href="/permohonan"' in pf and 'href="/audit"' not in pf and 'href="/token"' not in pf
    assert 'href="/audit"' in auditor and 'href="/subjek"' in auditor
    assert 'href="/token"' in adb and 'href="/subjek"' in adb and 'href="/audit"' not in adb


def test_the_delivery_roles_setting_widens_step_8_in_the_web_ui_too(web_office: Office) -> None:
    app = web_app(web_office.home, delivery_roles="petugas_adb, kepala_bidang")
    kabid = app.test_client()
    log_in(kabid, "kabid")
    page = kabid.get("/pengiriman")
    assert "/pengiriman/jalankan" in page.get_data(as_text=True)
    answer = kabid.post("/pengiriman/jalankan", data={"csrf_token": csrf(page), "agreement": SHORT})
    assert answer.status_code == 202
    app.extensions["pks_engine"].dispose()


def test_a_body_bigger_than_any_form_is_refused_before_it_is_read(web: Flask) -> None:
    client = web.test_client()
    answer = client.post("/login", data={"name": "x" * (22 * 1024 * 1024)})
    assert answer.status_code == 413
