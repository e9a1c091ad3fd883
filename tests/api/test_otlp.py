"""POST /v1/traces, /v1/trace/log-python, /v1/trace/log: OpenTelemetry spans become requests in sessions.

Spans are made by the OpenTelemetry SDK and sent by its own OTLP/HTTP exporter, or encoded by its own
encoder and posted as protobuf or JSON; each stored row is read back through the API and compared
with what the async-log endpoint stores for the same call.
"""

from __future__ import annotations

import base64
import gzip
import json
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan

from ingest_support import (
    MAX_BODY_BYTES,
    START_MS,
    assert_nothing_stored,
    log,
    snapshot,
    stored_row,
    stored_row_count,
)
from otlp_support import SpanMaker, encoded, export_with_sdk, post_spans, read_answer, request_id_of
from support import Cast, Server, new_tenant, query_body, start_server, stop_server, timing

CAPTURED = Path(__file__).parents[1] / "fixtures" / "captured" / "async_logger.json"
ENCODINGS = [pytest.param("protobuf", id="protobuf"), pytest.param("json", id="json")]
PATHS = ["/v1/traces", "/v1/trace/log-python", "/v1/trace/log"]
USER, TEAM = "user-7", "search"
PROMPT, CACHED, COMPLETION = 12, 4, 5
END_MS = START_MS + 1250
MESSAGES_IN = [{"role": "user", "content": "Say hello"}]


def convention_attributes(convention: str, session_id: str) -> dict[str, Any]:
    """One gpt-4o-mini call (12 prompt tokens of which 4 cached, 5 completion) in a convention's words."""
    if convention == "traceloop":
        association = "traceloop.association.properties."
        return {
            "llm.request.type": "chat",
            "gen_ai.system": "OpenAI",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
            "gen_ai.usage.prompt_tokens": PROMPT,
            "gen_ai.usage.completion_tokens": COMPLETION,
            "gen_ai.usage.cache_read_input_tokens": CACHED,
            "gen_ai.prompt.0.role": "user",
            "gen_ai.prompt.0.content": "Say hello",
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.content": "Hello!",
            f"{association}Helicone-Session-Id": session_id,
            f"{association}Helicone-User-Id": USER,
            f"{association}Helicone-Property-Team": TEAM,
        }
    if convention == "openinference":
        return {
            "openinference.span.kind": "LLM",
            "llm.provider": "openai",
            "llm.model_name": "gpt-4o-mini",
            "llm.token_count.prompt": PROMPT,
            "llm.token_count.completion": COMPLETION,
            "llm.token_count.prompt_details.cache_read": CACHED,
            "llm.input_messages.0.message.role": "user",
            "llm.input_messages.0.message.content": "Say hello",
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.content": "Hello!",
            "session.id": session_id,
            "user.id": USER,
            "metadata": json.dumps({"Team": TEAM}),
        }
    if convention == "genai":
        return {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
            "gen_ai.usage.input_tokens": PROMPT,
            "gen_ai.usage.output_tokens": COMPLETION,
            "gen_ai.usage.cache_read.input_tokens": CACHED,
            "gen_ai.input.messages": json.dumps(
                [{"role": "user", "parts": [{"type": "text", "content": "Say hello"}]}]
            ),
            "gen_ai.output.messages": json.dumps(
                [{"role": "assistant", "parts": [{"type": "text", "content": "Hello!"}]}]
            ),
            "gen_ai.conversation.id": session_id,
            "user.id": USER,
            "helicone.ignored": "not a property",
        }
    assert convention == "langfuse"
    return {
        "langfuse.observation.type": "generation",
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.usage.input_tokens": PROMPT,
        "gen_ai.usage.output_tokens": COMPLETION,
        "gen_ai.usage.cache_read_input_tokens": CACHED,
        "langfuse.observation.input": json.dumps(MESSAGES_IN),
        "langfuse.observation.output": json.dumps({"role": "assistant", "content": "Hello!"}),
        "langfuse.session.id": session_id,
        "langfuse.user.id": USER,
        "langfuse.trace.metadata.Team": TEAM,
    }


