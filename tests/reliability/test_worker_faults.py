"""`serve --workers 2` killed in part or whole mid-load loses nothing it acknowledged; asked to stop, it
drains every worker and its writer and exits 0.

The victims: one worker (uvicorn starts another), the shared writer (its supervisor starts another;
meanwhile the workers answer 503), or the whole server (its process group). The load and the check
are test_process_faults' (heliograph.testing.chaos). Embedded ClickHouse admits one process, so these
run on SQLite and PostgreSQL, with the writer shared and (where there is no writer to kill) per process.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import httpx
import psutil
import pytest

from heliograph.testing.chaos import Load, check_stored, load_around
from support import Server, new_tenant, start_server, stop_server

LOAD_SECONDS = 1.5  # how long clients run before and after the kill; not a timing assertion
CLIENTS = 8
STOP_BOUND_S = 90  # a SIGTERM that takes longer than this is a hang, not a slow drain
RECOVERY_BOUND_S = 60  # a server not logging again after this long has not recovered

pytestmark = pytest.mark.backends("sqlite", "postgresql")


def _start(database_url: str, fake_upstream: str, log_path: Path, writer: str) -> Server:
    return start_server(
        database_url,
        log_path,
        "--workers",
        "2",
        "--openai-base-url",
        f"{fake_upstream}/v1",
        "--anthropic-base-url",
        fake_upstream,
        env={"HELIOGRAPH_INGEST_WRITER": writer},
    )


def _processes(server: Server, marker: str) -> list[psutil.Process]:
    """The server's child processes whose command line holds `marker`."""
    children = psutil.Process(server.os_process.pid).children()
    return [child for child in children if marker in " ".join(child.cmdline())]


def _kill_worker(server: Server) -> None:
    """SIGKILL the worker holding the most client connections (so the kill is mid-load)."""
    workers = _processes(server, "multiprocessing.spawn")
    assert len(workers) == 2
    busiest = max(workers, key=_client_connections)
    assert _client_connections(busiest), "neither worker holds a client connection"
    busiest.kill()


def _client_connections(process: psutil.Process) -> int:
    return sum(
        1 for c in process.net_connections(kind="tcp") if c.status == psutil.CONN_ESTABLISHED and c.raddr
    )


def _kill_writer(server: Server) -> None:
    (writer,) = _processes(server, "heliograph.ingest.writer_service")
    writer.kill()


def _kill_server(server: Server) -> None:
    os.killpg(server.os_process.pid, signal.SIGKILL)
    server.os_process.wait()


def _around(server: Server, load: Load, action: Callable[[Server], None]) -> None:
    """The load for LOAD_SECONDS before `action` is done to the server and as long after."""
    load_around(
        server.base_url,
        load,
        partial(action, server),
        clients=CLIENTS,
        before_s=LOAD_SECONDS,
        after_s=LOAD_SECONDS,
    )


def _logs_again(server: Server, load: Load) -> bool:
    """Whether a planned async log is answered 200 within RECOVERY_BOUND_S."""

    async def attempts() -> bool:
        deadline = time.monotonic() + RECOVERY_BOUND_S
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
            while time.monotonic() < deadline:
                call = load.plan(gateway_every=0)
                response = await call.send(client, load.key)
                load.record(call, response)
                if response.status_code == 200:
                    return True
                assert response.status_code == 503, response.text
                await asyncio.sleep(0.1)
        return False

    return asyncio.run(attempts())


@pytest.mark.parametrize(
    ("victim", "writer"),
    [
        ("worker", "shared"),
        ("writer", "shared"),
        ("server", "shared"),
        ("worker", "per-process"),
        ("server", "per-process"),
    ],
)
def test_sigkill_of_a_worker_the_writer_or_the_server_loses_no_acknowledged_request(
    victim: str, writer: str, empty_database_url: str, fake_upstream: str, tmp_path: Path
) -> None:
    server = _start(empty_database_url, fake_upstream, tmp_path / "server.log", writer)
    tenant = new_tenant(server, "crash")
    tenant.client.close()
    load = Load(run="crash", key=tenant.key)
    kill = {"worker": _kill_worker, "writer": _kill_writer, "server": _kill_server}[victim]
    try:
        _around(server, load, kill)
        if victim == "server":
            assert server.os_process.returncode == -signal.SIGKILL
            server = _start(empty_database_url, fake_upstream, tmp_path / "server.log", writer)
        assert _logs_again(server, load), server.log_tail()
        if victim == "worker":
            assert "died" in server.log_tail(200)  # uvicorn's words as it starts another
        if victim == "writer":
            assert load.refused[503], "no call was refused while the writer was down"
            assert "the ingestion writer exited with status -9; starting it again" in server.log_tail(200)
    finally:
        stop_server(server)

    check = asyncio.run(check_stored(empty_database_url, tenant.org_id, load))
    assert load.acknowledged, "no call was acknowledged; the load never ran"
    assert check.acknowledged_lost == []
    assert check.problems == []
    assert 500 not in load.refused
    if victim == "server":
        assert load.transport_errors, "no client saw a connection fail; the kill was not mid-load"


@pytest.mark.parametrize("writer", ["shared", "per-process"])
def test_sigterm_mid_load_drains_every_worker_and_the_writer_and_exits_zero(
    writer: str, empty_database_url: str, fake_upstream: str, tmp_path: Path
) -> None:
    server = _start(empty_database_url, fake_upstream, tmp_path / "server.log", writer)
    tenant = new_tenant(server, "drain")
    tenant.client.close()
    load = Load(run="drain", key=tenant.key)

    def sigterm(server: Server) -> None:
        server.os_process.send_signal(signal.SIGTERM)
        server.os_process.wait(timeout=STOP_BOUND_S)

    try:
        _around(server, load, sigterm)
    finally:
        stop_server(server)

    assert server.os_process.returncode == 0, server.log_tail()
    check = asyncio.run(check_stored(empty_database_url, tenant.org_id, load))
    assert load.acknowledged and load.gateway_answered
    assert check.acknowledged_lost == []
    assert check.gateway_missing == []  # a clean stop writes every record of a call it answered
    assert check.problems == []
    assert 500 not in load.refused
    if writer == "shared":
        assert "writer stopped:" in server.log_tail(200)
