"""HTTP request and response schemas, named by role, and the one envelope every JSON answer uses.

Wire formatting (session times as `YYYY-MM-DD HH:MM:SS.mmm`, request times as ISO 8601 with `Z`,
nano-USD as USD floats) happens here, at the edge.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import Path
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, StrictBool
from pydantic.config import JsonDict

from heliograph.api.request_schemas import RequestPublic
from heliograph.domain.records import NANO_USD_PER_USD
from heliograph.domain.requests import HELICONE_SORT_KEYS, MAX_PAGE
from heliograph.domain.scores import MAX_SCORE, MAX_SCORES
from heliograph.domain.sessions import PathNode
from heliograph.domain.store import SessionSummary

__all__ = [
    "AsyncLogCreate",
    "AveragePublic",
    "CustomTraceCreate",
    "Envelope",
    "ErrorPublic",
    "FeedbackBreakdownCreate",
    "FeedbackBreakdownPublic",
    "FeedbackCreate",
    "GatewayFeedbackCreate",
    "HistogramBinPublic",
    "MetricAveragesPublic",
    "PathNodePublic",
    "PropertyUpdate",
    "RequestIdPath",
    "RequestIdsQuery",
    "RequestQueryCreate",
    "ScoresCreate",
    "SessionCountPublic",
    "SessionDetailPublic",
    "SessionIdPath",
    "SessionMetricsPublic",
    "SessionNamePublic",
    "SessionNameQueryCreate",
    "SessionPublic",
    "SessionQueryCreate",
    "SessionTagCreate",
    "TimeFilter",
]

T = TypeVar("T")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FILTER_REF = "#/components/schemas/FilterNode"
_FILTER_DOC = 'Filter tree (spec section 5); "all" or {} for none'
_SAFE = 2**53  # numbers in an async-log body stay within JavaScript's exact integers
_NOT_NULL: JsonDict = {"not": {"type": "null"}}
_FILTER_TREE: JsonDict = {"allOf": [{"$ref": FILTER_REF}]}  # a bare $ref here would make pydantic look it up
# Documented here, enforced by the handlers with Helicone's 400 answers (a schema check would say 422).
_TIMEZONE: JsonDict = {"minimum": -1440, "maximum": 1440}
# PostgreSQL text cannot hold NUL, so no query string may carry one (it could match nothing anyway).
NO_NUL = "^[^\\x00]*$"
_CONTROL_CHARACTERS = "\\u0000-\\u001f\\u007f-\\u009f"

SessionIdPath = Annotated[
    str,
    Path(
        description="1 to 256 characters, no control characters (else 400)",
        json_schema_extra={"minLength": 1, "maxLength": 256, "pattern": f"^[^{_CONTROL_CHARACTERS}]+$"},
    ),
]


def _not_bool_or_text(value: object) -> object:
    if isinstance(value, bool | str):
        raise ValueError("Input should be a valid integer")
    return value


# An integer as JSON has it: 24.0 is 24, but false and "24" are not numbers.
JsonInt = Annotated[int, Strict(False), BeforeValidator(_not_bool_or_text)]
RequestIdPath = Annotated[
    str, Path(description="The request's id, a UUID (else 400)", json_schema_extra={"format": "uuid"})
]


class Envelope(BaseModel, Generic[T]):
    """Every JSON answer: `{"data": ..., "error": null}` or `{"data": null, "error": "..."}`."""

    data: T | None = None
    error: str | None = None


class ErrorPublic(BaseModel):
    """Every failure: `{"data": null, "error": "<message>"}`."""

    data: None = None
    error: str = Field(description="What went wrong, for a person to act on")


class _Body(BaseModel):
    # Strict: `false` is not 0 and `0` is not false, as the documented types say.
    model_config = ConfigDict(extra="forbid", strict=True)


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ProviderRequest(_Open):
    url: str = Field(description="The provider URL called (stored as target_url)")
    json_: Any = Field(
        alias="json", description="The request body sent to the model", json_schema_extra=_NOT_NULL
    )
    meta: dict[str, Any] = Field(
        default_factory=dict,
        description="Extra request headers (Helicone-*); a value that is not a string counts as its JSON",
    )


class ProviderResponse(_Open):
    json_: Any = Field(
        alias="json", description="The response body; {} when textBody is used", json_schema_extra=_NOT_NULL
    )
    textBody: str | None = Field(None, description="A streamed body: JSON lines or SSE, used when non-empty")
    status: float = Field(
        ge=-(2**31), lt=2**31, description="The provider's HTTP status (a number; fractions are dropped)"
    )
    headers: dict[str, Any] = Field(default_factory=dict)
    cost: float | None = Field(
        None,
        gt=-_SAFE,
        le=1_000_000,
        description="Cost in USD; overrides the price table (below 0 counts as 0)",
    )


class EpochTime(_Open):
    """A moment as epoch parts; `seconds * 1000 + milliseconds` must fall in 1970..9999."""

    seconds: float = Field(gt=-_SAFE, lt=_SAFE)
    milliseconds: float = Field(gt=-_SAFE, lt=_SAFE)


class Timing(_Open):
    """When the call started and ended; the start may not be after the end."""

    startTime: EpochTime
    endTime: EpochTime
    timeToFirstToken: float | None = Field(None, ge=0, lt=_SAFE)


class AsyncLogCreate(_Open):
    """What Helicone's logging clients send. Documented here; validated with Helicone's messages (400)."""

    providerRequest: ProviderRequest
    providerResponse: ProviderResponse
    timing: Timing | None = None


class CustomTraceTiming(_Open):
    """As `Timing`, and a time may also be a string: epoch seconds (below 4102444800) or milliseconds
    as digits, or an ISO 8601 time (UTC when it names no zone)."""

    startTime: EpochTime | str
    endTime: EpochTime | str
    timeToFirstToken: float | None = Field(None, ge=0, lt=_SAFE)


class CustomTraceCreate(_Open):
    """Helicone's custom trace: an async-log body with the call's provider and times that may be strings."""

    provider: str | None = Field(
        None,
        min_length=1,
        max_length=32,
        pattern=NO_NUL,
        description="The provider, stored upper-cased; OPENAI when absent",
    )
    providerRequest: ProviderRequest
    providerResponse: ProviderResponse
    timing: CustomTraceTiming | None = None


class FeedbackCreate(_Body):
    rating: StrictBool = Field(description="true for thumbs up, false for thumbs down")


class GatewayFeedbackCreate(_Body):
    """What Helicone's clients post to `<gateway>/feedback`."""

    helicone_id: str = Field(alias="helicone-id", description="The rated request's id")
    rating: StrictBool | None = Field(None, description="Thumbs up or down: helicone-score-feedback")
    name: str | None = Field(None, description="A score's name (the legacy helicone package)")
    value: int | bool | None = Field(None, description="The score: an integer or a boolean")
    data_type: str | None = Field(None, alias="data-type", description="Accepted; the value says its type")


