"""Feedback monitors against a real server and a webhook receiver on loopback: a monitor fires one
signed webhook when its condition first holds and one `resolved` when it stops, with one evaluator
across processes; a delivery survives a receiver that is down and a server killed before sending it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from monitor_support import (
    MONITOR_ENV,
    Receiver,
    evaluations_after,
    log_sessions,
    monitor_body,
    rate,
    verify,
    wait_until,
)
from support import Cast, Server, Tenant, new_tenant, start_server, stop_server


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    running.start()
    yield running
    running.stop()


@dataclass
class Servers:
    """Monitor servers started by one test, and its tenants' clients: stopped and closed after it."""

    log_path: Path
    started: list[Server] = field(default_factory=list)
    tenants: list[Tenant] = field(default_factory=list)

    def start(self, database_url: str, *args: str) -> Server:
        self.started.append(start_server(database_url, self.log_path, *args, env=MONITOR_ENV))
        return self.started[-1]

    def tenant(self, server: Server) -> Tenant:
        self.tenants.append(new_tenant(server, "alice"))
        return self.tenants[-1]


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    running = Servers(tmp_path / "server.log")
    yield running
    for tenant in running.tenants:
        tenant.client.close()
    for server in running.started:
        if server.os_process.poll() is None:
            stop_server(server)


def _deliveries(tenant: Tenant, monitor_id: str) -> list[dict[str, Any]]:
    response = tenant.client.get(f"/v1/monitors/{monitor_id}/deliveries")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["data"]
    return found


def _attempts(tenant: Tenant, monitor_id: str) -> int:
    """Attempts at the monitor's newest delivery (0 before it has one)."""
    found = _deliveries(tenant, monitor_id)
    return int(found[0]["attempts"]) if found else 0


def _create(tenant: Tenant, body: dict[str, Any]) -> str:
    response = tenant.client.post("/v1/monitors", json=body)
    assert response.status_code == 201, response.text
    assert "webhook_secret" not in response.json()["data"]
    monitor_id: str = response.json()["data"]["id"]
    return monitor_id


