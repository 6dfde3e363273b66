"""The browser harness itself (tests/browser.py, tests/live.py, tests/web/conftest.py) catches
what it is there to catch: axe-core's serious and critical violations, named by rule, impact and
target; a page's console errors, script errors, error answers and requests off the machine; a
view that raised; and Chromium's absence, skipped on a developer's machine, failed in CI.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page
from sqlalchemy import Engine

from gateway.settings import Settings
from tests.browser import assert_accessible, chromium_path, screenshot, watch
from tests.live import StartServer, live_gateway

BAD = """<!doctype html><html><head><title>x</title></head><body><main>
<h1>Bad</h1><img id="photo" src="data:,"><button class="go"></button>
<p style="color:#777;background:#888">faint</p></main></body></html>"""


def test_axe_fails_naming_rule_impact_and_target(
    page: Page, request: pytest.FixtureRequest
) -> None:
    assert request.node.get_closest_marker("browser") is not None  # by the `page` fixture alone
    page.set_content(BAD)
    with pytest.raises(AssertionError) as failed:
        assert_accessible(page)
    message = str(failed.value)
    assert "- image-alt (critical)" in message and "    #photo" in message
    assert "- button-name (critical)" in message and "    button" in message
    assert "- color-contrast (serious)" in message and "    p\n" in message
    assert "- html-has-lang (serious)" in message  # no lang on <html>
    assert "faint" not in message  # selectors only: a page's text may be a person's data
    every = frozenset({"image-alt", "button-name", "color-contrast", "html-has-lang"})
    found = assert_accessible(page, allow=every)  # what `allow` is for: a reason beside it
    assert {v["id"] for v in found} >= every


def test_moderate_violations_are_returned_not_failed(page: Page) -> None:
    page.set_content('<!doctype html><html lang="id"><title>x</title><p>tanpa landmark</p></html>')
    found = assert_accessible(page)
    assert {(v["id"], v["impact"]) for v in found} >= {("landmark-one-main", "moderate")}


def test_the_page_log_holds_console_and_script_errors_and_failed_requests(
    page: Page, live_server: StartServer, settings: Settings, engine: Engine
) -> None:
    server = live_server(settings)
    log = watch(page)
    assert watch(page) is log
    answer = page.goto(server.url("/api/v1/no-such-page"))
    assert answer is not None and answer.status == 404
    assert any(p.startswith("answered 404: GET ") for p in log.problems), log.problems
    log.clear()
    page.goto("about:blank")  # the gateway's pages allow no inline script (their CSP)
    page.set_content(
        "<script>console.error('kaput'); undefined_function();</script>"
        '<img src="https://cdn.example.com/logo.png" alt="logo">'
    )
    page.wait_for_load_state("load")
    problems = "\n".join(log.problems)
    assert "console error: kaput" in problems
    assert "uncaught script error:" in problems and "undefined_function" in problems
    # Every host but this machine is "not found": a page that needs a CDN fails at once.
    assert "request failed: GET https://cdn.example.com/logo.png" in problems
    assert "ERR_NAME_NOT_RESOLVED" in problems
    with pytest.raises(AssertionError, match=r"^the page reported:\n- console error: kaput\n"):
        log.assert_clean()


def test_a_view_that_raises_is_recorded(page: Page, settings: Settings, engine: Engine) -> None:
    with live_gateway(settings) as server:

        def broken() -> str:
            raise RuntimeError("no such column")

        server.app.add_url_rule("/broken", "broken", broken)
        answer = page.goto(server.url("/broken"))
        assert answer is not None and answer.status == 500
    assert server.errors == ["GET /broken: RuntimeError: no such column"]


def test_screenshots_go_to_the_artefacts_directory(
    page: Page, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PKS_TEST_ARTIFACTS", str(tmp_path))
    page.set_content('<html lang="id"><title>x</title><main><h1>Beranda</h1></main></html>')
    path = screenshot(page, "beranda-id")
    assert path == tmp_path / "screenshots" / "beranda-id.png"
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    for name in ("../up", "a/b", "x.png", ""):
        with pytest.raises(ValueError, match="plain file name"):
            screenshot(page, name)


def test_without_chromium_a_test_skips_and_in_ci_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PKS_TEST_CHROMIUM", "/nonexistent/chromium")
    monkeypatch.delenv("PKS_REQUIRE_SERVICES", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Chromium at /nonexistent/chromium"):
        chromium_path()
    monkeypatch.setenv("PKS_REQUIRE_SERVICES", "1")
    with pytest.raises(pytest.fail.Exception, match="PKS_REQUIRE_SERVICES=1 forbids skipping"):
        chromium_path()
