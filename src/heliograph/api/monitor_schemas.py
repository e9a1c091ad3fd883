"""HTTP schemas of feedback monitors and their webhook deliveries."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, Field, StrictFloat, StrictInt

from heliograph.api.feedback_schemas import NameField, WholeNumber
from heliograph.api.request_schemas import iso_time
from heliograph.api.schemas import NO_NUL, _Body
from heliograph.domain.monitors import Delivery, Monitor, MonitorMetric, MonitorOperator, MonitorSpec

__all__ = ["DeliveryPublic", "MonitorCreate", "MonitorPublic"]

MAX_WINDOW_S = 30 * 86_400


class MonitorCreate(_Body):
    """A monitor to create, or the whole new spec of one (PUT)."""

    name: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    feedback_name: NameField = "rating"
    metric: MonitorMetric = Field(
        description="negative_rate: the share of rated sessions whose newest boolean record is false; "
        "mean: the mean over sessions of their records' mean (booleans as 1 or 0)"
    )
    operator: MonitorOperator
    threshold: StrictInt | StrictFloat = Field(ge=-1e15, le=1e15)
    window_s: WholeNumber = Field(
        ge=1, le=MAX_WINDOW_S, strict=False, description="Seconds back from each evaluation"
    )
    min_rated: WholeNumber = Field(
        1, ge=1, le=10_000_000, strict=False, description="Fewer rated sessions is insufficient_data"
    )
    # The filter tree is described, not referenced: the FilterNode schema's every branch, crossed with
    # this body's other fields, made schemathesis send some 15,800 bodies to each of POST and PUT.
    filter: Any = Field(
        None,
        description="A session filter in the query language (spec section 5, as /v1/session/query's "
        '`filter`); null, "all" or {} for none',
    )
    webhook_url: str = Field(min_length=1, max_length=2048, pattern=NO_NUL)
    webhook_secret: str = Field(
        min_length=8, max_length=256, pattern=NO_NUL, description="Signs each delivery (never shown again)"
    )

    def spec(self, stored_filter: str | None) -> MonitorSpec:
        return MonitorSpec(
            name=self.name,
            feedback_name=self.feedback_name,
            metric=self.metric,
            operator=self.operator,
            threshold=float(self.threshold),
            window_s=self.window_s,
            min_rated=self.min_rated,
            filter=stored_filter,
            webhook_url=self.webhook_url,
            webhook_secret=self.webhook_secret,
        )


class MonitorPublic(BaseModel):
    id: str
    name: str
    feedback_name: str
    metric: str
    operator: str
    threshold: float
    window_s: int
    min_rated: int
    filter: Any
    webhook_url: str
    state: Literal["ok", "firing", "insufficient_data"]
    value: float | None = Field(description="The last measured rate or mean (null before enough data)")
    rated: int = Field(description="Rated sessions in the window at the last evaluation")
    evaluated_at: str | None
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, monitor: Monitor) -> MonitorPublic:
        spec, status = monitor.spec, monitor.status
        return cls(
            id=monitor.id,
            name=spec.name,
            feedback_name=spec.feedback_name,
            metric=spec.metric,
            operator=spec.operator,
            threshold=spec.threshold,
            window_s=spec.window_s,
            min_rated=spec.min_rated,
            filter=None if spec.filter is None else json.loads(spec.filter),
            webhook_url=spec.webhook_url,
            state=status.state,
            value=status.value,
            rated=status.rated,
            evaluated_at=None if status.evaluated_at_ms is None else iso_time(status.evaluated_at_ms),
            created_at=iso_time(monitor.created_at_ms),
            updated_at=iso_time(monitor.updated_at_ms),
        )


class DeliveryPublic(BaseModel):
    id: str
    monitor_id: str
    state: Literal["firing", "resolved", "test"]
    status: Literal["pending", "sent", "failed"]
    attempts: int
    status_code: int | None = Field(description="The receiver's answer to the last attempt")
    error: str | None = Field(description="Why the last attempt failed")
    next_attempt_at: str | None = Field(description="When a pending delivery is tried next")
    created_at: str
    updated_at: str
    payload: Any = Field(description="The JSON body sent")

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryPublic:
        pending = delivery.status == "pending"
        return cls(
            id=delivery.id,
            monitor_id=delivery.monitor_id,
            state=delivery.kind,
            status=delivery.status,
            attempts=delivery.attempts,
            status_code=delivery.status_code,
            error=delivery.error,
            next_attempt_at=iso_time(delivery.next_attempt_at_ms) if pending else None,
            created_at=iso_time(delivery.created_at_ms),
            updated_at=iso_time(delivery.updated_at_ms),
            payload=json.loads(delivery.body),
        )
