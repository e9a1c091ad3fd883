"""Organization B can neither read nor change anything of organization A, on any endpoint.

The operations come from the server's own `/openapi.json`, so a new endpoint fails
`test_every_documented_operation_has_an_isolation_case` until it gets a case here. Each case sends
Bob's key at Alice's ids (her session, request, tag, scores, properties) and checks the answer shows
nothing of hers; afterwards everything Alice can see, and her stored row count, is unchanged.
The dashboard pages are checked the same way with Bob's sign-in cookie.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from ingest_support import snapshot
from otlp_support import SpanMaker, post_spans
from support import Cast, Server, Tenant, log_body, query_body, session_headers

FAR = {"startTimeUnixMs": 0, "endTimeUnixMs": 4_102_444_800_000}


@dataclass
class Secrets:
    """What Alice stored, which Bob must never see or touch."""

    session_id: str
    request_id: str
    tag: str
    marker: str  # in her session name, property value and message body
    upstream: str  # the fake provider, for calls through /gateway
    feedback_id: str  # her reviewer's feedback record (its comment is the marker)
    monitor_id: str  # her feedback monitor (named with the marker)


@pytest.fixture
def secrets(cast: Cast, fake_upstream: str) -> Secrets:
    marker = f"alice-secret-{uuid.uuid4().hex[:8]}"
    session_id = f"shared-{uuid.uuid4().hex[:8]}"  # Bob logs a session of the same id in some cases
    headers = session_headers(session_id, "/plan", marker, **{"Helicone-Property-Note": marker})
    request_id = cast.alice.log(headers=headers, content=marker)
    client = cast.alice.client
    assert client.post(f"/v1/session/{session_id}/feedback", json={"rating": True}).status_code == 200
    assert client.post(f"/v1/session/{session_id}/tag", json={"tag": marker}).status_code == 200
    assert client.post(f"/v1/request/{request_id}/score", json={"scores": {"quality": 7}}).status_code == 201
    config = {"type": "categorical", "labels": ["fine", "bad"], "description": marker}
    assert client.put("/v1/feedback/config/note", json=config).status_code == 200
    record = {"session_id": session_id, "name": "note", "value": "fine", "rater": "rev", "comment": marker}
    feedback_id = client.post("/v1/feedback", json=record).json()["data"]["id"]
    monitor = client.post("/v1/monitors", json=_monitor_body(marker))
    assert monitor.status_code == 201, monitor.text
    return Secrets(
        session_id,
        request_id,
        tag=marker,
        marker=marker,
        upstream=f"{fake_upstream}/v1",
        feedback_id=feedback_id,
        monitor_id=monitor.json()["data"]["id"],
    )


def _monitor_body(name: str) -> dict[str, Any]:
    # Port 9 (discard) on loopback: nothing listens, and the monitor never fires here anyway.
    return {
        "name": name,
        "metric": "negative_rate",
        "operator": "gt",
        "threshold": 0.99,
        "window_s": 3600,
        "min_rated": 1000,
        "webhook_url": "http://127.0.0.1:9/hook",
        "webhook_secret": f"{name}-secret",
    }


Check = Callable[[Tenant, Secrets], None]


def _not_found(response: httpx.Response) -> None:
    assert response.status_code == 404, response.text
    assert response.json()["data"] is None


def _shows_nothing_of(secrets: Secrets, response: httpx.Response) -> None:
    assert response.status_code < 300, response.text
    for secret in (secrets.session_id, secrets.request_id, secrets.marker):
        assert secret not in response.text


def _shows_nothing_of_but_the_id(secrets: Secrets, response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert secrets.marker not in response.text


def _log(path: str) -> Check:
    def check(bob: Tenant, secrets: Secrets) -> None:
        # Bob reuses Alice's session id and even her request id: both stay hers alone.
        headers = {
            **session_headers(secrets.session_id, "/bob", "Bob's"),
            "Helicone-Request-Id": secrets.request_id,
        }
        response = bob.client.post(path, json=log_body(content="bob"), headers=headers)
        assert response.status_code == 200, response.text
        # Ids are per organization: Bob now has a request of that id, his own.
        mine = bob.client.get(f"/v1/request/{secrets.request_id}")
        _shows_nothing_of_but_the_id(secrets, mine)
        assert mine.json()["data"]["request_body"]["messages"][0]["content"] == "bob"
        session = bob.client.get(f"/v1/session/{secrets.session_id}")
        _shows_nothing_of_but_the_id(secrets, session)
        assert session.json()["data"]["session"]["total_requests"] == 1

    return check


def _export(path: str) -> Check:
    def check(bob: Tenant, secrets: Secrets) -> None:
        # Bob exports a span into Alice's session id: the session he gets is his own.
        maker = SpanMaker()
        now_ms = int(time.time() * 1000)
        attributes = {"openinference.span.kind": "LLM", "session.id": secrets.session_id}
        maker.span("chat", attributes, start_ms=now_ms, end_ms=now_ms + 10)
        response = post_spans(bob.client, maker.finished(), path=path)
        assert response.status_code == 200, response.text
        session = bob.client.get(f"/v1/session/{secrets.session_id}")
        _shows_nothing_of_but_the_id(secrets, session)
        assert session.json()["data"]["session"]["total_requests"] == 1

    return check


def _session_list(path: str, **body: Any) -> Check:
    def check(bob: Tenant, secrets: Secrets) -> None:
        response = bob.client.post(path, json=body)
        _shows_nothing_of(secrets, response)
        data = response.json()["data"]
        assert data in (
            [],
            {"count": 0, "total_cost": 0.0, "avg_cost": 0.0, "avg_latency": 0.0, "avg_requests": 0.0},
        ) or (
            path.endswith("metrics/query") and all(data[k] == [] for k in ("session_count", "session_cost"))
        ), data

    return check


def _request_list(path: str) -> Check:
    def check(bob: Tenant, secrets: Secrets) -> None:
        by_id = {"request_response_rmt": {"request_id": {"equals": secrets.request_id}}}
        response = bob.client.post(path, json={"filter": by_id})
        _shows_nothing_of(secrets, response)
        assert response.json()["data"] in ([], 0)

    return check


def _not_found_at(method: str, path: str, body: Any = None) -> Check:
    def check(bob: Tenant, secrets: Secrets) -> None:
        url = path.format(sessionId=secrets.session_id, requestId=secrets.request_id)
        _not_found(bob.client.request(method, url, json=body))

    return check


def _empty_answer(method: str, path: str, body: Any = None) -> Check:
    """Bob's answer holds nothing: his organization has no properties or scores (Alice's are hers)."""

    def check(bob: Tenant, secrets: Secrets) -> None:
        response = bob.client.request(method, path, json=body)
        _shows_nothing_of(secrets, response)
        assert response.json()["data"] in ([], None, {"ok": True}), response.text

    return check


def _by_ids(bob: Tenant, secrets: Secrets) -> None:
    _empty_answer("POST", "/v1/request/query-ids", {"requestIds": [secrets.request_id]})(bob, secrets)


def _rated_by_id(path: str) -> Check:
    def check(bob: Tenant, secrets: Secrets) -> None:
        body = {"helicone-id": secrets.request_id, "rating": False}
        headers = {"Helicone-Auth": f"Bearer {bob.key}"}
        with httpx.Client(base_url=bob.server.base_url, timeout=30) as client:
            _not_found(client.post(path, json=body, headers=headers))

    return check


def _hidden_apart(bob: Tenant, secrets: Secrets) -> None:
    """Bob hides a key Alice's requests carry: it is hidden for his organization alone."""
    assert bob.client.post("/v1/property/hide", json={"key": "note"}).json() == {
        "data": {"ok": True},
        "error": None,
    }
    assert bob.client.post("/v1/property/hidden/query").json()["data"] == [{"property": "note"}]


