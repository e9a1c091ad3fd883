"""HTTP request and response schemas, named by role, and the one envelope every JSON answer uses.

Wire formatting (session times as `YYYY-MM-DD HH:MM:SS.mmm`, request times as ISO 8601 with `Z`,
nano-USD as USD floats) happens here, at the edge.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Generic, Literal, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from heliograph.domain.sessions import PathNode
from heliograph.storage.base import SessionSummary, StoredRequest

__all__ = [
    "AsyncLogCreate",
    "AveragePublic",
    "Envelope",
    "FeedbackBreakdownCreate",
    "FeedbackBreakdownPublic",
    "FeedbackCreate",
    "HistogramBinPublic",
    "MetricAveragesPublic",
    "PathNodePublic",
    "PropertyUpdate",
    "RequestPublic",
    "RequestQueryCreate",
    "ScoresCreate",
    "SessionCountPublic",
    "SessionDetailPublic",
    "SessionMetricsPublic",
    "SessionNamePublic",
    "SessionNameQueryCreate",
    "SessionPublic",
    "SessionQueryCreate",
    "SessionTagCreate",
    "TimeFilter",
]

T = TypeVar("T")
NANO = 1_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Envelope(BaseModel, Generic[T]):
    """Every JSON answer: `{"data": ..., "error": null}` or `{"data": null, "error": "..."}`."""

    data: T | None = None
    error: str | None = None


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ProviderRequest(_Open):
    url: str = Field(description="The provider URL called (stored as target_url)")
    json_: dict[str, Any] = Field(alias="json", description="The request body sent to the model")
    meta: dict[str, str] = Field(default_factory=dict, description="Extra request headers (Helicone-*)")


class ProviderResponse(_Open):
    json_: dict[str, Any] = Field(alias="json", description="The response body; {} when textBody is used")
    textBody: str | None = Field(None, description="A streamed body: JSON lines or SSE, used when non-empty")
    status: int = Field(description="The provider's HTTP status")
    headers: dict[str, str] = Field(default_factory=dict)
    cost: float | None = Field(None, description="Cost in USD; overrides the price table")


class EpochTime(_Open):
    seconds: int
    milliseconds: int


class Timing(_Open):
    startTime: EpochTime
    endTime: EpochTime
    timeToFirstToken: float | None = None


class AsyncLogCreate(_Open):
    """What Helicone's logging clients send. Documented here; validated with Helicone's messages (400)."""

    providerRequest: ProviderRequest
    providerResponse: ProviderResponse
    timing: Timing | None = None


class FeedbackCreate(_Body):
    rating: StrictBool = Field(description="true for thumbs up, false for thumbs down")


class PropertyUpdate(_Body):
    key: str = Field(min_length=1, max_length=256)
    value: str = Field(max_length=4096)


class TimeFilter(_Body):
    startTimeUnixMs: float = Field(ge=0, le=1e14)
    endTimeUnixMs: float = Field(ge=0, le=1e14)


class SessionQueryCreate(_Body):
    search: str = Field(max_length=1000, description="Case-insensitive substring of session id or name")
    timeFilter: TimeFilter
    timezoneDifference: float = Field(description="Minutes added to the returned times, -1440..1440")
    filter: Any = Field("all", description='Filter tree (spec section 5); "all" or {} for none')
    nameEquals: str | None = Field(None, max_length=4096)
    limit: int = Field(50, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=10_000_000)


class SessionNameQueryCreate(_Body):
    nameContains: str = Field(max_length=1000)
    timezoneDifference: float = Field(description="Minutes added to the returned times, -1440..1440")
    timeFilter: TimeFilter | None = None
    filter: Any = Field("all", description='Filter tree (spec section 5); "all" or {} for none')
    pSize: Literal["p50", "p75", "p95", "p99", "p99.9"] | None = None
    useInterquartile: bool | None = None


class FeedbackBreakdownCreate(_Body):
    property: str = Field(
        min_length=1, max_length=256, description="A property key, or `model` / `provider` (request columns)"
    )
    timeFilter: TimeFilter | None = None
    filter: Any = Field("all", description='Filter tree (spec section 5); "all" or {} for none')


class FeedbackBreakdownPublic(BaseModel):
    value: str
    sessions: int = Field(description="Sessions with at least one request carrying this value")
    rated: int
    positive: int
    negative: int
    positive_rate: float | None
    ci_low: float | None = Field(description="95% Wilson interval of positive_rate")
    ci_high: float | None
    p_value: float | None = Field(
        description="Two-proportion test against the best-rated value (null for it)"
    )


class SessionTagCreate(_Body):
    tag: str = Field(min_length=1, max_length=256)


class RequestQueryCreate(_Body):
    filter: Any = Field(description='Filter tree (spec section 5); "all" or {} for none')
    offset: int = Field(0, ge=0, le=10_000_000)
    limit: int = Field(10, ge=1, le=1000)
    sort: dict[str, Literal["asc", "desc"]] | None = Field(
        None,
        description="One key: created_at, latency, cost, total_tokens, prompt_tokens, completion_tokens, "
        "user_id, time_to_first_token or properties.<key>",
    )
    isScored: bool | None = None
    # Accepted for compatibility with Helicone's RequestQueryParams; they change nothing here.
    isCached: bool | None = None
    includeInputs: bool | None = None
    isPartOfExperiment: bool | None = None


class ScoresCreate(_Body):
    scores: dict[str, Any] = Field(description="Score name to integer or boolean")


class SessionCountPublic(BaseModel):
    count: int
    total_cost: float
    avg_cost: float
    avg_latency: float = Field(description="Summed latency per session, averaged over sessions (ms)")
    avg_requests: float


class SessionNamePublic(BaseModel):
    name: str
    created_at: str
    first_used: str
    last_used: str
    avg_latency: float
    session_count: int


class HistogramBinPublic(BaseModel):
    range_start: str
    range_end: str
    value: int


class AveragePublic(BaseModel):
    average: float


class MetricAveragesPublic(BaseModel):
    session_count: list[AveragePublic]
    session_duration: list[AveragePublic]
    session_cost: list[AveragePublic]


class SessionMetricsPublic(BaseModel):
    session_count: list[HistogramBinPublic]
    session_duration: list[HistogramBinPublic]
    session_cost: list[HistogramBinPublic]
    average: MetricAveragesPublic


class SessionPublic(BaseModel):
    session_id: str
    session_name: str
    created_at: str
    latest_request_created_at: str
    total_cost: float
    total_requests: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    avg_latency: float
    user_ids: list[str]
    feedback: bool | None

    @classmethod
    def of(cls, summary: SessionSummary, *, timezone_minutes: int = 0) -> SessionPublic:
        return cls(
            session_id=summary.session_id,
            session_name=summary.name,
            created_at=session_time(summary.created_at_ms, timezone_minutes),
            latest_request_created_at=session_time(summary.latest_request_created_at_ms, timezone_minutes),
            total_cost=summary.cost_nano_usd / NANO,
            total_requests=summary.request_count,
            prompt_tokens=summary.prompt_tokens,
            completion_tokens=summary.completion_tokens,
            total_tokens=summary.total_tokens,
            avg_latency=summary.avg_latency_ms,
            user_ids=summary.user_ids,
            feedback=summary.feedback,
        )


class RequestPublic(BaseModel):
    """A request row with Helicone's `HeliconeRequest` field names."""

    request_id: str
    request_created_at: str
    response_created_at: str
    request_body: Any
    response_body: Any
    response_status: int
    request_user_id: str | None
    request_properties: dict[str, str]
    properties: dict[str, str]
    provider: str
    model: str
    request_model: str | None
    delay_ms: int
    time_to_first_token: int | None
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_cache_read_tokens: int
    prompt_cache_write_tokens: int
    cost: float
    cost_unknown: bool = Field(description="True when no price matched the model (cost is then 0)")
    scores: dict[str, int]
    target_url: str

    @classmethod
    def of(cls, stored: StoredRequest) -> RequestPublic:
        r = stored.record
        return cls(
            request_id=r.request_id,
            request_created_at=iso_time(r.created_at_ms),
            response_created_at=iso_time(r.response_created_at_ms),
            request_body=_json_or_text(r.request_body),
            response_body=_json_or_text(r.response_body),
            response_status=r.status,
            request_user_id=r.user_id,
            request_properties=r.properties,
            properties=r.properties,
            provider=r.provider,
            model=r.model,
            request_model=r.request_model,
            delay_ms=r.latency_ms,
            time_to_first_token=r.time_to_first_token_ms,
            prompt_tokens=r.prompt_tokens,
            completion_tokens=r.completion_tokens,
            total_tokens=r.total_tokens,
            prompt_cache_read_tokens=r.cache_read_tokens,
            prompt_cache_write_tokens=r.cache_write_tokens,
            cost=r.cost_nano_usd / NANO,
            cost_unknown=not r.cost_known,
            scores=stored.scores,
            target_url=r.target_url,
        )


class PathNodePublic(BaseModel):
    path: str
    name: str
    request_ids: list[str]
    children: list[PathNodePublic]

    @classmethod
    def of(cls, node: PathNode) -> PathNodePublic:
        return cls(
            path=node.path,
            name=node.name,
            request_ids=node.request_ids,
            children=[cls.of(child) for child in node.children],
        )


class SessionDetailPublic(BaseModel):
    session: SessionPublic
    requests: list[RequestPublic]
    tree: PathNodePublic


def session_time(ms: int, timezone_minutes: int = 0) -> str:
    """`YYYY-MM-DD HH:MM:SS.mmm` in UTC shifted by `timezone_minutes`."""
    moment = _EPOCH + timedelta(milliseconds=ms, minutes=timezone_minutes)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{ms % 1000:03d}"


def iso_time(ms: int) -> str:
    """ISO 8601 in UTC with millisecond precision and a `Z`."""
    return (_EPOCH + timedelta(milliseconds=ms)).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _json_or_text(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text
