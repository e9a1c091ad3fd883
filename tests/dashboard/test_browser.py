"""The dashboard in real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).

One server on SQLite holds the demo sample in organization `acme` and one session of organization
`rival`. The tests sign in, filter, open a session, rate it, sign out, and check every page for unnamed
controls and console errors; each page is captured at 1280x800 under artifacts/screenshots/.

Without /usr/bin/chromium these tests skip, unless HELIOGRAPH_REQUIRE_BROWSER=1 (as in CI), where
they fail. Playwright's own browser downloads are never used.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Dialog, Page, Response, Route, ViewportSize, sync_playwright

from heliograph.cli.demo import load_demo_into
from heliograph.cli.keys import create_key
from support import Server, feedback_filter, log_body, query_body, session_headers, start_server, stop_server

CHROMIUM = Path("/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("HELIOGRAPH_REQUIRE_BROWSER") == "1"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 360, "height": 740}
START_MS = 1_767_225_600_000  # 2026-01-01
HOSTILE = "<script>alert('x')</script><img src=x onerror=\"alert(1)\">"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
DEMO_SESSIONS = 40
TIMEOUT_MS = 15_000
# Roles of form controls; each needs a non-empty accessible name.
CONTROL_ROLES = {"button", "textbox", "searchbox", "combobox", "checkbox", "radio", "listbox", "spinbutton"}
# Chromium's own line for a page answered with an error status (the not-found and wrong-key pages).
STATUS_LINE = re.compile(r"^Failed to load resource: the server responded with a status of (401|404)\b")


@dataclass(frozen=True)
class Site:
    server: Server
    key: str
    rival_key: str
    rival_session: str
    zeta_key: str  # organization `zeta`: one session over two days, one with a hostile message
    long_session: str
    hostile_session: str

    def api(self, key: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.server.base_url, headers={"Authorization": f"Bearer {key or self.key}"}, timeout=30
        )


@pytest.fixture(scope="module")
def chromium_installed() -> None:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)"
        if REQUIRE_BROWSER:
            pytest.fail(message + " (HELIOGRAPH_REQUIRE_BROWSER=1, so this is a failure)")
        pytest.skip(message)


@pytest.fixture(scope="module", params=["sqlite", "chdb"])
def site(
    request: pytest.FixtureRequest, chromium_installed: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """The demo in `acme` (the same loader as `heliograph demo`) and one session of `rival`, on SQLite
    and on embedded ClickHouse (loaded before the server starts: chdb admits one process)."""
    folder = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{folder / 'heliograph.db'}" if request.param == "sqlite" else f"chdb://{folder / 'ch'}"
    asyncio.run(load_demo_into(url, org="acme", sessions=DEMO_SESSIONS))
    key = asyncio.run(create_key(url, org="acme", name="browser", migrate=False))
    rival_key = asyncio.run(create_key(url, org="rival", name="browser", migrate=False))
    zeta_key = asyncio.run(create_key(url, org="zeta", name="browser", migrate=False))
    server = start_server(url, folder / "server.log")
    rival_session, long_session, hostile_session = (f"{n}-{uuid.uuid4()}" for n in ("rival", "long", "xss"))
    day = 24 * 3600 * 1000
    calls = [
        (rival_key, rival_session, "Rival", log_body()),
        *(
            (zeta_key, long_session, "Long", log_body(start_ms=START_MS + i * day * 19 // 60))
            for i in range(7)
        ),
        (zeta_key, hostile_session, "Hostile", log_body(content=HOSTILE)),
    ]
    try:
        for key_of_org, session_id, name, body in calls:
            response = httpx.post(
                f"{server.base_url}/oai/v1/log",
                json=body,
                headers={"Authorization": f"Bearer {key_of_org}", **session_headers(session_id, "/", name)},
            )
            assert response.status_code == 200
        yield Site(
            server=server,
            key=key,
            rival_key=rival_key,
            rival_session=rival_session,
            zeta_key=zeta_key,
            long_session=long_session,
            hostile_session=hostile_session,
        )
    finally:
        stop_server(server)


@pytest.fixture(scope="module")
def chromium(site: Site) -> Iterator[Browser]:
    """Chromium, started after `site`, whose asyncio.run must not overlap Playwright's own loop."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Tab:
    """A page in a fresh browser context, with every console error and uncaught exception kept."""

    page: Page
    errors: list[str]
    base_url: str

    def goto(self, path: str) -> Response:
        response = self.page.goto(self.base_url + path)
        assert response is not None
        self.page.wait_for_load_state("networkidle")
        return response

    def sign_in(self, key: str) -> None:
        self.goto("/dashboard/sign-in")
        self.page.get_by_label("API key").fill(key)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url("**/dashboard/sessions")
        self.page.wait_for_load_state("networkidle")

    def capture(self, name: str, *, full_page: bool = False) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)

    def unexpected_errors(self) -> list[str]:
        return [e for e in self.errors if not STATUS_LINE.match(e)]

    def unnamed_controls(self) -> list[str]:
        """Form controls whose accessible name, as Chromium computes it, is empty."""
        cdp = self.page.context.new_cdp_session(self.page)
        try:
            nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
        finally:
            cdp.detach()
        unnamed = []
        for node in nodes:
            role = node.get("role", {}).get("value")
            if node.get("ignored") or role not in CONTROL_ROLES:
                continue
            if not str(node.get("name", {}).get("value", "")).strip():
                unnamed.append(f"{role} (DOM node {node.get('backendDOMNodeId')})")
        return unnamed


