"""The application factory: `create_app(settings)` builds everything inside the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from heliograph import __version__
from heliograph.api.errors import install_error_handlers
from heliograph.api.ingest_paths import IngestingApp
from heliograph.api.limits import BodySizeLimit
from heliograph.api.openapi import install_openapi
from heliograph.api.routes import (
    admin,
    evals,
    feedback,
    feedback_public,
    gateway_feedback,
    health,
    metrics,
    monitors,
    properties,
    requests,
    sessions,
)
from heliograph.api.routes.feedback_public import FeedbackLinkCors, widget_files
from heliograph.api.routes.gateway import GatewayEndpoints
from heliograph.api.routes.ingest import ASYNC_LOG_ENDPOINTS
from heliograph.api.routes.otlp import OTLP_ENDPOINTS
from heliograph.api.session_paths import SessionIdPaths
from heliograph.config import Settings
from heliograph.dashboard import CookieSigner, dashboard_secret, install_dashboard
from heliograph.dashboard.auth import origin_of
from heliograph.domain.feedback_links import FeedbackLinkSigner, LinkRateLimit
from heliograph.domain.pricing import PriceTable
from heliograph.domain.store import Store
from heliograph.domain.webhooks import WebhookPolicy
from heliograph.errors import Unavailable
from heliograph.gateway.proxy import Gateway
from heliograph.gateway.upstream import Upstreams, create_upstream_client
from heliograph.http_protocol import TimedHttpProtocol
from heliograph.ingest.pipeline import IngestPipeline
from heliograph.ingest.submitter import RecordSubmitter
from heliograph.ingest.writer_client import SharedWriterClient
from heliograph.monitors.runner import MonitorRunner
from heliograph.netguard import AddressPolicy
from heliograph.storage import open_store
from heliograph.storage.sql.engine import SQLITE_READER_RECYCLE_S

__all__ = ["ROUTERS", "create_app", "create_worker_app"]

ROUTERS = (
    health.router,
    metrics.router,
    feedback.router,  # before sessions: its /v1/session/{id}/feedback GET is not a session's id
    feedback_public.router,
    sessions.router,
    requests.router,
    properties.router,
    evals.router,
    gateway_feedback.router,
    monitors.router,
    admin.router,
)

log = logging.getLogger(__name__)
# Allocations between collections of the young generation (Python's default is 700). Reference counting
# frees what a request allocates; the collector only looks for cycles, so it can run far less often.
GC_YOUNG_THRESHOLD = 10_000
# How often the planner's statistics are refreshed as the store grows (see Store.refresh_statistics);
# SQLite readers load them when they connect, and reconnect as often (SQLITE_READER_RECYCLE_S).
STATISTICS_REFRESH_S = SQLITE_READER_RECYCLE_S


def create_app(settings: Settings, *, migrate: bool = True) -> FastAPI:
    """Build the ASGI app; the store, pipeline, price table and gateway come to life in its lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = open_store(settings.database_url)
        if migrate:
            await store.migrate()
        pipeline = record_submitter(settings, store)
        prices = PriceTable.load_default()
        connect, read = settings.upstream_connect_timeout, settings.upstream_read_timeout
        policy = AddressPolicy.from_setting(settings.gateway_allowed_hosts)
        proxy = Gateway(
            client=create_upstream_client(connect_timeout=connect, read_timeout=read),
            target_client=create_upstream_client(connect_timeout=connect, read_timeout=read, policy=policy),
            upstreams=Upstreams(settings.openai_base_url, settings.anthropic_base_url, policy),
            pipeline=pipeline,
            prices=prices,
            max_capture_bytes=settings.max_body_bytes,
        )
        app.state.store, app.state.pipeline, app.state.prices, app.state.gateway = (
            store,
            pipeline,
            prices,
            proxy,
        )
        secret = dashboard_secret(settings)
        app.state.dashboard_signer = CookieSigner(secret)
        app.state.feedback_links = FeedbackLinkSigner(secret)
        app.state.admin_token = settings.admin_token and settings.admin_token.get_secret_value()
        # Before any reader connects: a SQLite connection plans with the statistics it loaded first.
        await _refresh_statistics_once(store)
        pipeline.start()
        app.state.webhook_policy = webhook_policy(settings)
        runner = MonitorRunner(
            store,
            interval_s=settings.monitor_interval_s,
            backoff_s=settings.webhook_backoff_s,
            timeout_s=settings.webhook_timeout_s,
            policy=app.state.webhook_policy,
            dashboard_base=settings.public_url or f"http://{settings.host}:{settings.port}",
        )
        runner.start()
        statistics = asyncio.create_task(_refresh_statistics(store), name="heliograph-statistics")
        _freeze_startup_heap()
        try:
            yield
        finally:
            statistics.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await statistics
            await runner.stop()
            # Gateway records still being written go first, then every queued batch, then the pool.
            await proxy.close()
            await pipeline.stop()
            await store.close()

    app = IngestingApp(
        title="Heliograph",
        version=__version__,
        summary="Self-hostable LLM observability, wire-compatible with Helicone's logging and sessions API.",
        lifespan=lifespan,
        docs_url=None,  # the dashboard serves /docs from vendored Swagger UI (dashboard/routes/api_docs.py)
        redoc_url=None,  # ReDoc would load from a CDN, blank without internet
    )
    # The async-log and OTLP paths are answered before any middleware (api.ingest_paths), with the same
    # body limit; so /anthropic/v1/log is the async log's, not the gateway's.
    app.serve_ingest_paths({**ASYNC_LOG_ENDPOINTS, **OTLP_ENDPOINTS}, max_body_bytes=settings.max_body_bytes)
    # Added last is outermost: the size limit guards the gateway's endpoints, which answer ahead of the
    # router (see api.routes.gateway).
    app.add_middleware(GatewayEndpoints)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(FeedbackLinkCors, origins=settings.feedback_origin_list())
    app.add_middleware(SessionIdPaths)  # outermost: routing sees the session id's encoded slashes
    install_error_handlers(app)
    install_openapi(app)
    for router in ROUTERS:
        app.include_router(router)
    app.state.metrics_token = settings.metrics_token
    app.state.feedback_link_limit = LinkRateLimit(per_minute=settings.feedback_link_sends_per_minute)
    app.state.dashboard_idle_timeout = settings.dashboard_idle_timeout
    app.state.public_origin = None if settings.public_url is None else origin_of(settings.public_url)
    app.mount("/static", widget_files(), name="widget")
    install_dashboard(app)  # after the API, so its catch-all for /dashboard/* never shadows an API route
    return app


