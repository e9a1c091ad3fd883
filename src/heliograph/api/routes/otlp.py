"""OTLP/HTTP trace export (`/v1/traces`, and Helicone's `/v1/trace/log-python` and `/v1/trace/log`).

Answered, like the async log, ahead of FastAPI and its middleware (api.ingest_paths). The answer is an
`ExportTraceServiceResponse` in the request's encoding, sent after every stored span is committed;
errors use the project's JSON envelope (exporters read only the status: 400, 401, 413 and 415 are
final, 503 with `Retry-After` is retried).
"""

from __future__ import annotations

from typing import Any

from starlette.types import Receive, Scope

from heliograph.api.asgi import decoded_headers, header, read_body
from heliograph.api.deps import org_for_bearer
from heliograph.api.errors import ERROR_RESPONSES
from heliograph.api.ingest_paths import Answer, IngestEndpoint
from heliograph.domain.records import now_ms
from heliograph.ingest.otlp import decode_export, encoding_of, export_response
from heliograph.ingest.spans import records_of_export

__all__ = ["OPENAPI_PATHS", "OPENAPI_SCHEMAS", "OTLP_ENDPOINTS", "OTLP_PATHS", "export_spans"]

OTLP_PATHS = ("/v1/traces", "/v1/trace/log-python", "/v1/trace/log")


async def export_spans(state: Any, scope: Scope, receive: Receive, max_bytes: int) -> Answer | None:
    """Store one export's spans; the answer once they are committed.

    `max_bytes` bounds the body as sent and again once decompressed; `state` is the app's (store,
    pipeline, prices).
    """
    headers = decoded_headers(scope)
    # OTLP exporters send `Authorization`; Helicone's other clients `Helicone-Auth`.
    name = "Authorization" if header(headers, "helicone-auth") is None else "Helicone-Auth"
    name = "Authorization" if header(headers, "authorization") is not None else name
    org_id = await org_for_bearer(state.store, header(headers, name.lower()), header_name=name)
    encoding = encoding_of(header(headers, "content-type"))
    body = await read_body(receive, max_bytes=max_bytes)
    if body is None:  # the client went away before sending its body: nothing to store or answer
        return None
    export = decode_export(
        body,
        encoding=encoding,
        content_encoding=header(headers, "content-encoding"),
        max_bytes=max_bytes,
    )
    mapped = records_of_export(export, org_id=org_id, prices=state.prices, received_at_ms=now_ms())
    if mapped.records:  # an export with nothing to store needs no database
        await state.pipeline.submit_all(mapped.records)
    answer, content_type = export_response(
        rejected=mapped.rejected, message=mapped.message, encoding=encoding
    )
    return Answer([(b"content-type", content_type), (b"content-length", str(len(answer)).encode())], answer)


OTLP_ENDPOINTS: dict[str, IngestEndpoint] = dict.fromkeys(OTLP_PATHS, export_spans)


def _operation(path: str) -> dict[str, Any]:
    def body(name: str) -> dict[str, Any]:
        return {
            "application/x-protobuf": {"schema": {"type": "string", "format": "binary"}},
            "application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}},
        }

    return {
        "post": {
            "tags": ["otlp"],
            "summary": "Export OpenTelemetry spans (OTLP/HTTP)",
            "description": (
                "An `ExportTraceServiceRequest` in protobuf or JSON, gzip-encoded or not; auth by "
                "`Authorization: Bearer <key>` or `Helicone-Auth`. LLM spans become requests, tool, "
                "retriever, agent and chain spans `CUSTOM` requests, in sessions (docs/opentelemetry.md). "
                "Answers an `ExportTraceServiceResponse` in the request's encoding after commit; spans "
                "not stored are counted in `partialSuccess`."
            ),
            "operationId": "otlp_" + path.strip("/").replace("/", "_").replace("-", "_"),
            "requestBody": {"required": True, "content": body("OtlpTraceExport")},
            "responses": {
                "200": {
                    "description": "Committed; `partialSuccess` counts the spans not stored",
                    "content": body("OtlpExportAnswer"),
                },
                **{str(status): ERROR_RESPONSES[status] for status in (400, 401, 413, 415, 503)},
            },
        }
    }


OPENAPI_PATHS: dict[str, dict[str, Any]] = {path: _operation(path) for path in OTLP_PATHS}
OPENAPI_SCHEMAS: dict[str, dict[str, Any]] = {
    "OtlpTraceExport": {
        "type": "object",
        "description": "OTLP/JSON `ExportTraceServiceRequest` (opentelemetry-proto); ids in hex or base64",
        "properties": {"resourceSpans": {"type": "array", "items": {"type": "object"}}},
    },
    "OtlpExportAnswer": {
        "type": "object",
        "description": "OTLP/JSON `ExportTraceServiceResponse`",
        "properties": {
            "partialSuccess": {
                "type": "object",
                "properties": {"rejectedSpans": {"type": "string"}, "errorMessage": {"type": "string"}},
            }
        },
    },
}
