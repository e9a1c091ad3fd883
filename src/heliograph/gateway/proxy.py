"""Forwarding one call upstream, relaying the answer as it arrives, and logging it afterwards.

The gateway speaks ASGI directly: the answer's bytes go from the upstream connection to the caller's
with no response object in between, untouched bar the usage chunk the gateway asked for itself. The
log record is built from the relayed bytes once the last one is sent, and written through the same
durable pipeline as the async-log endpoints. A logging fault is counted and logged, never raised.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
from starlette.types import Message, Receive, Scope, Send
from yarl import URL

from heliograph.domain.headers import HeliconeHeaders, read_helicone_headers
from heliograph.domain.pricing import PriceTable
from heliograph.domain.records import RequestRecord, now_ms
from heliograph.errors import error_body
from heliograph.gateway.streams import UsageChunkFilter
from heliograph.gateway.upstream import HOP_BY_HOP, Route, Upstreams, forwardable_headers, refused
from heliograph.ingest.calls import LoggedCall, record_of
from heliograph.ingest.submitter import RecordSubmitter
from heliograph.netguard import RefusedAddress

__all__ = ["CANCELLED_STATUS", "Gateway", "GatewayStats"]

log = logging.getLogger(__name__)

CANCELLED_STATUS = -3  # Helicone's status for a stream the caller abandoned
# The server adds its own Date; relaying the upstream's too would send the header twice.
_RESPONSE_SKIPPED = frozenset(name.encode() for name in HOP_BY_HOP | {"date"})
BAD_GATEWAY, GATEWAY_TIMEOUT = 502, 504
_JSON_HEADER = (b"content-type", b"application/json")
# Records of calls that end within this long of each other are submitted together, so the ingest
# writer stores them in one transaction: a transaction per call cost more CPU than the call itself.
# Nobody waits on these records; they appear in queries this much later.
LOG_LINGER_S = 0.05
# Bodies larger than this are parsed, and calls carrying more than this are turned into records, in a
# worker thread: either takes milliseconds per megabyte, which on the event loop would stall every call.
OFF_LOOP_BYTES = 64 * 1024


@dataclass(slots=True)
class GatewayStats:
    """Counters shown at /metrics."""

    calls: int = 0
    upstream_errors: int = 0
    logged: int = 0
    log_failures: int = 0


@dataclass(slots=True)
class _Exchange:
    """What the gateway saw of one call, filled in as the answer streams through."""

    route: Route
    org_id: str
    helicone: HeliconeHeaders
    request_json: object
    start_ms: int
    started: float
    stream: bool
    request_bytes: int
    captured: list[bytes] = field(default_factory=list)
    captured_bytes: int = 0
    first_chunk_at: float | None = None


@dataclass(slots=True)
class _Ended:
    """A call whose answer has gone out, waiting to be logged."""

    exchange: _Exchange
    status: int
    body: bytes
    ended: float


class Gateway:
    """Proxies calls to the configured upstreams through one shared HTTP client.

    Parameters:
        client: the pooled client for the configured upstreams (with `target_client`, the only place
            the gateway talks to the outside).
        target_client: the pooled client for `/gateway/*` targets, which connects only to the
            addresses the address policy permits.
        upstreams: where `/openai/v1/*` and `/anthropic/v1/*` go.
        pipeline, prices: how calls are logged, as for the async-log endpoints.
        max_capture_bytes: most bytes of an answer kept for its log record.
    """

    def __init__(
        self,
        *,
        client: aiohttp.ClientSession,
        target_client: aiohttp.ClientSession,
        upstreams: Upstreams,
        pipeline: RecordSubmitter,
        prices: PriceTable,
        max_capture_bytes: int,
    ) -> None:
        self.client = client
        self.target_client = target_client
        self.upstreams = upstreams
        self.stats = GatewayStats()
        self._pipeline = pipeline
        self._prices = prices
        self._max_capture = max_capture_bytes
        self._unlogged: list[_Ended] = []
        self._flush_timer: asyncio.TimerHandle | None = None
        self._log_tasks: set[asyncio.Task[None]] = set()

    async def close(self) -> None:
        """Finish writing pending log records, then close the upstream client."""
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush()
        await asyncio.gather(*self._log_tasks, return_exceptions=True)
        await self.client.close()
        await self.target_client.close()

    async def forward(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        route: Route,
        org_id: str,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> None:
        """Send the caller's request to `route` and relay the answer; 502/504 when the upstream fails.

        Raises InvalidInput for bad `Helicone-*` headers and Forbidden for a target the address policy
        refuses, before anything is sent either way (and nothing is logged).
        """
        helicone = read_helicone_headers(headers)
        if helicone.request_id is None:
            helicone = dataclasses.replace(helicone, request_id=str(uuid.uuid4()))
        # Logged as the caller sent it.
        request_json = (
            await asyncio.to_thread(_json_or_none, body)
            if len(body) > OFF_LOOP_BYTES
            else _json_or_none(body)
        )
        injected = _needs_usage(route, request_json)
        if injected:
            body = orjson.dumps(_with_usage(request_json))
        exchange = _Exchange(
            route=route,
            org_id=org_id,
            helicone=helicone,
            request_json=request_json if request_json is not None else body.decode(errors="replace"),
            start_ms=now_ms(),
            started=time.perf_counter(),
            stream=isinstance(request_json, dict) and request_json.get("stream") is True,
            request_bytes=len(body),
        )
        client = self.target_client if route.guarded else self.client
        self.stats.calls += 1
        try:
            upstream = await client.request(
                scope["method"],
                URL(route.url, encoded=True),  # the caller's path and query, byte for byte
                headers=forwardable_headers(headers),
                # aiohttp writes a large body from a file-like object off the event loop.
                data=io.BytesIO(body) if len(body) > OFF_LOOP_BYTES else body or None,
                allow_redirects=False,  # so no redirect can lead past the address policy
            )
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, RefusedAddress):
                raise refused(exc.os_error) from None
            await self._failed(
                send, exchange, BAD_GATEWAY, "The upstream could not be reached (ConnectError)"
            )
            return
        except TimeoutError:  # aiohttp's connect and read timeouts are TimeoutErrors too
            await self._failed(send, exchange, GATEWAY_TIMEOUT, "The upstream did not answer in time")
            return
        except aiohttp.ClientError as exc:
            await self._failed(
                send, exchange, BAD_GATEWAY, f"The upstream could not be reached ({type(exc).__name__})"
            )
            return
        await self._relay(upstream, exchange, receive, send, injected=injected)

    async def _relay(
        self,
        upstream: aiohttp.ClientResponse,
        exchange: _Exchange,
        receive: Receive,
        send: Send,
        *,
        injected: bool,
    ) -> None:
        exchange.stream = exchange.stream or upstream.headers.get("content-type", "").startswith(
            "text/event-stream"
        )
        status = upstream.status
        usage_filter = UsageChunkFilter() if injected else None
        # A caller that hangs up is noticed at once, not at the upstream's next chunk: closing the
        # upstream answer ends the pending read (and stops the upstream generating for nobody).
        caller = _CallerWatch(receive, upstream)
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (name, value)
                        for name, value in upstream.raw_headers
                        if (lowered := name.lower()) not in _RESPONSE_SKIPPED
                        or (lowered == b"content-length" and not injected)
                    ]
                    + [(b"helicone-id", str(exchange.helicone.request_id).encode())],
                }
            )
            content = upstream.content
            while chunk := await content.readany():
                if exchange.first_chunk_at is None:
                    exchange.first_chunk_at = time.perf_counter()
                self._capture(exchange, chunk)
                out = usage_filter.feed(chunk) if usage_filter else chunk
                if out:
                    await send({"type": "http.response.body", "body": out, "more_body": True})
            if caller.left:
                status = CANCELLED_STATUS
                return
            tail = usage_filter.flush() if usage_filter else b""
            caller.finishing = True
            await send({"type": "http.response.body", "body": tail, "more_body": False})
        except (TimeoutError, aiohttp.ClientError) as exc:
            if caller.left:
                status = CANCELLED_STATUS
                return
            status = GATEWAY_TIMEOUT if isinstance(exc, TimeoutError) else BAD_GATEWAY
            self.stats.upstream_errors += 1
            # Returning without the last body message makes the server cut the caller's connection,
            # so the caller knows the answer is incomplete.
            log.warning("gateway: the upstream answer broke off (%s)", type(exc).__name__)
        except asyncio.CancelledError:
            status = CANCELLED_STATUS
            raise
        finally:
            caller.stop()
            upstream.release()  # back to the pool when read to the end, else closed
            self._log(exchange, status=status, body=b"".join(exchange.captured))

    def _capture(self, exchange: _Exchange, chunk: bytes) -> None:
        if exchange.captured_bytes + len(chunk) <= self._max_capture:
            exchange.captured.append(chunk)
            exchange.captured_bytes += len(chunk)

    async def _failed(self, send: Send, exchange: _Exchange, status: int, message: str) -> None:
        self.stats.upstream_errors += 1
        body = error_body(message)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    _JSON_HEADER,
                    (b"content-length", str(len(body)).encode()),
                    (b"helicone-id", str(exchange.helicone.request_id).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
        self._log(exchange, status=status, body=orjson.dumps({"error": message}))

    def _log(self, exchange: _Exchange, *, status: int, body: bytes) -> None:
        """Log the call in the background, once the answer is on its way (see LOG_LINGER_S)."""
        self._unlogged.append(_Ended(exchange, status, body, time.perf_counter()))
        if self._flush_timer is None:
            self._flush_timer = asyncio.get_running_loop().call_later(LOG_LINGER_S, self._flush)

    def _flush(self) -> None:
        self._flush_timer = None
        ended, self._unlogged = self._unlogged, []
        task = asyncio.create_task(self._write(ended))
        self._log_tasks.add(task)
        task.add_done_callback(self._log_tasks.discard)

    async def _write(self, ended: list[_Ended]) -> None:
        carried = sum(call.exchange.request_bytes + len(call.body) for call in ended)
        built = (
            await asyncio.to_thread(self._records, ended)
            if carried > OFF_LOOP_BYTES
            else self._records(ended)
        )
        submits = []
        for record in built:
            if isinstance(record, Exception):
                self._log_failed(record)
                continue
            submits.append(self._pipeline.submit_with_retry(record))  # retried while the database is down
        for outcome in await asyncio.gather(*submits, return_exceptions=True):
            if isinstance(outcome, Exception):
                self._log_failed(outcome)
            else:
                self.stats.logged += 1

    def _records(self, ended: list[_Ended]) -> list[RequestRecord | Exception]:
        """Each call's record, or why it could not be built."""
        built: list[RequestRecord | Exception] = []
        for call in ended:
            try:
                built.append(
                    record_of(
                        _logged_call(call),
                        org_id=call.exchange.org_id,
                        helicone=call.exchange.helicone,
                        prices=self._prices,
                    )
                )
            except Exception as exc:
                built.append(exc)
        return built

    def _log_failed(self, exc: Exception) -> None:
        """A logging fault is counted and logged, and never reaches the proxied call."""
        self.stats.log_failures += 1
        log.warning("gateway could not log a call: %s", type(exc).__name__)


