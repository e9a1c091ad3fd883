"""The shared writer's wire format over its Unix socket: length-prefixed JSON frames.

A worker sends `[batch, [record, ...]]`, each record a JSON array of `RequestRecord`'s fields in their
declared order (a third of the cost of an object, to write and to read back). The
writer answers `[batch, null]` once every record of the batch is committed, or `[batch, [error, ...]]`
with one entry a record: null where it was committed, else `[status, message]` (503: the database
could not write it now; 500: the database refused it). Batches may be answered in any order.
"""

from __future__ import annotations

import asyncio
import dataclasses
import operator
import struct
from typing import Any, cast

import orjson

from heliograph.domain.records import RequestRecord
from heliograph.errors import HeliographError, StorageFault, Unavailable

__all__ = [
    "MAX_FRAME_BYTES",
    "FrameProtocol",
    "decode_errors",
    "decode_records",
    "encode_errors",
    "encode_record",
    "frame",
    "records_frame",
]

_LENGTH = struct.Struct(">I")
_fields_of = operator.attrgetter(*(field.name for field in dataclasses.fields(RequestRecord)))
# A frame carries at most what one batch of records holds; past this the peer is not a Heliograph one.
MAX_FRAME_BYTES = 1 << 30


def frame(payload: bytes) -> bytes:
    return _LENGTH.pack(len(payload)) + payload


class FrameProtocol(asyncio.Protocol):
    """A connection carrying frames both ways, without a task or a coroutine per frame: each complete
    frame received goes to `frame_received`, and what `send` is given in one turn of the event loop
    leaves in one write."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._received = bytearray()
        self._outgoing: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's are not asyncio.Transport subclasses

    def data_received(self, data: bytes) -> None:
        received = self._received
        received += data
        start = 0
        while len(received) - start >= _LENGTH.size:
            (length,) = _LENGTH.unpack_from(received, start)
            if length > MAX_FRAME_BYTES:
                self.close()
                return
            end = start + _LENGTH.size + length
            if len(received) < end:
                break
            payload = orjson.loads(memoryview(received)[start + _LENGTH.size : end])
            start = end
            self.frame_received(payload)
        del received[:start]

    def frame_received(self, payload: Any) -> None:
        raise NotImplementedError

    def write(self, data: bytes) -> None:
        """Write `data` now."""
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    def send(self, data: bytes) -> None:
        """Write `data` with whatever else is sent in this turn of the event loop."""
        if self._transport is None or self._transport.is_closing():
            return
        if not self._outgoing:
            asyncio.get_running_loop().call_soon(self._flush)
        self._outgoing.append(data)

    def _flush(self) -> None:
        outgoing, self._outgoing = self._outgoing, []
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(b"".join(outgoing))

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


def encode_record(record: RequestRecord) -> bytes:
    """One record as JSON; raises orjson.JSONEncodeError for text JSON cannot carry (a lone surrogate)."""
    return orjson.dumps(_fields_of(record))


def records_frame(batch: int, encoded: list[bytes]) -> bytes:
    return frame(b"[%d,[%s]]" % (batch, b",".join(encoded)))


def decode_records(fields: list[list[Any]]) -> list[RequestRecord]:
    return [RequestRecord(*values) for values in fields]


def encode_errors(batch: int, errors: list[HeliographError | None]) -> bytes:
    if not any(errors):
        return frame(orjson.dumps([batch, None]))
    entries = [None if error is None else [error.status_code, error.message] for error in errors]
    return frame(orjson.dumps([batch, entries]))


def decode_errors(entries: list[list[Any] | None] | None, count: int) -> list[HeliographError | None]:
    if entries is None:
        return [None] * count
    return [None if entry is None else _error(*entry) for entry in entries]


def _error(status: int, message: str) -> HeliographError:
    return Unavailable(message) if status == Unavailable.status_code else StorageFault(message)
