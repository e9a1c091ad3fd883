"""OTLP/HTTP trace export bodies: decoding them (protobuf or JSON, gzip or not) and the answer.

Decoding uses the OpenTelemetry project's own protobuf classes (`opentelemetry-proto`). A gzip body
is inflated only up to the body size limit, so a small compressed bomb costs no more memory than an
uncompressed body may. OTLP/JSON writes trace and span ids in hex where protobuf's JSON mapping
expects base64; both are accepted.
"""

from __future__ import annotations

import base64
import re
import zlib
from typing import Any, Literal

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from heliograph.errors import INVALID_JSON_BODY, InvalidInput, PayloadTooLarge, UnsupportedMediaType

__all__ = ["MAX_SPANS_PER_EXPORT", "Encoding", "decode_export", "encoding_of", "export_response"]

Encoding = Literal["protobuf", "json"]
# OpenTelemetry's batch span processor exports at most 512 spans at a time; twice that is generous,
# and bounds the records one export may queue for commit (a 10,000-span export would fill the queue).
MAX_SPANS_PER_EXPORT = 1024
_CONTENT_TYPES: dict[str, Encoding] = {"application/x-protobuf": "protobuf", "application/json": "json"}
_HEX_ID = {"traceId": re.compile(r"[0-9a-fA-F]{32}"), "spanId": re.compile(r"[0-9a-fA-F]{16}")}
_HEX_ID["parentSpanId"] = _HEX_ID["spanId"]


def encoding_of(content_type: str | None) -> Encoding:
    """The export's encoding from its Content-Type; UnsupportedMediaType (415) for any other type."""
    media_type = (content_type or "").partition(";")[0].strip().lower()
    encoding = _CONTENT_TYPES.get(media_type)
    if encoding is None:
        raise UnsupportedMediaType(
            "Unsupported Content-Type: send OTLP as application/x-protobuf or application/json"
        )
    return encoding


def decode_export(
    body: bytes, *, encoding: Encoding, content_encoding: str | None, max_bytes: int
) -> ExportTraceServiceRequest:
    """Parse an export body; InvalidInput (400) when undecodable, PayloadTooLarge (413) past limits."""
    body = _inflate(body, content_encoding=content_encoding, max_bytes=max_bytes)
    export = ExportTraceServiceRequest()
    if encoding == "protobuf":
        try:
            export.ParseFromString(body)
        except DecodeError:
            raise InvalidInput("Invalid OTLP body: not an ExportTraceServiceRequest in protobuf") from None
    else:
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise InvalidInput(INVALID_JSON_BODY) from None
        try:
            if not isinstance(document, dict):
                raise InvalidInput("Invalid OTLP body: expected a JSON object with resourceSpans")
            json_format.ParseDict(_base64_ids(document), export, ignore_unknown_fields=True)
        except (json_format.ParseError, RecursionError) as exc:
            message = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            raise InvalidInput(f"Invalid OTLP JSON body: {message}") from None
    spans = sum(len(scope.spans) for resource in export.resource_spans for scope in resource.scope_spans)
    if spans > MAX_SPANS_PER_EXPORT:
        raise PayloadTooLarge(f"Too many spans: at most {MAX_SPANS_PER_EXPORT} per export, got {spans}")
    return export


def export_response(*, rejected: int, message: str, encoding: Encoding) -> tuple[bytes, bytes]:
    """The success answer (body, content type): `partial_success` only when spans were rejected."""
    answer = ExportTraceServiceResponse()
    if rejected:
        answer.partial_success.rejected_spans = rejected
        answer.partial_success.error_message = message
    if encoding == "protobuf":
        return answer.SerializeToString(), b"application/x-protobuf"
    return json_format.MessageToJson(answer, indent=None).encode(), b"application/json"


def _inflate(body: bytes, *, content_encoding: str | None, max_bytes: int) -> bytes:
    coding = (content_encoding or "identity").strip().lower()
    if coding == "identity":
        return body
    if coding != "gzip":
        raise UnsupportedMediaType(f"Unsupported Content-Encoding {coding[:40]!r}: send gzip or identity")
    inflater = zlib.decompressobj(wbits=31)  # 31: gzip header and trailer
    try:
        inflated = inflater.decompress(body, max_bytes + 1)
    except zlib.error:
        raise InvalidInput("Invalid gzip body") from None
    if len(inflated) > max_bytes:
        raise PayloadTooLarge(f"Request body is larger than {max_bytes} bytes once decompressed")
    if not inflater.eof:
        raise InvalidInput("Invalid gzip body: truncated")
    return inflated


def _base64_ids(node: Any) -> Any:
    """`node` with hex trace and span ids (OTLP/JSON) rewritten as base64 (protobuf's JSON mapping)."""
    if isinstance(node, list):
        return [_base64_ids(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {}
    for key, value in node.items():
        pattern = _HEX_ID.get(key)
        if pattern is not None and isinstance(value, str) and pattern.fullmatch(value):
            converted[key] = base64.b64encode(bytes.fromhex(value)).decode()
        elif isinstance(value, dict | list) and key != "value":  # attribute values hold no ids
            converted[key] = _base64_ids(value)
        else:
            converted[key] = value
    return converted
