"""Overload: a full ingest queue answers 503 at once, and a body over the limit is refused with 413
before it has been sent whole (declared with Content-Length, or streamed chunked).

bench/flood.py measures peak memory and 503s under a flood of many times the sustainable rate.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from heliograph.testing.chaos import Load, holding_sqlite_lock
from ingest_support import stored_row_count
from support import Server, Tenant, log_body, new_tenant, start_server, stop_server

QUEUE_SIZE = 4
BODY_LIMIT = 64 * 1024
ANSWER_WAIT_S = 60  # a bound on waiting for an answer, not a timing assertion


@pytest.fixture
def small_server(tmp_path: Path) -> Iterator[Server]:
    """SQLite server with a 4-record queue, one-record batches and a 64 KiB body limit."""
    server = start_server(
        f"sqlite:///{tmp_path / 'small.db'}",
        tmp_path / "server.log",
        env={
            "HELIOGRAPH_INGEST_QUEUE_SIZE": str(QUEUE_SIZE),
            "HELIOGRAPH_INGEST_BATCH_SIZE": "1",
            "HELIOGRAPH_MAX_BODY_BYTES": str(BODY_LIMIT),
        },
    )
    yield server
    stop_server(server)


@pytest.fixture
def tenant(small_server: Server) -> Iterator[Tenant]:
    tenant = new_tenant(small_server, "overload")
    yield tenant
    tenant.client.close()


def test_a_full_queue_answers_503_at_once_while_queued_records_wait_and_then_commit(
    small_server: Server, tenant: Tenant
) -> None:
    load = Load(run="flood", key=tenant.key)
    calls = [load.plan(gateway_every=0) for _ in range(12)]
    # The writer holds one record on the lock (or none yet, if every call arrives before it runs) and
    # the queue holds QUEUE_SIZE: at least 12 - 5 calls are refused while the lock is still held.
    at_least_refused = len(calls) - (1 + QUEUE_SIZE)

    async def run() -> tuple[list[httpx.Response], list[httpx.Response]]:
        async with httpx.AsyncClient(base_url=small_server.base_url, timeout=ANSWER_WAIT_S) as client:
            with holding_sqlite_lock(small_server.database_url.split(":///", 1)[1]):
                pending = {asyncio.create_task(call.send(client, load.key)) for call in calls}
                answered: list[asyncio.Task[httpx.Response]] = []
                while len(answered) < at_least_refused:
                    done, pending = await asyncio.wait(
                        pending, timeout=ANSWER_WAIT_S, return_when=asyncio.FIRST_COMPLETED
                    )
                    assert done, "the overflow was not answered while the writer was blocked"
                    answered += done
            rest = await asyncio.gather(*pending)
        return [task.result() for task in answered], list(rest)

    under_lock, after = asyncio.run(run())
    assert {r.status_code for r in under_lock} == {503}
    refused = [r for r in under_lock + after if r.status_code == 503]
    assert len(refused) in (at_least_refused, at_least_refused + 1)
    for response in refused:
        assert response.headers["retry-after"] == "1"
        assert response.json() == {"data": None, "error": "Ingestion queue is full; retry shortly"}
    committed = [r for r in after if r.status_code == 200]
    assert len(committed) + len(refused) == len(calls)
    assert stored_row_count(tenant) == len(committed)


def _raw_exchange(
    server: Server, head: str, body_parts: Iterable[bytes], *, wait_s: float = ANSWER_WAIT_S
) -> bytes:
    """Send a request head and some body parts on a raw socket, then read what the server answered.

    The socket stays open and the body unfinished: an answer can only come from a server that refused
    the body without waiting for the rest of it.
    """
    address = urlsplit(server.base_url)
    with socket.create_connection((address.hostname, address.port), timeout=wait_s) as sock:
        sock.sendall(head.encode())
        for part in body_parts:
            try:
                sock.sendall(part)
            except (BrokenPipeError, ConnectionResetError):
                break  # the server answered and closed; read what it said
        return _read_answer(sock)


def _read_answer(sock: socket.socket) -> bytes:
    """One HTTP answer with a Content-Length body (or whatever came before the server closed)."""
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
        head, found, body = answer.partition(b"\r\n\r\n")
        lengths = [line for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")]
        if found and lengths and len(body) >= int(lengths[0].split(b":")[1]):
            break
    return answer


def _head(tenant: Tenant, framing: str, path: str = "/custom/v1/log", key: str | None = None) -> str:
    return (
        f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {key or tenant.key}\r\n{framing}\r\n\r\n"
    )


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_sent(
    small_server: Server, tenant: Tenant
) -> None:
    answer = _raw_exchange(
        small_server, _head(tenant, f"Content-Length: {100 * BODY_LIMIT}"), [b"{" + b" " * 1023]
    )
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert f"larger than {BODY_LIMIT} bytes".encode() in answer
    assert stored_row_count(tenant) == 0


@pytest.mark.parametrize("path", ["/custom/v1/log", "/v1/session/query", "/v1/request/query"])
def test_a_chunked_body_is_refused_once_it_passes_the_limit_without_waiting_for_its_end(
    small_server: Server, tenant: Tenant, path: str
) -> None:
    chunk = b" " * 1024
    parts = [
        b"400\r\n" + chunk + b"\r\n" for _ in range(BODY_LIMIT // len(chunk) + 2)
    ]  # never the last chunk
    answer = _raw_exchange(small_server, _head(tenant, "Transfer-Encoding: chunked", path), parts)
    assert answer.startswith(b"HTTP/1.1 413 ")  # the JSON API answered 400 "error parsing the body"
    assert f"larger than {BODY_LIMIT} bytes".encode() in answer
    assert stored_row_count(tenant) == 0


@pytest.mark.parametrize("path", ["/v1/session/query", "/v1/request/query", "/custom/v1/log"])
def test_a_bad_key_is_refused_before_the_body_is_read(
    small_server: Server, tenant: Tenant, path: str
) -> None:
    """The JSON API read and parsed the whole body before checking the key."""
    head = _head(tenant, f"Content-Length: {BODY_LIMIT - 1}", path, key="sk-hg-not-a-real-key")
    answer = _raw_exchange(small_server, head, [b"{" + b" " * 1023], wait_s=10)
    assert answer.startswith(b"HTTP/1.1 401 ")
    assert b"Invalid API key" in answer
    assert stored_row_count(tenant) == 0


def test_a_chunked_body_under_the_limit_is_taken(small_server: Server, tenant: Tenant) -> None:
    body = httpx.Request("POST", "/", json=log_body()).content
    parts = [f"{len(body):x}\r\n".encode() + body + b"\r\n", b"0\r\n\r\n"]
    answer = _raw_exchange(small_server, _head(tenant, "Transfer-Encoding: chunked"), parts)
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert stored_row_count(tenant) == 1