@pytest.fixture
def tab(chromium: Browser, site: Site) -> Iterator[Tab]:
    context = chromium.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    yield Tab(page=page, errors=errors, base_url=site.server.base_url)
    context.close()


def _session_ids_with_feedback(site: Site, value: str) -> set[str]:
    with site.api() as api:
        rows = api.post("/v1/session/query", json=query_body(limit=1000, filter=feedback_filter(value)))
    return {row["session_id"] for row in rows.json()["data"]}


def _tree_names(node: dict[str, Any]) -> list[str]:
    return [node["name"], *[name for child in node["children"] for name in _tree_names(child)]]


def test_a_wrong_key_is_refused_with_a_clear_message(tab: Tab) -> None:
    tab.goto("/")
    assert tab.page.url.endswith("/dashboard/sign-in?next=%2Fdashboard%2Fsessions")
    tab.capture("sign-in")
    tab.page.get_by_label("API key").fill("sk-hg-this-is-not-a-key")
    tab.page.get_by_role("button", name="Sign in").click()
    alert = tab.page.get_by_role("alert")
    alert.wait_for()
    assert "That API key is not valid: it is unknown or has been revoked." in alert.inner_text()
    assert tab.page.get_by_label("API key").get_attribute("aria-invalid") == "true"
    tab.capture("sign-in-wrong-key")
    assert tab.unexpected_errors() == []


