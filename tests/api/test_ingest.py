"""POST /custom/v1/log, /oai/v1/log, /anthropic/v1/log: what logging clients send, read back as stored.

Every test goes through the real server and reads the stored row back with GET /v1/request/{id}
(or the session endpoints); expected values are computed by hand in the comments next to them.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from heliograph.domain.keys import key_display_prefix
from heliograph.storage.sql.schema import requests as requests_table
from heliograph.storage.sql.store import SqlStore
from support import Cast, Server, Tenant, everything_of, log_body, session_headers, timing

CAPTURES = Path(__file__).parents[1] / "fixtures" / "captured"  # copied from the project's shared fixtures
MAX_BODY_BYTES = 10 * 1024 * 1024  # the server's default limit
START_MS = 1_700_000_000_000  # 2023-11-14T22:13:20.000Z
START_ISO = "2023-11-14T22:13:20.000Z"

# -- helpers -----------------------------------------------------------------------------------


def _captures(file: str) -> list[dict[str, Any]]:
    captures: list[dict[str, Any]] = json.loads((CAPTURES / file).read_text())["captures"]
    return captures


def _assert_ok(response: httpx.Response) -> str:
    """A successful async log: 200 `ok` and a canonical UUID in `helicone-id`; returns that id."""
    assert response.status_code == 200, response.text
    assert response.text == "ok"
    request_id = response.headers["helicone-id"]
    assert str(uuid.UUID(request_id)) == request_id
    return request_id


def _post(
    tenant: Tenant,
    body: Any,
    *,
    path: str = "/oai/v1/log",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return tenant.client.post(
        path, content=content, headers={"Content-Type": "application/json", **(headers or {})}
    )


def _log(
    tenant: Tenant, body: Any, *, path: str = "/oai/v1/log", headers: dict[str, str] | None = None
) -> str:
    """Log one call that must succeed; the id joins `tenant.logged` so everything_of covers it."""
    request_id = _assert_ok(_post(tenant, body, path=path, headers=headers))
    tenant.logged.append(request_id)
    return request_id


def _row(tenant: Tenant, request_id: str) -> dict[str, Any]:
    response = tenant.client.get(f"/v1/request/{request_id}")
    assert response.status_code == 200, response.text
    row: dict[str, Any] = response.json()["data"]
    assert row["request_id"] == request_id
    assert row["request_properties"] == row["properties"]
    return row


def _only(row: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    """The fields of `row` that `expected` names, so the two compare as whole dicts."""
    return {key: row.get(key) for key in expected}


def _stored_row_count(tenant: Tenant) -> int:
    """Rows in the requests table for the tenant's organization, whatever their ids."""
    org_id = tenant.org_id()

    async def count() -> int:
        store = SqlStore.from_url(tenant.server.database_url)
        try:
            async with store.engines.reader.connect() as conn:
                stmt = (
                    sa.select(sa.func.count())
                    .select_from(requests_table)
                    .where(requests_table.c.org_id == org_id)
                )
                return int((await conn.execute(stmt)).scalar_one())
        finally:
            await store.close()

    return asyncio.run(count())


def _snapshot(tenant: Tenant) -> tuple[dict[str, Any], int]:
    return everything_of(tenant), _stored_row_count(tenant)


def _assert_nothing_stored(tenant: Tenant, before: tuple[dict[str, Any], int], request_id: str) -> None:
    assert _snapshot(tenant) == before
    missing = tenant.client.get(f"/v1/request/{request_id}")
    assert missing.status_code == 404, missing.text


def _body(request_json: Any, response_json: Any, *, text_body: str | None = None) -> dict[str, Any]:
    """An async-log body with exactly the given request and response, started at START_MS."""
    response: dict[str, Any] = {"headers": {}, "status": 200, "json": response_json}
    if text_body is not None:
        response["textBody"] = text_body
    return {
        "providerRequest": {"url": "custom-model-nopath", "json": request_json, "meta": {}},
        "providerResponse": response,
        "timing": timing(START_MS, START_MS + 100),
    }


def _sse(*events: dict[str, Any], done: bool = False, named: bool = False) -> str:
    """A server-sent-events stream as the provider sends it (`event:` lines when `named`)."""
    lines = []
    for event in events:
        if named:
            lines.append(f"event: {event['type']}")
        lines.extend([f"data: {json.dumps(event)}", ""])
    if done:
        lines.extend(["data: [DONE]", ""])
    return "\n".join(lines) + "\n"


