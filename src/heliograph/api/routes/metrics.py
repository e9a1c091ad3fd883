"""`GET /metrics`: counters in the Prometheus text format."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from heliograph.gateway.proxy import Gateway
from heliograph.ingest.pipeline import IngestPipeline

router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=PlainTextResponse, summary="Counters for Prometheus")
async def metrics(request: Request) -> PlainTextResponse:
    """Ingestion and gateway counters; a scrape needs no key and shows no tenant data."""
    pipeline: IngestPipeline = request.app.state.pipeline
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
