"""Fixtures of the browser tests (tests/browser.py has the harness, tests/live.py the server):

- `browser`: the system Chromium, launched once per session (skipped without it, failing in CI);
- `page`: a fresh context (no cookies, Indonesian locale, WITA) and page per test, watched from
  the start (`watch(page)` is its `PageLog`), with a screenshot kept when the test fails;
- `live_server`: starts `create_app` for a gateway home on 127.0.0.1, stopped at the test's end;
  a view that raised while the test ran (a 500) fails the test at teardown.

Every test that uses `browser` (directly, or through `page`) is marked `browser`, so that
`-m "not browser"` leaves them out; they run by default.

And of the web UI's tests through Flask's test client: one gateway home with a signed agreement
and staff of every role who have passwords, made once (`web_template`), a copy of it per test
(`web_office`), and its app (`web`) on an office clock the test may move (`web_clock`).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from contextlib import ExitStack, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page
from playwright.sync_api import Error as PlaywrightError

from gateway.context import now
from gateway.settings import Settings
from tests.browser import chromium, file_name, new_context, screenshot, watch
from tests.clock import OfficeClock
from tests.live import LiveServer, StartServer, live_gateway
from tests.office import Office
from tests.webapp import STAFF, give_passwords, web_app

_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # Each phase's report, for `page` to know at teardown whether the test failed.
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """The system Chromium (tests/browser.py `chromium`), one for the session."""
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page in a fresh context; if the test fails, its screenshot is kept as
    `<artefacts>/screenshots/failed-<test id>.png`."""
    context = new_context(browser)
    opened = context.new_page()
    watch(opened)
    try:
        yield opened
        call = request.node.stash.get(_REPORTS, {}).get("call")
        if call is not None and call.failed and not opened.is_closed():
            with suppress(PlaywrightError):  # a crashed page: the test's own failure says why
                screenshot(opened, "failed-" + file_name(request.node.nodeid))
    finally:
        context.close()


@pytest.fixture
def live_server() -> Iterator[StartServer]:
    """`live_server(home, clock=..., **overrides)` serves `create_app` for that home (or a
    settings object) on 127.0.0.1 and returns the `LiveServer` (`.url("/path")`); every server
    started stops at the test's end."""
    started: list[LiveServer] = []
    with ExitStack() as stack:

        def start(
            home: Path | Settings, *, clock: Callable[[], datetime] = now, **overrides: Any
        ) -> LiveServer:
            server = stack.enter_context(live_gateway(home, clock=clock, **overrides))
            started.append(server)
            return server

        yield start
    raised = [error for server in started for error in server.errors]
    if raised:
        pytest.fail("the server raised while the test ran:\n" + "\n".join(raised), pytrace=False)


@pytest.fixture(scope="session")
def web_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Office]:
    """One home on SQLite, made once: the example agreement signed, staff of every role with
    passwords (the adversarial suite runs the trust rules on PostgreSQL too)."""
    office = Office(tmp_path_factory.mktemp("web-template"), {})
    office.agree()
    office("staff", "add", "kepatuhan", "--role", "compliance", "--as", "admin")
    office("staff", "add", "kabid", "--role", "kepala_bidang", "--as", "admin")
    give_passwords(office, (*STAFF, "kepatuhan", "kabid"))
    office.engine.dispose()
    yield office


@pytest.fixture
def web_office(web_template: Office, tmp_path: Path) -> Iterator[Office]:
    """A copy of the template home for one test, to change as it likes."""
    office = Office.copy_of(web_template, tmp_path / "office")
    yield office
    office.engine.dispose()


@pytest.fixture
def web_clock() -> OfficeClock:
    """The web app's clock: the real time, until a test moves it."""
    return OfficeClock(datetime.now(UTC))


@pytest.fixture
def web(web_office: Office, web_clock: OfficeClock) -> Iterator[Flask]:
    app = web_app(web_office.home, web_clock)
    yield app
    app.extensions["pks_engine"].dispose()
