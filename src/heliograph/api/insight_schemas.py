"""Request and response schemas of Helicone's property and evals endpoints (`/v1/property/*`,
`/v1/evals/*`), with Helicone's field names."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from heliograph.api.schemas import FILTER_REF, NO_NUL
from heliograph.domain.insights import Increment
from heliograph.domain.scores import MAX_SCORE

__all__ = [
    "DatedAveragePublic",
    "DatedCountPublic",
    "DistributionBinPublic",
    "EvalCreate",
    "EvalPublic",
    "EvalQueryCreate",
    "PropertyHiddenPublic",
    "PropertyKeyCreate",
    "PropertyListCreate",
    "PropertyOverTimeCreate",
    "PropertyOverTimePublic",
    "PropertyPublic",
    "PropertySearchCreate",
    "PropertyWindowCreate",
    "ScoreDistributionPublic",
    "ValueCostPublic",
    "ValueCountPublic",
    "WindowFilter",
]

_FILTER: Any = {"allOf": [{"$ref": FILTER_REF}]}
# Documented here, enforced by the handlers with a 400 (as the session endpoints' timezoneDifference).
_TIMEZONE: Any = {"minimum": -1440, "maximum": 1440}
_TIME = Field(max_length=64, pattern=NO_NUL, description="An ISO 8601 time, or epoch milliseconds")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class WindowFilter(_Body):
    start: str = _TIME
    end: str = _TIME


class PropertyListCreate(_Body):
    """Helicone's body for listing property keys: an empty object."""


class PropertyKeyCreate(_Body):
    key: str = Field(min_length=1, max_length=256, pattern=NO_NUL)


class PropertySearchCreate(_Body):
    searchTerm: str = Field(max_length=4096, pattern=NO_NUL, description="Case-insensitive substring")


class PropertyWindowCreate(_Body):
    timeFilter: WindowFilter


class PropertyOverTimeCreate(_Body):
    propertyKey: str = Field(min_length=1, max_length=256, pattern=NO_NUL)
    timeFilter: WindowFilter
    userFilter: Any = Field(
        description='Filter tree (spec section 5); "all" for none', json_schema_extra=_FILTER
    )
    dbIncrement: Increment
    timeZoneDifference: float = Field(
        description="Minutes west of UTC (JavaScript's getTimezoneOffset), -1440..1440",
        json_schema_extra=_TIMEZONE,
    )


class PropertyPublic(BaseModel):
    property: str


class PropertyHiddenPublic(BaseModel):
    ok: bool


class ValueCostPublic(BaseModel):
    value: str
    cost: float = Field(description="USD")


class ValueCountPublic(BaseModel):
    value: str
    count: int


class PropertyOverTimePublic(BaseModel):
    property: str = Field(description="The property's value")
    total_cost: float
    request_count: int
    created_at_trunc: str = Field(description="The bucket's start, ISO 8601 in UTC")


class EvalQueryCreate(_Body):
    filter: Any = Field(description='Filter tree (spec section 5); "all" for none', json_schema_extra=_FILTER)
    timeFilter: WindowFilter
    offset: float = Field(0, description="Scores to skip (fractions drop)")
    limit: float = Field(100, description="Scores per page, at most 1000 (fractions drop)")
    timeZoneDifference: float = Field(
        0, description="Minutes west of UTC, -1440..1440; days are the caller's", json_schema_extra=_TIMEZONE
    )


class EvalCreate(_Body):
    name: str = Field(min_length=1, max_length=256, pattern=NO_NUL)
    score: float = Field(
        description="An integer (Heliograph's scores are integers; a fraction is a 400)",
        json_schema_extra={"multipleOf": 1, "minimum": -MAX_SCORE, "maximum": MAX_SCORE},
    )


class DatedCountPublic(BaseModel):
    date: str
    count: int


class DatedAveragePublic(BaseModel):
    date: str
    value: float


class EvalPublic(BaseModel):
    name: str
    averageScore: float
    minScore: float
    maxScore: float
    count: int
    overTime: list[DatedCountPublic]
    averageOverTime: list[DatedAveragePublic]


class DistributionBinPublic(BaseModel):
    lower: float
    upper: float
    value: int = Field(description="Requests with a score in [lower, upper)")


class ScoreDistributionPublic(BaseModel):
    name: str
    distribution: list[DistributionBinPublic]
