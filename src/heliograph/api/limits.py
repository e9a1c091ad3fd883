"""Refuses request bodies over the size limit before they are read whole (413)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from heliograph.errors import PayloadTooLarge, error_body

__all__ = ["BodySizeLimit", "declared_too_large", "refuse_too_large", "too_large"]


class BodySizeLimit:
    """ASGI middleware: 413 on a declared Content-Length over `max_bytes`, or once a stream exceeds it.

    A stream over the limit raises PayloadTooLarge from `receive`: the app may answer it itself (as
    the JSON API's route class and the plain-ASGI endpoints do), else this middleware answers 413.
    The ingestion paths, answered ahead of every middleware, apply the same rule themselves
    (api.ingest_paths, with the functions below).
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if declared_too_large(scope, self.max_bytes):
            await refuse_too_large(send, self.max_bytes)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise too_large(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except PayloadTooLarge:
            if not started:
                await refuse_too_large(send, self.max_bytes)


def declared_too_large(scope: Scope, max_bytes: int) -> bool:
    """True when the request's Content-Length is over `max_bytes`, or is not a number."""
    declared = None
    for name, value in scope["headers"]:
        if name == b"content-length":
            declared = value  # the last one counts, as it always did
    return declared is not None and (not declared.isdigit() or int(declared) > max_bytes)


def too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"Request body is larger than {max_bytes} bytes")


async def refuse_too_large(send: Send, max_bytes: int) -> None:
    """Send the 413 envelope."""
    body = error_body(too_large(max_bytes).message)
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
