"""Fixtures of the browser tests (tests/browser.py has the harness, tests/live.py the server):

- `browser`: the system Chromium, launched once per session (skipped without it, failing in CI);
- `page`: a fresh context (no cookies, Indonesian locale, WITA) and page per test, watched from
  the start (`watch(page)` is its `PageLog`), with a screenshot kept when the test fails;
- `live_server`: starts `create_app` for a gateway home on 127.0.0.1, stopped at the test's end;
  a view that raised while the test ran (a 500) fails the test at teardown.

Every test that uses `browser` (directly, or through `page`) is marked `browser`, so that
`-m "not browser"` leaves them out; they run by default.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from contextlib import ExitStack, suppress
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page
from playwright.sync_api import Error as PlaywrightError

from gateway.context import now
from gateway.settings import Settings
from tests.browser import chromium, file_name, new_context, screenshot, watch
from tests.live import LiveServer, StartServer, live_gateway

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