def _set(body: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """A deep copy of `body` with one dotted path set, or removed when `value` is _REMOVE."""
    changed = copy.deepcopy(body)
    *parents, last = dotted.split(".")
    node = changed
    for part in parents:
        node = node[part]
    if value is _REMOVE:
        del node[last]
    else:
        node[last] = value
    return changed


_REMOVE = object()


# -- replaying captured clients ----------------------------------------------------------------

SESSION = "3f2c1d3e-1111-4222-8333-444455556666"
PROBE_PROPERTIES = {
    "app": "probe-app",
    "environment": "test",
    "Helicone-Session-Id": SESSION,
    "Helicone-Session-Path": "/agent/step-1",
    "Helicone-Session-Name": "Probe Session",
}
NOT_STREAMED_OPENAI: dict[str, Any] = {
    "response_status": 200,
    "provider": "OPENAI",
    "model": "gpt-4o-mini",  # the request's model wins over the response's gpt-4o-mini-2024-07-18
    "request_model": "gpt-4o-mini",
    "prompt_tokens": 12,
    "completion_tokens": 5,
    "total_tokens": 17,
    "prompt_cache_read_tokens": 0,
    "prompt_cache_write_tokens": 0,
    "cost": 4.8e-6,  # 12 x $0.15/1M + 5 x $0.60/1M = 1.8e-6 + 3.0e-6
    "cost_unknown": False,
    "time_to_first_token": None,
    "scores": {},
}
CAPTURED_CALLS = [
    pytest.param(
        "manual_logger.json",
        0,
        {
            **NOT_STREAMED_OPENAI,
            "request_created_at": "2026-11-26T11:52:16.616Z",  # 1795693936 s + 616 ms
            "response_created_at": "2026-11-26T11:52:16.667Z",
            "delay_ms": 51,  # 667 - 616
            "properties": PROBE_PROPERTIES,
            "request_user_id": "user-42",
            "target_url": "custom-model-nopath",
        },
        id="manual-logger-openai",
    ),
    pytest.param(
        "manual_logger.json",
        1,
        {
            "response_status": 200,
            "provider": "CUSTOM",
            "model": "my-custom-model",
            "request_model": "my-custom-model",
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "total_tokens": 0,
            "cost": 0.0,
            "cost_unknown": True,  # no price row matches my-custom-model
            "request_created_at": "2026-11-26T11:52:16.671Z",
            "response_created_at": "2026-11-26T11:52:16.671Z",
            "delay_ms": 0,
            "time_to_first_token": None,
            "properties": {"app": "probe-app", "Helicone-Session-Id": SESSION},
            "request_user_id": None,
            "target_url": "custom-model-nopath",
        },
        id="manual-logger-custom",
    ),
    pytest.param(
        "manual_logger.json",
        2,
        {
            "response_status": 200,
            "provider": "CUSTOM",
            "model": "gpt-4o-mini",
            "request_model": "gpt-4o-mini",
            "prompt_tokens": 0,  # the two chunks carry no usage
            "completion_tokens": 0,
            "total_tokens": 0,
            "cost": 0.0,
            "cost_unknown": False,  # the model has a price; there were just no tokens
            "request_created_at": "2026-11-26T11:52:16.674Z",
            "response_created_at": "2026-11-26T11:52:16.694Z",
            "delay_ms": 20,
            "time_to_first_token": 10,  # 10.234619140625 ms, rounded
            "properties": PROBE_PROPERTIES,
            "request_user_id": "user-42",
            "target_url": "custom-model-nopath",
        },
        id="manual-logger-stream",
    ),
    pytest.param(
        "legacy_helicone.json",
        1,
        {
            **NOT_STREAMED_OPENAI,
            "request_created_at": "2026-11-26T11:52:58.471Z",
            "response_created_at": "2026-11-26T11:52:58.478Z",
            "delay_ms": 7,
            "properties": {"environment": "test"},  # from providerRequest.meta
            "request_user_id": "user-42",  # from providerRequest.meta
            "target_url": "N/A",
        },
        id="legacy-helicone-meta",
    ),
]
REPLAYED = {(p.values[0], p.values[1]) for p in CAPTURED_CALLS}


def _replay(server: Server, tenant: Tenant, capture: dict[str, Any]) -> httpx.Response:
    """Send a captured request as it arrived: same path, headers and body bytes, the tenant's key."""
    headers: list[tuple[str, str]] = []
    for name, value in capture["headers"]:
        if name.lower() in ("host", "content-length"):
            continue
        headers.append((name, f"Bearer {tenant.key}" if name.lower() == "authorization" else value))
    content = json.dumps(capture["body_json"]).encode()
    assert str(len(content)) == dict(capture["headers"])["Content-Length"]  # the same bytes
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        return client.post(capture["path"], content=content, headers=headers)


class TestReplayingCapturedClients:
    def test_every_async_log_capture_is_in_the_replay_table(self) -> None:
        captured = {
            (file, index)
            for file in ("manual_logger.json", "legacy_helicone.json")
            for index, capture in enumerate(_captures(file))
            if capture["path"].endswith("/v1/log")
        }
        assert captured == REPLAYED

    @pytest.mark.parametrize(("file", "index", "expected"), CAPTURED_CALLS)
    def test_a_captured_call_is_stored_with_the_values_the_client_meant(
        self, server: Server, cast: Cast, file: str, index: int, expected: dict[str, Any]
    ) -> None:
        capture = _captures(file)[index]
        request_id = _assert_ok(_replay(server, cast.alice, capture))

        row = _row(cast.alice, request_id)
        assert _only(row, expected) == expected
        sent = capture["body_json"]
        assert row["request_body"] == sent["providerRequest"]["json"]
        text_body = sent["providerResponse"].get("textBody")
        assert row["response_body"] == (text_body or sent["providerResponse"]["json"])

    def test_the_three_manual_logger_calls_make_one_session(self, server: Server, cast: Cast) -> None:
        ids = [
            _assert_ok(_replay(server, cast.alice, _captures("manual_logger.json")[index]))
            for index in range(3)
        ]

        detail = cast.alice.client.get(f"/v1/session/{SESSION}").json()["data"]
        assert detail["session"] == {
            "session_id": SESSION,
            "session_name": "Probe Session",
            "created_at": "2026-11-26 11:52:16.616",
            "latest_request_created_at": "2026-11-26 11:52:16.674",
            "total_cost": 4.8e-6,  # only the first call has tokens
            "total_requests": 3,
            "prompt_tokens": 12,
            "completion_tokens": 5,
            "total_tokens": 17,
            "avg_latency": (51 + 0 + 20) / 3,
            "user_ids": ["user-42"],
            "feedback": None,
        }
        assert [r["request_id"] for r in detail["requests"]] == ids  # in start-time order
        tree = detail["tree"]
        assert tree["request_ids"] == [ids[1]]  # the call without a path sits at the root
        (agent,) = tree["children"]
        (step,) = agent["children"]
        assert (agent["path"], step["path"], step["request_ids"]) == (
            "/agent",
            "/agent/step-1",
            [ids[0], ids[2]],
        )


# -- headers and meta --------------------------------------------------------------------------


class TestHeadersAndMeta:
    def test_an_http_header_wins_over_the_same_name_in_meta(self, cast: Cast) -> None:
        body = log_body(
            start_ms=START_MS,
            meta={
                "Helicone-Property-Environment": "from-meta",
                "helicone-user-id": "meta-user",
                "Helicone-Property-Only-In-Meta": "kept",
            },
        )
        request_id = _log(
            cast.alice,
            body,
            headers={"helicone-property-ENVIRONMENT": "from-header", "Helicone-User-Id": "header-user"},
        )
        row = _row(cast.alice, request_id)
        assert row["properties"] == {"environment": "from-header", "only-in-meta": "kept"}
        assert row["request_user_id"] == "header-user"

    def test_meta_alone_can_carry_the_session_headers(self, cast: Cast) -> None:
        session_id = f"meta-{uuid.uuid4()}"
        meta = session_headers(session_id, "plan/search", "From meta")
        request_id = _log(cast.alice, log_body(start_ms=START_MS, meta=meta))
        assert _row(cast.alice, request_id)["properties"] == {
            "Helicone-Session-Id": session_id,
            "Helicone-Session-Path": "/plan/search",
            "Helicone-Session-Name": "From meta",
        }
        session = cast.alice.client.get(f"/v1/session/{session_id}").json()["data"]["session"]
        assert (session["session_name"], session["total_requests"]) == ("From meta", 1)

    def test_property_names_are_lowercased_and_session_keys_keep_their_canonical_case(
        self, cast: Cast
    ) -> None:
        session_id = f"case-{uuid.uuid4()}"
        headers = {
            "HELICONE-SESSION-ID": session_id,
            "helicone-session-path": "/a",
            "Helicone-Session-NAME": "Cased",
            "Helicone-Property-Prompt-Version": "B",
            "HELICONE-PROPERTY-TEAM": "Search",  # the value keeps its case
        }
        request_id = _log(cast.alice, log_body(start_ms=START_MS), headers=headers)
        assert _row(cast.alice, request_id)["properties"] == {
            "Helicone-Session-Id": session_id,
            "Helicone-Session-Path": "/a",
            "Helicone-Session-Name": "Cased",
            "prompt-version": "B",
            "team": "Search",
        }

    def test_a_session_path_without_a_leading_slash_gets_one(self, cast: Cast) -> None:
        session_id = f"path-{uuid.uuid4()}"
        request_id = _log(
            cast.alice, log_body(start_ms=START_MS), headers=session_headers(session_id, "agent/step-2")
        )
        assert _row(cast.alice, request_id)["properties"]["Helicone-Session-Path"] == "/agent/step-2"
        tree = cast.alice.client.get(f"/v1/session/{session_id}").json()["data"]["tree"]
        assert tree["children"][0]["children"][0]["path"] == "/agent/step-2"

    def test_property_values_lose_nul_characters(self, cast: Cast) -> None:
        # NUL cannot travel in an HTTP header, so it comes in meta (JSON escapes it as \u0000).
        meta = {"Helicone-Property-Note": "a\x00b\x00", "Helicone-Session-Name": "\x00Named"}
        request_id = _log(
            cast.alice,
            log_body(start_ms=START_MS, meta=meta),
            headers={"Helicone-Session-Id": "nul-session"},
        )
        assert _row(cast.alice, request_id)["properties"] == {
            "note": "ab",
            "Helicone-Session-Id": "nul-session",
            "Helicone-Session-Name": "Named",
        }

    @pytest.mark.parametrize(
        ("headers", "meta", "properties", "user_id"),
        [
            pytest.param(
                {f"Helicone-Property-P{n:03d}": str(n) for n in range(100)},
                {},
                {f"p{n:03d}": str(n) for n in range(100)},
                None,
                id="100-properties",
            ),
            pytest.param(
                {"Helicone-Property-" + "k" * 256: "v"}, {}, {"k" * 256: "v"}, None, id="key-of-256-chars"
            ),
            pytest.param(
                {},
                {"Helicone-Property-Big": "é" * 2048},  # 2 bytes each: 4096 bytes
                {"big": "é" * 2048},
                None,
                id="value-of-4096-bytes",
            ),
            pytest.param(
                {"Helicone-Session-Id": "s" * 256},
                {},
                {"Helicone-Session-Id": "s" * 256},
                None,
                id="session-id-of-256-chars",
            ),
            pytest.param({}, {"Helicone-User-Id": "ü" * 512}, {}, "ü" * 512, id="user-id-of-1024-bytes"),
        ],
    )
    def test_values_at_the_documented_limits_are_stored_whole(
        self,
        cast: Cast,
        headers: dict[str, str],
        meta: dict[str, str],
        properties: dict[str, str],
        user_id: str | None,
    ) -> None:
        request_id = _log(cast.alice, log_body(start_ms=START_MS, meta=meta), headers=headers)
        row = _row(cast.alice, request_id)
        assert (row["properties"], row["request_user_id"]) == (properties, user_id)


# -- request ids -------------------------------------------------------------------------------


class TestRequestIds:
    def test_a_client_chosen_uuid_becomes_the_request_id(self, cast: Cast) -> None:
        chosen = str(uuid.uuid4())
        response = _post(cast.alice, log_body(start_ms=START_MS), headers={"Helicone-Request-Id": chosen})
        assert _assert_ok(response) == chosen
        assert _row(cast.alice, chosen)["prompt_tokens"] == 10

    def test_an_uppercase_uuid_is_stored_in_canonical_lowercase(self, cast: Cast) -> None:
        chosen = str(uuid.uuid4())
        response = _post(
            cast.alice, log_body(start_ms=START_MS), headers={"Helicone-Request-Id": chosen.upper()}
        )
        assert _assert_ok(response) == chosen
        _row(cast.alice, chosen)

    @pytest.mark.parametrize(
        "sent",
        [
            pytest.param("not-a-uuid", id="word"),
            pytest.param("12345", id="number"),
            pytest.param("3f2c1d3e-1111-4222-8333-44445555666", id="one-digit-short"),
            pytest.param("", id="empty"),
        ],
    )
    def test_a_request_id_that_is_not_a_uuid_is_replaced_by_a_fresh_uuid4(
        self, cast: Cast, sent: str
    ) -> None:
        response = _post(cast.alice, log_body(start_ms=START_MS), headers={"Helicone-Request-Id": sent})
        request_id = _assert_ok(response)
        assert request_id != sent
        assert uuid.UUID(request_id).version == 4
        assert _row(cast.alice, request_id)["prompt_tokens"] == 10

    def test_a_retry_with_the_same_request_id_is_stored_once(self, cast: Cast) -> None:
        chosen, session_id = str(uuid.uuid4()), f"retry-{uuid.uuid4()}"
        headers = session_headers(session_id, "/a", "Retry") | {"Helicone-Request-Id": chosen}
        body = log_body(start_ms=START_MS, prompt_tokens=7, completion_tokens=3)
        before = _stored_row_count(cast.alice)

        first = _post(cast.alice, body, headers=headers)
        retry = _post(cast.alice, body, headers=headers)

        assert (_assert_ok(first), _assert_ok(retry)) == (chosen, chosen)
        assert _stored_row_count(cast.alice) == before + 1
        detail = cast.alice.client.get(f"/v1/session/{session_id}").json()["data"]
        assert [r["request_id"] for r in detail["requests"]] == [chosen]
        session = detail["session"]
        assert (session["total_requests"], session["prompt_tokens"], session["completion_tokens"]) == (
            1,
            7,
            3,
        )
        assert session["total_cost"] == (7 * 150 + 3 * 600) / 1e9

    def test_a_request_id_used_by_another_organization_leaves_that_row_alone(self, cast: Cast) -> None:
        chosen = str(uuid.uuid4())
        _log(
            cast.alice, log_body(start_ms=START_MS, prompt_tokens=1), headers={"Helicone-Request-Id": chosen}
        )
        alice_before = _snapshot(cast.alice)

        response = _post(
            cast.bob, log_body(start_ms=START_MS, prompt_tokens=99), headers={"Helicone-Request-Id": chosen}
        )

        assert response.status_code in (200, 400), response.text
        assert _snapshot(cast.alice) == alice_before
        assert _row(cast.alice, chosen)["prompt_tokens"] == 1
        if response.status_code == 200:
            assert response.headers["helicone-id"] == chosen
            assert _row(cast.bob, chosen)["prompt_tokens"] == 99


# -- usage, model and cost ---------------------------------------------------------------------


class TestUsageAndCost:
    def test_anthropic_usage_with_cache_tokens_gives_prompt_completion_and_cost(self, cast: Cast) -> None:
        model = "claude-3-5-sonnet-20241022"
        response_json = {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": "Hi"}],
            "usage": {
                "input_tokens": 100,
                "output_tokens": 50,
                "cache_creation_input_tokens": 20,
                "cache_read_input_tokens": 30,
            },
        }
        request_json = {"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}
        request_id = _log(cast.alice, _body(request_json, response_json), path="/anthropic/v1/log")

        row = _row(cast.alice, request_id)
        expected = {
            "provider": "ANTHROPIC",
            "model": model,
            "prompt_tokens": 150,  # 100 uncached + 20 written + 30 read
            "completion_tokens": 50,
            "total_tokens": 200,
            "prompt_cache_read_tokens": 30,
            "prompt_cache_write_tokens": 20,
            # $/1M: 100 x 3.0 + 30 x 0.3 + 20 x 3.75 + 50 x 15.0 = 300 + 9 + 75 + 750 = 1134 -> $0.001134
            "cost": 0.001134,
            "cost_unknown": False,
        }
        assert _only(row, expected) == expected

    def test_an_anthropic_stream_takes_the_final_output_count(self, cast: Cast) -> None:
        model = "claude-3-5-haiku-20241022"
        stream = _sse(
            {
                "type": "message_start",
                "message": {
                    "id": "msg_2",
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "usage": {"input_tokens": 25, "output_tokens": 1},
                },
            },
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
            {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 15}},
            {"type": "message_stop"},
            named=True,
        )
        request_json = {"model": model, "stream": True, "messages": [{"role": "user", "content": "Hi"}]}
        request_id = _log(cast.alice, _body(request_json, {}, text_body=stream), path="/anthropic/v1/log")

        row = _row(cast.alice, request_id)
        expected = {
            "provider": "ANTHROPIC",
            "prompt_tokens": 25,
            "completion_tokens": 15,  # message_delta's cumulative count replaces message_start's 1
            "total_tokens": 40,
            "cost": 8e-5,  # 25 x $0.80/1M + 15 x $4.00/1M = 20e-6 + 60e-6
            "response_body": stream,
        }
        assert _only(row, expected) == expected

    def test_an_openai_sse_stream_with_a_final_usage_chunk_gives_the_tokens(self, cast: Cast) -> None:
        chunk = {"id": "c1", "object": "chat.completion.chunk", "model": "gpt-4o-mini-2024-07-18"}
        stream = _sse(
            chunk
            | {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}}], "usage": None},
            chunk | {"choices": [{"index": 0, "delta": {"content": "lo"}}], "usage": None},
            chunk
            | {"choices": [], "usage": {"prompt_tokens": 21, "completion_tokens": 9, "total_tokens": 30}},
            done=True,
        )
        request_json = {
            "model": "gpt-4o-mini",
            "stream": True,
            "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": "Say hello"}],
        }
        body = _body(request_json, {}, text_body=stream)
        body["timing"]["timeToFirstToken"] = 12.5
        request_id = _log(cast.alice, body)

        row = _row(cast.alice, request_id)
        expected = {
            "provider": "OPENAI",
            "model": "gpt-4o-mini",
            "prompt_tokens": 21,
            "completion_tokens": 9,
            "total_tokens": 30,
            "cost": 8.55e-6,  # 21 x $0.15/1M + 9 x $0.60/1M = 3.15e-6 + 5.4e-6
            "time_to_first_token": 12,  # 12.5 rounds half to even
            "response_body": stream,  # stored as sent, not as parsed JSON
        }
        assert _only(row, expected) == expected

    def test_the_largest_plausible_token_counts_and_cost_are_stored_exactly(self, cast: Cast) -> None:
        body = log_body(
            model="my-custom-model", start_ms=START_MS, prompt_tokens=10**12, completion_tokens=10**12
        )
        body["providerResponse"]["cost"] = 1_000_000
        row = _row(cast.alice, _log(cast.alice, body, path="/custom/v1/log"))
        expected = {
            "prompt_tokens": 10**12,
            "completion_tokens": 10**12,
            "total_tokens": 2 * 10**12,
            "cost": 1_000_000.0,
            "cost_unknown": False,
        }
        assert _only(row, expected) == expected

    @pytest.mark.parametrize(
        ("model", "cost", "expected_cost"),
        [
            pytest.param("my-custom-model", 0.0123, 0.0123, id="unknown-model-gets-a-price"),
            pytest.param("gpt-4o-mini", 1.5, 1.5, id="replaces-the-table-price"),
            pytest.param("gpt-4o-mini", 0, 0.0, id="zero-means-free"),
            pytest.param("gpt-4o-mini", -2, 0.0, id="negative-counts-as-zero"),
        ],
    )
    def test_a_reported_cost_overrides_the_price_table(
        self, cast: Cast, model: str, cost: float, expected_cost: float
    ) -> None:
        session_id = f"cost-{uuid.uuid4()}"
        body = _set(log_body(model=model, start_ms=START_MS), "providerResponse.cost", cost)
        request_id = _log(cast.alice, body, path="/custom/v1/log", headers=session_headers(session_id))

        row = _row(cast.alice, request_id)
        assert (row["cost"], row["cost_unknown"]) == (expected_cost, False)
        session = cast.alice.client.get(f"/v1/session/{session_id}").json()["data"]["session"]
        assert session["total_cost"] == expected_cost

    @pytest.mark.parametrize(
        ("request_model", "response_model", "model", "request_model_stored", "cost", "cost_unknown"),
        [
            pytest.param(
                None,
                "gpt-4o-mini-2024-07-18",
                "gpt-4o-mini-2024-07-18",
                None,
                4.5e-6,
                False,
                id="response-model",
            ),
            pytest.param(
                "",
                "gpt-4o-mini-2024-07-18",
                "gpt-4o-mini-2024-07-18",
                None,
                4.5e-6,
                False,
                id="empty-request-model",
            ),
            pytest.param(42, None, "unknown", None, 0.0, True, id="non-string-request-model"),
            pytest.param(None, None, "unknown", None, 0.0, True, id="no-model-anywhere"),
        ],
    )
    def test_the_model_falls_back_to_the_response_model_then_unknown(
        self,
        cast: Cast,
        request_model: Any,
        response_model: str | None,
        model: str,
        request_model_stored: str | None,
        cost: float,
        cost_unknown: bool,
    ) -> None:
        usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
        request_json: dict[str, Any] = {"messages": [{"role": "user", "content": "hi"}]}
        if request_model is not None:
            request_json["model"] = request_model
        response_json: dict[str, Any] = {"usage": usage}
        if response_model is not None:
            response_json["model"] = response_model
        request_id = _log(cast.alice, _body(request_json, response_json))

        # gpt-4o-mini-2024-07-18 is priced by the gpt-4o-mini row: 10 x 0.15 + 5 x 0.60 = $4.5e-6
        expected = {
            "model": model,
            "request_model": request_model_stored,
            "cost": cost,
            "cost_unknown": cost_unknown,
        }
        assert _only(_row(cast.alice, request_id), expected) == expected

    @pytest.mark.parametrize(
        "status",
        [
            pytest.param(-3, id="cancelled-stream"),
            pytest.param(500, id="error"),
            pytest.param(-(2**31), id="int32-min"),
            pytest.param(2**31 - 1, id="int32-max"),
        ],
    )
    def test_the_status_the_client_reports_is_stored(self, cast: Cast, status: int) -> None:
        request_id = _log(cast.alice, log_body(start_ms=START_MS, status=status))
        assert _row(cast.alice, request_id)["response_status"] == status


