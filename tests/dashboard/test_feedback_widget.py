"""A feedback link end to end in real Chromium (issue 17): the example page of docs/feedback.md, served
from another origin, embeds /static/feedback.js with a signed token and sends thumbs down with a comment;
the record shows on the session's dashboard page, where the signed-in key adds its own. Tampered,
expired, foreign and over-limit tokens each get their answer in the widget, and nothing stored changes."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from heliograph.domain.feedback_links import FeedbackLinkSigner, LinkScope
from support import Server, Tenant, free_port, new_tenant, session_headers, start_server, stop_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "feedback.md"
SECRET = "widget-test-secret-0123456789abcdefghijkl"
SENDS_PER_MINUTE = 2
TIMEOUT_MS = 15_000


def example_page() -> str:
    """The complete example page of docs/feedback.md."""
    (page,) = re.findall(r"```html\n(.*?)```", DOCS.read_text(), flags=re.DOTALL)
    return str(page)


class _Pages:
    """Another origin on loopback: serves `/app/<name>` from a dict (the app that embeds the widget)."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path.removeprefix("/app/"), "").encode()
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class World:
    server: Server
    app: _Pages
    alice: Tenant
    bob: Tenant
    browser: Browser

    def page_with(self, token: str) -> str:
        """The example page for `token`, on the app's origin; its URL."""
        name = uuid.uuid4().hex
        html = example_page().replace("HELIOGRAPH_URL", self.server.base_url)
        self.app.pages[name] = html.replace("FEEDBACK_TOKEN", token)
        return f"{self.app.origin}/app/{name}"


