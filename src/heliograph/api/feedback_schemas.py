"""HTTP schemas of feedback records, configs and signed feedback links."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from heliograph.api.request_schemas import iso_time
from heliograph.api.schemas import NO_NUL, TimeFilter, _Body
from heliograph.domain.feedback_links import MAX_LINK_LIFETIME_S
from heliograph.domain.feedback_values import (
    MAX_COMMENT_CHARS,
    MAX_DESCRIPTION_CHARS,
    MAX_LABEL_CHARS,
    MAX_LABELS,
    MAX_NAME_CHARS,
    MAX_RATER_CHARS,
    FeedbackConfig,
    FeedbackRecord,
    Source,
)

__all__ = [
    "FeedbackConfigPublic",
    "FeedbackConfigUpdate",
    "FeedbackLinkCreate",
    "FeedbackLinkPublic",
    "FeedbackLinkScopePublic",
    "FeedbackPublic",
    "FeedbackQueryCreate",
    "FeedbackRecordBreakdownPublic",
    "FeedbackRecordCreate",
    "PublicFeedbackCreate",
    "PublicFeedbackPublic",
]

# A boolean, a number, or a label: booleans are never numbers here, and numbers never text.
ValueField = Annotated[
    StrictBool
    | StrictInt
    | StrictFloat
    | Annotated[StrictStr, Field(min_length=1, max_length=MAX_LABEL_CHARS)],
    Field(description="true/false, a number, or a label of the name's categorical config"),
]
NameField = Annotated[str, Field(min_length=1, max_length=MAX_NAME_CHARS, pattern=NO_NUL)]
RaterField = Annotated[str, Field(min_length=1, max_length=MAX_RATER_CHARS, pattern=NO_NUL)]
RequestIdField = Annotated[str, Field(min_length=1, max_length=36, pattern=NO_NUL)]
CommentField = Annotated[str, Field(max_length=MAX_COMMENT_CHARS, pattern=NO_NUL)]


def _not_a_boolean(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("Input should be a valid integer")
    return value


# JSON Schema's integer: a whole number, 95.0 included (with strict=False), never a boolean.
WholeNumber = Annotated[int, BeforeValidator(_not_a_boolean)]


class FeedbackRecordCreate(_Body):
    session_id: str = Field(min_length=1, max_length=256)
    request_id: RequestIdField | None = None
    name: NameField = "rating"
    value: ValueField
    comment: CommentField | None = None
    rater: RaterField = "api"
    source: Source = "api"


class FeedbackPublic(BaseModel):
    id: str
    session_id: str
    request_id: str | None
    name: str
    value: bool | float | str
    comment: str | None
    rater: str
    source: str
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, record: FeedbackRecord) -> FeedbackPublic:
        return cls(
            id=record.id,
            session_id=record.session_id,
            request_id=record.request_id,
            name=record.name,
            value=record.value,
            comment=record.comment,
            rater=record.rater,
            source=record.source,
            created_at=iso_time(record.created_at_ms),
            updated_at=iso_time(record.updated_at_ms),
        )


class FeedbackQueryCreate(_Body):
    session_id: str | None = Field(None, min_length=1, max_length=256)
    name: NameField | None = None
    rater: RaterField | None = None
    source: Source | None = None
    value: ValueField | None = Field(None, description="Records with exactly this value")
    min_value: StrictInt | StrictFloat | None = Field(None, description="Numeric records at least this")
    max_value: StrictInt | StrictFloat | None = Field(None, description="Numeric records at most this")
    timeFilter: TimeFilter | None = Field(None, description="Records last updated in this window")
    limit: WholeNumber = Field(100, ge=1, le=1000, strict=False)
    offset: WholeNumber = Field(0, ge=0, le=1_000_000, strict=False)


class FeedbackConfigUpdate(_Body):
    type: Literal["boolean", "numeric", "categorical"]
    min: StrictInt | StrictFloat | None = None
    max: StrictInt | StrictFloat | None = None
    labels: list[Annotated[StrictStr, Field(min_length=1, max_length=MAX_LABEL_CHARS)]] | None = Field(
        None, max_length=MAX_LABELS
    )
    description: str = Field("", max_length=MAX_DESCRIPTION_CHARS)


class FeedbackConfigPublic(BaseModel):
    name: str
    type: str
    min: float | None
    max: float | None
    labels: list[str]
    description: str

    @classmethod
    def of(cls, config: FeedbackConfig) -> FeedbackConfigPublic:
        return cls(
            name=config.name,
            type=config.kind,
            min=config.min,
            max=config.max,
            labels=list(config.labels),
            description=config.description,
        )


class FeedbackLinkCreate(_Body):
    name: NameField = "rating"
    rater: RaterField | None = Field(None, description="Who the end user is; default a new random rater")
    request_id: RequestIdField | None = None
    expires_in_s: WholeNumber = Field(7 * 24 * 3600, ge=60, le=MAX_LINK_LIFETIME_S, strict=False)


class FeedbackLinkPublic(BaseModel):
    token: str
    url: str
    expires_at: str


class FeedbackLinkScopePublic(BaseModel):
    """What a widget may send with a link: the feedback name and its config (null when it has none)."""

    name: str
    config: FeedbackConfigPublic | None
    expires_at: str


class PublicFeedbackCreate(_Body):
    value: ValueField
    comment: CommentField | None = None


class PublicFeedbackPublic(BaseModel):
    """The end user's record as the link's sender sees it."""

    name: str
    value: bool | float | str
    comment: str | None
    updated_at: str

    @classmethod
    def of(cls, record: FeedbackRecord) -> PublicFeedbackPublic:
        return cls(
            name=record.name,
            value=record.value,
            comment=record.comment,
            updated_at=iso_time(record.updated_at_ms),
        )


class FeedbackRecordBreakdownPublic(BaseModel):
    """One property value's records of a feedback name (`/v1/session/feedback/breakdown` with `name`)."""

    value: str
    sessions: int = Field(description="Sessions with at least one request carrying this value")
    records: int = Field(description="Records of the name on those sessions")
    type: str = Field(description="boolean, numeric or categorical: how the records are compared")
    positive: int = Field(description="boolean: records true")
    negative: int = Field(description="boolean: records false")
    positive_rate: float | None = Field(description="boolean: positive / (positive + negative)")
    mean: float | None = Field(description="numeric: the records' mean")
    ci_low: float | None = Field(description="95% interval: Wilson's of the rate, or Student's t of the mean")
    ci_high: float | None
    labels: dict[str, int] = Field(description="categorical: records per label")
    p_value: float | None = Field(
        description="boolean: two-proportion test against the best rate; numeric: Welch's t-test against "
        "the best mean; categorical: chi-square test against the value with the most records (null for "
        "the one compared against, or with too few records)"
    )
