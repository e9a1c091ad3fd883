"""Helpers the OTLP tests share: spans made with the OpenTelemetry SDK, and ways to send them.

Spans are made by the SDK's own tracer (with fixed times) and sent by its own OTLP/HTTP protobuf
exporter, or encoded by its own encoder and posted as protobuf or as OTLP/JSON.
"""

from __future__ import annotations

import gzip
import uuid
from collections.abc import Sequence
from typing import Any

import httpx
from google.protobuf import json_format
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from heliograph.ingest.spans import SPAN_NAMESPACE

__all__ = [
    "SpanMaker",
    "encoded",
    "export_with_sdk",
    "post_spans",
    "read_answer",
    "request_id_of",
]

MS = 1_000_000  # nanoseconds


class SpanMaker:
    """Finished spans with chosen names, attributes, parents and times, from a private tracer."""

    def __init__(self) -> None:
        self._exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(self._exporter))
        self._tracer = provider.get_tracer("heliograph-tests")
        self._live: dict[str, trace.Span] = {}

    def span(
        self,
        name: str,
        attributes: dict[str, Any],
        *,
        start_ms: int,
        end_ms: int,
        parent: str | None = None,
        events: Sequence[tuple[str, int]] = (),
        failed: bool = False,
    ) -> str:
        """Make and end one span (a child of the span named `parent`); returns its name."""
        context = trace.set_span_in_context(self._live[parent]) if parent else None
        span = self._tracer.start_span(name, context=context, attributes=attributes, start_time=start_ms * MS)
        for event_name, at_ms in events:
            span.add_event(event_name, timestamp=at_ms * MS)
        if failed:
            span.set_status(StatusCode.ERROR)
        span.end(end_time=end_ms * MS)
        self._live[name] = span
        return name

    def finished(self) -> list[ReadableSpan]:
        return list(self._exporter.get_finished_spans())


def request_id_of(span: ReadableSpan) -> str:
    """The request id the server gives a span: uuid5 of its trace and span ids."""
    context = span.get_span_context()
    assert context is not None
    return str(uuid.uuid5(SPAN_NAMESPACE, f"{context.trace_id:032x}-{context.span_id:016x}"))


def export_with_sdk(base_url: str, key: str, spans: Sequence[ReadableSpan], path: str = "/v1/traces") -> bool:
    """Send with the SDK's OTLP/HTTP protobuf exporter; True when it reports success."""
    exporter = OTLPSpanExporter(
        endpoint=base_url + path, headers={"Authorization": f"Bearer {key}"}, timeout=10
    )
    try:
        return exporter.export(spans) == SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()  # type: ignore[no-untyped-call]  # the exporter's own method is unannotated


def encoded(spans: Sequence[ReadableSpan], encoding: str) -> bytes:
    """The SDK encoder's ExportTraceServiceRequest, as protobuf or as JSON (MessageToJson)."""
    message = encode_spans(spans)
    return (
        message.SerializeToString() if encoding == "protobuf" else json_format.MessageToJson(message).encode()
    )


def post_spans(
    client: httpx.Client,
    spans: Sequence[ReadableSpan],
    *,
    encoding: str = "protobuf",
    path: str = "/v1/traces",
    compress: bool = False,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST the encoded spans with the content type of `encoding`, gzip-compressed if asked."""
    body = encoded(spans, encoding)
    sent = {"Content-Type": "application/x-protobuf" if encoding == "protobuf" else "application/json"}
    if compress:
        body, sent["Content-Encoding"] = gzip.compress(body), "gzip"
    return client.post(path, content=body, headers={**sent, **(headers or {})})


def read_answer(response: httpx.Response) -> tuple[int, str]:
    """(rejected spans, error message) of a 200 ExportTraceServiceResponse in either encoding."""
    assert response.status_code == 200, response.text
    answer = ExportTraceServiceResponse()
    if response.headers["content-type"] == "application/x-protobuf":
        answer.ParseFromString(response.content)
    else:
        assert response.headers["content-type"] == "application/json"
        json_format.Parse(response.text, answer)
    return answer.partial_success.rejected_spans, answer.partial_success.error_message
