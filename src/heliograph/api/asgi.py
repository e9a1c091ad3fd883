"""What the endpoints served as plain ASGI, ahead of FastAPI's router, share: the headers and the body."""

from __future__ import annotations

from starlette.types import Receive, Scope

from heliograph.api.limits import too_large

__all__ = ["decoded_headers", "header", "read_body"]


def decoded_headers(scope: Scope) -> list[tuple[str, str]]:
    """The request's headers as text pairs, names lowercase (as ASGI servers give them), in order."""
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]]


def header(headers: list[tuple[str, str]], name: str) -> str | None:
    """The first value of header `name` (lowercase), or None."""
    return next((value for key, value in headers if key == name), None)


async def read_body(receive: Receive, *, max_bytes: int | None = None) -> bytes | None:
    """The whole request body, or None when the client went away before sending all of it.

    With `max_bytes`, PayloadTooLarge as soon as the body grows past it.
    """
    chunks: list[bytes] = []
    received = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        received += len(chunk)
        if max_bytes is not None and received > max_bytes:
            raise too_large(max_bytes)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)