# -- timing ------------------------------------------------------------------------------------


def _epoch_ms(iso: str) -> int:
    moment = datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


class TestTiming:
    def test_without_timing_start_and_end_are_the_arrival_time(self, cast: Cast) -> None:
        body = log_body()
        del body["timing"]
        before_ms = time.time_ns() // 1_000_000
        request_id = _log(cast.alice, body)
        after_ms = time.time_ns() // 1_000_000

        row = _row(cast.alice, request_id)
        assert before_ms <= _epoch_ms(row["request_created_at"]) <= after_ms
        assert row["response_created_at"] == row["request_created_at"]
        assert (row["delay_ms"], row["time_to_first_token"]) == (0, None)

    def test_timing_in_seconds_and_milliseconds_gives_created_at_and_latency(self, cast: Cast) -> None:
        body = log_body()
        body["timing"] = {
            "startTime": {"seconds": 1_700_000_000, "milliseconds": 250},
            "endTime": {"seconds": 1_700_000_001, "milliseconds": 5},
            "timeToFirstToken": 99.6,
        }
        expected = {
            "request_created_at": "2023-11-14T22:13:20.250Z",
            "response_created_at": "2023-11-14T22:13:21.005Z",
            "delay_ms": 755,  # 1.005 s - 0.250 s
            "time_to_first_token": 100,  # 99.6 rounded
        }
        assert _only(_row(cast.alice, _log(cast.alice, body)), expected) == expected


