"""Dashboard sign-in and sign-out over HTTP: the cookie, wrong keys, redirects, revoked keys."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from dashboard.dashboard_support import COOKIE, SIGN_IN, log_session, origin, revoke_key, signed_in
from support import Cast, Server, start_server, stop_server

PAGES = ["/dashboard/sessions", "/dashboard/metrics", "/dashboard/feedback", "/dashboard/patterns"]


def _set_cookie(response: httpx.Response) -> str:
    (header,) = [v for k, v in response.headers.multi_items() if k == "set-cookie"]
    return header


class TestSigningIn:
    def test_a_valid_key_sets_a_signed_http_only_same_site_strict_cookie_and_goes_on(
        self, server: Server, cast: Cast
    ) -> None:
        with httpx.Client(base_url=server.base_url, headers=origin(server)) as browser:
            response = browser.post(SIGN_IN, data={"api_key": cast.alice.key, "next": "/dashboard/metrics"})
            assert response.status_code == 303
            assert response.headers["location"] == "/dashboard/metrics"
            cookie = _set_cookie(response)
            attributes = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")}
            assert COOKIE in attributes
            assert "httponly" in attributes
            assert attributes["samesite"].lower() == "samesite=strict"
            assert attributes["path"] == "Path=/"
            assert "secure" not in attributes  # plain http on loopback; set when the request is https
            assert cast.alice.key not in cookie  # the cookie carries the key's hash, signed, not the key
            assert browser.get("/dashboard/sessions").status_code == 200

    def test_either_key_of_an_organization_signs_in_to_the_same_sessions(self, cast: Cast) -> None:
        session_id = log_session(cast.alice)
        for tenant in (cast.alice, cast.alice_second_key):
            with signed_in(tenant) as browser:
                assert session_id in browser.get("/dashboard/sessions").text

    @pytest.mark.parametrize(
        "key",
        [pytest.param("sk-hg-not-a-real-key", id="unknown"), pytest.param("x" * 500, id="absurdly-long")],
    )
    def test_a_wrong_key_shows_a_clear_message_and_sets_no_cookie(
        self, server: Server, cast: Cast, key: str
    ) -> None:
        with httpx.Client(base_url=server.base_url, headers=origin(server)) as browser:
            response = browser.post(SIGN_IN, data={"api_key": key})
            assert response.status_code == 401
            assert "That API key is not valid: it is unknown or has been revoked." in response.text
            assert "set-cookie" not in response.headers
            assert browser.get("/dashboard/sessions").status_code == 303

    def test_an_empty_key_is_asked_for(self, server: Server) -> None:
        response = httpx.post(f"{server.base_url}{SIGN_IN}", data={"api_key": "  "}, headers=origin(server))
        assert response.status_code == 400
        assert "Enter an API key." in response.text

    @pytest.mark.parametrize(
        ("next_path", "lands_on"),
        [
            pytest.param("/dashboard/metrics?range=7d", "/dashboard/metrics?range=7d", id="dashboard-path"),
            pytest.param("https://evil.example/", "/dashboard/sessions", id="other-site"),
            pytest.param("//evil.example/dashboard", "/dashboard/sessions", id="scheme-relative"),
            pytest.param("/v1/session/query", "/dashboard/sessions", id="not-the-dashboard"),
        ],
    )
    def test_after_signing_in_it_goes_only_to_a_dashboard_page(
        self, server: Server, cast: Cast, next_path: str, lands_on: str
    ) -> None:
        response = httpx.post(
            f"{server.base_url}{SIGN_IN}",
            data={"api_key": cast.alice.key, "next": next_path},
            headers=origin(server),
        )
        assert response.status_code == 303
        assert response.headers["location"] == lands_on


class TestRefusals:
    @pytest.mark.parametrize("path", PAGES)
    def test_a_page_without_a_sign_in_redirects_to_the_sign_in_page(self, server: Server, path: str) -> None:
        response = httpx.get(f"{server.base_url}{path}")
        assert response.status_code == 303
        assert response.headers["location"].startswith(f"{SIGN_IN}?next=%2Fdashboard%2F")

    def test_root_leads_to_the_dashboard(self, server: Server) -> None:
        response = httpx.get(f"{server.base_url}/", follow_redirects=True)
        assert response.status_code == 200
        assert str(response.url).startswith(f"{server.base_url}{SIGN_IN}")
        assert 'name="api_key"' in response.text

    def test_an_htmx_request_without_a_sign_in_is_sent_to_the_sign_in_page(self, server: Server) -> None:
        response = httpx.get(
            f"{server.base_url}/dashboard/sessions",
            headers={"HX-Request": "true", "HX-Target": "sessions-results"},
        )
        assert response.headers["HX-Redirect"].startswith(SIGN_IN)

    def test_a_forged_cookie_is_refused_and_cleared(self, server: Server, cast: Cast) -> None:
        with signed_in(cast.alice) as browser:
            value = browser.cookies[COOKIE]
        forged = value[:-2] + ("AA" if not value.endswith("AA") else "BB")
        response = httpx.get(
            f"{server.base_url}/dashboard/sessions", headers={"Cookie": f"{COOKIE}={forged}"}
        )
        assert response.status_code == 303
        assert "reason=expired" in response.headers["location"]
        assert "Max-Age=0" in _set_cookie(response)

    def test_a_feedback_post_without_a_sign_in_changes_nothing(self, server: Server, cast: Cast) -> None:
        session_id = log_session(cast.alice)
        response = httpx.post(
            f"{server.base_url}/dashboard/sessions/{session_id}/feedback",
            data={"rating": "up"},
            headers=origin(server),
        )
        assert response.status_code == 303
        assert response.headers["location"].startswith(SIGN_IN)
        assert (
            cast.alice.client.get(f"/v1/session/{session_id}").json()["data"]["session"]["feedback"] is None
        )

    def test_a_cross_site_form_post_is_refused(self, server: Server, cast: Cast) -> None:
        session_id = log_session(cast.alice)
        evil = {"Origin": "https://evil.example"}
        sign_in = httpx.post(f"{server.base_url}{SIGN_IN}", data={"api_key": cast.alice.key}, headers=evil)
        assert sign_in.status_code == 403
        assert "set-cookie" not in sign_in.headers
        with signed_in(cast.alice) as browser:
            rating = browser.post(
                f"/dashboard/sessions/{session_id}/feedback", data={"rating": "up"}, headers=evil
            )
            assert rating.status_code == 403
            same_site = {"Origin": server.base_url}
            rating = browser.post(
                f"/dashboard/sessions/{session_id}/feedback", data={"rating": "up"}, headers=same_site
            )
            assert rating.status_code == 303
        assert (
            cast.alice.client.get(f"/v1/session/{session_id}").json()["data"]["session"]["feedback"] is True
        )


class TestFormPostOrigin:
    """A form post is taken only from the dashboard's own origin: scheme, host and port alike."""

    @pytest.mark.parametrize(
        "headers",
        [
            pytest.param(lambda base: {}, id="neither-origin-nor-referer"),
            pytest.param(lambda base: {"Origin": base.replace("http://", "https://")}, id="scheme-changed"),
            pytest.param(lambda base: {"Origin": base.rsplit(":", 1)[0] + ":1"}, id="port-changed"),
            pytest.param(lambda base: {"Origin": "null"}, id="opaque-origin"),
            pytest.param(lambda base: {"Referer": "https://evil.example/page"}, id="cross-site-referer"),
        ],
    )
    def test_a_post_not_from_the_dashboard_s_own_origin_is_refused_and_changes_nothing(
        self, server: Server, cast: Cast, headers: Any
    ) -> None:
        session_id = log_session(cast.alice)
        sent = headers(server.base_url)
        sign_in = httpx.post(f"{server.base_url}{SIGN_IN}", data={"api_key": cast.alice.key}, headers=sent)
        assert sign_in.status_code == 403
        assert "set-cookie" not in sign_in.headers
        with signed_in(cast.alice) as browser:
            browser.headers.pop("Origin")
            rating = browser.post(
                f"/dashboard/sessions/{session_id}/feedback", data={"rating": "up"}, headers=sent
            )
            assert rating.status_code == 403
        assert (
            cast.alice.client.get(f"/v1/session/{session_id}").json()["data"]["session"]["feedback"] is None
        )

    def test_a_same_origin_referer_stands_in_for_a_missing_origin(self, server: Server, cast: Cast) -> None:
        referer = {"Referer": f"{server.base_url}/dashboard/sign-in?next=%2F"}
        response = httpx.post(
            f"{server.base_url}{SIGN_IN}", data={"api_key": cast.alice.key}, headers=referer
        )
        assert response.status_code == 303
        assert COOKIE in response.cookies

    def test_with_a_public_url_a_spoofed_host_is_refused(self, cast: Cast, tmp_path: Path) -> None:
        running = start_server(
            cast.alice.server.database_url,
            tmp_path / "server.log",
            env={"HELIOGRAPH_PUBLIC_URL": "https://heliograph.example.com/"},
        )
        try:
            url = f"{running.base_url}{SIGN_IN}"
            # A rebound DNS name: the browser sends that name as Host, and its own origin.
            spoofed = {"Host": "rebound.example", "Origin": "http://rebound.example"}
            refused = httpx.post(url, data={"api_key": cast.alice.key}, headers=spoofed)
            assert refused.status_code == 403
            assert "set-cookie" not in refused.headers
            public = {"Origin": "https://heliograph.example.com"}
            assert httpx.post(url, data={"api_key": cast.alice.key}, headers=public).status_code == 303
        finally:
            stop_server(running)


