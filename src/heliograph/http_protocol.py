"""uvicorn's HTTP protocol with deadlines for reading a request: its head, then its body.

uvicorn bounds only the wait between requests on a kept-alive connection, so a client that trickles
a request's head or body a byte at a time held its connection (and what the request had allocated)
for as long as it liked. Here a request's head must arrive within `header_timeout` of its first byte
(or of the connection), and its body within `body_timeout` of the head; otherwise the client gets
408 and the connection is closed. Each server process sets the deadlines from its settings with
`configure` before it serves.

It also corks the connection: what is written in one turn of the event loop leaves in one send.
uvicorn writes a response's head and its body apart, so every answer cost two sends, each a trip
through the loopback's TCP stack and a wake-up of the client.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["CorkedTransport", "TimedHttpProtocol"]


class TimedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing a connection whose request head or body arrives too slowly."""

    header_timeout = 10.0
    body_timeout = 60.0
    _deadline: asyncio.TimerHandle | None = None
    _reading_head = True

    @classmethod
    def configure(cls, *, header_timeout: float, body_timeout: float) -> None:
        """The deadlines for every connection this process serves from now on."""
        cls.header_timeout, cls.body_timeout = header_timeout, body_timeout

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(cast(asyncio.Transport, CorkedTransport(transport, self.loop)))
        self._arm(self.header_timeout, head=True)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:  # a later request on a kept-alive connection
            self._arm(self.header_timeout, head=True)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()
        self._arm(self.body_timeout, head=False)

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def _arm(self, seconds: float, *, head: bool) -> None:
        self._reading_head = head
        self._deadline = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        cycle = self.cycle
        # The 408 goes out only where no answer is under way: between requests for a head, before
        # the app started answering for a body.
        if self._reading_head:
            free = cycle is None or cycle.response_complete
        else:
            free = cycle is None or not cycle.response_started
        if free:
            part, seconds = (
                ("head", self.header_timeout) if self._reading_head else ("body", self.body_timeout)
            )
            message = f"The request {part} did not arrive within {seconds:g} s"
            body = orjson.dumps({"data": None, "error": message})
            self.transport.write(
                b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
                + f"content-length: {len(body)}\r\n\r\n".encode()
                + body
            )
        self.transport.close()


class CorkedTransport:
    """`transport`, with the writes of one turn of `loop` joined into one; closing sends what is held."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._held:
            self._loop.call_soon(self._send)
        self._held.append(data)

    def close(self) -> None:
        self._send()
        self._transport.close()

    def _send(self) -> None:
        if self._held:
            held, self._held = self._held, []
            if not self._transport.is_closing():
                self._transport.write(b"".join(held))

    def __getattr__(self, name: str) -> Any:  # everything else is the transport's own
        return getattr(self._transport, name)
