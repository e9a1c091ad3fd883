"""records_of_export on hand-made protobuf exports: inheritance, hostile trees and per-span rejections."""

from __future__ import annotations

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from heliograph.domain.pricing import PriceTable
from heliograph.ingest.spans import records_of_export

TRACE = bytes(range(1, 17))
START_NS = 1_700_000_000_000_000_000


def _span(span_id: int, name: str, parent: int | None = None, /, **attributes: str | int) -> Span:
    return Span(
        trace_id=TRACE,
        span_id=span_id.to_bytes(8, "big"),
        parent_span_id=parent.to_bytes(8, "big") if parent else b"",
        name=name,
        start_time_unix_nano=START_NS,
        end_time_unix_nano=START_NS + 5_000_000,
        attributes=[
            KeyValue(key=k, value=AnyValue(int_value=v) if isinstance(v, int) else AnyValue(string_value=v))
            for k, v in attributes.items()
        ],
    )


def _map(*spans: Span) -> tuple[list[dict[str, str]], int, str]:
    export = ExportTraceServiceRequest()
    export.resource_spans.add().scope_spans.add().spans.extend(spans)
    mapped = records_of_export(export, org_id="org", prices=PriceTable.load_default(), received_at_ms=0)
    return [record.properties for record in mapped.records], mapped.rejected, mapped.message


LLM = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini"}


def test_a_langfuse_trace_level_session_reaches_every_observation_below_it() -> None:
    root = _span(1, "trace", **{"langfuse.observation.type": "agent", "langfuse.session.id": "s-1"})
    child = _span(2, "generation", 1, **{"langfuse.observation.type": "generation"})
    properties, rejected, _ = _map(root, child)
    assert properties == [
        {"Helicone-Session-Id": "s-1", "Helicone-Session-Path": "/"},
        {"Helicone-Session-Id": "s-1", "Helicone-Session-Path": "/trace"},
    ]
    assert rejected == 0


def test_parents_that_form_a_cycle_end_the_path_instead_of_looping() -> None:
    first = _span(1, "a", 2, **LLM, **{"session.id": "loop"})
    second = _span(2, "b", 1, **LLM, **{"session.id": "loop"})
    properties, rejected, _ = _map(first, second)
    assert [p["Helicone-Session-Path"] for p in properties] == ["/b", "/a"]
    assert rejected == 0


def test_an_explicit_helicone_path_wins_over_the_span_names() -> None:
    association = "traceloop.association.properties."
    span = _span(
        2,
        "openai.chat",
        1,
        **LLM,
        **{f"{association}Helicone-Session-Id": "s", f"{association}Helicone-Session-Path": "x/y"},
    )
    properties, _, _ = _map(_span(1, "workflow", **{"traceloop.span.kind": "workflow"}), span)
    assert properties[1]["Helicone-Session-Path"] == "/x/y"


def test_unusable_spans_are_counted_with_the_reason_and_the_rest_are_kept() -> None:
    too_many = {f"langfuse.trace.metadata.k{n}": "v" for n in range(101)}
    spans = (
        _span(1, "fine", **LLM),
        _span(2, "GET /", **{"http.request.method": "GET"}),
        _span(3, "too-many-properties", **LLM, **too_many),
        Span(
            trace_id=bytes(16), span_id=bytes(8), name="zero-ids", attributes=_span(4, "x", **LLM).attributes
        ),
        _span(5, "huge-tokens", **LLM, **{"gen_ai.usage.input_tokens": 10**13}),
    )
    properties, rejected, message = _map(*spans)
    assert (len(properties), rejected) == (1, 4)
    assert message == (
        "4 span(s) not stored: 1 not an LLM, tool, retriever, agent or chain span; "
        "3 invalid (first: Too many properties: at most 100 per request)"
    )


def test_an_empty_session_id_is_no_session_and_gets_no_path() -> None:
    properties, rejected, _ = _map(_span(1, "chat", **LLM, **{"session.id": ""}))
    assert (properties, rejected) == ([{}], 0)


def test_langfuse_s_usage_details_and_model_name_are_read_when_no_gen_ai_attribute_says_them() -> None:
    export = ExportTraceServiceRequest()
    usage = '{"input": 12, "output": 5, "total": 17, "input_cached_tokens": 4}'
    attributes = {
        "langfuse.observation.type": "generation",
        "langfuse.observation.model.name": "gpt-4o-mini",
        "langfuse.observation.usage_details": usage,
    }
    export.resource_spans.add().scope_spans.add().spans.append(_span(1, "generation", **attributes))
    (record,) = records_of_export(
        export, org_id="org", prices=PriceTable.load_default(), received_at_ms=0
    ).records
    assert (record.model, record.prompt_tokens, record.completion_tokens, record.cache_read_tokens) == (
        "gpt-4o-mini",
        12,
        5,
        4,
    )
    assert record.cost_known
