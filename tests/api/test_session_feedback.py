"""POST/DELETE /v1/session/{id}/feedback: the seed endpoint, end to end with the real logging client."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from helicone_helpers import HeliconeManualLogger

from support import (
    Cast,
    Server,
    Tenant,
    everything_of,
    feedback_filter,
    query_body,
    session_headers,
)

FEEDBACK = "Helicone-Session-Feedback"


def _chat(content: str, model: str = "gpt-4o-mini") -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": content}]}


def _completion(text: str, prompt: int, completion: int) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:8]}",
        "object": "chat.completion",
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


def _log_two_sessions_with_the_manual_logger(server: Server, tenant: Tenant) -> tuple[str, str]:
    """Agent session A (3 calls, one streamed) and chat session B (1 call), as a user's app would log them."""
    logger = HeliconeManualLogger(
        api_key=tenant.key,
        headers={"Helicone-Property-App": "support-bot"},
        logging_endpoint=server.base_url,
    )
    agent, chat = f"agent-{uuid.uuid4()}", f"chat-{uuid.uuid4()}"

    def answer(text: str, prompt: int, completion: int) -> Any:
        def operation(recorder: Any) -> str:
            recorder.append_results(_completion(text, prompt, completion))
            return text

        return operation

    common = {"Helicone-User-Id": "user-7", "Helicone-Property-Prompt-Version": "B"}
    logger.log_request(
        provider="openai",
        request=_chat("plan the trip"),
        operation=answer("step 1", 100, 20),
        additional_headers={**session_headers(agent, "/plan", "Trip planner"), **common},
    )
    time.sleep(0.01)
    logger.log_request(
        provider="openai",
        request=_chat("search flights"),
        operation=answer("found 3", 200, 40),
        additional_headers={**session_headers(agent, "/plan/search", "Trip planner"), **common},
    )
    time.sleep(0.01)
    builder = logger.log_builder(
        _chat("summarise") | {"stream": True},
        additional_headers={**session_headers(agent, "/plan/summary", "Trip planner"), **common},
    )
    for piece in ("Your ", "trip"):
        builder.add_chunk(
            {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": piece}}]}
        )
    import asyncio

    asyncio.run(builder.send_log())
    logger.log_request(
        provider="openai",
        request=_chat("hi"),
        operation=answer("hello", 10, 5),
        additional_headers={**session_headers(chat, "/", "Small talk"), "Helicone-User-Id": "user-8"},
    )
    return agent, chat


def _session_row(tenant: Tenant, session_id: str) -> dict[str, Any]:
    rows = tenant.client.post("/v1/session/query", json=query_body(search=session_id)).json()["data"]
    (row,) = [r for r in rows if r["session_id"] == session_id]
    found: dict[str, Any] = row
    return found


def _first_request(tenant: Tenant, session_id: str) -> dict[str, Any]:
    detail = tenant.client.get(f"/v1/session/{session_id}").json()["data"]
    first: dict[str, Any] = detail["requests"][0]
    return first


@pytest.mark.real_server
class TestFeedbackFromTheManualLogger:
    def test_feedback_marks_the_first_request_and_the_last_call_wins(
        self, server: Server, cast: Cast
    ) -> None:
        alice = cast.alice
        agent, chat = _log_two_sessions_with_the_manual_logger(server, alice)

        detail = alice.client.get(f"/v1/session/{agent}").json()["data"]
        assert [r["properties"]["Helicone-Session-Path"] for r in detail["requests"]] == [
            "/plan",
            "/plan/search",
            "/plan/summary",
        ]
        assert detail["session"]["total_requests"] == 3
        assert detail["session"]["prompt_tokens"] == 300  # the stream carried no usage
        assert detail["session"]["user_ids"] == ["user-7"]
        assert detail["requests"][2]["response_body"].count("chat.completion.chunk") == 2

        response = alice.client.post(f"/v1/session/{agent}/feedback", json={"rating": True})
        assert response.status_code == 200
        assert response.json() == {"data": None, "error": None}
        first = _first_request(alice, agent)
        assert first["properties"][FEEDBACK] == "1"
        others = alice.client.get(f"/v1/session/{agent}").json()["data"]["requests"][1:]
        assert all(FEEDBACK not in r["properties"] for r in others)

        assert alice.client.post(f"/v1/session/{agent}/feedback", json={"rating": False}).status_code == 200
        assert (
            alice.client.get(f"/v1/request/{first['request_id']}").json()["data"]["properties"][FEEDBACK]
            == "0"
        )

        negative = alice.client.post("/v1/session/query", json=query_body(filter=feedback_filter("0"))).json()
        assert [row["session_id"] for row in negative["data"]] == [agent]
        row = negative["data"][0]
        assert row["feedback"] is False
        assert row["total_requests"] == 3  # aggregates cover the whole session, not the rated request
        assert row["prompt_tokens"] == 300 and row["completion_tokens"] == 60 and row["total_tokens"] == 360
        assert row["total_cost"] == pytest.approx((300 * 150 + 60 * 600) / 1e9)
        assert row["session_name"] == "Trip planner"
        positive = alice.client.post("/v1/session/query", json=query_body(filter=feedback_filter("1"))).json()
        assert positive["data"] == []
        assert _session_row(alice, chat)["feedback"] is None

    def test_the_second_key_of_an_organization_sees_and_rates_the_same_sessions(
        self, server: Server, cast: Cast
    ) -> None:
        agent, _ = _log_two_sessions_with_the_manual_logger(server, cast.alice)
        response = cast.alice_second_key.client.post(f"/v1/session/{agent}/feedback", json={"rating": True})
        assert response.status_code == 200
        assert _session_row(cast.alice, agent)["feedback"] is True


class TestFeedbackRefusals:
    @pytest.fixture
    def rated_session(self, cast: Cast) -> str:
        session_id = f"s-{uuid.uuid4()}"
        cast.alice.log(headers=session_headers(session_id, "/a", "Refusals"))
        cast.alice.log(headers=session_headers(session_id, "/a/b", "Refusals"))
        assert (
            cast.alice.client.post(f"/v1/session/{session_id}/feedback", json={"rating": True}).status_code
            == 200
        )
        return session_id

    def test_another_organization_gets_404_and_sees_nothing(self, cast: Cast, rated_session: str) -> None:
        before = everything_of(cast.alice)
        response = cast.bob.client.post(f"/v1/session/{rated_session}/feedback", json={"rating": False})
        assert response.status_code == 404
        assert response.json() == {"data": None, "error": "No request found"}
        assert cast.bob.client.get(f"/v1/session/{rated_session}").status_code == 404
        assert cast.bob.client.post("/v1/session/query", json=query_body()).json() == {
            "data": [],
            "error": None,
        }
        for request_id in cast.alice.logged:
            assert cast.bob.client.get(f"/v1/request/{request_id}").status_code == 404
        assert everything_of(cast.alice) == before

    @pytest.mark.parametrize(
        ("headers", "reason"),
        [
            pytest.param({}, "Missing API key", id="no-key"),
            pytest.param(
                {"Authorization": "Bearer sk-hg-not-a-real-key"}, "Invalid API key", id="unknown-key"
            ),
            pytest.param({"Authorization": "Basic abc"}, "Malformed Authorization", id="wrong-scheme"),
        ],
    )
    def test_a_missing_or_wrong_key_gets_401(
        self, cast: Cast, rated_session: str, headers: dict[str, str], reason: str
    ) -> None:
        before = everything_of(cast.alice)
        response = cast.outsider.post(
            f"/v1/session/{rated_session}/feedback", json={"rating": False}, headers=headers
        )
        assert response.status_code == 401
        assert response.json()["data"] is None
        assert response.json()["error"].startswith(reason)
        assert everything_of(cast.alice) == before

    @pytest.mark.parametrize(
        "session_id",
        [
            pytest.param("x" * 257, id="too-long"),
            pytest.param("tab%09here", id="control-character"),
            pytest.param("nul%00byte", id="nul"),
        ],
    )
    def test_a_malformed_session_id_gets_400(self, cast: Cast, rated_session: str, session_id: str) -> None:
        before = everything_of(cast.alice)
        response = cast.alice.client.post(f"/v1/session/{session_id}/feedback", json={"rating": False})
        assert response.status_code == 400
        assert response.json() == {"data": None, "error": "Invalid session ID format"}
        assert everything_of(cast.alice) == before

    @pytest.mark.parametrize(
        "body",
        [
            pytest.param({"rating": "yes"}, id="string"),
            pytest.param({"rating": 1}, id="number"),
            pytest.param({"rating": None}, id="null"),
            pytest.param({}, id="missing"),
            pytest.param({"rating": True, "comment": "great"}, id="unknown-key"),
        ],
    )
    def test_a_rating_that_is_not_a_boolean_gets_422(self, cast: Cast, rated_session: str, body: Any) -> None:
        before = everything_of(cast.alice)
        response = cast.alice.client.post(f"/v1/session/{rated_session}/feedback", json=body)
        assert response.status_code == 422
        assert response.json()["data"] is None
        assert "rating" in response.json()["error"] or "comment" in response.json()["error"]
        assert everything_of(cast.alice) == before

    def test_a_body_that_is_not_json_gets_400(self, cast: Cast, rated_session: str) -> None:
        before = everything_of(cast.alice)
        response = cast.alice.client.post(
            f"/v1/session/{rated_session}/feedback",
            content=b"{rating: tru",
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 400
        assert response.json() == {"data": None, "error": "Invalid JSON body"}
        assert everything_of(cast.alice) == before

    def test_a_session_never_logged_gets_404(self, cast: Cast) -> None:
        response = cast.alice.client.post("/v1/session/never-seen/feedback", json={"rating": True})
        assert response.status_code == 404
        assert response.json()["error"] == "No request found"


class TestFirstRequest:
    def test_two_requests_with_the_same_start_time_break_the_tie_by_smallest_request_id(
        self, cast: Cast
    ) -> None:
        session_id, start = f"tie-{uuid.uuid4()}", 1_700_000_000_000
        ids = sorted(str(uuid.uuid4()) for _ in range(2))
        # Log the larger id first, so arrival order cannot be what decides.
        for request_id in reversed(ids):
            cast.alice.log(
                headers=session_headers(session_id) | {"Helicone-Request-Id": request_id}, start_ms=start
            )
        cast.alice.client.post(f"/v1/session/{session_id}/feedback", json={"rating": True})
        assert cast.alice.client.get(f"/v1/request/{ids[0]}").json()["data"]["properties"][FEEDBACK] == "1"
        assert FEEDBACK not in cast.alice.client.get(f"/v1/request/{ids[1]}").json()["data"]["properties"]

    def test_feedback_lands_on_a_first_request_that_was_logged_last(self, cast: Cast) -> None:
        session_id, start = f"late-{uuid.uuid4()}", 1_700_000_000_000
        cast.alice.log(headers=session_headers(session_id, "/b"), start_ms=start + 5_000)
        cast.alice.log(headers=session_headers(session_id, "/c"), start_ms=start + 9_000)
        late_first = cast.alice.log(headers=session_headers(session_id, "/a"), start_ms=start)
        cast.alice.client.post(f"/v1/session/{session_id}/feedback", json={"rating": False})
        assert (
            cast.alice.client.get(f"/v1/request/{late_first}").json()["data"]["properties"][FEEDBACK] == "0"
        )
        row = _session_row(cast.alice, session_id)
        assert row["created_at"] == "2023-11-14 22:13:20.000"

    def test_feedback_moves_when_an_earlier_request_arrives_after_the_rating(self, cast: Cast) -> None:
        session_id, start = f"move-{uuid.uuid4()}", 1_700_000_000_000
        rated = cast.alice.log(headers=session_headers(session_id), start_ms=start + 1_000)
        cast.alice.client.post(f"/v1/session/{session_id}/feedback", json={"rating": True})
        earlier = cast.alice.log(headers=session_headers(session_id), start_ms=start)
        assert cast.alice.client.get(f"/v1/request/{earlier}").json()["data"]["properties"][FEEDBACK] == "1"
        assert FEEDBACK not in cast.alice.client.get(f"/v1/request/{rated}").json()["data"]["properties"]
        filtered = cast.alice.client.post(
            "/v1/session/query", json=query_body(filter=feedback_filter("1"))
        ).json()
        assert [row["session_id"] for row in filtered["data"]] == [session_id]


class TestClearingFeedback:
    def test_delete_removes_the_property_and_the_session_rating(self, cast: Cast) -> None:
        session_id = f"clear-{uuid.uuid4()}"
        first = cast.alice.log(headers=session_headers(session_id))
        cast.alice.client.post(f"/v1/session/{session_id}/feedback", json={"rating": True})
        response = cast.alice.client.delete(f"/v1/session/{session_id}/feedback")
        assert response.status_code == 200
        assert response.json() == {"data": None, "error": None}
        assert FEEDBACK not in cast.alice.client.get(f"/v1/request/{first}").json()["data"]["properties"]
        assert _session_row(cast.alice, session_id)["feedback"] is None

    def test_another_organization_cannot_clear_it(self, cast: Cast) -> None:
        session_id = f"clear-{uuid.uuid4()}"
        cast.alice.log(headers=session_headers(session_id))
        cast.alice.client.post(f"/v1/session/{session_id}/feedback", json={"rating": True})
        assert cast.bob.client.delete(f"/v1/session/{session_id}/feedback").status_code == 404
        assert _session_row(cast.alice, session_id)["feedback"] is True
