"""Signed feedback links (issue 17, item 4) through a real server: making a link, what a widget may read
and send with it, CORS, and the tampered, expired, foreign and over-limit cases with nothing stored.

The server here has a known secret (so a test can sign an expired token exactly as the server would),
a limit of 3 sends per token per minute, and one allowed origin."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from heliograph.domain.feedback_links import FeedbackLinkSigner, LinkScope
from support import Server, Tenant, new_tenant, session_headers, start_server, stop_server

SECRET = "feedback-link-test-secret-0123456789abcdef"
ALLOWED_ORIGIN = "http://127.0.0.1:9"
SENDS_PER_MINUTE = 3


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres), "chdb"]
)
def link_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("links")
    url = {
        "sqlite": lambda: f"sqlite:///{folder / 'heliograph.db'}",
        "postgresql": lambda: str(request.getfixturevalue("postgres_database")),
        "chdb": lambda: f"chdb://{folder / 'ch'}",
    }[request.param]()
    env = {
        "HELIOGRAPH_SECRET_KEY": SECRET,
        "HELIOGRAPH_FEEDBACK_ORIGINS": ALLOWED_ORIGIN,
        "HELIOGRAPH_FEEDBACK_LINK_SENDS_PER_MINUTE": str(SENDS_PER_MINUTE),
    }
    server = start_server(url, folder / "server.log", env=env)
    yield server
    stop_server(server)


@pytest.fixture
def alice(link_server: Server) -> Iterator[Tenant]:
    tenant = new_tenant(link_server, f"alice-{uuid.uuid4().hex[:8]}")
    yield tenant
    tenant.client.close()


@pytest.fixture
def bob(link_server: Server) -> Iterator[Tenant]:
    tenant = new_tenant(link_server, f"bob-{uuid.uuid4().hex[:8]}")
    yield tenant
    tenant.client.close()


@pytest.fixture
def public(link_server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=link_server.base_url, timeout=30) as client:
        yield client


def _session(tenant: Tenant) -> tuple[str, str]:
    session_id = f"link-{uuid.uuid4()}"
    return session_id, tenant.log(headers=session_headers(session_id, "/"))


def _link(tenant: Tenant, session_id: str, **body: Any) -> dict[str, Any]:
    response = tenant.client.post(f"/v1/session/{session_id}/feedback-link", json=body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def _records(tenant: Tenant, session_id: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = tenant.client.get(f"/v1/session/{session_id}/feedback").json()["data"]
    return records


def _recut(token: str, **changes: Any) -> str:
    """The token with its payload changed and its old signature kept (a forgery)."""
    payload, _, signature = token.partition(".")
    fields = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    order = ["org_id", "session_id", "request_id", "name", "rater", "expires_at_ms"]
    for key, value in changes.items():
        fields[order.index(key)] = value
    forged = base64.urlsafe_b64encode(orjson.dumps(fields)).rstrip(b"=").decode()
    return f"{forged}.{signature}"


class TestMakingALink:
    def test_a_link_names_its_url_and_expiry_and_tells_a_widget_only_the_name_and_config(
        self, alice: Tenant, public: httpx.Client, link_server: Server
    ) -> None:
        session_id, _ = _session(alice)
        alice.client.put("/v1/feedback/config/helpful", json={"type": "boolean", "description": "Helpful?"})
        link = _link(alice, session_id, name="helpful", expires_in_s=3600)
        assert link["url"] == f"{link_server.base_url}/v1/feedback/public/{link['token']}"
        assert link["expires_at"].endswith("Z")
        scope = public.get(f"/v1/feedback/public/{link['token']}")
        assert scope.status_code == 200
        assert scope.json()["data"] == {
            "name": "helpful",
            "config": {
                "name": "helpful",
                "type": "boolean",
                "min": None,
                "max": None,
                "labels": [],
                "description": "Helpful?",
            },
            "expires_at": link["expires_at"],
        }

    @pytest.mark.parametrize(
        ("body", "status"),
        [
            pytest.param({"expires_in_s": 91 * 24 * 3600}, 422, id="over-90-days"),
            pytest.param({"expires_in_s": 0}, 422, id="no-lifetime"),
            pytest.param({"name": ""}, 422, id="empty-name"),
            pytest.param({"request_id": str(uuid.uuid4())}, 404, id="unknown-request"),
        ],
    )
    def test_bad_link_requests_are_refused(self, alice: Tenant, body: dict[str, Any], status: int) -> None:
        session_id, _ = _session(alice)
        response = alice.client.post(f"/v1/session/{session_id}/feedback-link", json=body)
        assert response.status_code == status, response.text

    def test_another_organizations_session_gets_no_link(self, alice: Tenant, bob: Tenant) -> None:
        session_id, request_id = _session(alice)
        for body in ({}, {"request_id": request_id}):
            response = bob.client.post(f"/v1/session/{session_id}/feedback-link", json=body)
            assert response.status_code == 404 and response.json()["error"] == "No request found"


class TestSendingWithALink:
    def test_sending_again_with_the_same_token_updates_the_same_record(
        self, alice: Tenant, public: httpx.Client
    ) -> None:
        session_id, request_id = _session(alice)
        token = _link(alice, session_id, rater="user-42", request_id=request_id)["token"]
        first = public.post(f"/v1/feedback/public/{token}", json={"value": True})
        assert first.status_code == 201, first.text
        assert first.json()["data"]["value"] is True
        again = public.post(f"/v1/feedback/public/{token}", json={"value": False, "comment": "it broke"})
        assert again.status_code == 201
        (record,) = _records(alice, session_id)
        assert (record["rater"], record["source"], record["request_id"]) == (
            "user-42",
            "end_user",
            request_id,
        )
        assert (record["value"], record["comment"]) == (False, "it broke")

    def test_links_without_a_rater_are_raters_of_their_own(self, alice: Tenant, public: httpx.Client) -> None:
        session_id, _ = _session(alice)
        for value in (True, False):
            token = _link(alice, session_id)["token"]
            assert public.post(f"/v1/feedback/public/{token}", json={"value": value}).status_code == 201
        records = _records(alice, session_id)
        assert len({r["rater"] for r in records}) == 2
        assert all(r["rater"].startswith("link-") for r in records)

    def test_a_value_that_breaks_the_config_gets_422_and_nothing_is_stored(
        self, alice: Tenant, public: httpx.Client
    ) -> None:
        session_id, _ = _session(alice)
        alice.client.put("/v1/feedback/config/stars", json={"type": "numeric", "min": 1, "max": 5})
        token = _link(alice, session_id, name="stars")["token"]
        for value in (9, True, "five"):
            response = public.post(f"/v1/feedback/public/{token}", json={"value": value})
            assert response.status_code == 422, response.text
        assert _records(alice, session_id) == []

    def test_tampered_foreign_and_expired_tokens_are_refused_and_nothing_changes(
        self, alice: Tenant, bob: Tenant, public: httpx.Client
    ) -> None:
        session_id, _ = _session(alice)
        other_session, _ = _session(alice)
        bobs_session, _ = _session(bob)
        token = _link(alice, session_id, rater="u1")["token"]
        assert public.post(f"/v1/feedback/public/{token}", json={"value": True}).status_code == 201
        before = [_records(alice, s) for s in (session_id, other_session)], _records(bob, bobs_session)

        signer = FeedbackLinkSigner(SECRET)
        expired = signer.sign(LinkScope(alice.org_id, session_id, None, "rating", "u1", expires_at_ms=1_000))
        refused = {
            "tampered signature": (
                token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
                "Invalid feedback token",
            ),
            "another session": (_recut(token, session_id=other_session), "Invalid feedback token"),
            "another organization": (
                _recut(token, org_id=bob.org_id, session_id=bobs_session),
                "Invalid feedback token",
            ),
            "another rater": (_recut(token, rater="admin"), "Invalid feedback token"),
            "another server's secret": (
                FeedbackLinkSigner("some-other-secret-0123456789abcdefghij").sign(
                    LinkScope(alice.org_id, session_id, None, "rating", "u1", expires_at_ms=2**42)
                ),
                "Invalid feedback token",
            ),
            "not a token": ("garbage", "Invalid feedback token"),
            "expired": (expired, "Feedback link expired"),
        }
        for case, (bad, message) in refused.items():
            for method in ("GET", "POST"):
                response = public.request(method, f"/v1/feedback/public/{bad}", json={"value": False})
                assert (response.status_code, response.json()["error"]) == (401, message), (case, method)
        after = [_records(alice, s) for s in (session_id, other_session)], _records(bob, bobs_session)
        assert after == before

    def test_over_the_limit_a_token_gets_429_and_nothing_changes(
        self, alice: Tenant, public: httpx.Client
    ) -> None:
        session_id, _ = _session(alice)
        token = _link(alice, session_id)["token"]
        for n in range(SENDS_PER_MINUTE):
            sent = public.post(f"/v1/feedback/public/{token}", json={"value": True, "comment": f"try {n}"})
            assert sent.status_code == 201
        over = public.post(f"/v1/feedback/public/{token}", json={"value": False, "comment": "flood"})
        assert over.status_code == 429 and "Too many" in over.json()["error"]
        (record,) = _records(alice, session_id)
        assert (record["value"], record["comment"]) == (True, f"try {SENDS_PER_MINUTE - 1}")
        # Another token of the same session has its own allowance.
        fresh = _link(alice, session_id)["token"]
        assert public.post(f"/v1/feedback/public/{fresh}", json={"value": False}).status_code == 201


class TestCors:
    def test_the_allowed_origin_may_preflight_and_read_answers(
        self, alice: Tenant, public: httpx.Client
    ) -> None:
        session_id, _ = _session(alice)
        token = _link(alice, session_id)["token"]
        preflight = public.options(
            f"/v1/feedback/public/{token}",
            headers={
                "Origin": ALLOWED_ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
        assert "POST" in preflight.headers["access-control-allow-methods"]
        assert "access-control-allow-credentials" not in preflight.headers
        sent = public.post(
            f"/v1/feedback/public/{token}", json={"value": True}, headers={"Origin": ALLOWED_ORIGIN}
        )
        assert sent.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
        refused = public.get(f"/v1/feedback/public/{token}x", headers={"Origin": ALLOWED_ORIGIN})
        assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == ALLOWED_ORIGIN

    def test_other_origins_and_other_paths_get_no_cors(self, alice: Tenant, public: httpx.Client) -> None:
        session_id, _ = _session(alice)
        token = _link(alice, session_id)["token"]
        preflight = public.options(
            f"/v1/feedback/public/{token}",
            headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert preflight.status_code == 400
        assert "access-control-allow-origin" not in preflight.headers
        api = alice.client.get(f"/v1/session/{session_id}/feedback", headers={"Origin": ALLOWED_ORIGIN})
        assert "access-control-allow-origin" not in api.headers

    def test_the_widget_is_served(self, public: httpx.Client) -> None:
        widget = public.get("/static/feedback.js")
        assert widget.status_code == 200
        assert "javascript" in widget.headers["content-type"]
        assert "HeliographFeedback" in widget.text and "/v1/feedback/public/" in widget.text
