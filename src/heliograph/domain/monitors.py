"""Feedback monitors as values: what a monitor watches, its state, the deliveries of its changes, and
how a window of feedback records is measured and turned into a state.

A monitor measures the sessions rated within its last `window_s` seconds: with `negative_rate`, the
share of sessions whose newest boolean record of the feedback name is negative (as a session's rating
is its newest boolean `rating` of any rater); with `mean`, the mean over sessions of each session's mean
record value (booleans as 1 or 0; labels are left out). Fewer than `min_rated` such sessions is
`insufficient_data`; otherwise `firing` while `value <operator> threshold` holds, `ok` when not.

Moving into `firing` sends a `firing` webhook; moving out of it (to `ok` or `insufficient_data`) sends
`resolved`. Each transition is numbered, and its delivery's id derives from (monitor, number), so
writing a transition twice (a restart, a second evaluator) stores one delivery.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from heliograph.domain.feedback_values import FeedbackValue

__all__ = [
    "MAX_SAMPLE_SESSIONS",
    "MAX_WINDOW_RECORDS",
    "Delivery",
    "DeliveryKind",
    "DeliveryStatus",
    "Measurement",
    "Monitor",
    "MonitorMetric",
    "MonitorOperator",
    "MonitorSpec",
    "MonitorState",
    "MonitorStatus",
    "WindowRecord",
    "delivery_id",
    "measure",
    "next_state",
    "transition_kind",
]

MonitorMetric = Literal["negative_rate", "mean"]
MonitorOperator = Literal["gt", "lt"]
MonitorState = Literal["ok", "firing", "insufficient_data"]
DeliveryKind = Literal["firing", "resolved", "test"]
DeliveryStatus = Literal["pending", "sent", "failed"]

MAX_SAMPLE_SESSIONS = 20  # session ids a webhook carries
MAX_WINDOW_RECORDS = 200_000  # records one evaluation reads (the newest, when a window holds more)

_DELIVERY_NAMESPACE = uuid.UUID("0b6f3f1e-3c55-4d55-9a51-8d1f7c2b9e40")


@dataclass(frozen=True, slots=True)
class MonitorSpec:
    """What a caller sets: the condition, its window, and where to send changes."""

    name: str
    feedback_name: str
    metric: MonitorMetric
    operator: MonitorOperator
    threshold: float
    window_s: int
    min_rated: int
    filter: str | None  # a session filter in the query language, as JSON text
    webhook_url: str
    webhook_secret: str


@dataclass(frozen=True, slots=True)
class MonitorStatus:
    """A monitor's last evaluation; `transitions` counts its changes into and out of `firing`."""

    state: MonitorState = "insufficient_data"
    value: float | None = None
    rated: int = 0
    evaluated_at_ms: int | None = None
    transitions: int = 0


@dataclass(frozen=True, slots=True)
class Monitor:
    id: str
    org_id: str
    spec: MonitorSpec
    created_at_ms: int
    updated_at_ms: int
    status: MonitorStatus = field(default_factory=MonitorStatus)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One webhook: its body as sent on every attempt, and how the attempts went."""

    id: str
    org_id: str
    monitor_id: str
    kind: DeliveryKind
    body: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at_ms: int
    status_code: int | None
    error: str | None
    created_at_ms: int
    updated_at_ms: int


@dataclass(frozen=True, slots=True)
class WindowRecord:
    """A feedback record updated within a monitor's window, on a session its filter matches."""

    session_id: str
    value: FeedbackValue
    updated_at_ms: int


@dataclass(frozen=True, slots=True)
class Measurement:
    value: float | None
    rated: int
    sample_session_ids: tuple[str, ...]


def delivery_id(monitor_id: str, transition: int) -> str:
    """The id of the delivery of a monitor's `transition`-th change: the same for every writer."""
    return str(uuid.uuid5(_DELIVERY_NAMESPACE, f"{monitor_id}\x00{transition}"))


def measure(spec: MonitorSpec, records: Sequence[WindowRecord]) -> Measurement:
    """The monitor's metric over `records`; samples are the sessions that pull the value toward the
    condition (negative sessions for a negative rate, the lowest or highest means for a mean)."""
    newest = sorted(records, key=lambda r: (r.updated_at_ms, r.session_id), reverse=True)
    if spec.metric == "negative_rate":
        rating: dict[str, bool] = {}
        for record in newest:
            if isinstance(record.value, bool) and record.session_id not in rating:
                rating[record.session_id] = record.value
        if not rating:
            return Measurement(None, 0, ())
        negative = [s for s, up in rating.items() if not up]
        return Measurement(len(negative) / len(rating), len(rating), tuple(negative[:MAX_SAMPLE_SESSIONS]))
    values: dict[str, list[float]] = {}
    for record in newest:
        if not isinstance(record.value, str):
            values.setdefault(record.session_id, []).append(float(record.value))
    if not values:
        return Measurement(None, 0, ())
    means = {s: sum(v) / len(v) for s, v in values.items()}
    ordered = sorted(means, key=lambda s: means[s], reverse=spec.operator == "gt")
    return Measurement(sum(means.values()) / len(means), len(means), tuple(ordered[:MAX_SAMPLE_SESSIONS]))


def next_state(spec: MonitorSpec, measurement: Measurement) -> MonitorState:
    if measurement.value is None or measurement.rated < spec.min_rated:
        return "insufficient_data"
    holds = (
        measurement.value > spec.threshold if spec.operator == "gt" else measurement.value < spec.threshold
    )
    return "firing" if holds else "ok"


def transition_kind(old: MonitorState, new: MonitorState) -> DeliveryKind | None:
    """The webhook a change of state sends: `firing` into firing, `resolved` out of it, else none."""
    if new == "firing" and old != "firing":
        return "firing"
    if old == "firing" and new != "firing":
        return "resolved"
    return None