CONVENTIONS = ["traceloop", "openinference", "genai", "langfuse"]
# The fields of a request row that say what the call was, whichever way it was logged.
CALL_FIELDS = (
    "provider",
    "model",
    "request_model",
    "response_status",
    "request_user_id",
    "request_created_at",
    "response_created_at",
    "delay_ms",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "prompt_cache_read_tokens",
    "prompt_cache_write_tokens",
    "cost",
    "cost_unknown",
)


def _async_logged_twin(cast: Cast, session_id: str) -> dict[str, Any]:
    """The same call through /oai/v1/log, as its stored row."""
    body = {
        "providerRequest": {
            "url": "https://api.openai.com/v1/chat/completions",
            "json": {"model": "gpt-4o-mini", "messages": MESSAGES_IN},
            "meta": {},
        },
        "providerResponse": {
            "status": 200,
            "headers": {},
            "json": {
                "model": "gpt-4o-mini-2024-07-18",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello!"}}],
                "usage": {
                    "prompt_tokens": PROMPT,
                    "completion_tokens": COMPLETION,
                    "prompt_tokens_details": {"cached_tokens": CACHED},
                },
            },
        },
        "timing": timing(START_MS, END_MS),
    }
    headers = {
        "Helicone-Session-Id": session_id,
        "Helicone-User-Id": USER,
        "Helicone-Property-Team": TEAM,
    }
    return stored_row(cast.alice, log(cast.alice, body, headers=headers))


def _session_row(cast: Cast, session_id: str) -> dict[str, Any]:
    rows = cast.alice.client.post("/v1/session/query", json=query_body(search=session_id)).json()["data"]
    assert len(rows) == 1, rows
    row: dict[str, Any] = rows[0]
    return {key: value for key, value in row.items() if key != "session_id"}


