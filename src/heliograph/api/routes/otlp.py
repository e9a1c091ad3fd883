"""OTLP/HTTP trace export (`/v1/traces`, and Helicone's `/v1/trace/log-python` and `/v1/trace/log`).

Served, like the async log, by a plain ASGI middleware ahead of FastAPI's router. The answer is an
`ExportTraceServiceResponse` in the request's encoding, sent after every stored span is committed;
errors use the project's JSON envelope (exporters read only the status: 400, 401, 413 and 415 are
final, 503 with `Retry-After` is retried).
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from heliograph.api.asgi import decoded_headers, header, read_body
from heliograph.api.deps import org_for_bearer
from heliograph.api.errors import ERROR_RESPONSES, error_response, method_not_allowed
from heliograph.domain.records import now_ms
from heliograph.errors import HeliographError
from heliograph.ingest.otlp import decode_export, encoding_of, export_response
from heliograph.ingest.spans import records_of_export

__all__ = ["OPENAPI_PATHS", "OPENAPI_SCHEMAS", "OTLP_PATHS", "OtlpEndpoints"]

OTLP_PATHS = ("/v1/traces", "/v1/trace/log-python", "/v1/trace/log")


class OtlpEndpoints:
    """ASGI middleware: answers the OTLP paths itself (405 but for POST) and passes everything else on.

    It must sit inside the body size limit, which bounds the body as sent; `max_bytes` bounds it again
    once decompressed. The store, pipeline and prices come from `app.state`.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in OTLP_PATHS:
            await self.app(scope, receive, send)
            return
        if scope["method"] != "POST":
            await method_not_allowed(["POST"])(scope, receive, send)
            return
        try:
            await self._export(scope, receive, send)
        except HeliographError as exc:
            await error_response(exc)(scope, receive, send)

    async def _export(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = scope["app"].state
        headers = decoded_headers(scope)
        # OTLP exporters send `Authorization`; Helicone's other clients `Helicone-Auth`.
        name = "Authorization" if header(headers, "helicone-auth") is None else "Helicone-Auth"
        name = "Authorization" if header(headers, "authorization") is not None else name
        org_id = await org_for_bearer(state.store, header(headers, name.lower()), header_name=name)
        encoding = encoding_of(header(headers, "content-type"))
        body = await read_body(receive)
        if body is None:  # the client went away before sending its body: nothing to store or answer
            return
        export = decode_export(
            body,
            encoding=encoding,
            content_encoding=header(headers, "content-encoding"),
            max_bytes=self.max_bytes,
        )
        mapped = records_of_export(export, org_id=org_id, prices=state.prices, received_at_ms=now_ms())
        if mapped.records:  # an export with nothing to store needs no database
            await state.pipeline.submit_all(mapped.records)
        answer, content_type = export_response(
            rejected=mapped.rejected, message=mapped.message, encoding=encoding
        )
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", content_type), (b"content-length", str(len(answer)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": answer})


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