@pytest.fixture(scope="module", params=["sqlite", "chdb"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium")
    folder = tmp_path_factory.mktemp("widget")
    url = f"sqlite:///{folder / 'heliograph.db'}" if request.param == "sqlite" else f"chdb://{folder / 'ch'}"
    app = _Pages()
    env = {
        "HELIOGRAPH_SECRET_KEY": SECRET,
        "HELIOGRAPH_FEEDBACK_ORIGINS": app.origin,
        "HELIOGRAPH_FEEDBACK_LINK_SENDS_PER_MINUTE": str(SENDS_PER_MINUTE),
    }
    server = start_server(url, folder / "server.log", env=env)
    alice, bob = new_tenant(server, "alice"), new_tenant(server, "bob")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield World(server=server, app=app, alice=alice, bob=bob, browser=browser)
            browser.close()
    finally:
        for tenant in (alice, bob):
            tenant.client.close()
        stop_server(server)
        app.close()


@pytest.fixture
def page(world: World) -> Iterator[Page]:
    context = world.browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


def _session(tenant: Tenant) -> str:
    session_id = f"widget-{uuid.uuid4()}"
    tenant.log(headers=session_headers(session_id, "/", "Trip planner"))
    return session_id


def _link(tenant: Tenant, session_id: str, **body: Any) -> str:
    response = tenant.client.post(f"/v1/session/{session_id}/feedback-link", json=body)
    assert response.status_code == 200, response.text
    token: str = response.json()["data"]["token"]
    return token


def _records(tenant: Tenant, session_id: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = tenant.client.get(f"/v1/session/{session_id}/feedback").json()["data"]
    return records


def _send(page: Page, url: str, *, thumbs: str, comment: str) -> None:
    page.goto(url)
    page.get_by_role("button", name=thumbs).click()
    page.get_by_label("Comment").fill(comment)
    page.get_by_role("button", name="Send feedback").click()


def test_an_end_user_sends_thumbs_down_with_a_comment_and_it_shows_on_the_session_page(
    world: World, page: Page
) -> None:
    session_id = _session(world.alice)
    token = _link(world.alice, session_id, rater="traveller-7")
    _send(page, world.page_with(token), thumbs="Thumbs down", comment="It booked the wrong day")
    expect(page.get_by_role("status")).to_have_text("Thanks for your feedback")

    (record,) = _records(world.alice, session_id)
    assert (record["rater"], record["source"], record["name"]) == ("traveller-7", "end_user", "rating")
    assert (record["value"], record["comment"]) == (False, "It booked the wrong day")
    session = world.alice.client.get(f"/v1/session/{session_id}").json()["data"]["session"]
    assert session["feedback"] is False

    # The dashboard, signed in with Alice's key, lists the record and saves her own next to it.
    page.goto(f"{world.server.base_url}/dashboard/sign-in")
    page.get_by_label("API key").fill(world.alice.key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard/sessions")
    page.goto(f"{world.server.base_url}/dashboard/sessions/{session_id}")
    row = page.locator("table.feedback-records tr[data-rater='traveller-7']")
    expect(row).to_contain_text("end_user")
    expect(row).to_contain_text("down")
    expect(row).to_contain_text("It booked the wrong day")
    form = page.get_by_role("form", name="Your feedback")
    form.get_by_label("Name").fill("accuracy")
    form.get_by_label("Value").fill("2")
    form.get_by_label("Comment").fill("wrong date")
    form.get_by_role("button", name="Save my feedback").click()
    mine = page.locator("table.feedback-records tr", has_text="(you)")
    expect(mine).to_contain_text("accuracy")
    expect(mine).to_contain_text("wrong date")
    form = page.get_by_role("form", name="Your feedback")
    form.get_by_label("Name").fill("accuracy")
    form.get_by_label("Value").fill("3")
    form.get_by_role("button", name="Save my feedback").click()
    expect(page.locator("table.feedback-records tr", has_text="(you)")).to_have_count(1)
    ours = [r for r in _records(world.alice, session_id) if r["rater"].startswith("dashboard:")]
    assert [(r["name"], r["value"], r["source"]) for r in ours] == [("accuracy", 3, "human")]

    # The session list counts the records and averages their numbers (thumbs down as 0, accuracy 3).
    page.goto(f"{world.server.base_url}/dashboard/sessions")
    listed = page.locator("table.sessions-table tr", has_text=session_id)
    expect(listed.locator("td.records-cell")).to_have_text("2 (1.50)")


def test_bad_tokens_get_their_answer_in_the_widget_and_nothing_changes(world: World, page: Page) -> None:
    session_id, bobs_session = _session(world.alice), _session(world.bob)
    token = _link(world.alice, session_id, rater="traveller-8")
    _send(page, world.page_with(token), thumbs="Thumbs up", comment="great")
    expect(page.get_by_role("status")).to_have_text("Thanks for your feedback")
    before = _records(world.alice, session_id), _records(world.bob, bobs_session)

    expired = FeedbackLinkSigner(SECRET).sign(
        LinkScope(world.alice.org_id, session_id, None, "rating", "traveller-8", expires_at_ms=1_000)
    )
    payload, _, signature = token.partition(".")
    foreign = (
        _link(world.bob, bobs_session).partition(".")[0] + "." + signature
    )  # Bob's scope, Alice's signature
    for bad, message in (
        (payload + ".AAAA" + signature[4:], "Invalid feedback token"),
        (foreign, "Invalid feedback token"),
        (expired, "Feedback link expired"),
    ):
        page.goto(world.page_with(bad))
        expect(page.get_by_role("status")).to_have_text(message)
        expect(page.get_by_role("button", name="Send feedback")).to_be_disabled()

    # Over the limit: the token sent once above, once more here, and the third is refused.
    _send(page, world.page_with(token), thumbs="Thumbs up", comment="still great")
    expect(page.get_by_role("status")).to_have_text("Thanks for your feedback")
    changed = _records(world.alice, session_id)
    _send(page, world.page_with(token), thumbs="Thumbs down", comment="flood")
    expect(page.get_by_role("status")).to_contain_text("Too many feedback sends")
    assert _records(world.alice, session_id) == changed
    assert [r["comment"] for r in changed] == ["still great"]
    assert _records(world.bob, bobs_session) == before[1]
