"""Turns the spans of one OTLP export into request records, as the async-log endpoint would store them.

An LLM span is one call; a tool, retriever, agent or chain span is a `CUSTOM` request without tokens;
any other span is rejected (counted in `partial_success`). Sessions, users and properties come from
`Helicone-*` association properties (Traceloop, helicone-async) over the conventions' own attributes,
inherited from ancestor spans; without an explicit path, a span's path is its ancestors' names. The
attribute table is in docs/opentelemetry.md; the bodies are read by `ingest.span_bodies`.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from heliograph.domain.headers import read_helicone_headers
from heliograph.domain.pricing import PriceTable
from heliograph.domain.records import RequestRecord
from heliograph.errors import InvalidInput
from heliograph.ingest.calls import LoggedCall, record_of
from heliograph.ingest.span_bodies import (
    Attributes,
    as_text,
    json_value,
    llm_bodies,
    step_bodies,
    usage_of,
)

__all__ = ["MappedExport", "records_of_export"]

# Request ids are uuid5(trace id + span id) in this namespace: an exporter's retry is stored once.
SPAN_NAMESPACE = uuid.UUID("6f1c6f8e-7d0b-5c8e-9a57-3c1f0e2b9d41")
_ASSOCIATION = "traceloop.association.properties."
_LANGFUSE_METADATA = "langfuse.trace.metadata."
_SESSION_ATTRIBUTES = ("session.id", "gen_ai.conversation.id", "langfuse.session.id")
_USER_ATTRIBUTES = ("user.id", "langfuse.user.id")
_PROVIDER_ATTRIBUTES = ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system")
_MAX_PROVIDER_CHARS = 32  # the column's width
# Span kinds, by convention: which attribute says it, and which of its values are calls or steps.
_KIND_ATTRIBUTES = (
    "openinference.span.kind",
    "traceloop.span.kind",
    "langfuse.observation.type",
    "gen_ai.operation.name",
)
_LLM_KINDS = frozenset(
    {"llm", "embedding", "embeddings", "generation", "chat", "text_completion", "generate_content"}
)
_STEP_KINDS = frozenset(
    {
        "tool",
        "retriever",
        "agent",
        "chain",
        "workflow",
        "task",
        "execute_tool",
        "invoke_agent",
        "create_agent",
    }
)
_MODEL_ATTRIBUTES = ("gen_ai.request.model", "llm.model_name", "llm.request.type")
_FIRST_TOKEN_EVENTS = frozenset(
    {"First Token Stream Event", "llm.content.completion.chunk", "gen_ai.content.completion.chunk"}
)
_MAX_EPOCH_MS = 253_402_300_799_999  # the last millisecond of the year 9999
_INT32 = 2**31


@dataclass(frozen=True, slots=True)
class MappedExport:
    """The records to store, and how many spans were not used, with why."""

    records: list[RequestRecord]
    rejected: int
    message: str


@dataclass(slots=True)
class _Node:
    span: Span
    attributes: Attributes
    context: dict[str, tuple[str, str]] | None = None  # lowercase name -> Helicone header pair


def records_of_export(
    export: ExportTraceServiceRequest, *, org_id: str, prices: PriceTable, received_at_ms: int
) -> MappedExport:
    """Map every span of `export`; a span that cannot be used is counted, never fails the others."""
    in_order = [_Node(span, _attributes(span)) for span in _spans(export)]
    nodes = {(node.span.trace_id, node.span.span_id): node for node in in_order}  # to find parents
    records: list[RequestRecord] = []
    invalid: list[str] = []
    unknown = 0
    for node in in_order:
        kind = _kind_of(node.attributes)
        if kind is None:
            unknown += 1
            continue
        try:
            records.append(
                _record(node, nodes, kind=kind, org_id=org_id, prices=prices, received_at_ms=received_at_ms)
            )
        except InvalidInput as exc:
            invalid.append(exc.message)
    rejected = unknown + len(invalid)
    reasons = []
    if unknown:
        reasons.append(f"{unknown} not an LLM, tool, retriever, agent or chain span")
    if invalid:
        reasons.append(f"{len(invalid)} invalid (first: {invalid[0]})")
    message = f"{rejected} span(s) not stored: " + "; ".join(reasons) if rejected else ""
    return MappedExport(records=records, rejected=rejected, message=message)


def _spans(export: ExportTraceServiceRequest) -> Iterator[Span]:
    for resource in export.resource_spans:
        for scope in resource.scope_spans:
            yield from scope.spans


def _attributes(span: Span) -> Attributes:
    return {attribute.key: _value(attribute.value) for attribute in span.attributes}


def _value(value: AnyValue) -> object:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return {item.key: _value(item.value) for item in value.kvlist_value.values}
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return None if kind is None else getattr(value, kind)


def _kind_of(attributes: Attributes) -> str | None:
    """`llm`, `step` (tool, retriever, agent, chain) or None, from the first span-kind attribute set."""
    for name in _KIND_ATTRIBUTES:
        value = attributes.get(name)
        if isinstance(value, str) and value:
            kind = value.lower()
            return "llm" if kind in _LLM_KINDS else "step" if kind in _STEP_KINDS else None
    return "llm" if any(name in attributes for name in _MODEL_ATTRIBUTES) else None


def _record(
    node: _Node,
    nodes: dict[tuple[bytes, bytes], _Node],
    *,
    kind: str,
    org_id: str,
    prices: PriceTable,
    received_at_ms: int,
) -> RequestRecord:
    span, attributes = node.span, node.attributes
    if len(span.trace_id) != 16 or len(span.span_id) != 8 or not any(span.trace_id) or not any(span.span_id):
        raise InvalidInput("a span needs a 16-byte trace id and an 8-byte span id")
    context = dict(_context(node, nodes))
    has_session = bool(context.get("helicone-session-id", ("", ""))[1])  # "" means no session
    if has_session and "helicone-session-path" not in context:
        context["helicone-session-path"] = ("Helicone-Session-Path", _ancestor_path(node, nodes))
    helicone = read_helicone_headers(context.values())
    stable_id = uuid.uuid5(SPAN_NAMESPACE, f"{span.trace_id.hex()}-{span.span_id.hex()}")
    helicone = dataclasses.replace(helicone, request_id=str(stable_id))
    start_ms, end_ms = _times(span, received_at_ms)
    if kind == "llm":
        request_json, response_json = llm_bodies(attributes)
        provider = _provider(attributes)
        usage = usage_of(attributes)
    else:
        request_json, response_json = step_bodies(span.name, attributes)
        provider, usage = "CUSTOM", None
    call = LoggedCall(
        provider=provider,
        target_url=_target_url(attributes),
        request_json=request_json,
        response_json=response_json,
        text_body=None,
        status=_status(span, attributes),
        start_ms=start_ms,
        end_ms=end_ms,
        ttft_ms=_first_token_ms(span, start_ms) if kind == "llm" else None,
        usage=usage,
    )
    return record_of(call, org_id=org_id, helicone=helicone, prices=prices)


def _own_context(attributes: Attributes) -> Iterator[tuple[str, str]]:
    """Helicone header pairs a span states itself: the conventions' first, association properties last."""
    session_id = next((attributes[name] for name in _SESSION_ATTRIBUTES if name in attributes), None)
    if session_id is not None:
        yield "Helicone-Session-Id", as_text(session_id)
    user_id = next((attributes[name] for name in _USER_ATTRIBUTES if name in attributes), None)
    if user_id is not None:
        yield "Helicone-User-Id", as_text(user_id)
    metadata = attributes.get("metadata")  # OpenInference: a JSON object as text
    for key, value in (_json_object(metadata) if isinstance(metadata, str) else {}).items():
        yield f"Helicone-Property-{key}", as_text(value)
    for name, value in attributes.items():
        if name.startswith(_LANGFUSE_METADATA):
            yield f"Helicone-Property-{name[len(_LANGFUSE_METADATA) :]}", as_text(value)
    for name, value in attributes.items():
        if name.startswith(_ASSOCIATION):
            key = name[len(_ASSOCIATION) :]
            yield key if key.lower().startswith("helicone-") else f"Helicone-Property-{key}", as_text(value)


