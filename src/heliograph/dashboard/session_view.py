"""One session laid out for its page: requests in order, their timeline bars, the path tree, and the
properties every request shares (shown once, in the session's header, instead of on each request).

A session's duration, on its page and its timeline alike, runs from its first request's start to its
last request's end. The timeline places each request by its start offset from the session's first
start and sizes it by its latency, both as percentages of that duration, so plain HTML and CSS can
draw it; its axis is marked at round steps (5 s, 30 min, 6 h, 2 d), at most TICK_INTERVALS of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from heliograph.dashboard.conversation import Conversation, conversation_of
from heliograph.domain.records import FEEDBACK_KEY, SESSION_ID_KEY, SESSION_NAME_KEY, SESSION_PATH_KEY
from heliograph.domain.sessions import PathNode, build_path_tree
from heliograph.domain.store import SessionSummary, StoredRequest

__all__ = [
    "MAX_REQUEST_CARDS",
    "MAX_TIMELINE_ROWS",
    "MAX_TREE_LINKS",
    "RequestView",
    "SessionView",
    "Tick",
    "session_view",
]

MIN_BAR_PERCENT = 0.6  # a very short call stays visible
TICK_INTERVALS = 4  # at most this many steps along the axis, so its labels never crowd each other
_SECOND, _MINUTE, _HOUR, _DAY = 1000, 60_000, 3_600_000, 86_400_000
TICK_STEPS_MS = (
    *(n * 10**e for e in range(3) for n in (1, 2, 5)),  # 1 ms to 500 ms
    *(n * _SECOND for n in (1, 2, 5, 10, 15, 30)),
    *(n * _MINUTE for n in (1, 2, 5, 10, 15, 30)),
    *(n * _HOUR for n in (1, 2, 3, 6, 12)),
    *(n * _DAY for n in (1, 2, 5, 7, 14, 30, 60, 90, 180, 365)),
)
# Shown in the header (id, name, the feedback widget) or each request's heading (path), so never in a
# properties table.
HEADER_KEYS = frozenset({SESSION_ID_KEY, SESSION_NAME_KEY, SESSION_PATH_KEY, FEEDBACK_KEY})
# A session can hold thousands of calls: the page draws the first ones in full and says so.
MAX_TIMELINE_ROWS = 300
MAX_REQUEST_CARDS = 100
MAX_TREE_LINKS = 50  # request links under one tree node


@dataclass(frozen=True, slots=True)
class RequestView:
    """A request with its place on the page: number (1-based), path, timeline bar, and the properties
    that are its own (less the session's shared ones and the header keys)."""

    number: int
    stored: StoredRequest
    path: str
    offset_ms: int
    left_percent: float
    width_percent: float
    own_properties: dict[str, str]

    @property
    def anchor(self) -> str:
        return f"request-{self.number}"

    @property
    def failed(self) -> bool:
        return not 200 <= self.stored.record.status < 400

    @property
    def conversation(self) -> Conversation | None:
        """The request's messages and answer, read from its bodies (None when they hold no chat)."""
        return conversation_of(self.stored.record.request_body, self.stored.record.response_body)


@dataclass(frozen=True, slots=True)
class Tick:
    percent: float
    offset_ms: int


@dataclass(frozen=True, slots=True)
class SessionView:
    summary: SessionSummary
    requests: list[RequestView]
    tree: PathNode
    duration_ms: int
    ticks: list[Tick]
    shared_properties: dict[str, str]

    @property
    def timeline_rows(self) -> list[RequestView]:
        return self.requests[:MAX_TIMELINE_ROWS]

    @property
    def cards(self) -> list[RequestView]:
        return self.requests[:MAX_REQUEST_CARDS]

    def numbers(self) -> dict[str, int]:
        """Request id to its number on the page, for the tree's links."""
        return {r.stored.record.request_id: r.number for r in self.requests}


def session_view(summary: SessionSummary, stored: Sequence[StoredRequest]) -> SessionView:
    """Lay out a session whose requests come oldest first (as `Store.session_requests` returns them)."""
    start = min((s.record.created_at_ms for s in stored), default=summary.created_at_ms)
    end = max((s.record.created_at_ms + s.record.latency_ms for s in stored), default=start)
    duration = end - start
    span = max(duration, 1)
    shared = shared_properties(stored)
    requests = []
    for number, s in enumerate(stored, start=1):
        offset = s.record.created_at_ms - start
        width = max(s.record.latency_ms / span * 100, MIN_BAR_PERCENT)
        left = min(offset / span * 100, 100 - width)
        own = {k: v for k, v in s.record.properties.items() if k not in HEADER_KEYS and k not in shared}
        requests.append(
            RequestView(
                number=number,
                stored=s,
                path=s.record.properties.get(SESSION_PATH_KEY) or "/",
                offset_ms=offset,
                left_percent=round(left, 3),
                width_percent=round(width, 3),
                own_properties=own,
            )
        )
    tree = build_path_tree((s.record.request_id, s.record.properties.get(SESSION_PATH_KEY)) for s in stored)
    return SessionView(
        summary=summary,
        requests=requests,
        tree=tree,
        duration_ms=duration,
        ticks=axis_ticks(span),
        shared_properties=shared,
    )


def shared_properties(stored: Sequence[StoredRequest]) -> dict[str, str]:
    """The properties (less the header keys) that every request of a session carries with one value."""
    if not stored:
        return {}
    first, *rest = (s.record.properties for s in stored)
    return {
        key: value
        for key, value in first.items()
        if key not in HEADER_KEYS and all(other.get(key) == value for other in rest)
    }


def axis_ticks(span_ms: int) -> list[Tick]:
    """Marks at 0 and every multiple of the smallest round step that needs at most TICK_INTERVALS steps."""
    step = next((s for s in TICK_STEPS_MS if span_ms <= s * TICK_INTERVALS), None)
    if step is None:  # past the largest step: whole years
        step = -(-span_ms // (TICK_INTERVALS * TICK_STEPS_MS[-1])) * TICK_STEPS_MS[-1]
    return [Tick(percent=round(100 * t / span_ms, 3), offset_ms=t) for t in range(0, span_ms + 1, step)]
