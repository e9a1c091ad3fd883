"""A large JSON body is parsed off the event loop (the key check and the 413 are tested over HTTP in
tests/reliability/test_overload.py)."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from starlette.types import Message

from heliograph.api.routing import OFF_LOOP_JSON_BYTES, JsonRequest
from off_loop import threads_running


def test_a_large_json_body_is_parsed_without_holding_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    document = {"filter": "all", "search": "", "rows": [{"id": i, "text": "x" * 40} for i in range(60_000)]}
    body = json.dumps(document).encode()
    assert len(body) > 50 * OFF_LOOP_JSON_BYTES  # json.loads of it takes some 40 ms
    parsing = threads_running(monkeypatch, json, "loads", when=lambda text, *_, **__: len(text) == len(body))

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    loop_threads: list[threading.Thread] = []

    async def parse() -> object:
        loop_threads.append(threading.current_thread())
        request = JsonRequest({"type": "http", "method": "POST", "headers": []}, receive)
        return await request.json()

    assert asyncio.run(parse()) == document
    assert parsing and loop_threads[0] not in parsing
