"""`GET /metrics`: counters in the Prometheus text format, for loopback scrapers or a token holder.

The counters are summed over every organization, so they are not for any key holder: without
HELIOGRAPH_METRICS_TOKEN only clients on the loopback interface are answered; with it, a scrape sends
`Authorization: Bearer <token>` from anywhere.
"""

from __future__ import annotations

import hmac
import ipaddress

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse
from pydantic import SecretStr

from heliograph.api.errors import ERROR_RESPONSES
from heliograph.errors import Forbidden, Unauthorized
from heliograph.gateway.proxy import Gateway
from heliograph.ingest.submitter import RecordSubmitter

__all__ = ["is_loopback_client", "router"]

router = APIRouter(tags=["health"])


def is_loopback_client(host: str | None) -> bool:
    """Whether the peer address `host` is on the loopback interface (127.0.0.0/8, ::1)."""
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:  # not an address (a Unix socket, a test transport's name)
        return False


async def _scraper(request: Request) -> None:
    token: SecretStr | None = request.app.state.metrics_token
    if token is None:
        if not is_loopback_client(request.client.host if request.client else None):
            raise Forbidden(
                "/metrics answers loopback clients only; set HELIOGRAPH_METRICS_TOKEN to scrape it"
            )
        return
    expected = f"Bearer {token.get_secret_value()}".encode()
    if not hmac.compare_digest(request.headers.get("authorization", "").encode(), expected):
        raise Unauthorized("/metrics needs 'Authorization: Bearer <HELIOGRAPH_METRICS_TOKEN>'")


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    summary="Counters for Prometheus",
    dependencies=[Depends(_scraper)],
    openapi_extra={"security": [{"MetricsToken": []}, {}]},  # no token needed from loopback
    responses={
        401: ERROR_RESPONSES[401],
        403: {**ERROR_RESPONSES[400], "description": "Not a loopback client, and no token is set"},
    },
)
async def metrics(request: Request) -> PlainTextResponse:
    """Ingestion and gateway counters of this process, summed over organizations: for loopback
    clients, or with `Authorization: Bearer <HELIOGRAPH_METRICS_TOKEN>` when that is set."""
    pipeline: RecordSubmitter = request.app.state.pipeline
    gateway: Gateway = request.app.state.gateway
    samples = (
        ("heliograph_ingest_committed_total", "counter", "Records committed", pipeline.committed),
        ("heliograph_ingest_failed_total", "counter", "Records that could not be stored", pipeline.failed),
        ("heliograph_ingest_queue_depth", "gauge", "Records waiting for a commit", pipeline.queued),
        ("heliograph_gateway_calls_total", "counter", "Calls proxied", gateway.stats.calls),
        (
            "heliograph_gateway_upstream_errors_total",
            "counter",
            "Upstream failures",
            gateway.stats.upstream_errors,
        ),
        ("heliograph_gateway_logged_total", "counter", "Proxied calls logged", gateway.stats.logged),
        (
            "heliograph_gateway_log_failures_total",
            "counter",
            "Proxied calls not logged",
            gateway.stats.log_failures,
        ),
    )
    lines = [f"# HELP {n} {h}\n# TYPE {n} {t}\n{n} {v}" for n, t, h, v in samples]
    return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")
