"""A large JSON body is parsed off the event loop (the key check and the 413 are tested over HTTP in
tests/reliability/test_overload.py)."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from starlette.types import Message

from heliograph.api.routing import OFF_LOOP_JSON_BYTES, JsonRequest

SLOW_STEP_S = 0.01  # json.loads of this body takes some 40 ms of one step on the loop


def test_a_large_json_body_is_parsed_without_holding_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    document = {"filter": "all", "search": "", "rows": [{"id": i, "text": "x" * 40} for i in range(60_000)]}
    body = json.dumps(document).encode()
    assert len(body) > 50 * OFF_LOOP_JSON_BYTES
    steps: list[float] = []
    run_step = asyncio.events.Handle._run

    def timed_step(handle: asyncio.Handle) -> None:
        started = time.thread_time()
        run_step(handle)
        steps.append(time.thread_time() - started)

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def parse() -> object:
        request = JsonRequest({"type": "http", "method": "POST", "headers": []}, receive)
        monkeypatch.setattr(asyncio.events.Handle, "_run", timed_step)
        try:  # a task of its own, so that every step of it is one the loop runs (and measures)
            return await asyncio.create_task(request.json())
        finally:
            monkeypatch.undo()

    assert asyncio.run(parse()) == document
    assert max(steps) < SLOW_STEP_S, f"a step of the event loop took {max(steps) * 1000:.0f} ms"