def test_find_a_badly_rated_session_read_it_rate_it_up_then_sign_out(tab: Tab, site: Site) -> None:
    page = tab.page
    tab.sign_in(site.key)
    page.locator("#session-totals.totals").wait_for()
    assert f"{DEMO_SESSIONS} matching sessions" in page.locator("#session-totals").inner_text()

    # Filter by thumbs down: htmx swaps the table in and the URL says what is shown.
    page.get_by_label("Feedback", exact=True).select_option("negative")
    page.wait_for_url("**/dashboard/sessions?feedback=negative")
    page.locator("#session-totals.totals").wait_for()
    rows = page.locator(".sessions-table tbody tr")
    negative = _session_ids_with_feedback(site, "0")
    assert rows.count() == len(negative) > 0
    assert all("Down" in text for text in rows.locator("td:last-child").all_inner_texts())
    tab.capture("sessions-thumbs-down")

    # Open the first one and read its tree, timeline and requests.
    session_id = rows.first.locator("code.id").inner_text()
    rows.first.locator("td:first-child a").click()
    page.wait_for_url(f"**/dashboard/sessions/{session_id}")
    page.wait_for_load_state("networkidle")
    with site.api() as api:
        detail = api.get(f"/v1/session/{session_id}").json()["data"]
    assert page.locator(".tree .tree-name").all_inner_texts() == _tree_names(detail["tree"])
    first_child = page.locator(".tree details.tree-node details.tree-node").first
    assert first_child.get_attribute("open") is not None
    first_child.locator("summary").first.click()
    assert first_child.get_attribute("open") is None  # collapsed by a click
    first_child.locator("summary").first.click()
    assert page.locator(".timeline-bar").count() == len(detail["requests"])
    assert page.locator(".request-card").count() == len(detail["requests"])
    assert page.locator("details.body[open]").count() == 0  # bodies start collapsed
    assert page.locator('[data-feedback="down"]').count() == 1
    tab.capture("session")

    # Thumbs up: the widget changes at once, and so does what the JSON API returns.
    assert session_id in _session_ids_with_feedback(site, "0")
    assert session_id not in _session_ids_with_feedback(site, "1")
    page.get_by_role("button", name="Thumbs up").click()
    page.locator('[data-feedback="up"]').wait_for()
    assert page.get_by_role("button", name="Thumbs up").get_attribute("aria-pressed") == "true"
    assert page.get_by_role("button", name="Thumbs down").get_attribute("aria-pressed") == "false"
    assert page.url.endswith(f"/dashboard/sessions/{session_id}")  # swapped in place, no navigation
    assert session_id in _session_ids_with_feedback(site, "1")
    assert session_id not in _session_ids_with_feedback(site, "0")

    # Sign out: the pages refuse the browser from then on.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/dashboard/sign-in?reason=signed-out")
    assert "You are signed out." in page.get_by_role("status").inner_text()
    for path in ("/dashboard/sessions", f"/dashboard/sessions/{session_id}", "/dashboard/metrics"):
        tab.goto(path)
        assert "/dashboard/sign-in?next=" in page.url
        assert page.get_by_label("API key").count() == 1
    assert tab.unexpected_errors() == []


def test_every_page_names_its_controls_renders_without_console_errors_and_is_captured(
    tab: Tab, site: Site
) -> None:
    tab.sign_in(site.key)
    session_path = tab.page.locator(".sessions-table tbody tr td:first-child a").first.get_attribute("href")
    assert session_path is not None
    pages = [
        ("sessions", "/dashboard/sessions"),
        ("session", session_path),
        ("metrics", "/dashboard/metrics"),
        ("feedback", "/dashboard/feedback?property=prompt-version"),
        ("monitors", "/dashboard/monitors"),
        ("patterns", "/dashboard/patterns"),
    ]
    problems = {}
    for name, path in pages:
        response = tab.goto(path)
        assert response.status == 200, (name, response.status)
        if name == "sessions":
            tab.page.locator("#session-totals.totals").wait_for()
        for canvas in tab.page.locator("canvas").all():
            canvas_id = canvas.get_attribute("id")
            drawn = tab.page.evaluate("id => Boolean(Chart.getChart(document.getElementById(id)))", canvas_id)
            assert drawn, f"{name}: chart {canvas_id} was not drawn"
        tab.capture(name, full_page=name in ("session", "patterns"))
        if unnamed := tab.unnamed_controls():
            problems[name] = unnamed
    assert problems == {}
    assert tab.unexpected_errors() == []
    tab.goto("/dashboard/feedback?property=prompt-version")
    assert tab.page.locator(".compare-table tbody tr").count() == 2  # versions A and B


def test_another_organizations_session_is_a_not_found_page(tab: Tab, site: Site) -> None:
    tab.sign_in(site.key)
    response = tab.goto(f"/dashboard/sessions/{site.rival_session}")
    assert response.status == 404
    assert tab.page.get_by_role("heading", level=1).inner_text() == "Not found"
    assert "Rival" not in tab.page.content()
    tab.capture("not-found")
    assert tab.unexpected_errors() == []