def _admin_refused(bob: Tenant, secrets: Secrets) -> None:
    """An organization's API key is not the operator's admin token: no key for Alice's organization."""
    response = bob.client.post("/v1/admin/keys", json={"org": "alice", "name": "stolen"})
    assert response.status_code == 401, response.text
    assert response.json() == {"data": None, "error": "Invalid admin token"}


def _tag_read(bob: Tenant, secrets: Secrets) -> None:
    response = bob.client.get(f"/v1/session/{secrets.session_id}/tag")
    assert response.status_code == 200, response.text
    assert response.json() == {"data": None, "error": None}


def _no_tenant_data(path: str) -> Check:
    def check(bob: Tenant, secrets: Secrets) -> None:
        _shows_nothing_of(secrets, bob.client.get(path))

    return check


def _proxied(method: str, prefix: str) -> Check:
    def check(bob: Tenant, secrets: Secrets) -> None:
        # Bob's key is accepted and the call forwarded (the fake upstream answers, whatever it says);
        # a chat completion is logged into Bob's organization, under Alice's session id.
        headers = {
            "Helicone-Auth": f"Bearer {bob.key}",
            "Helicone-Target-Url": secrets.upstream,
            **session_headers(secrets.session_id, "/bob"),
        }
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
        path = "messages" if prefix.startswith("/anthropic") else "chat/completions"
        with httpx.Client(base_url=bob.server.base_url, timeout=30) as client:
            response = client.request(method, f"{prefix}/{path}", json=body, headers=headers)
        assert response.status_code != 401, response.text
        if method == "POST":
            assert response.status_code == 200, response.text
            _wait_until_logged(bob, secrets.session_id)

    return check