class TestConventions:
    @pytest.mark.parametrize("encoding", ENCODINGS)
    def test_the_same_call_in_each_convention_is_stored_as_the_async_log_stores_it(
        self, cast: Cast, encoding: str
    ) -> None:
        twin_session = f"twin-{uuid.uuid4()}"
        twin = _async_logged_twin(cast, twin_session)
        expected_session = _session_row(cast, twin_session)
        for convention in CONVENTIONS:
            session_id = f"{convention}-{uuid.uuid4()}"
            maker = SpanMaker()
            maker.span(
                "chat gpt-4o-mini",
                convention_attributes(convention, session_id),
                start_ms=START_MS,
                end_ms=END_MS,
            )
            (span,) = maker.finished()
            assert read_answer(post_spans(cast.alice.client, [span], encoding=encoding)) == (0, "")
            row = stored_row(cast.alice, request_id_of(span))
            assert {key: row[key] for key in CALL_FIELDS} == {key: twin[key] for key in CALL_FIELDS}, (
                convention
            )
            properties = {"Helicone-Session-Id": session_id, "Helicone-Session-Path": "/"}
            if convention != "genai":  # the GenAI conventions have no custom properties
                properties["team"] = TEAM
            assert row["properties"] == properties, convention
            assert row["request_body"]["messages"] == MESSAGES_IN, convention
            assert row["response_body"]["choices"][0]["message"] == {"role": "assistant", "content": "Hello!"}
            assert _session_row(cast, session_id) == expected_session, convention

    @pytest.mark.parametrize(
        ("convention", "event"),
        [
            pytest.param("traceloop", "llm.content.completion.chunk", id="traceloop"),
            pytest.param("openinference", "First Token Stream Event", id="openinference"),
            pytest.param("genai", "gen_ai.content.completion.chunk", id="genai"),
        ],
    )
    def test_a_first_token_event_gives_the_time_to_first_token_and_an_error_status_is_500(
        self, cast: Cast, convention: str, event: str
    ) -> None:
        maker = SpanMaker()
        attributes = convention_attributes(convention, f"ttft-{uuid.uuid4()}")
        events = [(event, START_MS + 300), (event, START_MS + 400)]
        maker.span("chat", attributes, start_ms=START_MS, end_ms=END_MS, events=events, failed=True)
        (span,) = maker.finished()
        assert read_answer(post_spans(cast.alice.client, [span])) == (0, "")
        row = stored_row(cast.alice, request_id_of(span))
        assert (row["time_to_first_token"], row["response_status"]) == (300, 500)

    @pytest.mark.real_server
    def test_the_sdk_exporter_s_spans_are_stored_at_every_path(self, cast: Cast) -> None:
        for path in PATHS:
            maker = SpanMaker()
            session_id = f"sdk-{uuid.uuid4()}"
            maker.span(
                "openai.chat",
                convention_attributes("traceloop", session_id),
                start_ms=START_MS,
                end_ms=END_MS,
            )
            assert export_with_sdk(cast.alice.server.base_url, cast.alice.key, maker.finished(), path)
            (span,) = maker.finished()
            assert (
                stored_row(cast.alice, request_id_of(span))["properties"]["Helicone-Session-Id"] == session_id
            )

    def test_helicone_async_s_captured_export_is_stored_with_its_session(self, cast: Cast) -> None:
        capture = next(
            c for c in json.loads(CAPTURED.read_text())["captures"] if c["path"] == "/v1/trace/log-python"
        )
        response = cast.alice.client.post(
            "/v1/trace/log-python",
            content=base64.b64decode(capture["body_base64"]),
            headers={"Content-Type": "application/x-protobuf"},
        )
        assert read_answer(response) == (0, "")
        session = cast.alice.client.get("/v1/session/3f2c1d3e-1111-4222-8333-444455556666").json()["data"]
        (request,) = session["requests"]
        row = stored_row(cast.alice, request["request_id"])
        assert (row["model"], row["provider"], row["prompt_tokens"], row["completion_tokens"]) == (
            "gpt-4o-mini",
            "OPENAI",
            12,
            5,
        )
        assert row["properties"]["env"] == "test"
        assert row["cost"] == pytest.approx(12 * 0.15e-6 + 5 * 0.6e-6)

    @pytest.mark.parametrize("encoding", ENCODINGS)
    def test_a_gzip_body_and_helicone_auth_are_accepted(self, cast: Cast, encoding: str) -> None:
        maker = SpanMaker()
        maker.span(
            "chat", convention_attributes("genai", f"gz-{uuid.uuid4()}"), start_ms=START_MS, end_ms=END_MS
        )
        (span,) = maker.finished()
        response = post_spans(
            cast.outsider,
            [span],
            encoding=encoding,
            compress=True,
            headers={"Helicone-Auth": f"Bearer {cast.alice.key}"},
        )
        assert read_answer(response) == (0, "")
        assert stored_row(cast.alice, request_id_of(span))["prompt_tokens"] == PROMPT

    def test_otlp_json_with_hex_ids_is_read_as_the_specification_writes_it(self, cast: Cast) -> None:
        maker = SpanMaker()
        maker.span(
            "agent",
            {"openinference.span.kind": "AGENT", "session.id": f"hex-{uuid.uuid4()}"},
            start_ms=START_MS,
            end_ms=END_MS,
        )
        chat = {k: v for k, v in convention_attributes("genai", "").items() if k != "gen_ai.conversation.id"}
        maker.span("chat", chat, start_ms=START_MS, end_ms=END_MS, parent="agent")
        spans = maker.finished()
        document = json.loads(encoded(spans, "json"))
        for span in document["resourceSpans"][0]["scopeSpans"][0]["spans"]:
            for key in ("traceId", "spanId", "parentSpanId"):
                if key in span:
                    span[key] = base64.b64decode(span[key]).hex()
        response = cast.alice.client.post("/v1/traces", json=document)
        assert read_answer(response) == (0, "")
        stored = stored_row(cast.alice, request_id_of(spans[1]))
        assert stored["properties"]["Helicone-Session-Id"].startswith("hex-")
        assert stored["properties"]["Helicone-Session-Path"] == "/agent"


