"""The partner API's documentation page (`/api/v1/docs`, gateway/api/docs.py) in a real browser:
served by the gateway on 127.0.0.1, it loads with its own stylesheet applied and nothing else, no
console error and no failed request, its endpoint links lead to the endpoint, and axe-core finds
no serious or critical accessibility violation. A screenshot is kept as a test artefact.

tests/api/test_openapi.py checks the page's HTML (every endpoint, the curl examples); this checks
what a reader's browser makes of it.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlalchemy import Engine

from gateway.settings import Settings
from tests.browser import assert_accessible, screenshot, watch
from tests.live import StartServer


def test_the_docs_page_loads_clean_and_accessible(
    page: Page, live_server: StartServer, settings: Settings, engine: Engine
) -> None:
    server = live_server(settings)
    answer = page.goto(server.url("/api/v1/docs"))
    assert answer is not None and answer.status == 200
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    expect(page.get_by_role("heading", level=1)).to_contain_text("PKS Gateway")
    # The gateway's stylesheet, allowed by the page's policy, is applied: the two-column grid.
    [sheet] = page.evaluate("[...document.styleSheets].map(s => s.href)")
    assert sheet == server.url("/api/v1/docs.css")
    assert page.locator("body").evaluate("b => getComputedStyle(b).display") == "grid"
    nav = page.get_by_role("navigation", name="Endpoints")
    links = nav.get_by_role("link")
    assert links.count() > 10
    screenshot(page, "api-docs")
    assert_accessible(page)

    # An endpoint's link in the list scrolls to that endpoint, which the stylesheet outlines.
    link = links.filter(has_text="/deliveries/{delivery_id}/file").first
    anchor = link.get_attribute("href")
    assert anchor is not None and anchor.startswith("#")
    link.click()
    target = page.locator(anchor)
    expect(target).to_be_in_viewport()
    assert target.evaluate("e => getComputedStyle(e).boxShadow") != "none"
    watch(page).assert_clean()