def _wait_until_logged(tenant: Tenant, session_id: str) -> None:
    """The gateway logs after answering; wait for the record so the caller's checks see it."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if tenant.client.get(f"/v1/session/{session_id}").status_code == 200:
            return
        time.sleep(0.05)
    raise AssertionError(f"the proxied call was not logged into {tenant.name}")


def _monitor_not_found(method: str, suffix: str = "", body: Any = None) -> Check:
    def check(bob: Tenant, secrets: Secrets) -> None:
        _not_found(bob.client.request(method, f"/v1/monitors/{secrets.monitor_id}{suffix}", json=body))

    return check


def _own_monitor(bob: Tenant, secrets: Secrets) -> None:
    """Bob's new monitor is his alone, and his list shows none of Alice's."""
    created = bob.client.post("/v1/monitors", json=_monitor_body("bob's"))
    assert created.status_code == 201, created.text
    listed = bob.client.get("/v1/monitors")
    _shows_nothing_of(secrets, listed)
    assert [m["id"] for m in listed.json()["data"]] == [created.json()["data"]["id"]]


SESSION_BODY = query_body()
WINDOW = {"start": "2000-01-01T00:00:00Z", "end": "2100-01-01T00:00:00Z"}
EVALS_BODY = {"filter": "all", "timeFilter": WINDOW}
NAME_BODY = {"nameContains": "", "timezoneDifference": 0, "timeFilter": FAR}


def _feedback_sent(bob: Tenant, secrets: Secrets) -> None:
    body = {"session_id": secrets.session_id, "name": "note", "value": True, "rater": "rev"}
    _not_found(bob.client.post("/v1/feedback", json=body))


def _feedback_deleted(bob: Tenant, secrets: Secrets) -> None:
    _not_found(bob.client.delete(f"/v1/feedback/{secrets.feedback_id}"))


def _feedback_listed(bob: Tenant, secrets: Secrets) -> None:
    for response in (
        bob.client.post("/v1/feedback/query", json={"session_id": secrets.session_id}),
        bob.client.get(f"/v1/session/{secrets.session_id}/feedback"),
        bob.client.get("/v1/feedback/config"),
    ):
        _shows_nothing_of(secrets, response)
        assert response.json()["data"] == []


def _config_put(bob: Tenant, secrets: Secrets) -> None:
    # Bob's config of Alice's name is his own; hers stays (the snapshot checks it).
    assert bob.client.put("/v1/feedback/config/note", json={"type": "boolean"}).status_code == 200


def _link_used(bob: Tenant, secrets: Secrets) -> None:
    # A link of Bob's own session of the same id writes to his session only.
    bob.log(headers=session_headers(secrets.session_id, "/bob", "Bob's"))
    link = bob.client.post(
        f"/v1/session/{secrets.session_id}/feedback-link", json={"name": "note", "rater": "rev"}
    )
    assert link.status_code == 200, link.text
    public = bob.client.get(f"/v1/feedback/public/{link.json()['data']['token']}")
    _shows_nothing_of_but_the_id(secrets, public)
    sent = bob.client.post(f"/v1/feedback/public/{link.json()['data']['token']}", json={"value": False})
    assert sent.status_code == 201, sent.text
    (mine,) = bob.client.get(f"/v1/session/{secrets.session_id}/feedback").json()["data"]
    assert mine["value"] is False and mine["id"] != secrets.feedback_id


CASES: dict[tuple[str, str], Check] = {
    ("POST", "/v1/feedback"): _feedback_sent,
    ("DELETE", "/v1/feedback/{feedback_id}"): _feedback_deleted,
    ("POST", "/v1/feedback/query"): _feedback_listed,
    ("GET", "/v1/feedback/config"): _feedback_listed,
    ("GET", "/v1/session/{sessionId}/feedback"): _feedback_listed,
    ("PUT", "/v1/feedback/config/{name}"): _config_put,
    ("POST", "/v1/session/{sessionId}/feedback-link"): _not_found_at(
        "POST", "/v1/session/{sessionId}/feedback-link", {}
    ),
    ("GET", "/v1/feedback/public/{token}"): _link_used,
    ("POST", "/v1/feedback/public/{token}"): _link_used,
    ("GET", "/healthz"): _no_tenant_data("/healthz"),
    ("GET", "/metrics"): _no_tenant_data("/metrics"),
    **{("POST", f"/{p}/v1/log"): _log(f"/{p}/v1/log") for p in ("custom", "oai", "anthropic")},
    **{
        ("POST", path): _log(path)
        for path in ("/v1/trace/custom/log", "/v1/trace/custom/v1/log", "/v1/trace/custom/log/typed")
    },
    ("POST", "/v1/session/query"): _session_list("/v1/session/query", **SESSION_BODY),
    ("POST", "/v1/session/count"): _session_list("/v1/session/count", **SESSION_BODY),
    ("POST", "/v1/session/name/query"): _session_list("/v1/session/name/query", **NAME_BODY),
    ("POST", "/v1/session/metrics/query"): _session_list("/v1/session/metrics/query", **NAME_BODY),
    ("POST", "/v1/session/feedback/breakdown"): _session_list(
        "/v1/session/feedback/breakdown", property="note"
    ),
    ("POST", "/v1/session/{sessionId}/feedback"): _not_found_at(
        "POST", "/v1/session/{sessionId}/feedback", {"rating": False}
    ),
    ("DELETE", "/v1/session/{sessionId}/feedback"): _not_found_at(
        "DELETE", "/v1/session/{sessionId}/feedback"
    ),
    ("GET", "/v1/session/{sessionId}/tag"): _tag_read,
    ("POST", "/v1/session/{sessionId}/tag"): _not_found_at(
        "POST", "/v1/session/{sessionId}/tag", {"tag": "bob"}
    ),
    ("GET", "/v1/session/{sessionId}"): _not_found_at("GET", "/v1/session/{sessionId}"),
    ("DELETE", "/v1/session/{sessionId}"): _not_found_at("DELETE", "/v1/session/{sessionId}"),
    ("POST", "/v1/request/query"): _request_list("/v1/request/query"),
    ("POST", "/v1/request/query-clickhouse"): _request_list("/v1/request/query-clickhouse"),
    ("POST", "/v1/request/count/query"): _request_list("/v1/request/count/query"),
    ("GET", "/v1/request/{requestId}"): _not_found_at("GET", "/v1/request/{requestId}"),
    ("DELETE", "/v1/request/{requestId}"): _not_found_at("DELETE", "/v1/request/{requestId}"),
    ("PUT", "/v1/request/{requestId}/property"): _not_found_at(
        "PUT", "/v1/request/{requestId}/property", {"key": "Note", "value": "bob"}
    ),
    ("POST", "/v1/request/{requestId}/feedback"): _not_found_at(
        "POST", "/v1/request/{requestId}/feedback", {"rating": False}
    ),
    ("POST", "/v1/request/{requestId}/score"): _not_found_at(
        "POST", "/v1/request/{requestId}/score", {"scores": {"quality": 1}}
    ),
    ("POST", "/v1/request/query-ids"): _by_ids,
    ("GET", "/v1/request/{requestId}/inputs"): _not_found_at("GET", "/v1/request/{requestId}/inputs"),
    ("POST", "/v1/property/query"): _empty_answer("POST", "/v1/property/query", {}),
    ("POST", "/v1/property/hidden/query"): _empty_answer("POST", "/v1/property/hidden/query"),
    ("POST", "/v1/property/hide"): _hidden_apart,
    ("POST", "/v1/property/restore"): _empty_answer("POST", "/v1/property/restore", {"key": "note"}),
    ("POST", "/v1/property/{propertyKey}/search"): _empty_answer(
        "POST", "/v1/property/note/search", {"searchTerm": ""}
    ),
    **{
        ("POST", f"/v1/property/{{propertyKey}}/{kind}/query"): _empty_answer(
            "POST", f"/v1/property/note/{kind}/query", {"timeFilter": WINDOW}
        )
        for kind in ("top-costs", "top-requests")
    },
    ("POST", "/v1/property/properties/over-time"): _empty_answer(
        "POST",
        "/v1/property/properties/over-time",
        {
            "propertyKey": "note",
            "timeFilter": WINDOW,
            "userFilter": "all",
            "dbIncrement": "day",
            "timeZoneDifference": 0,
        },
    ),
    ("POST", "/v1/evals/query"): _empty_answer("POST", "/v1/evals/query", EVALS_BODY),
    ("POST", "/v1/evals/score-distributions/query"): _empty_answer(
        "POST", "/v1/evals/score-distributions/query", EVALS_BODY
    ),
    ("GET", "/v1/evals/scores"): _empty_answer("GET", "/v1/evals/scores"),
    ("POST", "/v1/evals/{requestId}"): _not_found_at(
        "POST", "/v1/evals/{requestId}", {"name": "q", "score": 1}
    ),
    **{
        ("POST", path): _rated_by_id(path)
        for path in ("/openai/v1/feedback", "/anthropic/v1/feedback", "/gateway/feedback")
    },
    ("POST", "/v1/admin/keys"): _admin_refused,
    ("POST", "/v1/monitors"): _own_monitor,
    ("GET", "/v1/monitors"): _empty_answer("GET", "/v1/monitors"),
    ("GET", "/v1/monitors/{monitor_id}"): _monitor_not_found("GET"),
    ("PUT", "/v1/monitors/{monitor_id}"): _monitor_not_found("PUT", body=_monitor_body("taken")),
    ("DELETE", "/v1/monitors/{monitor_id}"): _monitor_not_found("DELETE"),
    ("POST", "/v1/monitors/{monitor_id}/test"): _monitor_not_found("POST", "/test"),
    ("GET", "/v1/monitors/{monitor_id}/deliveries"): _monitor_not_found("GET", "/deliveries"),
    **{("POST", path): _export(path) for path in ("/v1/traces", "/v1/trace/log-python", "/v1/trace/log")},
    **{
        (method, f"{prefix}/{{path}}"): _proxied(method, prefix)
        for prefix in ("/openai/v1", "/anthropic/v1", "/gateway")
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
    },
}


def _feedback_of(tenant: Tenant) -> tuple[Any, Any, Any]:
    """Every feedback record, config and monitor spec (with its deliveries) the tenant can see."""
    records = tenant.client.post("/v1/feedback/query", json={"limit": 1000}).json()
    monitors = [
        (
            {k: v for k, v in m.items() if k not in ("state", "value", "rated", "evaluated_at")},
            tenant.client.get(f"/v1/monitors/{m['id']}/deliveries").json(),
        )
        for m in tenant.client.get("/v1/monitors").json()["data"]
    ]
    return records, tenant.client.get("/v1/feedback/config").json(), monitors


def _documented_operations(server: Server) -> set[tuple[str, str]]:
    document = httpx.get(f"{server.base_url}/openapi.json").json()
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item}


def test_every_documented_operation_has_an_isolation_case(server: Server) -> None:
    assert _documented_operations(server) == set(CASES)


@pytest.mark.parametrize("operation", [pytest.param(op, id=f"{op[0]} {op[1]}") for op in CASES])
def test_another_organization_can_neither_read_nor_change_alice_s_data(
    cast: Cast, secrets: Secrets, operation: tuple[str, str]
) -> None:
    before = snapshot(cast.alice), _feedback_of(cast.alice)
    tag_before = cast.alice.client.get(f"/v1/session/{secrets.session_id}/tag").json()
    CASES[operation](cast.bob, secrets)
    assert (snapshot(cast.alice), _feedback_of(cast.alice)) == before
    assert cast.alice.client.get(f"/v1/session/{secrets.session_id}/tag").json() == tag_before
    assert tag_before == {"data": secrets.tag, "error": None}


@pytest.fixture
def bob_browser(cast: Cast) -> Iterator[httpx.Client]:
    """A browser signed in to the dashboard with Bob's key (cookies kept, redirects not followed)."""
    base_url = cast.bob.server.base_url
    with httpx.Client(base_url=base_url, headers={"Origin": base_url}, timeout=30) as client:
        response = client.post("/dashboard/sign-in", data={"api_key": cast.bob.key})
        assert response.status_code == 303, response.text
        yield client


