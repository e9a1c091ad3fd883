"""Hostile input on ingestion, session and request endpoints: a clear 4xx, nothing stored, still healthy.

Covers what tests/api/test_ingest_validation.py and test_queries.py leave out: invalid UTF-8, JSON
nested 100,000 deep, numbers beyond any column (1e400, 10**100), NUL in headers, 10,000 properties,
a 100,000-character session id, and path traversal in ids. Each case checks the answer, that what
Alice can see and her stored row count are unchanged, and that the server still answers /healthz.
"""

from __future__ import annotations

import json
import socket
import uuid
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from ingest_support import snapshot
from support import Cast, Tenant, log_body, query_body, session_headers

SESSION = "hostile-target"
DEEP = 100_000


@pytest.fixture
def alice(cast: Cast) -> Tenant:
    """Alice with one rated session, so "nothing changed" compares something."""
    cast.alice.log(headers=session_headers(SESSION, "/", "Target"))
    assert cast.alice.client.post(f"/v1/session/{SESSION}/feedback", json={"rating": True}).status_code == 200
    return cast.alice


def _body(content: Any) -> bytes:
    return content if isinstance(content, bytes) else json.dumps(content).encode()


def _with(path: str, value: Any) -> dict[str, Any]:
    body = log_body()
    node = body
    *parents, last = path.split(".")
    for part in parents:
        node = node[part]
    node[last] = value
    return body


def _raw(number: str, path: str) -> bytes:
    """A log body whose value at `path` is the literal JSON `number` (json.dumps cannot)."""
    placeholder = "__number__"
    return json.dumps(_with(path, placeholder)).replace(f'"{placeholder}"', number).encode()


INVALID_UTF8 = b'{"search": "\xff\xfe\xfd", "timeFilter": {"startTimeUnixMs": 0, "endTimeUnixMs": 1}}'
NESTED_ARRAY = b"[" * DEEP + b"]" * DEEP
NESTED_IN_FIELD = (
    b'{"providerRequest": {"url": "u", "meta": {}, "json": '
    + b'{"a": ' * DEEP
    + b"1"
    + b"}" * DEEP
    + b'}, "providerResponse": {"status": 200, "json": {}, "headers": {}}}'
)
ONE_LOG_PATH = "/oai/v1/log"
FEEDBACK = f"/v1/session/{SESSION}/feedback"

