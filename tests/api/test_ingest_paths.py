"""The ingestion paths are answered ahead of FastAPI and its middleware (api/ingest_paths.py), in the
order the middleware layers used to apply: a declared size over the limit first, then the method, then
the key; an unexpected fault is a plain 500, raised again for the server's log."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.types import Message, Receive, Scope

from heliograph.api.ingest_paths import Answer, IngestingApp
from heliograph.api.routes.ingest import ASYNC_LOG_ENDPOINTS
from heliograph.api.routes.otlp import OTLP_PATHS
from ingest_support import MAX_BODY_BYTES
from support import Server

TOO_LARGE = {"data": None, "error": f"Request body is larger than {MAX_BODY_BYTES} bytes"}
INGEST_PATHS = [*ASYNC_LOG_ENDPOINTS, *OTLP_PATHS]


def _declared_over_the_limit(server: Server, method: str, path: str) -> tuple[int, Any]:
    """Status and JSON body of the answer to a head, without a key, declaring a body over the limit;
    no body is sent, so only a server that answers from the head alone can answer."""
    address = urlsplit(server.base_url)
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        f"Content-Length: {MAX_BODY_BYTES + 1}\r\n\r\n"
    )
    with socket.create_connection((str(address.hostname), int(address.port or 80)), timeout=10) as sock:
        sock.sendall(head.encode())
        answer = b""
        while chunk := sock.recv(65536):  # the server closes the connection after its answer
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), json.loads(rest.partition(b"\r\n\r\n")[2])


@pytest.mark.real_server
@pytest.mark.parametrize("path", INGEST_PATHS)
def test_a_declared_size_over_the_limit_is_413_before_the_method_or_the_key(
    server: Server, path: str
) -> None:
    for method in ("POST", "PUT"):
        assert _declared_over_the_limit(server, method, path) == (413, TOO_LARGE), method


@pytest.mark.real_server
@pytest.mark.parametrize("path", INGEST_PATHS)
def test_any_method_but_post_is_405_before_the_key(server: Server, path: str) -> None:
    response = httpx.put(f"{server.base_url}{path}", content=b"{}", timeout=10)
    assert (response.status_code, response.headers["allow"]) == (405, "POST")
    assert response.json() == {"data": None, "error": "Method Not Allowed"}


def test_an_unexpected_fault_in_an_endpoint_is_a_plain_500_and_raised_again() -> None:
    async def broken(state: Any, scope: Scope, receive: Receive, max_bytes: int) -> Answer | None:
        raise RuntimeError("a bug")

    app = IngestingApp()
    app.serve_ingest_paths({"/broken": broken}, max_body_bytes=1024)
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/broken", "headers": []}
    with pytest.raises(RuntimeError, match="a bug"):
        asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 500 and sent[1]["body"] == b"Internal Server Error"