DASHBOARD_PAGES = [
    "/dashboard/sessions",
    "/dashboard/metrics",
    "/dashboard/feedback?property=note",
    "/dashboard/monitors",
    "/",
]


class TestDashboard:
    @pytest.mark.parametrize("page", DASHBOARD_PAGES)
    def test_bob_s_pages_show_nothing_of_alice(
        self, cast: Cast, secrets: Secrets, bob_browser: httpx.Client, page: str
    ) -> None:
        for headers in ({}, {"HX-Request": "true"}):  # whole page and its htmx partial
            response = bob_browser.get(page, headers=headers, follow_redirects=True)
            assert response.status_code == 200, response.text
            for secret in (secrets.session_id, secrets.request_id, secrets.marker):
                assert secret not in response.text

    def test_alice_s_session_page_is_not_found_for_bob(
        self, cast: Cast, secrets: Secrets, bob_browser: httpx.Client
    ) -> None:
        response = bob_browser.get(f"/dashboard/sessions/{secrets.session_id}")
        assert response.status_code == 404
        assert secrets.marker not in response.text

    def test_bob_cannot_rate_alice_s_session_from_the_dashboard(
        self, cast: Cast, secrets: Secrets, bob_browser: httpx.Client
    ) -> None:
        before = snapshot(cast.alice)
        response = bob_browser.post(
            f"/dashboard/sessions/{secrets.session_id}/feedback",
            data={"rating": "down"},
            headers={"Origin": cast.bob.server.base_url},
        )
        assert response.status_code == 404
        assert snapshot(cast.alice) == before
        assert re.search(r"not found", response.text, re.IGNORECASE)

    def test_bob_can_neither_see_edit_nor_delete_alice_s_monitor_from_the_dashboard(
        self, cast: Cast, secrets: Secrets, bob_browser: httpx.Client
    ) -> None:
        before = _feedback_of(cast.alice)
        path = f"/dashboard/monitors/{secrets.monitor_id}"
        page = bob_browser.get(path)
        assert page.status_code == 404 and secrets.marker not in page.text
        origin = {"Origin": cast.bob.server.base_url}
        edit = {**_monitor_body("taken"), "window_min": "60", "filter_json": ""}
        assert bob_browser.post(path, data=edit, headers=origin).status_code == 404
        assert bob_browser.post(f"{path}/delete", headers=origin).status_code == 404
        assert _feedback_of(cast.alice) == before
