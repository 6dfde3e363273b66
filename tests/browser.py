"""The browser tests' harness (issue 12): Debian's Chromium driven by Playwright, screenshots kept
as test artefacts, the page's own errors collected, and axe-core's accessibility check.

- `chromium()` starts Playwright's driver and launches /usr/bin/chromium (or `PKS_TEST_CHROMIUM`)
  headless, by path: no browser is ever downloaded (`playwright install` cannot work here). Absent,
  a test skips saying so; in CI (`PKS_REQUIRE_SERVICES=1`) it fails (tests/services.py).
- `new_context(browser)`: a fresh profile (cookies, storage) in the office's setting: Indonesian
  locale, WITA, a laptop's viewport; pass Playwright's options to change one (a tablet's viewport).
- `watch(page)`: what went wrong in the page since it was opened — console errors, uncaught
  script errors, failed requests, answers of 400 and above (but not Chromium's own request for
  /favicon.ico) — and `PageLog.assert_clean()`.
- `screenshot(page, name)`: a full-page PNG in `<artefacts>/screenshots/NAME.png`; the artefacts
  directory is `PKS_TEST_ARTIFACTS` or `<repo>/.artifacts` (ignored by git).
- `assert_accessible(page)`: axe-core (the copy inside axe-playwright-python's wheel, so it runs
  offline) over the page as it is now; fails listing each serious or critical violation's rule,
  impact and target selectors.

tests/web/conftest.py makes fixtures of these (`browser`, `page`, `live_server`); tests/live.py
serves the app on 127.0.0.1.

Why the launch arguments: Playwright passes `--no-sandbox` itself unless told otherwise (Chromium's
sandbox refuses to start as root); the rest stop Chromium's own traffic (updates, sync, field
trials, QUIC), whose refused connections on this closed network slow it and fill its log, and map
every host name except 127.0.0.1 and localhost to "not found", so that a page asking for anything
off the machine (a CDN) fails loudly as a failed request instead of waiting for a timeout.

Time, on the 2-core machine of bench/README.md (Chromium 156, Playwright 1.65, axe-core 4.12;
three runs of a script timing each step, medians of four pages; `pytest tests/web --durations=0`
shows the same per test): Playwright's driver and Chromium start in
0.45-1.2 s, once per session (`browser` is session-scoped); a fresh context and page 0.2-0.3 s
per test; the API docs page (16,000 px tall, 1,700 elements) loads in 0.16-0.25 s, its full-page
screenshot takes 1.2-1.7 s and an axe-core run 1.8-2.5 s (colour contrast is most of it); a page
of one screen and ~300 elements takes 0.15-0.25 s to screenshot and 0.4-0.6 s to check. So a
test that opens a few pages, screenshots and checks each, is 2-4 s: the issue's main pages in two
languages add one to three minutes to the suite's 6.5, well within the 20 it allows. Keep a
screenshot and an axe run to the pages that are the point of a test, and let flows that merely
pass through a page skip them. Playwright's own timeouts are cut from 30 s to `TIMEOUT_MS`, so
that a test waiting for an element that never comes fails in seconds.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from weakref import WeakKeyDictionary

from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Request,
    Response,
    sync_playwright,
)

from tests.services import unavailable

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"  # Debian's package `chromium`; .ci/run installs it
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
)
TIMEOUT_MS = 10_000  # Playwright's default is 30 s
# The office's setting: pages in Bahasa Indonesia, times in WITA, a laptop's screen.
CONTEXT_DEFAULTS: dict[str, Any] = {
    "locale": "id-ID",
    "timezone_id": "Asia/Makassar",
    "viewport": {"width": 1280, "height": 800},
}
BLOCKING = ("serious", "critical")  # axe-core's impacts that fail a page (issue 12)


def chromium_path() -> str:
    """The Chromium to launch: `PKS_TEST_CHROMIUM` or /usr/bin/chromium; skips (fails in CI)
    when it is not there."""
    path = os.environ.get("PKS_TEST_CHROMIUM", "").strip() or CHROMIUM
    if not os.access(path, os.X_OK):
        unavailable(
            f"browser tests need Chromium at {path} (Debian package chromium, "
            "`apt-get install --no-install-recommends chromium`; no browser download)"
        )
    return path


@contextmanager
def chromium(*, headless: bool = True) -> Iterator[Browser]:
    """Playwright's driver and the system Chromium, both stopped when the block ends."""
    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=list(CHROMIUM_ARGS), headless=headless
        )
        try:
            yield browser
        finally:
            browser.close()