class TestSigningOut:
    def test_signing_out_clears_the_cookie_and_the_pages_refuse_the_browser(self, cast: Cast) -> None:
        with signed_in(cast.alice) as browser:
            response = browser.post("/dashboard/sign-out")
            assert response.status_code == 303
            assert response.headers["location"] == f"{SIGN_IN}?reason=signed-out"
            cleared = _set_cookie(response)
            assert cleared.startswith(f'{COOKIE}=""') and "Max-Age=0" in cleared
            assert COOKIE not in browser.cookies
            page = browser.get("/dashboard/sessions")
            assert page.status_code == 303
            assert "You are signed out." in browser.get(response.headers["location"]).text

    def test_signing_out_ends_the_sign_in_on_the_server_so_a_copied_cookie_signs_nobody_in(
        self, server: Server, cast: Cast
    ) -> None:
        """Sign-out only cleared the cookie in the browser: a copy stayed valid for 14 days."""
        with signed_in(cast.alice) as browser:
            copied = browser.cookies[COOKIE]
            other = {"Cookie": f"{COOKIE}={copied}"}
            assert httpx.get(f"{server.base_url}/dashboard/sessions", headers=other).status_code == 200
            assert browser.post("/dashboard/sign-out").status_code == 303
        page = httpx.get(f"{server.base_url}/dashboard/sessions", headers=other)
        assert page.status_code == 303
        assert page.headers["location"].endswith("reason=expired")
        # Signing out of one browser leaves the organization's other sign-ins alone.
        with signed_in(cast.alice) as first, signed_in(cast.alice) as second:
            assert first.post("/dashboard/sign-out").status_code == 303
            assert second.get("/dashboard/sessions").status_code == 200

    def test_a_sign_in_unused_for_the_idle_timeout_ends_and_one_in_use_does_not(
        self, cast: Cast, tmp_path: Path
    ) -> None:
        running = start_server(
            cast.alice.server.database_url,
            tmp_path / "server.log",
            env={"HELIOGRAPH_DASHBOARD_IDLE_TIMEOUT": "2"},
        )
        try:
            with httpx.Client(base_url=running.base_url, headers=origin(running), timeout=30) as browser:
                assert browser.post(SIGN_IN, data={"api_key": cast.alice.key}).status_code == 303
                for _ in range(5):  # 3 s in use, more than the timeout
                    assert browser.get("/dashboard/sessions").status_code == 200
                    time.sleep(0.6)
                time.sleep(2.5)
                page = browser.get("/dashboard/sessions")
                assert page.status_code == 303
                assert page.headers["location"].endswith("reason=expired")
        finally:
            stop_server(running)

    def test_a_revoked_key_is_signed_out_at_its_next_page(self, server: Server, cast: Cast) -> None:
        with signed_in(cast.alice) as browser:
            assert browser.get("/dashboard/sessions").status_code == 200
            revoke_key(server, cast.alice)
            response = browser.get("/dashboard/sessions")
            assert response.status_code == 303
            assert response.headers["location"].endswith("reason=revoked")
            assert COOKIE not in browser.cookies
            notice = browser.get(response.headers["location"]).text
            assert "the API key was revoked" in notice
            # The organization's other key still signs in.
            with signed_in(cast.alice_second_key) as other:
                assert other.get("/dashboard/sessions").status_code == 200