class RequestIdsQuery(_Body):
    requestIds: list[str] = Field(max_length=MAX_PAGE, description=f"At most {MAX_PAGE} request ids")


class PropertyUpdate(_Body):
    key: str = Field(min_length=1, max_length=256, pattern=NO_NUL)
    value: str = Field(max_length=4096)


class TimeFilter(_Body):
    startTimeUnixMs: float = Field(ge=0, le=1e14)
    endTimeUnixMs: float = Field(ge=0, le=1e14)


class SessionQueryCreate(_Body):
    search: str = Field(
        max_length=1000, pattern=NO_NUL, description="Case-insensitive substring of session id or name"
    )
    timeFilter: TimeFilter
    timezoneDifference: float = Field(
        description="Minutes added to the returned times, -1440..1440", json_schema_extra=_TIMEZONE
    )
    filter: Any = Field("all", description=_FILTER_DOC, json_schema_extra=_FILTER_TREE)
    nameEquals: str | None = Field(None, max_length=4096, pattern=NO_NUL)
    limit: JsonInt = Field(50, ge=1, le=1000)
    offset: JsonInt = Field(0, ge=0, le=10_000_000)


class SessionNameQueryCreate(_Body):
    nameContains: str = Field(max_length=1000, pattern=NO_NUL)
    timezoneDifference: float = Field(
        description="Minutes added to the returned times, -1440..1440", json_schema_extra=_TIMEZONE
    )
    timeFilter: TimeFilter | None = None
    filter: Any = Field("all", description=_FILTER_DOC, json_schema_extra=_FILTER_TREE)
    pSize: Literal["p50", "p75", "p95", "p99", "p99.9"] | None = None
    useInterquartile: bool | None = None


