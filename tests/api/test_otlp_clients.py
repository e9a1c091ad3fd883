"""Real tracing clients export to Heliograph: helicone-async (from a venv of its own) and
OpenInference's OpenAI instrumentation (through the SDK's OTLP exporter), each around a real `openai`
call to the fake upstream; the call is found again in its session, ready for feedback.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import openai
import pytest
from openinference.instrumentation import using_metadata, using_session, using_user
from openinference.instrumentation.openai import OpenAIInstrumentor
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from client_venv import client_venv
from heliograph.testing.fake_upstream import COMPLETION_TOKENS, PROMPT_TOKENS, WORDS
from ingest_support import stored_row
from support import Cast

HELICONE_ASYNC = ["-r", str(Path(__file__).parents[1] / "clients" / "helicone-async-1.1.1.txt")]
CLIENT_SCRIPT = Path(__file__).parents[1] / "clients" / "helicone_async_call.py"
GPT_COST_USD = (PROMPT_TOKENS * 150 + COMPLETION_TOKENS * 600) / 1e9
TEXT = "".join(WORDS)


@pytest.fixture(scope="session")
def helicone_async_python() -> Path:
    return client_venv("helicone-async-1.1.1", HELICONE_ASYNC)


def test_helicone_async_s_spans_become_a_session_that_takes_feedback(
    cast: Cast, fake_upstream: str, helicone_async_python: Path
) -> None:
    session_id = f"helicone-async-{uuid.uuid4()}"
    run = subprocess.run(
        [
            str(helicone_async_python),
            str(CLIENT_SCRIPT),
            cast.alice.server.base_url,
            cast.alice.key,
            fake_upstream,
            session_id,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    data = cast.alice.client.get(f"/v1/session/{session_id}").json()["data"]
    assert data is not None, run.stderr[-3000:]
    (request,) = data["requests"]
    row = stored_row(cast.alice, request["request_id"])
    assert {
        key: row[key]
        for key in ("provider", "model", "request_user_id", "prompt_tokens", "completion_tokens")
    } == {
        "provider": "OPENAI",
        "model": "gpt-4o-mini",
        "request_user_id": "user-7",
        "prompt_tokens": PROMPT_TOKENS,
        "completion_tokens": COMPLETION_TOKENS,
    }
    assert row["cost"] == pytest.approx(GPT_COST_USD)
    assert row["properties"] == {
        "Helicone-Session-Id": session_id,
        "Helicone-Session-Path": "/plan/search",
        "Helicone-Session-Name": "Trip planner",
        "prompt-version": "B",
    }
    assert row["request_body"]["messages"] == [{"role": "user", "content": "Plan a trip"}]
    assert data["tree"]["children"][0]["children"][0]["path"] == "/plan/search"
    assert data["session"]["session_name"] == "Trip planner"
    response = cast.alice.client.post(f"/v1/session/{session_id}/feedback", json={"rating": True})
    assert response.json() == {"data": None, "error": None}
    assert cast.alice.client.get(f"/v1/session/{session_id}").json()["data"]["session"]["feedback"] is True


def test_openinference_s_openai_instrumentation_exports_a_session_through_the_sdk_exporter(
    cast: Cast, fake_upstream: str
) -> None:
    session_id = f"openinference-{uuid.uuid4()}"
    provider = TracerProvider()
    exporter = OTLPSpanExporter(
        endpoint=f"{cast.alice.server.base_url}/v1/traces",
        headers={"Authorization": f"Bearer {cast.alice.key}"},
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        client = openai.OpenAI(base_url=f"{fake_upstream}/v1", api_key="sk-upstream-fake", max_retries=0)
        with using_session(session_id), using_user("user-7"), using_metadata({"Prompt-Version": "B"}):
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "Plan a trip"}]
            )
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
    data = cast.alice.client.get(f"/v1/session/{session_id}").json()["data"]
    assert data is not None
    (request,) = data["requests"]
    row = stored_row(cast.alice, request["request_id"])
    assert {
        key: row[key]
        for key in ("provider", "model", "request_user_id", "prompt_tokens", "completion_tokens")
    } == {
        "provider": "OPENAI",
        "model": "gpt-4o-mini",
        "request_user_id": "user-7",
        "prompt_tokens": PROMPT_TOKENS,
        "completion_tokens": COMPLETION_TOKENS,
    }
    assert row["cost"] == pytest.approx(GPT_COST_USD)
    assert row["properties"] == {
        "Helicone-Session-Id": session_id,
        "Helicone-Session-Path": "/",
        "prompt-version": "B",
    }
    assert row["request_body"]["messages"] == [{"role": "user", "content": "Plan a trip"}]
    assert row["response_body"]["choices"][0]["message"]["content"] == TEXT