def test_the_api_docs_render_with_nothing_fetched_from_elsewhere(tab: Tab, site: Site) -> None:
    """Swagger UI draws every endpoint while any request off this server is refused (as offline)."""
    elsewhere: list[str] = []

    def only_this_server(route: Route) -> None:
        if route.request.url.startswith(site.server.base_url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    tab.page.route("**/*", only_this_server)
    tab.goto("/docs")
    tab.page.locator(".swagger-ui .info .title").wait_for()
    assert "Heliograph" in tab.page.locator(".swagger-ui .info .title").inner_text()
    assert tab.page.locator(".opblock").count() > 10
    assert elsewhere == []
    tab.capture("api-docs")
    assert tab.unexpected_errors() == []


def test_at_phone_width_nothing_overflows_sideways(tab: Tab, site: Site) -> None:
    """At 360 px the filter cards wrap and wide tables scroll in their own box, never the page."""
    tab.page.set_viewport_size(PHONE)
    tab.sign_in(site.key)
    session_path = tab.page.locator(".sessions-table tbody tr td:first-child a").first.get_attribute("href")
    assert session_path is not None
    for name, path in [
        ("sessions", "/dashboard/sessions"),
        ("session", session_path),
        ("metrics", "/dashboard/metrics"),
        ("feedback", "/dashboard/feedback?property=prompt-version"),
    ]:
        tab.goto(path)
        overflow = tab.page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name}: the page is {overflow} px wider than the screen"
        for card in tab.page.locator(".filters").all():
            box = card.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], name
            assert card.evaluate("el => el.scrollWidth <= el.clientWidth"), (
                f"{name}: the filter card overflows"
            )
        tab.capture(f"phone-{name}")
    assert tab.unexpected_errors() == []


def test_the_timeline_of_a_long_session_has_labels_that_never_overlap(tab: Tab, site: Site) -> None:
    """Seven calls over 1.9 days: round marks in days and hours, apart at every width."""
    tab.sign_in(site.zeta_key)
    for width in (1280, 800, 360):
        tab.page.set_viewport_size({"width": width, "height": 800})
        tab.goto(f"/dashboard/sessions/{site.long_session}")
        ticks = tab.page.locator(".timeline-scale .tick")
        assert [t.strip() for t in ticks.all_text_contents()] == ["0 ms", "12 h", "1 d", "1 d 12 h"]
        boxes = [box for tick in ticks.all() if (box := tick.bounding_box()) is not None and box["width"] > 0]
        assert len(boxes) >= 2, width
        for left, right in itertools.pairwise(sorted(boxes, key=lambda b: b["x"])):
            assert left["x"] + left["width"] <= right["x"], f"labels overlap at {width} px"
        duration = tab.page.locator(".summary-facts dd").nth(1).inner_text()
        assert duration.startswith("1 d 21 h")  # 6 x 19/60 days + 100 ms: first start to last end
        assert (
            f"the session's duration, {duration.split(' (')[0]}."
            in tab.page.locator("#timeline-heading + p").inner_text()
        )
        tab.capture(f"timeline-long-{width}")
    assert tab.unexpected_errors() == []


def test_a_hostile_message_is_shown_as_text_and_runs_nothing(tab: Tab, site: Site) -> None:
    dialogs: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    tab.page.on("dialog", dismiss)
    tab.sign_in(site.zeta_key)
    assert tab.page.locator(".top-nav a").all_inner_texts() == [
        "Sessions",
        "Metrics",
        "Feedback comparison",
        "Monitors",
    ]
    tab.goto(f"/dashboard/sessions/{site.hostile_session}")
    conversation = tab.page.locator(".conversation")
    assert conversation.locator(".chat-role").all_text_contents() == ["user", "assistant"]
    assert conversation.locator(".chat-text").first.inner_text() == HOSTILE
    assert tab.page.locator("main img, main script").count() == 0
    raw = tab.page.locator("details.body").first
    raw.locator("summary").click()
    assert HOSTILE.replace('"', '\\"') in raw.locator("pre").inner_text()
    tab.capture("session-conversation")
    assert dialogs == []
    assert tab.unexpected_errors() == []