class TestSessions:
    def test_an_agent_trace_with_only_a_session_id_forms_the_path_tree_from_span_names(
        self, cast: Cast
    ) -> None:
        session_id = f"agent-{uuid.uuid4()}"
        maker = SpanMaker()
        maker.span(
            "trip-agent",
            {"openinference.span.kind": "AGENT", "session.id": session_id, "input.value": "Plan a trip"},
            start_ms=START_MS,
            end_ms=START_MS + 900,
        )
        maker.span(
            "search-flights",
            {"openinference.span.kind": "TOOL", "input.value": '{"to": "Lisbon"}'},
            start_ms=START_MS + 100,
            end_ms=START_MS + 800,
            parent="trip-agent",
        )
        llm = {
            key: value
            for key, value in convention_attributes("openinference", "unused").items()
            if key not in ("session.id", "user.id", "metadata")
        }
        maker.span(
            "ChatCompletion", llm, start_ms=START_MS + 200, end_ms=START_MS + 700, parent="search-flights"
        )
        maker.span(
            "GET /flights",
            {"http.request.method": "GET"},
            start_ms=START_MS + 300,
            end_ms=START_MS + 400,
            parent="search-flights",
        )
        spans = maker.finished()
        assert read_answer(post_spans(cast.alice.client, spans)) == (
            1,
            "1 span(s) not stored: 1 not an LLM, tool, retriever, agent or chain span",
        )
        data = cast.alice.client.get(f"/v1/session/{session_id}").json()["data"]
        ids = {span.name: request_id_of(span) for span in spans}

        def shape(node: dict[str, Any]) -> Any:
            return (node["path"], node["request_ids"], [shape(child) for child in node["children"]])

        assert shape(data["tree"]) == (
            "/",
            [ids["trip-agent"]],
            [
                (
                    "/trip-agent",
                    [ids["search-flights"]],
                    [("/trip-agent/search-flights", [ids["ChatCompletion"]], [])],
                )
            ],
        )
        tool = stored_row(cast.alice, ids["search-flights"])
        assert (tool["provider"], tool["total_tokens"], tool["cost"], tool["model"]) == (
            "CUSTOM",
            0,
            0,
            "unknown",
        )
        assert tool["request_body"] == {"name": "search-flights", "kind": "TOOL", "input": {"to": "Lisbon"}}
        assert stored_row(cast.alice, ids["ChatCompletion"])["prompt_tokens"] == PROMPT
        assert data["session"]["total_requests"] == 3

    @pytest.mark.real_server
    def test_an_exporter_s_retry_is_stored_once(self, cast: Cast) -> None:
        maker = SpanMaker()
        maker.span(
            "chat",
            convention_attributes("langfuse", f"retry-{uuid.uuid4()}"),
            start_ms=START_MS,
            end_ms=END_MS,
        )
        before = stored_row_count(cast.alice)
        for _ in range(2):
            assert export_with_sdk(cast.alice.server.base_url, cast.alice.key, maker.finished())
        assert stored_row_count(cast.alice) == before + 1

    @pytest.mark.real_server
    def test_session_feedback_works_on_a_session_built_from_spans(self, cast: Cast) -> None:
        session_id = f"rated-{uuid.uuid4()}"
        maker = SpanMaker()
        maker.span(
            "chat", convention_attributes("openinference", session_id), start_ms=START_MS, end_ms=END_MS
        )
        assert export_with_sdk(cast.alice.server.base_url, cast.alice.key, maker.finished())
        response = cast.alice.client.post(f"/v1/session/{session_id}/feedback", json={"rating": True})
        assert response.json() == {"data": None, "error": None}
        assert _session_row(cast, session_id)["feedback"] is True


def _one_llm_span(session_id: str) -> list[ReadableSpan]:
    maker = SpanMaker()
    maker.span("chat", convention_attributes("traceloop", session_id), start_ms=START_MS, end_ms=END_MS)
    return maker.finished()


