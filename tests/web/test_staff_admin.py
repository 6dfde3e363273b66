"""The Admin's staff page: a new password for a member ends their sessions; deactivation too;
the rules are the CLI's (12 characters, the last Admin stays); only the Admin sees the page."""

from __future__ import annotations

from flask import Flask

from tests.office import Office
from tests.webapp import csrf, log_in


def test_an_admin_resets_a_password_and_the_old_sessions_end(
    web: Flask, web_office: Office
) -> None:
    admin, pf = web.test_client(), web.test_client()
    log_in(admin, "admin")
    log_in(pf, "pf")
    page = admin.get("/staf")
    assert page.status_code == 200 and "Pejabat Fungsional" in page.get_data(as_text=True)
    answer = admin.post(
        "/staf/pf/kata-sandi", data={"csrf_token": csrf(page), "password": "a new long passphrase"}
    )
    assert answer.status_code == 200 and "Tersimpan untuk pf" in answer.get_data(as_text=True)
    assert pf.get("/").status_code == 302  # the old session ended
    assert log_in(pf, "pf", "a new long passphrase").status_code == 303
    set_by = [e for e in web_office.audit() if e["action"] == "staff.password_set"]
    assert set_by[-1]["actor_id"] == "admin" and "passphrase" not in str(set_by)


def test_a_short_password_and_the_last_admin_are_refused(web: Flask) -> None:
    admin = web.test_client()
    log_in(admin, "admin")
    short = admin.post(
        "/staf/pf/kata-sandi", data={"csrf_token": csrf(admin.get("/staf")), "password": "short"}
    )
    assert short.status_code == 422
    last = admin.post(
        "/staf/admin/nonaktifkan", data={"csrf_token": csrf(admin.get("/staf")), "reason": "oops"}
    )
    assert last.status_code == 409
    assert admin.get("/").status_code == 200  # still an admin, still logged in


def test_only_the_admin_has_the_staff_page(web: Flask) -> None:
    kadis = web.test_client()
    log_in(kadis, "kadis")
    assert kadis.get("/staf").status_code == 403
    page = kadis.get("/")
    refused = kadis.post(
        "/staf/pf/kata-sandi", data={"csrf_token": csrf(page), "password": "x" * 20}
    )
    assert refused.status_code == 403
