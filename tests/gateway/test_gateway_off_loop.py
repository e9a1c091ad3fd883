"""A large call through the gateway is parsed, and logged, off the event loop.

The gateway runs in-process here (a real SQLite store and ingest pipeline, the fake upstream on
loopback), so that the CPU time of each step of this thread's event loop can be measured; the fake
upstream runs its own loop in another thread, which is not counted.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import pytest
from starlette.types import Message

from gateway.gateway_support import chat_body
from heliograph.cli.keys import create_key
from heliograph.domain.pricing import PriceTable
from heliograph.gateway.proxy import Gateway
from heliograph.gateway.upstream import Upstreams, create_upstream_client
from heliograph.ingest.pipeline import IngestPipeline
from heliograph.netguard import AddressPolicy
from heliograph.storage import open_store

SLOW_STEP_S = 0.01  # parsing this body and building its record took some 50 ms in one step


def test_a_large_call_is_parsed_and_logged_without_holding_the_event_loop(
    fake_upstream: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'heliograph.db'}"
    body = chat_body("big")
    body["messages"] += [{"role": "user", "content": f"line {i} " + "x" * 60} for i in range(80_000)]
    raw = json.dumps(body).encode()
    sent: list[Message] = []
    steps: list[float] = []
    run_step = asyncio.events.Handle._run
    here = threading.current_thread()

    def timed_step(handle: asyncio.Handle) -> None:
        started = time.thread_time()
        run_step(handle)
        if threading.current_thread() is here:  # not the fake upstream's loop
            steps.append(time.thread_time() - started)

    async def receive() -> Message:
        await asyncio.Event().wait()  # the caller stays connected
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    async def call_once() -> int:
        await create_key(url, org="big", name="test")
        store = open_store(url)
        org_id = await store.ensure_org(name="big")
        pipeline = IngestPipeline(store, queue_size=10, batch_size=10)
        pipeline.start()
        gateway = Gateway(
            client=create_upstream_client(connect_timeout=5, read_timeout=30),
            target_client=create_upstream_client(connect_timeout=5, read_timeout=30, policy=AddressPolicy()),
            upstreams=Upstreams(f"{fake_upstream}/v1", fake_upstream),
            pipeline=pipeline,
            prices=PriceTable.load_default(),
            max_capture_bytes=10 * 1024 * 1024,
        )
        scope = {"type": "http", "method": "POST", "path": "/openai/v1/chat/completions", "query_string": b""}
        headers = [("content-type", "application/json"), ("authorization", "Bearer sk-upstream")]
        try:
            monkeypatch.setattr(asyncio.events.Handle, "_run", timed_step)
            # A task of its own, so that each of its steps is one the loop runs (and measures).
            await asyncio.create_task(
                gateway.forward(
                    scope,
                    receive,
                    send,
                    route=gateway.upstreams.openai("chat/completions", ""),
                    org_id=org_id,
                    headers=headers,
                    body=raw,
                )
            )
            await asyncio.create_task(gateway.close())  # writes the log record
            monkeypatch.undo()
            return pipeline.committed
        finally:
            await pipeline.stop()
            await store.close()

    assert asyncio.run(call_once()) == 1
    assert sent[0]["status"] == 200
    assert max(steps) < SLOW_STEP_S, f"a step of the event loop took {max(steps) * 1000:.0f} ms"
