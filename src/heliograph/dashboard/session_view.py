"""One session laid out for its page: requests in order, their timeline bars and the path tree.

The timeline places each request by its start offset from the session's first start and sizes it by
its latency, both as percentages of the session's whole span, so plain HTML and CSS can draw it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from heliograph.domain.records import SESSION_PATH_KEY
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
TICKS = 4
# A session can hold thousands of calls: the page draws the first ones in full and says so.
MAX_TIMELINE_ROWS = 300
MAX_REQUEST_CARDS = 100
MAX_TREE_LINKS = 50  # request links under one tree node


@dataclass(frozen=True, slots=True)
class RequestView:
    """A request with its place on the page: number (1-based), path and timeline bar."""

    number: int
    stored: StoredRequest
    path: str
    offset_ms: int
    left_percent: float
    width_percent: float

    @property
    def anchor(self) -> str:
        return f"request-{self.number}"

    @property
    def failed(self) -> bool:
        return not 200 <= self.stored.record.status < 400


@dataclass(frozen=True, slots=True)
class Tick:
    percent: float
    offset_ms: int


@dataclass(frozen=True, slots=True)
class SessionView:
    summary: SessionSummary
    requests: list[RequestView]
    tree: PathNode
    span_ms: int
    ticks: list[Tick]

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
    span = max(end - start, 1)
    requests = []
    for number, s in enumerate(stored, start=1):
        offset = s.record.created_at_ms - start
        width = max(s.record.latency_ms / span * 100, MIN_BAR_PERCENT)
        left = min(offset / span * 100, 100 - width)
        requests.append(
            RequestView(
                number=number,
                stored=s,
                path=s.record.properties.get(SESSION_PATH_KEY) or "/",
                offset_ms=offset,
                left_percent=round(left, 3),
                width_percent=round(width, 3),
            )
        )
    tree = build_path_tree((s.record.request_id, s.record.properties.get(SESSION_PATH_KEY)) for s in stored)
    ticks = [Tick(percent=100 * i / TICKS, offset_ms=span * i // TICKS) for i in range(TICKS + 1)]
    return SessionView(summary=summary, requests=requests, tree=tree, span_ms=span, ticks=ticks)
