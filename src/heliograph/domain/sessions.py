"""Sessions: the query a caller asks for and the path tree of one session's requests."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from heliograph.domain.filters import FilterNode
from heliograph.errors import InvalidInput

__all__ = [
    "MAX_TIMEZONE_MINUTES",
    "SESSION_SORT_KEYS",
    "PathNode",
    "SessionQuery",
    "build_path_tree",
    "check_timezone",
]

MAX_TIMEZONE_MINUTES = 1440
# Orders a session list can take (newest first is the API's and the default).
SESSION_SORT_KEYS = (
    "created_at",
    "latest_request_created_at",
    "duration",
    "total_requests",
    "total_cost",
    "total_tokens",
)


@dataclass(frozen=True, slots=True)
class SessionQuery:
    """Which sessions to list: search text, a window in epoch ms, a filter tree and a page."""

    search: str = ""
    start_ms: int | None = None
    end_ms: int | None = None
    filter: FilterNode = None
    name_equals: str | None = None
    name_contains: str | None = None
    limit: int = 50
    offset: int = 0
    sort_key: str = "created_at"
    sort_descending: bool = True

    def __post_init__(self) -> None:
        if self.sort_key not in SESSION_SORT_KEYS:
            raise InvalidInput(
                f"Invalid sort {self.sort_key[:40]!r}: use one of {', '.join(SESSION_SORT_KEYS)}"
            )


def check_timezone(minutes: float) -> int:
    """Validate `timezoneDifference` as Helicone does, with a 400 instead of a 500."""
    if not -MAX_TIMEZONE_MINUTES <= minutes <= MAX_TIMEZONE_MINUTES:
        raise InvalidInput("Invalid timezone difference")
    return int(minutes)


@dataclass(slots=True)
class PathNode:
    """A node of the session tree: the requests logged at `path` and the nodes below it."""

    path: str
    name: str
    request_ids: list[str] = field(default_factory=list)
    children: list[PathNode] = field(default_factory=list)


def build_path_tree(requests: Iterable[tuple[str, str | None]]) -> PathNode:
    """Build the tree from (request id, session path) pairs given in request order.

    A missing path counts as `/`; a node's parent is its path minus the last segment.
    Children keep the order in which they were first seen.
    """
    root = PathNode(path="/", name="/")
    nodes: dict[str, PathNode] = {"/": root}
    for request_id, raw_path in requests:
        segments = [part for part in (raw_path or "/").split("/") if part]
        node = root
        for depth in range(len(segments)):
            path = "/" + "/".join(segments[: depth + 1])
            child = nodes.get(path)
            if child is None:
                child = PathNode(path=path, name=segments[depth])
                nodes[path] = child
                node.children.append(child)
            node = child
        node.request_ids.append(request_id)
    return root