def _sessions_per_variant(database_url: str) -> int:
    """200 sessions per variant; 50 on chdb, where each rating takes some 100 ms (the session's rollup
    is recomputed and written durably), so that the suite stays within its time."""
    return 50 if database_url.startswith("chdb:") else 200


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def test_the_worse_variant_fires_one_signed_webhook_and_resolves_once(
    empty_database_url: str, servers: Servers, receiver: Receiver
) -> None:
    server = servers.start(empty_database_url)
    alice = servers.tenant(server)
    n = _sessions_per_variant(empty_database_url)
    a, b = log_sessions(alice, variant="A", count=n), log_sessions(alice, variant="B", count=n)
    rate(alice, a[: n // 10], False)  # 10% down
    rate(alice, a[n // 10 :], True)
    rate(alice, b[: n * 4 // 10], False)  # 40% down
    rate(alice, b[n * 4 // 10 :], True)
    on_a = _create(alice, monitor_body(receiver, "/a", "A"))
    on_b = _create(alice, monitor_body(receiver, "/b", "B"))

    wait_until("B fires", lambda: receiver.states("/b") == ["firing"])
    evaluations_after(alice, on_b, 3)
    assert receiver.states("/b") == ["firing"] and receiver.states("/a") == []
    (fired,) = receiver.received
    assert verify("secret-B-0123456789", fired)
    assert not verify("secret-A-0123456789", fired)
    payload = fired.json
    assert payload["monitor_id"] == on_b and payload["monitor_name"] == "thumbs down on B"
    assert payload["value"] == pytest.approx(0.4) and payload["threshold"] == 0.25
    assert payload["rated"] == n
    assert _ms(payload["window_end"]) - _ms(payload["window_start"]) == 3_600_000
    assert (
        set(payload["sample_session_ids"]) <= set(b[: n * 4 // 10])
        and len(payload["sample_session_ids"]) == 20
    )
    assert [s["session_id"] for s in payload["sample_sessions"]] == payload["sample_session_ids"]
    assert all(
        s["dashboard_url"].endswith(f"/dashboard/sessions/{s['session_id']}")
        for s in payload["sample_sessions"]
    )
    monitors = {m["id"]: m for m in alice.client.get("/v1/monitors").json()["data"]}
    assert monitors[on_b]["state"] == "firing" and monitors[on_a]["state"] == "ok"
    assert monitors[on_a]["value"] == pytest.approx(0.1) and monitors[on_a]["rated"] == n

    rate(alice, b[: n * 3 // 10], True)  # 10% down
    wait_until("B resolves", lambda: receiver.states("/b") == ["firing", "resolved"])
    evaluations_after(alice, on_b, 3)
    assert receiver.states("/b") == ["firing", "resolved"] and receiver.states("/a") == []
    resolved = receiver.received[-1]
    assert verify("secret-B-0123456789", resolved)
    assert resolved.json["value"] <= 0.25 and resolved.json["state"] == "resolved"
    deliveries = _deliveries(alice, on_b)
    assert [(d["state"], d["status"], d["attempts"], d["status_code"]) for d in deliveries] == [
        ("resolved", "sent", 1, 200),
        ("firing", "sent", 1, 200),
    ]
    assert _deliveries(alice, on_a) == []

    tested = alice.client.post(f"/v1/monitors/{on_a}/test")
    assert tested.status_code == 202, tested.text
    assert tested.json()["data"]["state"] == "test"
    wait_until("the test delivery", lambda: receiver.states("/a") == ["test"])
    assert verify("secret-A-0123456789", receiver.received[-1])


def test_two_workers_send_one_webhook_per_transition(
    empty_database_url: str, servers: Servers, receiver: Receiver
) -> None:
    if empty_database_url.startswith("chdb:"):
        pytest.skip("embedded ClickHouse admits one process per directory, so --workers 2 is refused")
    server = servers.start(empty_database_url, "--workers", "2")
    alice = servers.tenant(server)
    b = log_sessions(alice, variant="B", count=30)
    rate(alice, b[:12], False)  # 40% down
    rate(alice, b[12:], True)
    monitor_id = _create(alice, monitor_body(receiver, "/b", "B"))
    wait_until("B fires", lambda: receiver.states("/b") == ["firing"])
    evaluations_after(alice, monitor_id, 3)
    rate(alice, b[:9], True)  # 10% down
    wait_until("B resolves", lambda: receiver.states("/b") == ["firing", "resolved"])
    evaluations_after(alice, monitor_id, 3)
    assert receiver.states("/b") == ["firing", "resolved"]
    assert len(_deliveries(alice, monitor_id)) == 2


def _firing_with_receiver_down(servers: Servers, server: Server, receiver: Receiver) -> tuple[Tenant, str]:
    alice = servers.tenant(server)
    b = log_sessions(alice, variant="B", count=10)
    rate(alice, b, False)
    receiver.stop()
    monitor_id = _create(alice, monitor_body(receiver, "/b", "B", min_rated=5))
    return alice, monitor_id


def test_retries_follow_the_backoff_and_a_killed_server_delivers_once_when_the_receiver_returns(
    empty_database_url: str, servers: Servers, receiver: Receiver
) -> None:
    server = servers.start(empty_database_url)
    alice, monitor_id = _firing_with_receiver_down(servers, server, receiver)
    wait_until("three failed attempts", lambda: _attempts(alice, monitor_id) >= 3)
    (pending,) = _deliveries(alice, monitor_id)
    assert pending["status"] == "pending" and pending["status_code"] is None and pending["error"]
    # After the n-th failed attempt the next waits 0.2 s * 2^(n-1).
    wait_s = (_ms(pending["next_attempt_at"]) - _ms(pending["updated_at"])) / 1000
    assert wait_s == pytest.approx(0.2 * 2 ** (pending["attempts"] - 1), abs=0.002)
    # The transition is stored and its delivery waits for a retry: SIGKILL (no shutdown, no flush).
    assert alice.client.get(f"/v1/monitors/{monitor_id}").json()["data"]["state"] == "firing"
    server.os_process.kill()
    server.os_process.wait()

    receiver.start()
    server = servers.start(empty_database_url)
    alice.client.close()
    alice.client = server.client(headers={"Authorization": f"Bearer {alice.key}"})
    wait_until("the delivery after restart", lambda: receiver.states("/b") == ["firing"])
    evaluations_after(alice, monitor_id, 3)
    assert receiver.states("/b") == ["firing"]
    assert verify("secret-B-0123456789", receiver.received[0])
    (sent,) = _deliveries(alice, monitor_id)
    assert (sent["state"], sent["status"], sent["status_code"]) == ("firing", "sent", 200)
    assert sent["attempts"] > pending["attempts"]


class TestMonitorCrud:
    """On the shared server (webhooks to 127.0.0.1 only): create, read, edit and delete, and bad input
    answered with the envelope and nothing stored."""

    def test_a_monitor_is_created_read_edited_and_deleted_without_showing_its_secret(
        self, cast: Cast
    ) -> None:
        client = cast.alice.client
        body = {**_BODY, "filter": {"request_response_rmt": {"model": {"equals": "gpt-4o"}}}}
        created = client.post("/v1/monitors", json=body)
        assert created.status_code == 201, created.text
        monitor = created.json()["data"]
        assert monitor["state"] == "insufficient_data" and monitor["value"] is None
        assert monitor["filter"] == body["filter"] and monitor["feedback_name"] == "rating"
        path = f"/v1/monitors/{monitor['id']}"
        assert client.get(path).json()["data"] == monitor
        edited = client.put(path, json={**body, "name": "renamed", "threshold": 0.5, "filter": "all"})
        assert edited.status_code == 200, edited.text
        assert (edited.json()["data"]["name"], edited.json()["data"]["filter"]) == ("renamed", None)
        assert [m["name"] for m in client.get("/v1/monitors").json()["data"]] == ["renamed"]
        assert client.get(f"{path}/deliveries").json() == {"data": [], "error": None}
        assert "secret" not in client.get("/v1/monitors").text
        assert client.delete(path).json() == {"data": None, "error": None}
        gone = client.get(path)
        assert gone.status_code == 404 and gone.json()["data"] is None
        assert client.delete(path).status_code == 404

    @pytest.mark.parametrize(
        ("change", "status", "message"),
        [
            pytest.param({"filter": {"nope": {}}}, 400, "Unknown filter table", id="unknown-filter-table"),
            pytest.param(
                {"webhook_url": "https://hooks.example.com/x"},
                400,
                "HELIOGRAPH_WEBHOOK_ALLOWED_HOSTS",
                id="host-not-allowed",
            ),
            pytest.param({"webhook_url": "ftp://127.0.0.1/x"}, 400, "Invalid webhook_url", id="not-http"),
            pytest.param({"metric": "median"}, 422, "metric", id="unknown-metric"),
            pytest.param({"webhook_secret": "short"}, 422, "webhook_secret", id="short-secret"),
            pytest.param({"window_s": 0}, 422, "window_s", id="empty-window"),
        ],
    )
    def test_bad_input_is_refused_with_the_envelope_and_nothing_is_stored(
        self, cast: Cast, change: dict[str, Any], status: int, message: str
    ) -> None:
        client = cast.alice.client
        kept = client.post("/v1/monitors", json=_BODY).json()["data"]
        before = client.get("/v1/monitors").json()
        for answer in (
            client.post("/v1/monitors", json={**_BODY, **change}),
            client.put(f"/v1/monitors/{kept['id']}", json={**_BODY, **change, "name": "changed"}),
        ):
            assert answer.status_code == status, answer.text
            assert answer.json()["data"] is None and message in answer.json()["error"]
        assert client.get("/v1/monitors").json() == before

    def test_an_unknown_monitor_is_not_found(self, cast: Cast) -> None:
        for method, suffix in (
            ("GET", ""),
            ("PUT", ""),
            ("DELETE", ""),
            ("POST", "/test"),
            ("GET", "/deliveries"),
        ):
            answer = cast.alice.client.request(
                method, f"/v1/monitors/no-such-monitor{suffix}", json=_BODY if method == "PUT" else None
            )
            assert answer.status_code == 404, answer.text
            assert answer.json() == {
                "data": None,
                "error": "No monitor 'no-such-monitor' in this organization",
            }


_BODY: dict[str, Any] = {
    "name": "thumbs down",
    "metric": "negative_rate",
    "operator": "gt",
    "threshold": 0.25,
    "window_s": 3600,
    "min_rated": 10,
    "webhook_url": "http://127.0.0.1:9/hook",
    "webhook_secret": "a-secret-of-some-length",
}
