"""Any session id ingestion accepts reaches its session on every endpoint and dashboard page (issue 14).

Ids carry `/`, `%`, `?`, `#`, spaces and non-ASCII text, and ids that end like a route (`x/tag`,
`x/feedback`), each encoded as one path segment; an unencoded `/` works where the path is unambiguous.
"""

from __future__ import annotations

import uuid
from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute

from dashboard.dashboard_support import signed_in
from heliograph.api.routes import sessions
from heliograph.api.session_paths import RESERVED_PATHS
from support import Cast, Tenant

TRICKY_IDS = [
    pytest.param("a/b/c", id="slash"),
    pytest.param("100%25 done %", id="percent"),
    pytest.param("why?x=1&y", id="question-mark"),
    pytest.param("#hash#tag", id="hash"),
    pytest.param("with  spaces ", id="spaces"),
    pytest.param("café ☀ 日本", id="non-ascii"),
    pytest.param("run/tag", id="ends-like-the-tag-route"),
    pytest.param("run/feedback", id="ends-like-the-feedback-route"),
    pytest.param("..", id="dot-dot"),
]


def _log_session(tenant: Tenant, base: str) -> str:
    """Log one call in a session whose id is `base` plus a unique suffix (sent in the body's meta, which
    takes any text, as a header would take only Latin-1)."""
    session_id = f"{base}{uuid.uuid4().hex[:6]}"
    tenant.log(meta={"Helicone-Session-Id": session_id, "Helicone-Session-Name": "Tricky"})
    return session_id


def _path(session_id: str) -> str:
    return f"/v1/session/{quote(session_id, safe='')}"


def _feedback(tenant: Tenant, session_id: str) -> object:
    response = tenant.client.get(_path(session_id))
    assert response.status_code == 200, response.text
    return response.json()["data"]["session"]["feedback"]


@pytest.mark.parametrize("base", TRICKY_IDS)
class TestEveryApiEndpointTakesTheId:
    def test_get_feedback_tag_and_delete_reach_the_session(self, cast: Cast, base: str) -> None:
        alice = cast.alice
        session_id = _log_session(alice, base)
        other = _log_session(alice, "bystander-")
        path = _path(session_id)

        response = alice.client.get(path)
        assert response.status_code == 200, response.text
        assert response.json()["data"]["session"]["session_id"] == session_id

        assert alice.client.post(f"{path}/feedback", json={"rating": True}).status_code == 200
        assert _feedback(alice, session_id) is True
        assert alice.client.delete(f"{path}/feedback").status_code == 200
        assert _feedback(alice, session_id) is None

        assert alice.client.post(f"{path}/tag", json={"tag": "checked"}).status_code == 200
        assert alice.client.get(f"{path}/tag").json() == {"data": "checked", "error": None}

        assert alice.client.delete(path).status_code == 200
        assert alice.client.get(path).status_code == 404
        assert alice.client.get(_path(other)).status_code == 200  # nothing else went with it


def test_every_fixed_session_path_with_a_slash_is_reserved() -> None:
    fixed = {
        route.path.removeprefix("/v1/session/")
        for route in sessions.router.routes
        if isinstance(route, APIRoute) and "{" not in route.path
    }
    assert {path for path in fixed if "/" in path} == set(RESERVED_PATHS)


class TestUnencodedSlashes:
    def test_an_unencoded_slash_reaches_the_session_where_the_path_is_unambiguous(self, cast: Cast) -> None:
        session_id = _log_session(cast.alice, "team/agent/")
        response = cast.alice.client.get(f"/v1/session/{session_id}")
        assert response.status_code == 200, response.text
        assert response.json()["data"]["session"]["session_id"] == session_id
        response = cast.alice.client.post(f"/v1/session/{session_id}/feedback", json={"rating": False})
        assert response.status_code == 200, response.text
        assert _feedback(cast.alice, session_id) is False

    def test_an_encoded_slash_is_part_of_the_id_not_a_route(self, cast: Cast) -> None:
        tagged = _log_session(cast.alice, "plain-")
        assert cast.alice.client.post(f"{_path(tagged)}/tag", json={"tag": "t"}).status_code == 200
        # "<id>%2Ftag" is a session of that name (absent), not the tag of <id>
        response = cast.alice.client.get(f"{_path(tagged)}%2Ftag")
        assert response.status_code == 404
        assert response.json() == {"data": None, "error": "Session not found"}

    def test_a_get_of_a_fixed_path_is_405_but_the_encoded_id_is_a_session(self, cast: Cast) -> None:
        response = cast.alice.client.get("/v1/session/feedback/breakdown")
        assert response.status_code == 405
        assert response.headers["allow"] == "POST"
        assert cast.alice.client.get("/v1/session/feedback%2Fbreakdown").status_code == 404


@pytest.mark.parametrize("base", TRICKY_IDS)
def test_the_dashboard_session_page_and_its_feedback_take_the_id(cast: Cast, base: str) -> None:
    session_id = _log_session(cast.alice, base)
    page = f"/dashboard/sessions/{quote(session_id, safe='')}"
    with signed_in(cast.alice) as browser:
        response = browser.get(page)
        assert response.status_code == 200, response.text[:500]
        assert "Tricky" in response.text
        response = browser.post(f"{page}/feedback", data={"rating": "down"})
        assert response.status_code == 303, response.text[:500]
        assert response.headers["location"] == page
    assert _feedback(cast.alice, session_id) is False
