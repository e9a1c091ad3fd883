"""The in-process tier of `make test-fast`: the app through httpx's ASGI transport, on SQLite.

The server-level suites are written against a `Server` and synchronous httpx clients. Here the same
`create_app` runs its lifespan on an event loop in a background thread, and `LoopTransport` hands each
request of a synchronous client to `httpx.ASGITransport` on that loop. No process starts and no port
opens, so the suites run in a fraction of the time; `make test` still runs them against a real server.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx

from heliograph.app import create_app
from heliograph.config import Settings
from support import ADMIN_TOKEN, Server

__all__ = ["IN_PROCESS_BASE_URL", "LoopTransport", "serve_in_process"]

IN_PROCESS_BASE_URL = "http://127.0.0.1:8585"  # only a name: no socket is opened
_LIFESPAN_SECONDS = 60


class LoopTransport(httpx.BaseTransport):
    """A synchronous transport that runs each request through the ASGI app on `loop`."""

    def __init__(self, inner: httpx.ASGITransport, loop: asyncio.AbstractEventLoop) -> None:
        self._inner = inner
        self._loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def call() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            forwarded = httpx.Request(request.method, request.url, headers=request.headers, content=body)
            response = await self._inner.handle_async_request(forwarded)
            content = b"".join([chunk async for chunk in response.aiter_raw()])
            return response.status_code, response.headers.raw, content

        status, headers, content = asyncio.run_coroutine_threadsafe(call(), self._loop).result()
        return httpx.Response(status, headers=headers, content=content, request=request)


@contextlib.contextmanager
def serve_in_process(database_url: str, log_path: Path, *, fake_upstream: str) -> Iterator[Server]:
    """The app on `database_url`, its lifespan running, as a `Server` whose clients reach it in process."""
    settings = Settings(
        database_url=database_url,
        admin_token=ADMIN_TOKEN,
        openai_base_url=f"{fake_upstream}/v1",
        anthropic_base_url=fake_upstream,
        gateway_allowed_hosts="127.0.0.1",
        webhook_allowed_hosts="127.0.0.1",  # webhooks go nowhere else, and no name is resolved
    )
    app = create_app(settings)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="in-process-app", daemon=True)
    thread.start()
    lifespan = app.router.lifespan_context(app)
    asyncio.run_coroutine_threadsafe(lifespan.__aenter__(), loop).result(_LIFESPAN_SECONDS)
    transport = LoopTransport(httpx.ASGITransport(app=app, client=("127.0.0.1", 40000)), loop)
    try:
        yield Server(IN_PROCESS_BASE_URL, database_url, log_path, process=None, transport=transport)
    finally:
        asyncio.run_coroutine_threadsafe(lifespan.__aexit__(None, None, None), loop).result(_LIFESPAN_SECONDS)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
