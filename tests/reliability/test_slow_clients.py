"""Slow clients: a request's head and body each have a deadline (408, connection closed), and the
open connections per process are bounded (503 beyond), all configurable.

Before, connections trickling a byte at a time stayed open for minutes, and their number was
unbounded.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from ingest_support import stored_row_count
from support import Server, Tenant, new_tenant, start_server, stop_server

DEADLINE_S = 1.0
TRICKLE_S = 10.0  # how long a client would go on trickling; the server must cut it off well before
BYTE_EVERY_S = 0.2


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder: Path = tmp_path_factory.mktemp("slow-clients")
    running = start_server(
        f"sqlite:///{folder / 'heliograph.db'}",
        folder / "server.log",
        env={"HELIOGRAPH_HEADER_TIMEOUT": str(DEADLINE_S), "HELIOGRAPH_BODY_TIMEOUT": str(DEADLINE_S)},
    )
    yield running
    stop_server(running)


@pytest.fixture
def tenant(strict_server: Server) -> Iterator[Tenant]:
    tenant = new_tenant(strict_server, "slow")
    yield tenant
    tenant.client.close()


def _connect(server: Server) -> socket.socket:
    address = urlsplit(server.base_url)
    return socket.create_connection((address.hostname, address.port), timeout=TRICKLE_S)


def _trickle(server: Server, head: bytes, then: bytes) -> tuple[bytes, int]:
    """Send `head`, then `then` a byte every BYTE_EVERY_S until the server answers or hangs up;
    what it answered and how many bytes of `then` it had by then."""
    with _connect(server) as sock:
        sock.sendall(head)
        sent = 0
        for byte in then:
            if select.select([sock], [], [], BYTE_EVERY_S)[0]:
                break  # the server answered (or closed)
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += 1
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except ConnectionResetError:  # closed while a trickled byte was in flight; the answer came first
            pass
        return answer, sent


def test_a_head_trickled_a_byte_at_a_time_gets_408_and_the_connection_closes(tenant: Tenant) -> None:
    head = f"Host: localhost\r\nAuthorization: Bearer {tenant.key}\r\nX-Pad: {'a' * 200}\r\n\r\n".encode()
    answer, sent = _trickle(tenant.server, b"GET /healthz HTTP/1.1\r\n", head)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"The request head did not arrive within 1 s" in answer
    assert sent < len(head)  # cut off at the deadline, long before the trickle ends


def test_a_connection_that_sends_nothing_is_closed(strict_server: Server) -> None:
    with _connect(strict_server) as sock:
        answer = sock.recv(65536)  # the socket's own timeout (TRICKLE_S) fails a server that waits on
        assert answer.startswith(b"HTTP/1.1 408 ")


def test_a_body_trickled_a_byte_at_a_time_gets_408_and_nothing_is_stored(tenant: Tenant) -> None:
    head = (
        "POST /custom/v1/log HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {tenant.key}\r\nContent-Length: 200\r\n\r\n"
    ).encode()
    answer, sent = _trickle(tenant.server, head, b"{" + b" " * 199)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"The request body did not arrive within 1 s" in answer
    assert sent < 200  # cut off at the deadline, long before the trickle ends
    assert stored_row_count(tenant) == 0


def test_requests_within_the_deadlines_are_served_on_a_kept_alive_connection(tenant: Tenant) -> None:
    with httpx.Client(base_url=tenant.server.base_url, timeout=10) as client:
        for _ in range(3):
            assert client.get("/healthz").status_code == 200
            time.sleep(DEADLINE_S / 2)


def test_connections_past_the_limit_get_503_until_others_close(tmp_path: Path) -> None:
    limit = 3
    running = start_server(
        f"sqlite:///{tmp_path / 'heliograph.db'}",
        tmp_path / "server.log",
        env={"HELIOGRAPH_MAX_CONNECTIONS": str(limit)},
    )
    try:
        with ExitStack() as idle:
            for _ in range(limit):
                idle.enter_context(_connect(running))
            time.sleep(0.2)
            assert httpx.get(f"{running.base_url}/healthz", timeout=10).status_code == 503
        time.sleep(0.2)
        assert httpx.get(f"{running.base_url}/healthz", timeout=10).status_code == 200
    finally:
        stop_server(running)