# (method, path, body, headers, allowed statuses)
CASES = [
    # invalid UTF-8
    pytest.param("POST", ONE_LOG_PATH, b'{"providerRequest": "\xc3\x28"}', {}, {400}, id="log-invalid-utf8"),
    pytest.param("POST", "/v1/session/query", INVALID_UTF8, {}, {400, 422}, id="session-query-invalid-utf8"),
    pytest.param(
        "POST", "/v1/request/query", b'{"filter": "\xff"}', {}, {400, 422}, id="request-query-invalid-utf8"
    ),
    pytest.param("POST", FEEDBACK, b'{"rating": "\xff"}', {}, {400, 422}, id="feedback-invalid-utf8"),
    # 100,000 levels of nesting
    pytest.param("POST", ONE_LOG_PATH, NESTED_ARRAY, {}, {400}, id="log-nested-100k"),
    pytest.param("POST", ONE_LOG_PATH, NESTED_IN_FIELD, {}, {400}, id="log-request-json-nested-100k"),
    pytest.param("POST", "/v1/session/query", NESTED_ARRAY, {}, {400, 422}, id="session-query-nested-100k"),
    pytest.param(
        "POST",
        "/v1/request/query",
        b'{"filter": '
        + b'{"left": ' * DEEP
        + b'"all"'
        + b', "operator": "and", "right": "all"}' * DEEP
        + b"}",
        {},
        {400, 422},
        id="request-filter-nested-100k",
    ),
    pytest.param(
        "POST",
        FEEDBACK,
        b'{"rating": ' + b"[" * DEEP + b"]" * DEEP + b"}",
        {},
        {400, 422},
        id="feedback-nested-100k",
    ),
    # numbers beyond any column
    pytest.param(
        "POST", ONE_LOG_PATH, _raw("1e400", "providerResponse.status"), {}, {400}, id="log-status-1e400"
    ),
    pytest.param(
        "POST", ONE_LOG_PATH, _raw(str(10**100), "providerResponse.status"), {}, {400}, id="log-status-10e100"
    ),
    pytest.param(
        "POST",
        ONE_LOG_PATH,
        _raw(str(10**100), "timing.startTime.seconds"),
        {},
        {400},
        id="log-seconds-10e100",
    ),
    pytest.param(
        "POST", ONE_LOG_PATH, _raw("1e400", "providerResponse.cost"), {}, {400}, id="log-cost-1e400"
    ),
    pytest.param(
        "POST",
        ONE_LOG_PATH,
        _raw(str(10**100), "providerResponse.json.usage.prompt_tokens"),
        {},
        {400},
        id="log-tokens-10e100",
    ),
    pytest.param(
        "POST",
        "/v1/session/query",
        json.dumps(query_body(limit=0)).replace('"limit": 0', f'"limit": {10**100}').encode(),
        {},
        {422},
        id="session-query-limit-10e100",
    ),
    pytest.param(
        "POST",
        "/v1/session/query",
        json.dumps(query_body()).replace('"timezoneDifference": 0', '"timezoneDifference": 1e400').encode(),
        {},
        {400, 422},
        id="session-query-timezone-1e400",
    ),
    pytest.param(
        "POST",
        "/v1/request/query",
        b'{"filter": {"request_response_rmt": {"latency": {"gt": ' + str(10**100).encode() + b"}}}}",
        {},
        {400},
        id="request-filter-10e100",
    ),
    # 10,000 properties; a session id of 100,000 characters
    pytest.param(
        "POST",
        ONE_LOG_PATH,
        _with("providerRequest.meta", {f"Helicone-Property-P{n}": "x" for n in range(10_000)}),
        {},
        {400},
        id="log-10000-properties-in-meta",
    ),
    pytest.param(
        "POST",
        ONE_LOG_PATH,
        _with("providerRequest.meta", {"Helicone-Session-Id": "s" * 100_000}),
        {},
        {400},
        id="log-session-id-of-100k-chars-in-meta",
    ),
    pytest.param(
        "POST",
        ONE_LOG_PATH,
        log_body(),
        {"Helicone-Session-Id": "s" * 100_000},
        {400, 413, 431},
        id="log-session-id-of-100k-chars-in-header",
    ),
    # path traversal in ids
    pytest.param(
        "POST",
        "/v1/session/..%2F..%2Fetc%2Fpasswd/feedback",
        {"rating": False},
        {},
        {404},
        id="feedback-traversal-encoded",
    ),
    pytest.param(
        "POST",
        "/v1/session/%2e%2e%2f%2e%2e%2f/feedback",
        {"rating": False},
        {},
        {404},
        id="feedback-traversal-dots-encoded",
    ),
    pytest.param("GET", f"/v1/session/..%2F{SESSION}", None, {}, {404}, id="session-traversal-to-a-real-id"),
    pytest.param(
        "DELETE",
        f"/v1/session/{SESSION}%2F..%2F..%2F{SESSION}/feedback",
        None,
        {},
        {404},
        id="clear-feedback-traversal",
    ),
    pytest.param("GET", "/v1/request/..%2F..%2Fetc%2Fpasswd", None, {}, {400, 404}, id="request-traversal"),
    pytest.param(
        "PUT",
        "/v1/request/%2e%2e%2f%2e%2e%2f/property",
        {"key": "k", "value": "v"},
        {},
        {400, 404},
        id="property-traversal",
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "headers", "statuses"), CASES)
def test_hostile_input_gets_a_clear_4xx_and_changes_nothing(
    alice: Tenant, method: str, path: str, body: Any, headers: dict[str, str], statuses: set[int]
) -> None:
    before = snapshot(alice)
    content = None if body is None else _body(body)
    response = alice.client.request(
        method, path, content=content, headers={"Content-Type": "application/json", **headers}
    )
    assert response.status_code in statuses, response.text[:300]
    if response.headers.get("content-type", "").startswith("application/json"):
        assert response.json()["data"] is None and response.json()["error"]
    assert snapshot(alice) == before
    assert httpx.get(f"{alice.server.base_url}/healthz", timeout=10).status_code == 200