def _logged_call(call: _Ended) -> LoggedCall:
    exchange = call.exchange
    first = exchange.first_chunk_at
    response_json = _json_or_none(call.body)
    return LoggedCall(
        provider=exchange.route.provider,
        target_url=exchange.route.url,
        request_json=exchange.request_json,
        response_json=response_json if response_json is not None else {},
        text_body=None if response_json is not None else call.body.decode(errors="replace"),
        status=call.status,
        start_ms=exchange.start_ms,
        end_ms=exchange.start_ms + round((call.ended - exchange.started) * 1000),
        ttft_ms=round((first - exchange.started) * 1000) if exchange.stream and first is not None else None,
    )


class _CallerWatch:
    """Waits for the caller's disconnect while the answer is relayed; closes the upstream answer if so."""

    __slots__ = ("_task", "_upstream", "finishing", "left")

    def __init__(self, receive: Receive, upstream: aiohttp.ClientResponse) -> None:
        self.left = False
        self.finishing = False  # the last message is going out: the server may now report a disconnect
        self._upstream = upstream
        self._task: asyncio.Task[Message] = asyncio.ensure_future(receive())
        self._task.add_done_callback(self._on_message)

    def _on_message(self, task: asyncio.Task[Message]) -> None:
        if task.cancelled() or self.finishing or task.exception() is not None:
            return
        if task.result()["type"] == "http.disconnect":
            self.left = True
            self._upstream.close()

    def stop(self) -> None:
        self._task.cancel()


def _json_or_none(body: bytes) -> Any:
    try:
        return orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return None


def _needs_usage(route: Route, request_json: object) -> bool:
    """An OpenAI-style streamed chat completion that did not ask for usage: ask for it."""
    if (
        route.provider == "ANTHROPIC"
        or not isinstance(request_json, dict)
        or request_json.get("stream") is not True
    ):
        return False
    if not route.url.split("?", 1)[0].endswith("/chat/completions"):
        return False
    options = request_json.get("stream_options")
    return not (isinstance(options, dict) and options.get("include_usage"))


def _with_usage(request_json: dict[str, Any]) -> dict[str, Any]:
    options = request_json.get("stream_options")
    return {
        **request_json,
        "stream_options": {**(options if isinstance(options, dict) else {}), "include_usage": True},
    }
