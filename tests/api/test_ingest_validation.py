"""POST /oai/v1/log refusals: invalid bodies (400, 422 without a required part), bad keys (401), oversized
bodies (413), never a 5xx.

Every refusal is checked through the real server to store nothing: what the tenant can read and the
organization's row count are the same before and after, and the sent request id stays unknown.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from heliograph.domain.keys import key_display_prefix
from heliograph.storage.sql.store import SqlStore
from ingest_support import (
    MAX_BODY_BYTES,
    REMOVE,
    START_ISO,
    START_MS,
    assert_nothing_stored,
    assert_ok,
    log,
    post,
    set_path,
    snapshot,
    stored_row,
)
from support import Cast, Server, Tenant, log_body, session_headers, timing

# -- validation --------------------------------------------------------------------------------

VALID = log_body(start_ms=START_MS)
YEAR_10000 = {"seconds": 253_402_300_800, "milliseconds": 0}  # 10000-01-01T00:00:00Z


def _case(
    body: Any, message: str, headers: dict[str, str] | None = None, *, id: str, status: int = 400
) -> Any:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return pytest.param(content, headers or {}, message, status, id=id)


INVALID = [
    _case(b'{"providerRequest": {"url": ', "Invalid JSON body", id="body-not-json"),
    _case(b"", "Invalid JSON body", id="body-empty"),
    _case([VALID], "Invalid body: expected a JSON object", id="body-a-json-array"),
    _case(
        set_path(VALID, "providerRequest", REMOVE),
        "Validation failed: providerRequest: Field required",  # timing is optional
        id="provider-request-missing",
        status=422,
    ),
    _case(
        set_path(VALID, "providerResponse", []),
        "Validation failed: providerResponse: Input should be an object",
        id="provider-response-a-list",
        status=422,
    ),
    _case(
        set_path(VALID, "providerRequest.url", 42),
        "Invalid providerRequest: 'url' should be a string",
        id="url-not-a-string",
    ),
    _case(
        set_path(VALID, "providerRequest.url", REMOVE),
        "Invalid providerRequest: 'url' should be a string",
        id="url-missing",
    ),
    _case(
        set_path(VALID, "providerRequest.meta", ["Helicone-User-Id"]),
        "Invalid providerRequest: 'meta' should be an object",
        id="meta-not-an-object",
    ),
    _case(
        set_path(VALID, "providerRequest.json", REMOVE),
        "Invalid providerRequest: 'json' is undefined",
        id="request-json-missing",
    ),
    _case(
        set_path(VALID, "providerRequest.json", None),
        "Invalid providerRequest: 'json' is undefined",
        id="request-json-null",
    ),
    _case(
        set_path(VALID, "providerResponse.json", REMOVE),
        "Invalid providerResponse: 'json' is undefined",
        id="response-json-missing",
    ),
    _case(
        set_path(VALID, "providerResponse.status", "200"),
        "Invalid providerResponse: 'status' should be a number",
        id="status-a-string",
    ),
    _case(
        set_path(VALID, "providerResponse.status", True),
        "Invalid providerResponse: 'status' should be a number",
        id="status-a-boolean",
    ),
    _case(
        set_path(VALID, "providerResponse.headers", "content-type: json"),
        "Invalid providerResponse: 'headers' should be an object",
        id="headers-not-an-object",
    ),
    _case(
        set_path(VALID, "providerResponse.textBody", 5),
        "Invalid providerResponse: 'textBody' should be a string",
        id="text-body-a-number",
    ),
    _case(
        set_path(VALID, "providerResponse.cost", "0.01"),
        "Invalid providerResponse: 'cost' should be a number",
        id="cost-a-string",
    ),
    _case(
        set_path(VALID, "timing.startTime.seconds", "1700000000"),
        "Invalid timing: 'startTime.seconds' should be a number",
        id="start-seconds-a-string",
    ),
    _case(
        set_path(VALID, "timing.endTime.milliseconds", None),
        "Invalid timing: 'endTime.milliseconds' should be a number",
        id="end-milliseconds-null",
    ),
    _case(
        set_path(VALID, "timing", timing(START_MS + 1, START_MS)),
        "startTime cannot be greater than endTime",
        id="start-after-end",
    ),
    _case(
        set_path(
            VALID,
            "timing",
            {
                "startTime": {"seconds": -10, "milliseconds": 0},
                "endTime": {"seconds": -5, "milliseconds": 0},
            },
        ),
        "startTime and endTime cannot be negative",
        id="negative-times",
    ),
    _case(
        set_path(VALID, "timing", {"startTime": YEAR_10000, "endTime": YEAR_10000}),
        "Invalid timing: 'startTime' is after the year 9999",
        id="year-10000",
    ),
    _case(
        set_path(VALID, "timing.timeToFirstToken", -1),
        "Invalid timing: 'timeToFirstToken' should be a non-negative number",
        id="negative-time-to-first-token",
    ),
    _case(
        VALID,
        "Invalid Helicone-Session-Id: use 1 to 256 printable characters",
        {"Helicone-Session-Id": "s" * 257},
        id="session-id-of-257-chars",
    ),
    _case(
        set_path(VALID, "providerRequest.meta", {"Helicone-Session-Id": "tab\there"}),
        "Invalid Helicone-Session-Id: use 1 to 256 printable characters",
        id="session-id-with-a-tab-in-meta",
    ),
    _case(
        VALID,
        "Too many properties: at most 100 per request",
        {f"Helicone-Property-P{n:03d}": "x" for n in range(101)},
        id="101-properties",
    ),
    _case(
        VALID,
        "Property 'big' is too long: values are at most 4096 bytes",
        {"Helicone-Property-Big": "x" * 4097},
        id="property-value-of-4097-bytes",
    ),
    _case(
        set_path(VALID, "providerRequest.meta", {"Helicone-Property-Big": "é" * 2049}),
        "Property 'big' is too long: values are at most 4096 bytes",
        id="property-value-of-2049-two-byte-chars",
    ),
    _case(
        VALID,
        f"Invalid property key {'k' * 64!r}: keys are 1 to 256 characters",
        {"Helicone-Property-" + "k" * 257: "v"},
        id="property-key-of-257-chars",
    ),
    _case(
        VALID,
        "Helicone-User-Id is too long: at most 1024 bytes",
        {"Helicone-User-Id": "u" * 1025},
        id="user-id-of-1025-bytes",
    ),
    # Numbers that would overflow a database column are refused up front (a 503 at insert time
    # would send clients into endless retries of a call that can never be stored).
    _case(
        set_path(VALID, "providerResponse.status", 2**31),
        "Invalid providerResponse: 'status' is out of range",
        id="status-beyond-int32",
    ),
    _case(
        set_path(VALID, "providerResponse.json.usage.prompt_tokens", 10**12 + 1),
        "Invalid usage: token counts above 1e+12 are not plausible",
        id="prompt-tokens-above-1e12",
    ),
    _case(
        set_path(VALID, "providerResponse.json.usage.completion_tokens", 10**20),
        "Invalid usage: token counts above 1e+12 are not plausible",
        id="completion-tokens-beyond-int64",
    ),
    _case(
        log_body(model="gpt-4o", start_ms=START_MS, prompt_tokens=10**12),  # 1e12 x $2.50/1M = $2.5M
        "Invalid cost: more than 1,000,000 USD for one call is not plausible",
        id="priced-cost-above-a-million-usd",
    ),
    _case(
        set_path(VALID, "providerResponse.cost", 1_000_000.01),
        "Invalid cost: more than 1,000,000 USD for one call is not plausible",
        id="reported-cost-above-a-million-usd",
    ),
    _case(
        set_path(VALID, "providerResponse.cost", 1e12),
        "Invalid cost: more than 1,000,000 USD for one call is not plausible",
        id="reported-cost-beyond-int64-nano-usd",
    ),
]


class TestValidation:
    @pytest.fixture
    def alice(self, cast: Cast) -> Tenant:
        """Alice with one call already stored, so 'nothing changed' compares something."""
        log(cast.alice, VALID, headers=session_headers("existing", "/", "Existing"))
        return cast.alice

    @pytest.mark.parametrize(("content", "headers", "message", "status"), INVALID)
    def test_a_mistake_gets_its_status_and_message_and_stores_nothing(
        self, alice: Tenant, content: bytes, headers: dict[str, str], message: str, status: int
    ) -> None:
        before = snapshot(alice)
        request_id = str(uuid.uuid4())
        response = post(alice, content, headers={"Helicone-Request-Id": request_id, **headers})
        assert response.status_code == status, response.text
        assert response.json() == {"data": None, "error": message}
        assert "helicone-id" not in response.headers
        assert_nothing_stored(alice, before, request_id)

    def test_unknown_keys_anywhere_in_the_body_are_ignored(self, cast: Cast) -> None:
        body = log_body(start_ms=START_MS)
        body["log"] = {"anything": True}
        body["providerRequest"]["provider"] = "openai"
        body["providerResponse"]["_headers"] = []
        body["timing"]["zone"] = "UTC"
        request_id = log(cast.alice, body)
        row = stored_row(cast.alice, request_id)
        assert (row["prompt_tokens"], row["request_created_at"], row["delay_ms"]) == (10, START_ISO, 100)


# -- authentication ----------------------------------------------------------------------------


def _revoke(tenant: Tenant) -> None:
    async def revoke() -> None:
        store = SqlStore.from_url(tenant.server.database_url)
        try:
            prefix = key_display_prefix(tenant.key)
            keys = [k for k in await store.list_api_keys(org_name=tenant.name) if k.prefix == prefix]
            assert len(keys) == 1
            assert await store.revoke_api_key(key_id=keys[0].id)
        finally:
            await store.close()

    asyncio.run(revoke())


class TestAuthentication:
    @pytest.mark.parametrize(
        ("key", "reason"),
        [
            pytest.param(None, "Missing API key", id="no-key"),
            pytest.param("Bearer sk-hg-not-a-real-key", "Invalid API key", id="unknown-key"),
            pytest.param("Basic abc", "Malformed Authorization", id="wrong-scheme"),
            pytest.param("revoked", "Invalid API key", id="revoked-key"),
        ],
    )
    def test_a_missing_unknown_or_revoked_key_gets_401_and_stores_nothing(
        self, cast: Cast, key: str | None, reason: str
    ) -> None:
        log(cast.alice, VALID)
        before = snapshot(cast.alice)
        headers = {"Content-Type": "application/json", "Helicone-Request-Id": str(uuid.uuid4())}
        if key == "revoked":
            _revoke(cast.alice_second_key)
            key = f"Bearer {cast.alice_second_key.key}"
        if key is not None:
            headers["Authorization"] = key

        response = cast.outsider.post("/oai/v1/log", content=json.dumps(VALID).encode(), headers=headers)

        assert response.status_code == 401
        assert response.json()["data"] is None
        assert response.json()["error"].startswith(reason)
        assert_nothing_stored(cast.alice, before, headers["Helicone-Request-Id"])

    def test_a_second_key_of_the_organization_logs_into_the_same_organization(self, cast: Cast) -> None:
        request_id = log(cast.alice_second_key, VALID)
        assert stored_row(cast.alice, request_id)["prompt_tokens"] == 10
        assert cast.bob.client.get(f"/v1/request/{request_id}").status_code == 404


# -- body size ---------------------------------------------------------------------------------


def _body_of_size(size: int) -> bytes:
    """A valid async-log body of exactly `size` bytes (padding in the user message)."""
    empty = len(json.dumps(log_body(start_ms=START_MS, content="")).encode())
    content = json.dumps(log_body(start_ms=START_MS, content="x" * (size - empty))).encode()
    assert len(content) == size
    return content


def _chunks(content: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for offset in range(0, len(content), size):
        yield content[offset : offset + size]


TOO_LARGE = {"data": None, "error": f"Request body is larger than {MAX_BODY_BYTES} bytes"}


@pytest.mark.real_server
class TestBodySize:
    @pytest.fixture
    def alice(self, cast: Cast) -> Tenant:
        log(cast.alice, VALID)
        return cast.alice

    def _assert_healthy(self, server: Server, tenant: Tenant) -> None:
        assert httpx.get(f"{server.base_url}/healthz", timeout=10).status_code == 200
        assert stored_row(tenant, log(tenant, VALID))["prompt_tokens"] == 10

    def test_a_body_over_the_limit_with_its_content_length_gets_413(
        self, server: Server, alice: Tenant
    ) -> None:
        before, request_id = snapshot(alice), str(uuid.uuid4())
        content = _body_of_size(MAX_BODY_BYTES + 1)
        response = post(alice, content, headers={"Helicone-Request-Id": request_id})
        assert response.request.headers["content-length"] == str(MAX_BODY_BYTES + 1)
        assert response.status_code == 413
        assert response.json() == TOO_LARGE
        assert_nothing_stored(alice, before, request_id)
        self._assert_healthy(server, alice)

    def test_a_chunked_body_over_the_limit_gets_413(self, server: Server, alice: Tenant) -> None:
        before, request_id = snapshot(alice), str(uuid.uuid4())
        content = _body_of_size(MAX_BODY_BYTES + 1)
        response = alice.client.post(
            "/oai/v1/log",
            content=_chunks(content),
            headers={"Content-Type": "application/json", "Helicone-Request-Id": request_id},
        )
        assert "content-length" not in response.request.headers
        assert response.request.headers["transfer-encoding"] == "chunked"
        assert response.status_code == 413
        assert response.json() == TOO_LARGE
        assert_nothing_stored(alice, before, request_id)
        self._assert_healthy(server, alice)

    @pytest.mark.parametrize(
        "chunked", [pytest.param(False, id="content-length"), pytest.param(True, id="chunked")]
    )
    def test_a_body_of_exactly_the_limit_is_stored(self, alice: Tenant, chunked: bool) -> None:
        content = _body_of_size(MAX_BODY_BYTES)
        response = alice.client.post(
            "/oai/v1/log",
            content=_chunks(content) if chunked else content,
            headers={"Content-Type": "application/json"},
        )
        request_id = assert_ok(response)
        row = stored_row(alice, request_id)
        assert row["request_body"] == json.loads(content)["providerRequest"]["json"]


# -- client input must never look like a server fault (5xx) -----------------------------------


class TestClientInputIsNeverAServerFault:
    """Spec section 1: client mistakes get 4xx, 5xx only for real server faults.

    A valid JSON string may hold NUL (U+0000). It must be stored (kept, or dropped as property values
    are), never answered with 503 "retry shortly" for a call that can never be stored.
    """

    @pytest.mark.parametrize(
        ("dotted", "value", "field"),
        [
            pytest.param("providerResponse.textBody", "Hel\x00lo", "response_body", id="text-body"),
            pytest.param("providerRequest.json.model", "gpt-4o-mini\x00", "model", id="model"),
            pytest.param("providerRequest.url", "https://api.example/v1\x00", "target_url", id="url"),
        ],
    )
    def test_a_nul_character_in_a_stored_string_is_kept_or_dropped_not_a_5xx(
        self, cast: Cast, dotted: str, value: str, field: str
    ) -> None:
        response = post(cast.alice, set_path(VALID, dotted, value))
        request_id = assert_ok(response)
        assert stored_row(cast.alice, request_id)[field] in (value, value.replace("\x00", ""))