def _gzip_bomb(inflated_bytes: int) -> bytes:
    """A gzip stream of `inflated_bytes` zeros, written in pieces (a few KB on the wire per 1 MB)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    piece = bytes(1024 * 1024)
    parts = [compressor.compress(piece) for _ in range(inflated_bytes // len(piece))]
    return b"".join([*parts, compressor.flush()])


def _hostile(spans: list[ReadableSpan]) -> dict[str, tuple[bytes, dict[str, str], int]]:
    """Bodies (with headers) that must be refused, and the status each gets."""
    protobuf = {"Content-Type": "application/x-protobuf"}
    as_json = {"Content-Type": "application/json"}
    maker = SpanMaker()
    for n in range(10_000):
        maker.span(f"s{n}", {"openinference.span.kind": "TOOL"}, start_ms=START_MS, end_ms=END_MS)
    return {
        "truncated-protobuf": (encoded(spans, "protobuf")[:-7], protobuf, 400),
        "protobuf-sent-as-json": (encoded(spans, "protobuf"), as_json, 400),
        "json-array": (b"[1, 2]", as_json, 400),
        "json-resource-spans-not-a-list": (b'{"resourceSpans": "x"}', as_json, 400),
        "json-span-id-a-number": (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": 5}]}]}]}',
            as_json,
            400,
        ),
        "json-nested-too-deep": (b"[" * 100_000 + b"]" * 100_000, as_json, 400),
        "10000-spans": (encoded(maker.finished(), "protobuf"), protobuf, 413),
        "text-plain": (encoded(spans, "json"), {"Content-Type": "text/plain"}, 415),
        "no-content-type": (encoded(spans, "protobuf"), {}, 415),
        "brotli": (encoded(spans, "protobuf"), {**protobuf, "Content-Encoding": "br"}, 415),
        "gzip-truncated": (
            gzip.compress(encoded(spans, "protobuf"))[:-12],
            {**protobuf, "Content-Encoding": "gzip"},
            400,
        ),
        "gzip-bomb": (
            _gzip_bomb(MAX_BODY_BYTES + 1024 * 1024),
            {**protobuf, "Content-Encoding": "gzip"},
            413,
        ),
        "over-the-limit": (bytes(MAX_BODY_BYTES + 1), protobuf, 413),
    }


class TestHostileInput:
    def test_each_hostile_body_is_refused_cleanly_and_changes_nothing(self, cast: Cast) -> None:
        spans = _one_llm_span(f"hostile-{uuid.uuid4()}")
        before = snapshot(cast.alice)
        for case, (body, headers, status) in _hostile(spans).items():
            response = cast.alice.client.post("/v1/traces", content=body, headers=headers)
            assert response.status_code == status, (case, response.text)
            assert response.json()["error"], case
        assert_nothing_stored(cast.alice, before, request_id_of(spans[0]))

    @pytest.mark.parametrize(
        "headers",
        [
            pytest.param({}, id="no-key"),
            pytest.param({"Authorization": "Bearer sk-wrong"}, id="wrong-bearer"),
            pytest.param({"Helicone-Auth": "Bearer sk-wrong"}, id="wrong-helicone-auth"),
            pytest.param({"Authorization": "Basic abc"}, id="not-bearer"),
        ],
    )
    def test_a_missing_or_wrong_key_is_401(self, cast: Cast, headers: dict[str, str]) -> None:
        spans = _one_llm_span(f"key-{uuid.uuid4()}")
        before = snapshot(cast.alice)
        response = post_spans(cast.outsider, spans, headers=headers)
        assert response.status_code == 401, response.text
        assert_nothing_stored(cast.alice, before, request_id_of(spans[0]))

    def test_other_methods_are_405(self, cast: Cast) -> None:
        response = cast.alice.client.get("/v1/traces")
        assert (response.status_code, response.headers["allow"]) == (405, "POST")


@pytest.fixture
def small_server(tmp_path: Path) -> Iterator[Server]:
    """SQLite server whose ingest queue holds 4 records."""
    server = start_server(
        f"sqlite:///{tmp_path / 'small.db'}",
        tmp_path / "server.log",
        env={"HELIOGRAPH_INGEST_QUEUE_SIZE": "4"},
    )
    yield server
    stop_server(server)


def test_an_export_the_queue_cannot_take_whole_answers_503_with_retry_after(small_server: Server) -> None:
    tenant = new_tenant(small_server, "otlp-small")
    maker = SpanMaker()
    for n in range(5):
        maker.span(f"chat-{n}", convention_attributes("genai", "full"), start_ms=START_MS, end_ms=END_MS)
    response = post_spans(tenant.client, maker.finished())
    assert (response.status_code, response.headers["retry-after"]) == (503, "1"), response.text
    assert stored_row_count(tenant) == 0
    assert read_answer(post_spans(tenant.client, maker.finished()[:4])) == (0, "")
    assert stored_row_count(tenant) == 4
    tenant.client.close()
