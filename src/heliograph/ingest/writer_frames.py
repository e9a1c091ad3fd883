"""The shared writer's wire format over its Unix socket: length-prefixed JSON frames.

A worker sends `[batch, [record, ...]]`, each record a JSON object of `RequestRecord`'s fields. The
writer answers `[batch, null]` once every record of the batch is committed, or `[batch, [error, ...]]`
with one entry a record: null where it was committed, else `[status, message]` (503: the database
could not write it now; 500: the database refused it). Batches may be answered in any order.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Any

import orjson

from heliograph.domain.records import RequestRecord
from heliograph.errors import HeliographError, StorageFault, Unavailable

__all__ = [
    "MAX_FRAME_BYTES",
    "decode_errors",
    "decode_records",
    "encode_errors",
    "encode_record",
    "frame",
    "read_frame",
    "records_frame",
]

_LENGTH = struct.Struct(">I")
# A frame carries at most what one batch of records holds; past this the peer is not a Heliograph one.
MAX_FRAME_BYTES = 1 << 30


def frame(payload: bytes) -> bytes:
    return _LENGTH.pack(len(payload)) + payload


async def read_frame(reader: asyncio.StreamReader) -> Any:
    """The next frame's decoded payload; raises IncompleteReadError at the end of the stream."""
    (length,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
    if length > MAX_FRAME_BYTES:
        raise ValueError(f"a writer frame of {length} bytes is past {MAX_FRAME_BYTES}")
    return orjson.loads(await reader.readexactly(length))


def encode_record(record: RequestRecord) -> bytes:
    """One record as JSON; raises orjson.JSONEncodeError for text JSON cannot carry (a lone surrogate)."""
    return orjson.dumps(record)


def records_frame(batch: int, encoded: list[bytes]) -> bytes:
    return frame(b"[%d,[%s]]" % (batch, b",".join(encoded)))


def decode_records(fields: list[dict[str, Any]]) -> list[RequestRecord]:
    return [RequestRecord(**values) for values in fields]


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
