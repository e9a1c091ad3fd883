"""A webhook receiver on loopback, and the sessions and ratings the monitor tests log through the API."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from otlp_support import SpanMaker, post_spans
from support import Tenant, free_port

WAIT_S = 60  # a deadline for what should happen within a few evaluations; not a timing assertion
# Monitor servers evaluate every 0.2 s and retry after 0.2, 0.4, 0.8 ... s; only 127.0.0.1 is reachable.
MONITOR_ENV = {
    "HELIOGRAPH_MONITOR_INTERVAL_S": "0.2",
    "HELIOGRAPH_WEBHOOK_BACKOFF_S": "0.2",
    "HELIOGRAPH_WEBHOOK_TIMEOUT_S": "1",
    "HELIOGRAPH_WEBHOOK_ALLOW_PRIVATE": "true",
    "HELIOGRAPH_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
}


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class _Server(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 that records every POST; `stop` closes its port (connections are then
    refused) and `start` opens the same port again."""

    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> None:
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                received.append(Received(self.path, dict(self.headers.items()), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = _Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def states(self, path: str) -> list[str]:
        return [r.json["state"] for r in self.received if r.path == path]


def verify(secret: str, received: Received) -> bool:
    """The check docs/monitors.md shows a receiver, on what the receiver got."""
    parts = dict(item.split("=", 1) for item in received.headers["Heliograph-Signature"].split(","))
    signed = parts["t"].encode() + b"." + received.body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


def wait_until(what: str, check: Callable[[], bool], *, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s} s: {what}")
        time.sleep(0.05)


def log_sessions(tenant: Tenant, *, variant: str, count: int) -> list[str]:
    """`count` one-request sessions with property variant=`variant`, in one OTLP export."""
    maker, now = SpanMaker(), int(time.time() * 1000)
    ids = [f"{variant}-{uuid.uuid4().hex[:12]}" for _ in range(count)]
    for i, session_id in enumerate(ids):
        attributes = {
            "openinference.span.kind": "LLM",
            "session.id": session_id,
            "metadata": json.dumps({"variant": variant}),
        }
        maker.span(f"chat-{i}", attributes, start_ms=now, end_ms=now + 5)
    response = post_spans(tenant.client, maker.finished())
    assert response.status_code == 200, response.text
    return ids


def rate(tenant: Tenant, session_ids: list[str], value: bool) -> None:
    """Rate each session through POST /v1/feedback, four at a time."""

    def one(session_id: str) -> None:
        response = tenant.client.post("/v1/feedback", json={"session_id": session_id, "value": value})
        assert response.status_code == 201, response.text

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(one, session_ids))


def variant_filter(variant: str) -> dict[str, Any]:
    return {"request_response_rmt": {"properties": {"variant": {"equals": variant}}}}


def monitor_body(receiver: Receiver, path: str, variant: str, **overrides: Any) -> dict[str, Any]:
    return {
        "name": f"thumbs down on {variant}",
        "metric": "negative_rate",
        "operator": "gt",
        "threshold": 0.25,
        "window_s": 3600,
        "min_rated": 20,
        "filter": variant_filter(variant),
        "webhook_url": receiver.url(path),
        "webhook_secret": f"secret-{variant}-0123456789",
        **overrides,
    }


def evaluations_after(tenant: Tenant, monitor_id: str, turns: int) -> None:
    """Wait until the monitor has been evaluated `turns` more times (each turn could send a duplicate)."""
    seen: list[str | None] = []

    def evaluated() -> bool:
        at = tenant.client.get(f"/v1/monitors/{monitor_id}").json()["data"]["evaluated_at"]
        if not seen or at != seen[-1]:
            seen.append(at)
        return len(seen) > turns

    wait_until(f"{turns} evaluations of {monitor_id}", evaluated)
