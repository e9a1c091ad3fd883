"""POST /custom/v1/log, /oai/v1/log, /anthropic/v1/log: what logging clients send, read back as stored.

Every test goes through the real server and reads the stored row back with GET /v1/request/{id}
(or the session endpoints); expected values are computed by hand in the comments next to them.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from ingest_support import (
    START_MS,
    assert_ok,
    body_with,
    log,
    only,
    post,
    set_path,
    snapshot,
    sse,
    stored_row,
    stored_row_count,
)
from support import Cast, log_body, session_headers

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
        request_id = log(
            cast.alice,
            body,
            headers={"helicone-property-ENVIRONMENT": "from-header", "Helicone-User-Id": "header-user"},
        )
        row = stored_row(cast.alice, request_id)
        assert row["properties"] == {"environment": "from-header", "only-in-meta": "kept"}
        assert row["request_user_id"] == "header-user"

    def test_meta_alone_can_carry_the_session_headers(self, cast: Cast) -> None:
        session_id = f"meta-{uuid.uuid4()}"
        meta = session_headers(session_id, "plan/search", "From meta")
        request_id = log(cast.alice, log_body(start_ms=START_MS, meta=meta))
        assert stored_row(cast.alice, request_id)["properties"] == {
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
        request_id = log(cast.alice, log_body(start_ms=START_MS), headers=headers)
        assert stored_row(cast.alice, request_id)["properties"] == {
            "Helicone-Session-Id": session_id,
            "Helicone-Session-Path": "/a",
            "Helicone-Session-Name": "Cased",
            "prompt-version": "B",
            "team": "Search",
        }

    def test_a_session_path_without_a_leading_slash_gets_one(self, cast: Cast) -> None:
        session_id = f"path-{uuid.uuid4()}"
        request_id = log(
            cast.alice, log_body(start_ms=START_MS), headers=session_headers(session_id, "agent/step-2")
        )
        assert stored_row(cast.alice, request_id)["properties"]["Helicone-Session-Path"] == "/agent/step-2"
        tree = cast.alice.client.get(f"/v1/session/{session_id}").json()["data"]["tree"]
        assert tree["children"][0]["children"][0]["path"] == "/agent/step-2"

    def test_property_values_lose_nul_characters(self, cast: Cast) -> None:
        # NUL cannot travel in an HTTP header, so it comes in meta (JSON escapes it as \u0000).
        meta = {"Helicone-Property-Note": "a\x00b\x00", "Helicone-Session-Name": "\x00Named"}
        request_id = log(
            cast.alice,
            log_body(start_ms=START_MS, meta=meta),
            headers={"Helicone-Session-Id": "nul-session"},
        )
        assert stored_row(cast.alice, request_id)["properties"] == {
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
        request_id = log(cast.alice, log_body(start_ms=START_MS, meta=meta), headers=headers)
        row = stored_row(cast.alice, request_id)
        assert (row["properties"], row["request_user_id"]) == (properties, user_id)


# -- request ids -------------------------------------------------------------------------------


class TestRequestIds:
    def test_a_client_chosen_uuid_becomes_the_request_id(self, cast: Cast) -> None:
        chosen = str(uuid.uuid4())
        response = post(cast.alice, log_body(start_ms=START_MS), headers={"Helicone-Request-Id": chosen})
        assert assert_ok(response) == chosen
        assert stored_row(cast.alice, chosen)["prompt_tokens"] == 10

    def test_an_uppercase_uuid_is_stored_in_canonical_lowercase(self, cast: Cast) -> None:
        chosen = str(uuid.uuid4())
        response = post(
            cast.alice, log_body(start_ms=START_MS), headers={"Helicone-Request-Id": chosen.upper()}
        )
        assert assert_ok(response) == chosen
        stored_row(cast.alice, chosen)

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
        response = post(cast.alice, log_body(start_ms=START_MS), headers={"Helicone-Request-Id": sent})
        request_id = assert_ok(response)
        assert request_id != sent
        assert uuid.UUID(request_id).version == 4
        assert stored_row(cast.alice, request_id)["prompt_tokens"] == 10

    def test_a_retry_with_the_same_request_id_is_stored_once(self, cast: Cast) -> None:
        chosen, session_id = str(uuid.uuid4()), f"retry-{uuid.uuid4()}"
        headers = session_headers(session_id, "/a", "Retry") | {"Helicone-Request-Id": chosen}
        body = log_body(start_ms=START_MS, prompt_tokens=7, completion_tokens=3)
        before = stored_row_count(cast.alice)

        first = post(cast.alice, body, headers=headers)
        retry = post(cast.alice, body, headers=headers)

        assert (assert_ok(first), assert_ok(retry)) == (chosen, chosen)
        assert stored_row_count(cast.alice) == before + 1
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
        log(cast.alice, log_body(start_ms=START_MS, prompt_tokens=1), headers={"Helicone-Request-Id": chosen})
        alice_before = snapshot(cast.alice)

        response = post(
            cast.bob, log_body(start_ms=START_MS, prompt_tokens=99), headers={"Helicone-Request-Id": chosen}
        )

        assert response.status_code in (200, 400), response.text
        assert snapshot(cast.alice) == alice_before
        assert stored_row(cast.alice, chosen)["prompt_tokens"] == 1
        if response.status_code == 200:
            assert response.headers["helicone-id"] == chosen
            assert stored_row(cast.bob, chosen)["prompt_tokens"] == 99


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
        request_id = log(cast.alice, body_with(request_json, response_json), path="/anthropic/v1/log")

        row = stored_row(cast.alice, request_id)
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
        assert only(row, expected) == expected

    def test_an_anthropic_stream_takes_the_final_output_count(self, cast: Cast) -> None:
        model = "claude-3-5-haiku-20241022"
        stream = sse(
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
        request_id = log(cast.alice, body_with(request_json, {}, text_body=stream), path="/anthropic/v1/log")

        row = stored_row(cast.alice, request_id)
        expected = {
            "provider": "ANTHROPIC",
            "prompt_tokens": 25,
            "completion_tokens": 15,  # message_delta's cumulative count replaces message_start's 1
            "total_tokens": 40,
            "cost": 8e-5,  # 25 x $0.80/1M + 15 x $4.00/1M = 20e-6 + 60e-6
            "cost_unknown": False,
            "response_body": stream,
        }
        assert only(row, expected) == expected

    @pytest.mark.parametrize("path", ["/oai/v1/log", "/anthropic/v1/log", "/custom/v1/log"])
    def test_a_stream_without_usage_has_an_unknown_cost_not_a_free_one(self, cast: Cast, path: str) -> None:
        chunk = {"id": "c1", "object": "chat.completion.chunk"}
        stream = sse(chunk | {"choices": [{"index": 0, "delta": {"content": "Hi"}}]}, done=True)
        request_json = {
            "model": "gpt-4o-mini",
            "stream": True,
            "messages": [{"role": "user", "content": "Hi"}],
        }
        request_id = log(cast.alice, body_with(request_json, {}, text_body=stream), path=path)

        row = stored_row(cast.alice, request_id)
        expected = {"prompt_tokens": 0, "completion_tokens": 0, "cost": 0.0, "cost_unknown": True}
        assert only(row, expected) == expected

    def test_an_openai_sse_stream_with_a_final_usage_chunk_gives_the_tokens(self, cast: Cast) -> None:
        chunk = {"id": "c1", "object": "chat.completion.chunk", "model": "gpt-4o-mini-2024-07-18"}
        stream = sse(
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
        body = body_with(request_json, {}, text_body=stream)
        body["timing"]["timeToFirstToken"] = 12.5
        request_id = log(cast.alice, body)

        row = stored_row(cast.alice, request_id)
        expected = {
            "provider": "OPENAI",
            "model": "gpt-4o-mini",
            "prompt_tokens": 21,
            "completion_tokens": 9,
            "total_tokens": 30,
            "cost": 8.55e-6,  # 21 x $0.15/1M + 9 x $0.60/1M = 3.15e-6 + 5.4e-6
            "cost_unknown": False,
            "time_to_first_token": 12,  # 12.5 rounds half to even
            "response_body": stream,  # stored as sent, not as parsed JSON
        }
        assert only(row, expected) == expected

    def test_the_largest_plausible_token_counts_and_cost_are_stored_exactly(self, cast: Cast) -> None:
        body = log_body(
            model="my-custom-model", start_ms=START_MS, prompt_tokens=10**12, completion_tokens=10**12
        )
        body["providerResponse"]["cost"] = 1_000_000
        row = stored_row(cast.alice, log(cast.alice, body, path="/custom/v1/log"))
        expected = {
            "prompt_tokens": 10**12,
            "completion_tokens": 10**12,
            "total_tokens": 2 * 10**12,
            "cost": 1_000_000.0,
            "cost_unknown": False,
        }
        assert only(row, expected) == expected

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
        body = set_path(log_body(model=model, start_ms=START_MS), "providerResponse.cost", cost)
        request_id = log(cast.alice, body, path="/custom/v1/log", headers=session_headers(session_id))

        row = stored_row(cast.alice, request_id)
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
        request_id = log(cast.alice, body_with(request_json, response_json))

        # gpt-4o-mini-2024-07-18 is priced by the gpt-4o-mini row: 10 x 0.15 + 5 x 0.60 = $4.5e-6
        expected = {
            "model": model,
            "request_model": request_model_stored,
            "cost": cost,
            "cost_unknown": cost_unknown,
        }
        assert only(stored_row(cast.alice, request_id), expected) == expected

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
        request_id = log(cast.alice, log_body(start_ms=START_MS, status=status))
        assert stored_row(cast.alice, request_id)["response_status"] == status


# -- timing ------------------------------------------------------------------------------------


def _epoch_ms(iso: str) -> int:
    moment = datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


class TestTiming:
    def test_without_timing_start_and_end_are_the_arrival_time(self, cast: Cast) -> None:
        body = log_body()
        del body["timing"]
        before_ms = time.time_ns() // 1_000_000
        request_id = log(cast.alice, body)
        after_ms = time.time_ns() // 1_000_000

        row = stored_row(cast.alice, request_id)
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
        assert only(stored_row(cast.alice, log(cast.alice, body)), expected) == expected
