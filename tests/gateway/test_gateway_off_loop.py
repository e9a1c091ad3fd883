"""A large call through the gateway is parsed, and logged, off the event loop.

The gateway runs in-process here (a real SQLite store and ingest pipeline, the fake upstream on
loopback), so that the threads that parse the call's body and build its record can be seen.
"""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest
from starlette.types import Message

from gateway.gateway_support import chat_body
from heliograph.cli.keys import create_key
from heliograph.domain.pricing import PriceTable
from heliograph.gateway import proxy
from heliograph.gateway.proxy import Gateway
from heliograph.gateway.upstream import Upstreams, create_upstream_client
from heliograph.ingest.pipeline import IngestPipeline
from heliograph.netguard import AddressPolicy
from heliograph.storage import open_store
from off_loop import threads_running


def test_a_large_call_is_parsed_and_logged_without_holding_the_event_loop(
    fake_upstream: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'heliograph.db'}"
    body = chat_body("big")
    body["messages"] += [{"role": "user", "content": f"line {i} " + "x" * 60} for i in range(80_000)]
    raw = json.dumps(body).encode()
    sent: list[Message] = []
    # Parsing this body and building its record took some 50 ms in one step of the loop.
    parsing = threads_running(monkeypatch, proxy, "_json_or_none")
    building = threads_running(monkeypatch, Gateway, "_records")
    loop_threads: list[threading.Thread] = []

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
            loop_threads.append(threading.current_thread())
            await gateway.forward(
                scope,
                receive,
                send,
                route=gateway.upstreams.openai("chat/completions", ""),
                org_id=org_id,
                headers=headers,
                body=raw,
            )
            await gateway.close()  # writes the log record
            return pipeline.committed
        finally:
            await pipeline.stop()
            await store.close()

    assert asyncio.run(call_once()) == 1
    assert sent[0]["status"] == 200
    assert parsing and building and loop_threads[0] not in parsing + building