class FeedbackBreakdownCreate(_Body):
    property: str = Field(
        min_length=1,
        max_length=256,
        pattern=NO_NUL,
        description="A property key, or `model` / `provider` (request columns)",
    )
    timeFilter: TimeFilter | None = None
    filter: Any = Field("all", description=_FILTER_DOC, json_schema_extra=_FILTER_TREE)
    name: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        pattern=NO_NUL,
        description="Compare the feedback records of this name (FeedbackRecordBreakdownPublic rows) "
        "instead of the sessions' ratings",
    )


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
    tag: str = Field(min_length=1, max_length=256, pattern=NO_NUL)


_SORT_DIRECTION: JsonDict = {"enum": ["asc", "desc"]}
# Helicone's SortLeafRequest, plus the flat `properties.<key>` (an addition); one key at a time.
_REQUEST_SORT: JsonDict = {
    "type": "object",
    "maxProperties": 1,
    "properties": {
        **{key: _SORT_DIRECTION for key in HELICONE_SORT_KEYS},
        "random": {"enum": [True]},
        "properties": {"type": "object", "maxProperties": 1, "additionalProperties": _SORT_DIRECTION},
        "values": {"type": "object", "maxProperties": 1, "additionalProperties": _SORT_DIRECTION},
    },
    "patternProperties": {r"^properties\.[^\x00]{1,256}$": _SORT_DIRECTION},
    "additionalProperties": False,
}


class RequestQueryCreate(_Body):
    filter: Any = Field(description=_FILTER_DOC, json_schema_extra=_FILTER_TREE)
    offset: float = Field(0, description="Rows to skip (fractions drop; below 0 counts as 0)")
    limit: float = Field(
        10, description=f"Rows per page, at most {MAX_PAGE} (fractions drop; 0 or less: an empty page)"
    )
    sort: dict[str, Any] | None = Field(
        None,
        description='Helicone\'s sort: one key, as {"cost": "desc"} or {"properties": {"<key>": "asc"}}',
        json_schema_extra=_REQUEST_SORT,
    )
    isScored: bool | None = Field(None, description="Only requests with (true) or without (false) a score")
    # Heliograph has no cache, no experiments and no prompt inputs: every request is uncached and
    # outside any experiment, and there are no inputs to include.
    isCached: bool | None = Field(None, description="true: no request (none is cached); false: every one")
    includeInputs: bool | None = Field(None, description="Accepted; there are no prompt inputs to include")
    isPartOfExperiment: bool | None = Field(
        None, description="true: no request (there are no experiments); false: every one"
    )


class ScoresCreate(_Body):
    scores: dict[str, Any] = Field(
        description="Score name (1 to 256 characters) to an integer within ±(2^53 - 1) or a boolean; "
        "1 to 100 scores",
        json_schema_extra={
            "minProperties": 1,
            "maxProperties": MAX_SCORES,
            "propertyNames": {"minLength": 1, "maxLength": 256, "pattern": NO_NUL},
            "additionalProperties": {
                "anyOf": [
                    {"type": "integer", "minimum": -MAX_SCORE, "maximum": MAX_SCORE},
                    {"type": "boolean"},
                ]
            },
        },
    )


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
            total_cost=summary.cost_nano_usd / NANO_USD_PER_USD,
            total_requests=summary.request_count,
            prompt_tokens=summary.prompt_tokens,
            completion_tokens=summary.completion_tokens,
            total_tokens=summary.total_tokens,
            avg_latency=summary.avg_latency_ms,
            user_ids=summary.user_ids,
            feedback=summary.feedback,
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
