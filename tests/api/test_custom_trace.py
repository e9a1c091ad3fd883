"""POST /v1/trace/custom/log, /v1/trace/custom/v1/log, /v1/trace/custom/log/typed: Helicone's custom trace.

The body is the async log's, with the call's `provider` in it and times that may be strings; the
answer is the async log's (`ok` and `helicone-id` after commit).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from ingest_support import (
    START_ISO,
    START_MS,
    assert_nothing_stored,
    log,
    post,
    set_path,
    snapshot,
    stored_row,
)
from support import Cast, log_body

PATHS = ["/v1/trace/custom/log", "/v1/trace/custom/v1/log", "/v1/trace/custom/log/typed"]
BODY = log_body(start_ms=START_MS, latency_ms=250)


@pytest.mark.parametrize("path", PATHS)
def test_a_custom_trace_is_stored_with_its_provider_and_session(cast: Cast, path: str) -> None:
    session_id = f"custom-{uuid.uuid4()}"
    body = {**BODY, "provider": "anthropic"}
    request_id = log(cast.alice, body, path=path, headers={"Helicone-Session-Id": session_id})
    row = stored_row(cast.alice, request_id)
    assert (row["provider"], row["model"], row["prompt_tokens"], row["delay_ms"]) == (
        "ANTHROPIC",
        "gpt-4o-mini",
        10,
        250,
    )
    assert row["properties"]["Helicone-Session-Id"] == session_id


def test_without_a_provider_it_is_openai_as_in_helicone(cast: Cast) -> None:
    assert stored_row(cast.alice, log(cast.alice, BODY, path=PATHS[0]))["provider"] == "OPENAI"


@pytest.mark.parametrize(
    ("start", "end"),
    [
        pytest.param(str(START_MS // 1000), str(START_MS // 1000 + 1), id="epoch-seconds"),
        pytest.param(str(START_MS), str(START_MS + 1000), id="epoch-milliseconds"),
        pytest.param(START_ISO, "2023-11-14T23:13:21+01:00", id="iso-8601"),
        pytest.param("2023-11-14T22:13:20", {"seconds": START_MS // 1000 + 1, "milliseconds": 0}, id="mixed"),
    ],
)
def test_times_may_be_strings(cast: Cast, start: Any, end: Any) -> None:
    body = set_path(set_path(BODY, "timing.startTime", start), "timing.endTime", end)
    row = stored_row(cast.alice, log(cast.alice, body, path=PATHS[0]))
    assert (row["request_created_at"], row["delay_ms"]) == (START_ISO, 1000)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            set_path(BODY, "timing.startTime", "yesterday"),
            "Invalid timing: 'startTime' should be an epoch time or an ISO 8601 time",
            id="not-a-time",
        ),
        pytest.param(
            {**BODY, "provider": 7}, "Invalid provider: expected a name of 1 to 32 characters", id="number"
        ),
        pytest.param(
            {**BODY, "provider": "x" * 33},
            "Invalid provider: expected a name of 1 to 32 characters",
            id="long",
        ),
    ],
)
def test_a_bad_custom_trace_is_400_and_stores_nothing(cast: Cast, body: dict[str, Any], message: str) -> None:
    before = snapshot(cast.alice)
    response = post(cast.alice, body, path=PATHS[0], headers={"Helicone-Request-Id": str(uuid.uuid4())})
    assert (response.status_code, response.json()["error"]) == (400, message)
    assert_nothing_stored(cast.alice, before, response.request.headers["Helicone-Request-Id"])


def test_the_async_log_endpoints_still_refuse_string_times(cast: Cast) -> None:
    response = post(cast.alice, set_path(BODY, "timing.startTime", START_ISO))
    assert response.status_code == 400
