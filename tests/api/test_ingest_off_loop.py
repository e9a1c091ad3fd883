"""A large async-log body is parsed and normalised off the event loop, then committed as usual.

The endpoint runs in-process here (a real SQLite store and ingest pipeline, no HTTP), so that the
thread that parses the body can be seen.
"""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from starlette.types import Message

from heliograph.api.ingest_paths import Answer
from heliograph.api.routes import ingest as ingest_routes
from heliograph.api.routes.ingest import log_call
from heliograph.cli.keys import create_key
from heliograph.domain.pricing import PriceTable
from heliograph.ingest.pipeline import IngestPipeline
from heliograph.storage import open_store
from off_loop import threads_running
from support import log_body


def test_a_large_log_body_is_parsed_without_holding_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'heliograph.db'}"
    body = log_body()
    body["providerRequest"]["json"]["messages"] = [
        {"role": "user", "content": f"line {i} " + "x" * 60} for i in range(80_000)
    ]
    raw = json.dumps(body).encode()
    answers: list[Answer | None] = []
    # Parsing and normalising this body took some 40 ms in one step of the loop.
    parsing = threads_running(monkeypatch, ingest_routes, "parse_async_log")
    loop_threads: list[threading.Thread] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": raw, "more_body": False}

    async def log_once() -> None:
        key = await create_key(url, org="big", name="test")
        store = open_store(url)
        pipeline = IngestPipeline(store, queue_size=10, batch_size=10)
        pipeline.start()
        state = SimpleNamespace(store=store, pipeline=pipeline, prices=PriceTable.load_default())
        scope = {
            "type": "http",
            "method": "POST",
            "path": "/oai/v1/log",
            "headers": [(b"authorization", f"Bearer {key}".encode())],
        }
        try:
            loop_threads.append(threading.current_thread())
            answers.append(await log_call(state, scope, receive, len(raw), provider="OPENAI"))
        finally:
            await pipeline.stop()
            await store.close()

    asyncio.run(log_once())
    answer = answers[0]
    assert answer is not None and answer.body == b"ok"
    assert parsing and loop_threads[0] not in parsing