def _context(node: _Node, nodes: dict[tuple[bytes, bytes], _Node]) -> dict[str, tuple[str, str]]:
    """The span's own pairs over its parent's context (so a trace-level session reaches every step)."""
    if node.context is not None:
        return node.context
    chain = _ancestors(node, nodes)
    inherited: dict[str, tuple[str, str]] = {}
    for ancestor in [*reversed(chain), node]:  # root first; memoised, so a trace costs one pass
        if ancestor.context is None:
            ancestor.context = {
                **inherited,
                **{name.lower(): (name, value) for name, value in _own_context(ancestor.attributes)},
            }
        inherited = ancestor.context
    return inherited


def _ancestors(node: _Node, nodes: dict[tuple[bytes, bytes], _Node]) -> list[_Node]:
    """Parent first, up to the root or the first parent not in this export (a cycle stops the walk)."""
    chain: list[_Node] = []
    seen = {id(node)}
    parent = nodes.get((node.span.trace_id, node.span.parent_span_id))
    while parent is not None and id(parent) not in seen:
        chain.append(parent)
        seen.add(id(parent))
        parent = nodes.get((parent.span.trace_id, parent.span.parent_span_id))
    return chain


def _ancestor_path(node: _Node, nodes: dict[tuple[bytes, bytes], _Node]) -> str:
    names = [ancestor.span.name.strip().replace("/", "-") or "span" for ancestor in _ancestors(node, nodes)]
    return "/" + "/".join(reversed(names))


def _times(span: Span, received_at_ms: int) -> tuple[int, int]:
    start_ms = span.start_time_unix_nano // 1_000_000 or received_at_ms
    end_ms = max(span.end_time_unix_nano // 1_000_000, start_ms)
    if end_ms > _MAX_EPOCH_MS:
        raise InvalidInput("a span's times are after the year 9999")
    return start_ms, end_ms


def _first_token_ms(span: Span, start_ms: int) -> int | None:
    times = [event.time_unix_nano for event in span.events if event.name in _FIRST_TOKEN_EVENTS]
    return max(min(times) // 1_000_000 - start_ms, 0) if times else None


def _status(span: Span, attributes: Attributes) -> int:
    code = attributes.get("http.response.status_code", attributes.get("http.status_code"))
    if isinstance(code, int) and not isinstance(code, bool) and -_INT32 <= code < _INT32:
        return code
    return 500 if span.status.code == Status.STATUS_CODE_ERROR else 200


def _provider(attributes: Attributes) -> str:
    name = next((attributes[key] for key in _PROVIDER_ATTRIBUTES if attributes.get(key)), None)
    return as_text(name).upper()[:_MAX_PROVIDER_CHARS] if name is not None else "CUSTOM"


def _target_url(attributes: Attributes) -> str:
    for name in ("url.full", "gen_ai.openai.api_base", "server.address"):
        value = attributes.get(name)
        if isinstance(value, str) and value:
            return value
    return ""


def _json_object(text: str) -> dict[str, object]:
    value = json_value(text)
    return value if isinstance(value, dict) else {}