def record_submitter(settings: Settings, store: Store) -> RecordSubmitter:
    """This process's own group commit, or the shared writer's client when `serve` runs one."""
    if settings.ingest_writer_socket is not None:
        return SharedWriterClient(Path(settings.ingest_writer_socket), queue_size=settings.ingest_queue_size)
    return IngestPipeline(store, queue_size=settings.ingest_queue_size, batch_size=settings.ingest_batch_size)


def webhook_policy(settings: Settings) -> WebhookPolicy:
    """Where monitor webhooks may go, from HELIOGRAPH_WEBHOOK_ALLOW_PRIVATE and _ALLOWED_HOSTS."""
    return WebhookPolicy.from_settings(
        allow_private=settings.webhook_allow_private, allowed_hosts=settings.webhook_allowed_hosts
    )


async def _refresh_statistics(store: Store) -> None:
    """Refresh the planner's statistics every STATISTICS_REFRESH_S for as long as the app runs."""
    while True:
        await asyncio.sleep(STATISTICS_REFRESH_S)
        await _refresh_statistics_once(store)


async def _refresh_statistics_once(store: Store) -> None:
    try:
        await store.refresh_statistics()
    except Unavailable as exc:  # retried at the next turn; queries stay correct, only slower
        log.warning("planner statistics not refreshed: %s", exc)


def _freeze_startup_heap() -> None:
    """Keep everything built so far out of later garbage collections, and collect young objects less often.

    The modules, routes, engines and tables live as long as the process, yet each full collection walked
    them all. Over some 14,000 gateway calls under load the defaults paused the loop for 2.4 s in all
    (0.5 s at worst); frozen, with this threshold, 0.01 s (three young collections).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD)


def create_worker_app() -> FastAPI:
    """The app of one `serve --workers N` process: settings from the environment, schema already migrated."""
    settings = Settings()
    TimedHttpProtocol.configure(header_timeout=settings.header_timeout, body_timeout=settings.body_timeout)
    return create_app(settings, migrate=False)
