"""A server killed mid-load loses nothing it acknowledged and leaves no half-written record; a server
asked to stop (SIGTERM) answers what is in flight, writes every queued record and exits 0.

Load is async logging and gateway calls (to the fake upstream) from concurrent clients. An async log
answered 200 is committed. A gateway answer is sent before its record is written (see
gateway/proxy.py), so after SIGKILL a gateway record may be missing, but never partial; after SIGTERM
none may be missing. bench/crash.py repeats the SIGKILL round 20 times and reports the figures.
"""

from __future__ import annotations

import asyncio
import signal
from functools import partial
from pathlib import Path

from heliograph.testing.chaos import Load, check_stored, load_around
from support import Server, new_tenant, start_server, stop_server

KILL_ROUNDS = 3
LOAD_SECONDS = 1.5  # how long clients run before the signal; not a timing assertion
CLIENTS = 8
STOP_BOUND_S = 60  # a SIGTERM that takes longer than this is a hang, not a slow drain


def _start(database_url: str, fake_upstream: str, log_path: Path) -> Server:
    return start_server(
        database_url,
        log_path,
        "--openai-base-url",
        f"{fake_upstream}/v1",
        "--anthropic-base-url",
        fake_upstream,
    )


def _sigkill(server: Server) -> None:
    server.os_process.kill()
    server.os_process.wait()


def _sigterm(server: Server) -> None:
    server.os_process.send_signal(signal.SIGTERM)
    server.os_process.wait(timeout=STOP_BOUND_S)


def test_sigkill_mid_load_loses_no_acknowledged_request_and_leaves_none_partial(
    empty_database_url: str, fake_upstream: str, tmp_path: Path
) -> None:
    server = _start(empty_database_url, fake_upstream, tmp_path / "server.log")
    tenant = new_tenant(server, "crash")
    tenant.client.close()
    org_id = tenant.org_id
    load = Load(run="crash", key=tenant.key)
    try:
        for _ in range(KILL_ROUNDS):
            load_around(
                server.base_url, load, partial(_sigkill, server), clients=CLIENTS, before_s=LOAD_SECONDS
            )
            assert server.os_process.returncode == -signal.SIGKILL
            server = _start(empty_database_url, fake_upstream, tmp_path / "server.log")
    finally:
        stop_server(server)

    check = asyncio.run(check_stored(empty_database_url, org_id, load))
    assert load.acknowledged, "no call was acknowledged; the load never ran"
    assert load.transport_errors, "no client saw a connection fail; the kill was not mid-load"
    assert check.acknowledged_lost == []
    assert check.problems == []
    assert check.stored >= len(load.acknowledged)


def test_sigterm_mid_load_answers_in_flight_calls_stores_them_all_and_exits_zero(
    empty_database_url: str, fake_upstream: str, tmp_path: Path
) -> None:
    server = _start(empty_database_url, fake_upstream, tmp_path / "server.log")
    tenant = new_tenant(server, "drain")
    tenant.client.close()
    org_id = tenant.org_id
    load = Load(run="drain", key=tenant.key)
    try:
        load_around(server.base_url, load, partial(_sigterm, server), clients=CLIENTS, before_s=LOAD_SECONDS)
    finally:
        stop_server(server)

    assert server.os_process.returncode == 0, server.log_tail()
    check = asyncio.run(check_stored(empty_database_url, org_id, load))
    assert load.acknowledged and load.gateway_answered
    assert check.acknowledged_lost == []
    assert check.gateway_missing == []  # a clean stop writes every record of a call it answered
    assert check.problems == []
    assert 500 not in load.refused
