"""Staff log in with a password; sessions live on the server; guessing slows down but never locks
a member out for good; every refusal is audited."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from gateway.cli import main
from gateway.web.security import SESSION_COOKIE
from tests.clock import OfficeClock
from tests.harness import Gateway
from tests.office import Office
from tests.webapp import PASSWORD, csrf, give_passwords, log_in, web_app


def test_a_page_sends_an_anonymous_visitor_to_the_login_and_a_form_is_refused(
    web: Flask, web_office: Office
) -> None:
    client = web.test_client()
    page = client.get("/audit?page=2")
    assert page.status_code == 302
    assert page.headers["Location"] == "/login?next=/audit?page%3D2"
    before = len(web_office.audit())  # a visit is navigation: not in the log
    posted = client.post("/logout", data={})
    assert posted.status_code == 400  # no token (the guard checks it before the session)
    refused = [e for e in web_office.audit()[before:] if e["action"] == "web.refused"]
    assert [e["details"]["rule"] for e in refused] == ["missing or wrong CSRF token"]


def test_the_right_password_opens_a_session_and_the_dashboard(
    web: Flask, web_office: Office
) -> None:
    client = web.test_client()
    answer = log_in(client, "kadis")
    assert answer.status_code == 303 and answer.headers["Location"] == "/"
    cookie = client.get_cookie(SESSION_COOKIE)
    assert cookie is not None and cookie.secure and cookie.http_only
    assert cookie.same_site == "Lax"
    page = client.get("/")
    assert page.status_code == 200 and "Beranda" in page.get_data(as_text=True)
    # The database keeps a hash of the session id, never the id.
    stored = web_office.sql("SELECT id_hash FROM web_sessions")
    assert len(stored) == 1 and stored[0][0] != cookie.value
    logins = [e for e in web_office.audit() if e["action"] == "staff.login"]
    assert logins[-1]["outcome"] == "ok" and logins[-1]["actor_id"] == "kadis"


def test_a_wrong_password_or_an_unknown_name_get_the_same_answer(
    web: Flask, web_office: Office
) -> None:
    client = web.test_client()
    wrong = log_in(client, "kadis", "not the password at all")
    unknown = log_in(client, "nobody-here", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    assert "Nama atau kata sandi salah" in wrong.get_data(as_text=True)
    assert client.get_cookie(SESSION_COOKIE) is None
    refused = [e for e in web_office.audit() if e["action"] == "staff.login"]
    assert [e["outcome"] for e in refused[-2:]] == ["refused", "refused"]
    # A name that is no member's is not kept: it may be a password typed in the wrong field.
    assert [e["actor_id"] for e in refused[-2:]] == ["kadis", "(unknown name)"]
    assert all("not the password" not in str(e) for e in web_office.audit())


def test_failures_slow_one_address_down_but_not_the_member_elsewhere(
    web: Flask, web_clock: OfficeClock
) -> None:
    attacker = web.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "192.0.2.66"
    for _ in range(3):
        assert log_in(attacker, "kadis", "guess guess guess").status_code == 401
    slowed = log_in(attacker, "kadis", PASSWORD)  # even the right password waits
    assert slowed.status_code == 429 and int(slowed.headers["Retry-After"]) >= 1
    # The Kepala Dinas at the office is not locked out by someone else's guesses.
    office = web.test_client()
    office.environ_base["REMOTE_ADDR"] = "10.0.0.5"
    assert log_in(office, "kadis").status_code == 303
    # And the attacker's own wait ends: a delay, not a lockout.
    web_clock.advance(seconds=int(slowed.headers["Retry-After"]))
    assert log_in(attacker, "kadis").status_code == 303


def test_sessions_end_when_idle_too_long(web: Flask, web_clock: OfficeClock) -> None:
    client = web.test_client()
    log_in(client, "pf")
    web_clock.advance(minutes=29)
    assert client.get("/").status_code == 200
    web_clock.advance(minutes=31)
    assert client.get("/").status_code == 302


def test_logging_out_everywhere_ends_every_session_of_the_member(web: Flask) -> None:
    laptop, tablet = web.test_client(), web.test_client()
    log_in(laptop, "adb")
    log_in(tablet, "adb")
    page = laptop.get("/")
    ended = laptop.post("/logout", data={"csrf_token": csrf(page), "everywhere": "1"})
    assert ended.status_code == 303
    assert laptop.get("/").status_code == 302
    assert tablet.get("/").status_code == 302


def test_deactivation_ends_a_members_sessions_at_once(web: Flask, web_office: Office) -> None:
    client = web.test_client()
    log_in(client, "pf")
    web_office("staff", "deactivate", "pf", "--reason", "left the office", "--as", "admin")
    assert client.get("/").status_code == 302
    assert log_in(client, "pf").status_code == 401


def test_a_database_writer_swapping_a_hash_or_a_role_gains_nothing(
    web: Flask, web_office: Office
) -> None:
    client = web.test_client()
    log_in(client, "pf")
    # The insider makes the Pejabat Fungsional a Kepala Dinas: the live session is refused.
    web_office.sql("UPDATE staff SET role = 'kepala_dinas' WHERE name = 'pf'")
    page = client.get("/")
    assert page.status_code == 422 and "Verifikasi gagal" in page.get_data(as_text=True)
    web_office.sql("UPDATE staff SET role = 'pejabat_fungsional' WHERE name = 'pf'")
    # ... or copies a hash whose password they know onto the Kepala Dinas's row.
    known = web_office.sql("SELECT password_hash FROM staff WHERE name = 'pf'")[0][0]
    web_office.sql("UPDATE staff SET password_hash = :h WHERE name = 'kadis'", h=known)
    other = web.test_client()
    assert log_in(other, "kadis").status_code == 422
    assert other.get_cookie(SESSION_COOKIE) is None


def test_a_login_form_without_its_token_is_refused(web: Flask, web_office: Office) -> None:
    client = web.test_client()
    answer = client.post("/login", data={"name": "kadis", "password": PASSWORD})
    assert answer.status_code == 400
    assert "Formulir sudah kedaluwarsa" in answer.get_data(as_text=True)
    assert client.get_cookie(SESSION_COOKIE) is None
    page = client.get("/login")
    forged = re.sub("[0-9a-f]", "0", csrf(page))
    answer = client.post(
        "/login", data={"name": "kadis", "password": PASSWORD, "csrf_token": forged}
    )
    assert answer.status_code == 400
    rules = [e["details"]["rule"] for e in web_office.audit() if e["action"] == "web.refused"]
    assert rules.count("missing or wrong CSRF token") == 2


def test_a_logged_in_form_needs_the_sessions_own_token(web: Flask) -> None:
    client = web.test_client()
    log_in(client, "kadis")
    other = web.test_client()
    log_in(other, "pf")
    stolen = csrf(other.get("/"))  # another session's token is not this one's
    assert client.post("/logout", data={"csrf_token": stolen}).status_code == 400
    assert client.get("/").status_code == 200


def test_a_login_never_redirects_off_the_site(web: Flask) -> None:
    client = web.test_client()
    form = client.get("/login")
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:x"):
        answer = client.post(
            "/login",
            data={"name": "kadis", "password": PASSWORD, "csrf_token": csrf(form), "next": target},
        )
        assert answer.headers["Location"] == "/", target
        client.post("/logout", data={"csrf_token": csrf(client.get("/"))})
        form = client.get("/login")


def test_the_demo_gives_its_staff_logins_once(tmp_path: Path) -> None:
    gateway = Gateway(tmp_path / "home", {})
    gateway("init")
    gateway("demo-source", "--rows", "200")
    gateway("demo-agreement")
    logins = tmp_path / "home" / "demo" / "logins.txt"
    assert logins.stat().st_mode & 0o777 == 0o600
    first = logins.read_text(encoding="utf-8")
    gateway("demo-agreement")  # idempotent: the same logins
    assert logins.read_text(encoding="utf-8") == first
    name, password = first.splitlines()[1].split()
    app = web_app(gateway.home)
    client = app.test_client()
    assert log_in(client, name, password).status_code == 303
    app.extensions["pks_engine"].dispose()


def test_a_new_password_never_seals_a_row_a_database_writer_changed(
    web: Flask, web_office: Office
) -> None:
    """A raised role, then a routine password reset by the Admin: refused as Tampered, not
    blessed with a seal (for a member with a login, and for one without yet)."""
    web_office.sql("UPDATE staff SET role = 'admin' WHERE name = 'adb'")
    admin = web.test_client()
    log_in(admin, "admin")
    page = admin.get("/staf")
    answer = admin.post(
        "/staf/adb/kata-sandi", data={"csrf_token": csrf(page), "password": "x" * 20 + "yz1"}
    )
    assert answer.status_code == 422
    assert log_in(web.test_client(), "adb", "x" * 20 + "yz1").status_code == 401
    web_office("staff", "add", "baru", "--role", "pejabat_fungsional", "--as", "admin")
    web_office.sql("UPDATE staff SET role = 'kepala_dinas' WHERE name = 'baru'")
    first = admin.post(
        "/staf/baru/kata-sandi",
        data={"csrf_token": csrf(admin.get("/staf")), "password": "y" * 20 + "ab1"},
    )
    assert first.status_code == 422  # the audit log says pejabat_fungsional


def test_emptied_password_hashes_are_tampering_not_a_fresh_start(
    web: Flask, web_office: Office
) -> None:
    client = web.test_client()
    log_in(client, "admin")
    web_office.sql("UPDATE staff SET password_hash = NULL")
    assert client.get("/").status_code == 422  # not a quietly expired session
    bootstrap = CliRunner().invoke(
        main, ["staff", "password", "admin", "--password-stdin"], input=PASSWORD + "\n",
        env=web_office.gateway.env,
    )  # fmt: skip
    # Refused as tampering (exit 1): the first-Admin path stays closed once logins existed.
    assert bootstrap.exit_code == 1 and "changed outside the gateway" in bootstrap.output
    assert log_in(web.test_client(), "admin").status_code == 401


def test_a_planted_pre_session_cookie_does_not_pass_a_logged_in_form(web: Flask) -> None:
    attacker = web.test_client()
    attacker.get("/login")
    planted = attacker.get_cookie("pks_presession")
    assert planted is not None
    token = csrf(attacker.get("/login"))
    admin = web.test_client()
    log_in(admin, "admin")
    admin.set_cookie("pks_presession", planted.value)
    answer = admin.post("/staf/adb/nonaktifkan", data={"csrf_token": token, "reason": "csrf"})
    assert answer.status_code == 400


def test_old_failures_age_away_and_a_proxys_address_slows_nobody(
    web: Flask, web_clock: OfficeClock, web_office: Office
) -> None:
    behind_proxy = web.test_client()  # every caller is 127.0.0.1 behind a proxy left at 0 hops
    for attempt in range(25):
        log_in(behind_proxy, f"guess-{attempt}", "wrong password here")
    assert log_in(web.test_client(), "kadis").status_code == 303  # the office still gets in
    office = web.test_client()  # one NAT address for the whole office
    office.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    for day in range(25):
        log_in(office, f"typo-{day}", "typo typo typo")  # a month of ordinary mistakes
        web_clock.advance(hours=30)
    log_in(office, "pf", "one more typo")
    assert log_in(office, "pf").status_code == 303  # not the 15 minutes 26 counted failures give
    assert web_office.sql("SELECT COUNT(*) FROM login_failures")[0][0] < 25  # old rows purged


def test_parallel_guesses_queue_behind_one_wait(web: Flask, web_clock: OfficeClock) -> None:
    attacker = web.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "192.0.2.77"
    for _ in range(4):
        log_in(attacker, "kadis", "guess guess guess")
    web_clock.advance(seconds=60)  # the wait is over: one more guess may be checked, not eight
    forms = []
    for _ in range(8):
        client = web.test_client()
        client.environ_base["REMOTE_ADDR"] = "192.0.2.77"
        forms.append((client, csrf(client.get("/login"))))

    def guess(pair: tuple[FlaskClient, str]) -> int:
        client, token = pair
        data = {"name": "kadis", "password": "guess guess guess", "csrf_token": token}
        return client.post("/login", data=data).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(guess, forms))
    assert sorted(answers) == [401] + [429] * 7


def test_logins_and_their_counters_on_every_metadata_database(office: Office) -> None:
    """The login path's locks and upserts on SQLite and PostgreSQL alike."""
    give_passwords(office, ("admin", "kadis"))
    app = web_app(
        office.home, database_url=office.url if office.url.startswith("postgresql") else ""
    )
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "192.0.2.88"
    for _ in range(3):
        assert log_in(client, "kadis", "wrong wrong wrong").status_code == 401
    assert log_in(client, "kadis").status_code == 429
    other = app.test_client()
    assert log_in(other, "kadis").status_code == 303
    app.extensions["pks_engine"].dispose()