def _send_raw(tenant: Tenant, method: str, path: str, extra_headers: bytes, body: bytes) -> bytes:
    """One HTTP/1.1 request written by hand (httpx refuses NUL in headers and URLs over 64 KiB)."""
    url = urlsplit(tenant.server.base_url)
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Bearer {tenant.key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
    ).encode()
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(head + extra_headers + b"\r\n" + body)
        return sock.recv(4096)


def test_a_nul_byte_in_a_header_is_refused_before_the_app_and_changes_nothing(alice: Tenant) -> None:
    before = snapshot(alice)
    hostile = b"Helicone-Property-Evil: a\x00b\r\nHelicone-Session-Id: nul\x00session\r\n"
    answer = _send_raw(alice, "POST", ONE_LOG_PATH, hostile, json.dumps(log_body()).encode())
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert snapshot(alice) == before
    assert httpx.get(f"{alice.server.base_url}/healthz", timeout=10).status_code == 200


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        pytest.param("POST", "/feedback", b'{"rating": false}', id="feedback"),
        pytest.param("DELETE", "/feedback", b"", id="clear-feedback"),
        pytest.param("GET", "", b"", id="read"),
    ],
)
def test_a_session_id_of_100k_characters_in_the_path_is_refused(
    alice: Tenant, method: str, suffix: str, body: bytes
) -> None:
    before = snapshot(alice)
    answer = _send_raw(alice, method, f"/v1/session/{'s' * 100_000}{suffix}", b"", body)
    # uvicorn refuses a request line this long before the app sees it; were it let through, the app
    # would answer the envelope.
    assert answer.startswith(b"HTTP/1.1 400"), answer[:300]
    assert b"Invalid HTTP request received." in answer or b'"error":"Invalid session ID format"' in answer
    assert snapshot(alice) == before
    assert httpx.get(f"{alice.server.base_url}/healthz", timeout=10).status_code == 200


def test_a_traversal_looking_session_id_is_just_an_id_of_its_own(alice: Tenant) -> None:
    """Documented acceptance: ids are opaque text, never paths; `../x` is a session like any other."""
    odd = f"../../{uuid.uuid4().hex[:6]}/%2e%2e"
    alice.log(headers=session_headers(odd, "/"))
    sessions = alice.client.post("/v1/session/query", json=query_body(search=odd)).json()["data"]
    assert [s["session_id"] for s in sessions] == [odd]
    assert alice.client.get(f"/v1/session/{SESSION}").json()["data"]["session"]["feedback"] is True


@pytest.mark.parametrize("depth", [255, 600, 1019])
@pytest.mark.parametrize(
    "path",
    ["providerRequest.json", "providerResponse.json", "providerRequest.meta.Helicone-Property-Deep"],
    ids=["request-json", "response-json", "meta-value"],
)
def test_json_that_can_be_read_but_not_stored_gets_400_and_changes_nothing(
    alice: Tenant, path: str, depth: int
) -> None:
    """orjson reads 1,023 levels but writes 254: deeper bodies answered 500 (Recursion limit reached)."""
    before = snapshot(alice)
    body = _raw("[" * depth + "1" + "]" * depth, path)  # json.dumps cannot write it either
    response = alice.client.post(ONE_LOG_PATH, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text[:300]
    assert response.json() == {
        "data": None,
        "error": "Invalid body: JSON nested more than 254 levels deep cannot be stored",
    }
    assert snapshot(alice) == before
    assert httpx.get(f"{alice.server.base_url}/healthz", timeout=10).status_code == 200