# -- validation --------------------------------------------------------------------------------

VALID = log_body(start_ms=START_MS)
YEAR_10000 = {"seconds": 253_402_300_800, "milliseconds": 0}  # 10000-01-01T00:00:00Z


def _case(body: Any, message: str, headers: dict[str, str] | None = None, *, id: str) -> Any:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return pytest.param(content, headers or {}, message, id=id)


INVALID = [
    _case(b'{"providerRequest": {"url": ', "Invalid JSON body", id="body-not-json"),
    _case(b"", "Invalid JSON body", id="body-empty"),
    _case([VALID], "Invalid body: expected a JSON object", id="body-a-json-array"),
    _case(
        _set(VALID, "providerRequest", _REMOVE),
        "One of the required fields is missing, providerRequest, providerResponse, or timing",
        id="provider-request-missing",
    ),
    _case(
        _set(VALID, "providerResponse", []),
        "One of the required fields is missing, providerRequest, providerResponse, or timing",
        id="provider-response-a-list",
    ),
    _case(
        _set(VALID, "providerRequest.url", 42),
        "Invalid providerRequest: 'url' should be a string",
        id="url-not-a-string",
    ),
    _case(
        _set(VALID, "providerRequest.url", _REMOVE),
        "Invalid providerRequest: 'url' should be a string",
        id="url-missing",
    ),
    _case(
        _set(VALID, "providerRequest.meta", ["Helicone-User-Id"]),
        "Invalid providerRequest: 'meta' should be an object",
        id="meta-not-an-object",
    ),
    _case(
        _set(VALID, "providerRequest.json", _REMOVE),
        "Invalid providerRequest: 'json' is undefined",
        id="request-json-missing",
    ),
    _case(
        _set(VALID, "providerRequest.json", None),
        "Invalid providerRequest: 'json' is undefined",
        id="request-json-null",
    ),
    _case(
        _set(VALID, "providerResponse.json", _REMOVE),
        "Invalid providerResponse: 'json' is undefined",
        id="response-json-missing",
    ),
    _case(
        _set(VALID, "providerResponse.status", "200"),
        "Invalid providerResponse: 'status' should be a number",
        id="status-a-string",
    ),
    _case(
        _set(VALID, "providerResponse.status", True),
        "Invalid providerResponse: 'status' should be a number",
        id="status-a-boolean",
    ),
    _case(
        _set(VALID, "providerResponse.headers", "content-type: json"),
        "Invalid providerResponse: 'headers' should be an object",
        id="headers-not-an-object",
    ),
    _case(
        _set(VALID, "providerResponse.textBody", 5),
        "Invalid providerResponse: 'textBody' should be a string",
        id="text-body-a-number",
    ),
    _case(
        _set(VALID, "providerResponse.cost", "0.01"),
        "Invalid providerResponse: 'cost' should be a number",
        id="cost-a-string",
    ),
    _case(
        _set(VALID, "timing.startTime.seconds", "1700000000"),
        "Invalid timing: 'startTime.seconds' should be a number",
        id="start-seconds-a-string",
    ),
    _case(
        _set(VALID, "timing.endTime.milliseconds", None),
        "Invalid timing: 'endTime.milliseconds' should be a number",
        id="end-milliseconds-null",
    ),
    _case(
        _set(VALID, "timing", timing(START_MS + 1, START_MS)),
        "startTime cannot be greater than endTime",
        id="start-after-end",
    ),
    _case(
        _set(
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
        _set(VALID, "timing", {"startTime": YEAR_10000, "endTime": YEAR_10000}),
        "Invalid timing: 'startTime' is after the year 9999",
        id="year-10000",
    ),
    _case(
        _set(VALID, "timing.timeToFirstToken", -1),
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
        _set(VALID, "providerRequest.meta", {"Helicone-Session-Id": "tab\there"}),
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
        _set(VALID, "providerRequest.meta", {"Helicone-Property-Big": "é" * 2049}),
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
        _set(VALID, "providerResponse.status", 2**31),
        "Invalid providerResponse: 'status' is out of range",
        id="status-beyond-int32",
    ),
    _case(
        _set(VALID, "providerResponse.json.usage.prompt_tokens", 10**12 + 1),
        "Invalid usage: token counts above 1e+12 are not plausible",
        id="prompt-tokens-above-1e12",
    ),
    _case(
        _set(VALID, "providerResponse.json.usage.completion_tokens", 10**20),
        "Invalid usage: token counts above 1e+12 are not plausible",
        id="completion-tokens-beyond-int64",
    ),
    _case(
        log_body(model="gpt-4o", start_ms=START_MS, prompt_tokens=10**12),  # 1e12 x $2.50/1M = $2.5M
        "Invalid cost: more than 1,000,000 USD for one call is not plausible",
        id="priced-cost-above-a-million-usd",
    ),
    _case(
        _set(VALID, "providerResponse.cost", 1_000_000.01),
        "Invalid cost: more than 1,000,000 USD for one call is not plausible",
        id="reported-cost-above-a-million-usd",
    ),
    _case(
        _set(VALID, "providerResponse.cost", 1e12),
        "Invalid cost: more than 1,000,000 USD for one call is not plausible",
        id="reported-cost-beyond-int64-nano-usd",
    ),
]


class TestValidation:
    @pytest.fixture
    def alice(self, cast: Cast) -> Tenant:
        """Alice with one call already stored, so 'nothing changed' compares something."""
        _log(cast.alice, VALID, headers=session_headers("existing", "/", "Existing"))
        return cast.alice

    @pytest.mark.parametrize(("content", "headers", "message"), INVALID)
    def test_a_mistake_gets_400_with_its_message_and_stores_nothing(
        self, alice: Tenant, content: bytes, headers: dict[str, str], message: str
    ) -> None:
        before = _snapshot(alice)
        request_id = str(uuid.uuid4())
        response = _post(alice, content, headers={"Helicone-Request-Id": request_id, **headers})
        assert response.status_code == 400, response.text
        assert response.json() == {"data": None, "error": message}
        assert "helicone-id" not in response.headers
        _assert_nothing_stored(alice, before, request_id)

    def test_unknown_keys_anywhere_in_the_body_are_ignored(self, cast: Cast) -> None:
        body = log_body(start_ms=START_MS)
        body["log"] = {"anything": True}
        body["providerRequest"]["provider"] = "openai"
        body["providerResponse"]["_headers"] = []
        body["timing"]["zone"] = "UTC"
        request_id = _log(cast.alice, body)
        row = _row(cast.alice, request_id)
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
        _log(cast.alice, VALID)
        before = _snapshot(cast.alice)
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
        _assert_nothing_stored(cast.alice, before, headers["Helicone-Request-Id"])

    def test_a_second_key_of_the_organization_logs_into_the_same_organization(self, cast: Cast) -> None:
        request_id = _log(cast.alice_second_key, VALID)
        assert _row(cast.alice, request_id)["prompt_tokens"] == 10
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


class TestBodySize:
    @pytest.fixture
    def alice(self, cast: Cast) -> Tenant:
        _log(cast.alice, VALID)
        return cast.alice

    def _assert_healthy(self, server: Server, tenant: Tenant) -> None:
        assert httpx.get(f"{server.base_url}/healthz", timeout=10).status_code == 200
        assert _row(tenant, _log(tenant, VALID))["prompt_tokens"] == 10

    def test_a_body_over_the_limit_with_its_content_length_gets_413(
        self, server: Server, alice: Tenant
    ) -> None:
        before, request_id = _snapshot(alice), str(uuid.uuid4())
        content = _body_of_size(MAX_BODY_BYTES + 1)
        response = _post(alice, content, headers={"Helicone-Request-Id": request_id})
        assert response.request.headers["content-length"] == str(MAX_BODY_BYTES + 1)
        assert response.status_code == 413
        assert response.json() == TOO_LARGE
        _assert_nothing_stored(alice, before, request_id)
        self._assert_healthy(server, alice)

    def test_a_chunked_body_over_the_limit_gets_413(self, server: Server, alice: Tenant) -> None:
        before, request_id = _snapshot(alice), str(uuid.uuid4())
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
        _assert_nothing_stored(alice, before, request_id)
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
        request_id = _assert_ok(response)
        row = _row(alice, request_id)
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
        response = _post(cast.alice, _set(VALID, dotted, value))
        request_id = _assert_ok(response)
        assert _row(cast.alice, request_id)[field] in (value, value.replace("\x00", ""))
