"""Feedback records and configs as values: their shapes, limits and the check of a value against a config."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from typing import Literal, get_args

from heliograph.errors import InvalidInput, Unprocessable

__all__ = [
    "API_RATER",
    "MAX_COMMENT_CHARS",
    "MAX_LABELS",
    "MAX_NAME_CHARS",
    "MAX_RATER_CHARS",
    "RATING",
    "SOURCES",
    "ConfigKind",
    "FeedbackConfig",
    "FeedbackEntry",
    "FeedbackQuery",
    "FeedbackRecord",
    "FeedbackTotals",
    "FeedbackValue",
    "Source",
    "check_config",
    "check_value",
    "feedback_id",
]

RATING = "rating"  # the name of the seed's thumbs up or down
API_RATER = "api"  # the rater of a record sent with the API key and no rater
MAX_COMMENT_CHARS = 4_000
MAX_NAME_CHARS = 64
MAX_RATER_CHARS = 256
MAX_LABELS = 50
MAX_LABEL_CHARS = 64
MAX_DESCRIPTION_CHARS = 1_000

Source = Literal["end_user", "human", "llm", "code", "api"]
SOURCES: tuple[str, ...] = get_args(Source)
ConfigKind = Literal["boolean", "numeric", "categorical"]
FeedbackValue = bool | float | str  # a boolean, a number, or a label of a categorical config

# Record ids are derived from the record's key, so a repeat of (session, request, name, rater) keeps its id
# on every backend without reading first.
_ID_NAMESPACE = uuid.UUID("5f1d3c38-7f0e-4f8c-9d59-4c1b0f7a2e61")


def feedback_id(*, org_id: str, session_id: str, request_id: str | None, name: str, rater: str) -> str:
    """The id of the record with this key."""
    key = "\x00".join((org_id, session_id, request_id or "", name, rater))
    return str(uuid.uuid5(_ID_NAMESPACE, key))


@dataclass(frozen=True, slots=True)
class FeedbackEntry:
    """What a caller sends: a record to create, or to update when its key exists."""

    session_id: str
    request_id: str | None
    name: str
    value: FeedbackValue
    comment: str | None
    rater: str
    source: Source

    def id_in(self, org_id: str) -> str:
        return feedback_id(
            org_id=org_id,
            session_id=self.session_id,
            request_id=self.request_id,
            name=self.name,
            rater=self.rater,
        )


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    """A stored record: one per (session, request, name, rater)."""

    id: str
    session_id: str
    request_id: str | None
    name: str
    value: FeedbackValue
    comment: str | None
    rater: str
    source: Source
    created_at_ms: int
    updated_at_ms: int


@dataclass(frozen=True, slots=True)
class FeedbackTotals:
    """A session's records: how many, and the mean of those with a number or a boolean (as 1 or 0)."""

    records: int
    mean: float | None


@dataclass(frozen=True, slots=True)
class FeedbackConfig:
    """What values a feedback name takes."""

    name: str
    kind: ConfigKind
    min: float | None = None
    max: float | None = None
    labels: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True, slots=True)
class FeedbackQuery:
    """A page of records, newest update first; each condition left None matches everything."""

    session_id: str | None = None
    name: str | None = None
    rater: str | None = None
    source: Source | None = None
    value: FeedbackValue | None = None
    min_value: float | None = None
    max_value: float | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    limit: int = 100
    offset: int = 0


def check_value(value: FeedbackValue, config: FeedbackConfig | None, *, name: str) -> FeedbackValue:
    """`value` if it fits the config of `name` (with none, a boolean or a number); Unprocessable if not."""
    if isinstance(value, float | int) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise InvalidInput("Invalid value: a number must be finite")
        value = float(value)
    if config is None:
        if isinstance(value, str):
            raise Unprocessable(
                f"Feedback '{name}' has no config, so it takes a boolean or a number, not a label"
            )
        return value
    wanted = {"boolean": bool, "numeric": float, "categorical": str}[config.kind]
    if type(value) is not wanted:
        raise Unprocessable(f"Feedback config '{name}' is {config.kind}: the value does not fit")
    below = config.min is not None and isinstance(value, float) and value < config.min
    above = config.max is not None and isinstance(value, float) and value > config.max
    if below or above:
        raise Unprocessable(f"Feedback config '{name}' takes numbers from {config.min} to {config.max}")
    if isinstance(value, str) and value not in config.labels:
        raise Unprocessable(f"Feedback config '{name}' takes one of the labels {', '.join(config.labels)}")
    return value


def check_config(config: FeedbackConfig) -> FeedbackConfig:
    """`config` if it is consistent; InvalidInput (400) naming what is wrong otherwise."""
    if config.name == RATING and config.kind != "boolean":
        raise InvalidInput(f"Feedback config '{RATING}' is the session rating and stays boolean")
    numeric = config.kind == "numeric"
    if not numeric and (config.min is not None or config.max is not None):
        raise InvalidInput("Invalid config: min and max are for numeric feedback")
    if numeric and config.min is not None and config.max is not None and config.min > config.max:
        raise InvalidInput("Invalid config: min is above max")
    if (config.kind == "categorical") != bool(config.labels):
        raise InvalidInput("Invalid config: labels are required for categorical feedback, and only for it")
    if len(config.labels) > MAX_LABELS or len(set(config.labels)) != len(config.labels):
        raise InvalidInput(f"Invalid config: at most {MAX_LABELS} distinct labels")
    if any(not 0 < len(label) <= MAX_LABEL_CHARS for label in config.labels):
        raise InvalidInput(f"Invalid config: a label has 1 to {MAX_LABEL_CHARS} characters")
    return config
