"""A large async-log body is parsed and normalised off the event loop, then committed as usual.

The endpoint runs in-process here (a real SQLite store and ingest pipeline, no HTTP), so that the
CPU time of each step of the event loop can be measured.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from starlette.types import Message

from heliograph.api.ingest_paths import Answer
from heliograph.api.routes.ingest import log_call
from heliograph.cli.keys import create_key
from heliograph.domain.pricing import PriceTable
from heliograph.ingest.pipeline import IngestPipeline
from heliograph.storage import open_store
from support import log_body

SLOW_STEP_S = 0.01  # parsing and normalising this body took some 40 ms in one step of the loop


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
    steps: list[float] = []
    run_step = asyncio.events.Handle._run

    def timed_step(handle: asyncio.Handle) -> None:
        started = time.thread_time()
        run_step(handle)
        steps.append(time.thread_time() - started)

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
            monkeypatch.setattr(asyncio.events.Handle, "_run", timed_step)
            # A task of its own, so that each of its steps is one the loop runs (and measures).
            answers.append(
                await asyncio.create_task(log_call(state, scope, receive, len(raw), provider="OPENAI"))
            )
            monkeypatch.undo()
        finally:
            await pipeline.stop()
            await store.close()

    asyncio.run(log_once())
    answer = answers[0]
    assert answer is not None and answer.body == b"ok"
    assert max(steps) < SLOW_STEP_S, f"a step of the event loop took {max(steps) * 1000:.0f} ms"
