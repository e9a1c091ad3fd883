"""Session ids in URL paths: any id ingestion accepts (`/`, `%`, `?`, `#`, spaces, non-ASCII) reaches its
session on the JSON API and the dashboard.

ASGI servers hand the router a percent-decoded path, so `/v1/session/a%2Fb/tag` would read as the tag of
`a` (or as nothing). `SessionIdPaths` rebuilds the path of the session routes from the raw path with an
encoded `/` (and `%`) kept encoded, and the `session_id` convertor decodes the segment the route matched.
An unencoded `/` still works where the path is unambiguous (`GET /v1/session/a/b`); a `?` or `#` must be
encoded, as in any URL.
"""

from __future__ import annotations

from urllib.parse import unquote, unquote_to_bytes

from starlette.convertors import Convertor, register_url_convertor
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["RESERVED_PATHS", "SESSION_PATH_PREFIXES", "SessionIdPaths", "escape_segment"]

# Every path whose routes take a session id.
SESSION_PATH_PREFIXES = ("/v1/session/", "/dashboard/sessions/")


# The JSON API's own paths below /v1/session/ that hold a slash: unencoded, they are those endpoints (a
# GET of one is 405, not a session); a session spelled like one is reached with its slash encoded.
RESERVED_PATHS = ("name/query", "metrics/query", "feedback/breakdown")


class _SessionIdConvertor(Convertor[str]):
    """`{session_id:session_id}`: one or more segments, decoded (an encoded `/` is part of the id)."""

    regex = "(?!(?:" + "|".join(RESERVED_PATHS) + ")$).+"

    def convert(self, value: str) -> str:
        return unquote(value)

    def to_string(self, value: str) -> str:
        return escape_segment(value)


register_url_convertor("session_id", _SessionIdConvertor())


def escape_segment(text: str) -> str:
    """A decoded path segment with only `%` and `/` encoded, so that it stays one segment."""
    return text.replace("%", "%25").replace("/", "%2F")


def _routing_path(raw_path: bytes) -> str:
    segments = raw_path.split(b"?", 1)[0].split(b"/")  # some clients leave the query in raw_path
    return "/".join(
        escape_segment(unquote_to_bytes(segment).decode("utf-8", "replace")) for segment in segments
    )


class SessionIdPaths:
    """ASGI middleware: the routing path of the session routes keeps encoded slashes (see the module)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_path = scope.get("raw_path")
        if scope["type"] == "http" and raw_path and scope["path"].startswith(SESSION_PATH_PREFIXES):
            scope = {**scope, "path": _routing_path(raw_path)}
        await self.app(scope, receive, send)
