"""POST /custom/v1/log and /oai/v1/log as real logging clients sent them: captured calls, replayed.

Each capture in tests/fixtures/captured is sent again byte for byte (with the tenant's key) through the
real server and read back with GET /v1/request/{id} or the session endpoints; expected values are
computed by hand in the comments next to them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingest_support import assert_ok, only, stored_row
from support import Cast, Server, Tenant

CAPTURES = Path(__file__).parents[1] / "fixtures" / "captured"  # copied from the project's shared fixtures


def _captures(file: str) -> list[dict[str, Any]]:
    captures: list[dict[str, Any]] = json.loads((CAPTURES / file).read_text())["captures"]
    return captures


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
            "cost_unknown": True,  # the model has a price, but no usage came: unknown, not free
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


@pytest.mark.real_server
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
        request_id = assert_ok(_replay(server, cast.alice, capture))

        row = stored_row(cast.alice, request_id)
        assert only(row, expected) == expected
        sent = capture["body_json"]
        assert row["request_body"] == sent["providerRequest"]["json"]
        text_body = sent["providerResponse"].get("textBody")
        assert row["response_body"] == (text_body or sent["providerResponse"]["json"])

    def test_the_three_manual_logger_calls_make_one_session(self, server: Server, cast: Cast) -> None:
        ids = [
            assert_ok(_replay(server, cast.alice, _captures("manual_logger.json")[index]))
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