def new_context(browser: Browser, **options: Any) -> BrowserContext:
    """A fresh browser profile with `CONTEXT_DEFAULTS` (any of which `options` replaces) and
    Playwright's timeouts at `TIMEOUT_MS`."""
    context = browser.new_context(**{**CONTEXT_DEFAULTS, **options})
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    return context


# --- what went wrong in a page -----------------------------------------------------------------
@dataclass
class PageLog:
    """A page's console errors, uncaught script errors, failed requests and error answers, in
    the order they came, each as one line."""

    problems: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        __tracebackhide__ = True
        assert not self.problems, "the page reported:\n" + "\n".join(
            f"- {line}" for line in self.problems
        )

    def clear(self) -> None:
        """Forget what came so far (after a step that was meant to fail, e.g. a 403 page)."""
        self.problems.clear()

    def _console(self, message: ConsoleMessage) -> None:
        url, line = message.location.get("url"), message.location.get("lineNumber")
        # Chromium's own request for the site's icon, not the page's, made whenever Chromium
        # likes: counted, it would fail a test or not by timing. A test that cares asks for it.
        if message.type == "error" and urlsplit(url or "").path != "/favicon.ico":
            where = f" ({url}:{line})" if url else ""
            self.problems.append(f"console error: {message.text}{where}")

    def _page_error(self, error: Exception) -> None:
        self.problems.append(f"uncaught script error: {error}")

    def _request_failed(self, request: Request) -> None:
        self.problems.append(f"request failed: {request.method} {request.url}: {request.failure}")

    def _response(self, response: Response) -> None:
        if response.status >= 400:
            request = response.request
            self.problems.append(f"answered {response.status}: {request.method} {response.url}")


_LOGS: WeakKeyDictionary[Page, PageLog] = WeakKeyDictionary()


def watch(page: Page) -> PageLog:
    """The page's log: begun at the first call for a page (the `page` fixture calls it before
    the test runs), the same log after."""
    log = _LOGS.get(page)
    if log is None:
        log = _LOGS[page] = PageLog()
        page.on("console", log._console)
        page.on("pageerror", log._page_error)
        page.on("requestfailed", log._request_failed)
        page.on("response", log._response)
    return log


# --- screenshots --------------------------------------------------------------------------------
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,119}")


def artifacts_dir() -> Path:
    """Where a run leaves what a person may want to look at: `PKS_TEST_ARTIFACTS`, or
    `<repo>/.artifacts`."""
    return Path(os.environ.get("PKS_TEST_ARTIFACTS", "").strip() or REPO / ".artifacts")


def screenshot(page: Page, name: str) -> Path:
    """Save the whole page as `<artefacts>/screenshots/NAME.png` (replacing one of an earlier
    run); its path. `name` is a file name without extension: letters, digits, `.`, `_`, `-`."""
    if not NAME.fullmatch(name) or name.endswith(".png"):
        raise ValueError(f"a screenshot's name is a plain file name without .png: {name!r}")
    path = artifacts_dir() / "screenshots" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=path, full_page=True)
    return path


def file_name(text: str) -> str:
    """`text` (a test's node id) made a screenshot name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:120] or "page"


# --- accessibility ------------------------------------------------------------------------------
@cache
def _axe() -> Any:
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


def assert_accessible(
    page: Page, *, context: str | None = None, allow: frozenset[str] = frozenset()
) -> list[dict[str, Any]]:
    """Run axe-core (every rule of its default set: WCAG 2.x A and AA, and best practices) on the
    page as it is now, or on the part `context` selects; fail if a violation is serious or
    critical, unless its rule id is in `allow` (say why beside the call). Returns every violation
    found, the moderate and minor ones included, as axe reports them. The failure names
    elements by selector only, never by their HTML: a page's text may be a person's data."""
    __tracebackhide__ = True
    results = _axe().run(page, context=context)
    violations: list[dict[str, Any]] = results.response["violations"]
    blocking = [v for v in violations if v["impact"] in BLOCKING and v["id"] not in allow]
    assert not blocking, f"axe-core on {page.url}:\n" + "\n".join(map(_described, blocking))
    return violations


def _described(violation: dict[str, Any], most: int = 10) -> str:
    nodes = violation["nodes"]
    lines = [f"- {violation['id']} ({violation['impact']}): {violation['help']}"]
    for node in nodes[:most]:
        lines.append("    " + _target(node["target"]))
    if len(nodes) > most:
        lines.append(f"    … and {len(nodes) - most} more")
    lines.append(f"    {violation['helpUrl']}")
    return "\n".join(lines)


def _target(target: list[Any]) -> str:
    # A selector per frame or shadow root on the way to the element; a list inside for a shadow DOM.
    return " >> ".join(" ".join(part) if isinstance(part, list) else str(part) for part in target)
