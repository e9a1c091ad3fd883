"""Helpers the tests share: the server process, tenants, and request bodies."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from heliograph.testing.bodies import log_body as log_body  # re-exported for the tests
from heliograph.testing.bodies import timing as timing

FAR_PAST_MS, FAR_FUTURE_MS = 0, 4_102_444_800_000
# Test servers create tenants' keys over HTTP (POST /v1/admin/keys): a chdb store admits one process.
ADMIN_TOKEN = "test-admin-token-0123456789"
SERVER_START_SECONDS = 30
# Every test server: keys over HTTP, and monitor webhooks to 127.0.0.1 alone, refused for any other host
# before its name is resolved (schemathesis creates monitors with any URL it likes).
TEST_SERVER_ENV = {"HELIOGRAPH_ADMIN_TOKEN": ADMIN_TOKEN, "HELIOGRAPH_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1"}


@dataclass
class Server:
    """A `heliograph serve` process on loopback, or the app in this process (`process` None; its clients
    then go through `transport`, see in_process.py)."""

    base_url: str
    database_url: str
    log_path: Path
    process: subprocess.Popen[bytes] | None
    transport: httpx.BaseTransport | None = None

    @property
    def os_process(self) -> subprocess.Popen[bytes]:
        """The server's process (a test that signals it needs a real server)."""
        assert self.process is not None, "the app runs in the test process"
        return self.process

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return "(the app runs in the test process: its log is in the captured output)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def client(self, **options: Any) -> httpx.Client:
        """A client of this server (timeout 30 s unless given)."""
        return httpx.Client(base_url=self.base_url, transport=self.transport, **{"timeout": 30, **options})

    def request(self, method: str, path: str, **options: Any) -> httpx.Response:
        """One request to this server with a client of its own."""
        with self.client() as client:
            return client.request(method, path, **options)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    database_url: str, log_path: Path, *extra_args: str, env: dict[str, str] | None = None
) -> Server:
    """Start `heliograph serve` and wait until /healthz answers 200."""
    port = free_port()
    with log_path.open("ab") as log_file:  # the child keeps its own descriptor
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "heliograph",
                "serve",
                "--port",
                str(port),
                "--database-url",
                database_url,
                *extra_args,
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, **TEST_SERVER_ENV, **(env or {})},
            start_new_session=True,  # a group of its own: its workers and writer can be killed with it
        )
    server = Server(f"http://127.0.0.1:{port}", database_url, log_path, process)
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.log_tail()}")
        try:
            if httpx.get(f"{server.base_url}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    stop_server(server)
    raise RuntimeError(f"server did not answer /healthz within {SERVER_START_SECONDS}s:\n{server.log_tail()}")


def stop_server(server: Server) -> None:
    process = server.os_process
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    with contextlib.suppress(ProcessLookupError):  # nothing of the server may outlive it
        os.killpg(process.pid, signal.SIGKILL)


def skip_on_chdb(database_url: str) -> None:
    """Skip a test that opens the server's database from the test process: chdb admits one process."""
    if database_url.startswith("chdb:"):
        pytest.skip(
            "reads the server's database from the test process, which embedded ClickHouse (one process "
            "per directory) refuses; tests/storage/test_store_conformance.py covers this on chdb"
        )


@dataclass
class Tenant:
    """An organization seen through one of its API keys."""

    name: str
    key: str
    client: httpx.Client
    server: Server
    org_id: str
    logged: list[str] = field(default_factory=list)

    def log(self, *, headers: dict[str, str] | None = None, path: str = "/oai/v1/log", **body: Any) -> str:
        """Log one call through the async-log endpoint; return its request id."""
        response = self.client.post(path, json=log_body(**body), headers=headers or {})
        assert response.status_code == 200, response.text
        assert response.text == "ok"
        request_id = response.headers["helicone-id"]
        self.logged.append(request_id)
        return request_id


def new_tenant(server: Server, org: str, key_name: str = "test") -> Tenant:
    """A key for organization `org` (created if needed), made by the server, with a client that sends it."""
    with server.client() as admin:
        created = admin.post(
            "/v1/admin/keys",
            json={"org": org, "name": key_name},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
    assert created.status_code == 201, created.text
    key, org_id = created.json()["data"]["key"], created.json()["data"]["org_id"]
    client = server.client(headers={"Authorization": f"Bearer {key}"})
    return Tenant(name=org, key=key, client=client, server=server, org_id=org_id)


@dataclass
class Cast:
    """Alice's organization (two keys), Bob's organization, and an outsider with no key."""

    alice: Tenant
    alice_second_key: Tenant
    bob: Tenant
    outsider: httpx.Client


# -- bodies ------------------------------------------------------------------------------------


def session_headers(
    session_id: str, path: str = "/", name: str | None = None, **extra: str
) -> dict[str, str]:
    headers = {"Helicone-Session-Id": session_id, "Helicone-Session-Path": path, **extra}
    if name is not None:
        headers["Helicone-Session-Name"] = name
    return headers


def query_body(**overrides: Any) -> dict[str, Any]:
    """A /v1/session/query body over all time, no filter."""
    return {
        "search": "",
        "timeFilter": {"startTimeUnixMs": FAR_PAST_MS, "endTimeUnixMs": FAR_FUTURE_MS},
        "timezoneDifference": 0,
        **overrides,
    }


def feedback_filter(value: str) -> dict[str, Any]:
    return {"request_response_rmt": {"properties": {"Helicone-Session-Feedback": {"equals": value}}}}


def everything_of(tenant: Tenant) -> dict[str, Any]:
    """Every session (with its requests) and every request the tenant logged, as the API shows them."""
    sessions = tenant.client.post("/v1/session/query", json=query_body(limit=1000)).json()["data"]
    details = {s["session_id"]: tenant.client.get(f"/v1/session/{s['session_id']}").json() for s in sessions}
    requests = {rid: tenant.client.get(f"/v1/request/{rid}").json() for rid in tenant.logged}
    return {"sessions": sessions, "details": details, "requests": requests}


def balanced_or(leaves: int, *, value: str = "v", start: int = 0) -> Any:
    """A balanced `or` tree of `leaves` distinct property conditions (as the attack run sent)."""
    if leaves == 1:
        return {"request_response_rmt": {"properties": {f"k{start}": {"equals": f"{value}{start}"}}}}
    half = leaves // 2
    return {
        "left": balanced_or(half, value=value, start=start),
        "operator": "or",
        "right": balanced_or(leaves - half, value=value, start=start + half),
    }
