"""A worker's side of the shared writer: records go over the Unix socket and are answered once committed.

Records submitted in the same turn of the event loop travel as one batch (one frame, one write);
several batches may be on their way at once, and the writer answers each when it is committed. While
the writer is unreachable (not started yet, crashed, restarting) every submit answers Unavailable
(503) at once, and records already sent are answered Unavailable when the connection drops: whether
the writer committed them is not known, and a retry stores only what is missing, by request id. The
client reconnects every RECONNECT_S.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from heliograph.domain.records import RequestRecord
from heliograph.errors import HeliographError, StorageFault, Unavailable
from heliograph.ingest.submitter import RecordSubmitter, settle, settled
from heliograph.ingest.writer_frames import FrameProtocol, decode_errors, encode_record, records_frame

__all__ = ["RECONNECT_S", "SharedWriterClient"]

log = logging.getLogger(__name__)

RECONNECT_S = 0.1
# Longest `stop` waits for the writer to answer what was sent (it answers every batch, unless wedged);
# what is still unanswered then is answered 503 as the connection closes.
STOP_BOUND_S = 30.0
WRITER_DOWN = "The ingestion writer is unavailable; retry shortly"
# A batch is cut at this many bytes (a record larger than that travels alone).
BATCH_BYTES = 8 * 1024 * 1024
_Item = tuple[RequestRecord, "asyncio.Future[None]"]


class SharedWriterClient(RecordSubmitter):
    """Sends records to the writer at `socket_path`; at most `queue_size` may await their commit."""

    def __init__(self, socket_path: Path, *, queue_size: int) -> None:
        super().__init__(queue_size=queue_size)
        self._socket_path = socket_path
        self._queue_size = queue_size
        self._connection: _Answers | None = None
        self._connector: asyncio.Task[None] | None = None
        self._unsent: list[_Item] = []
        self._sent: dict[int, list[asyncio.Future[None]]] = {}
        self._next_batch = 0
        self._outstanding = 0
        self._drained = asyncio.Event()

    def start(self) -> None:
        self._connector = asyncio.create_task(self._stay_connected(), name="heliograph-writer-client")

    async def stop(self) -> None:
        """Wait until every record taken is answered (at most STOP_BOUND_S), then disconnect."""
        if self._connector is None:
            return
        connector, self._connector = self._connector, None  # take no new records
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STOP_BOUND_S):
                while self._outstanding:
                    self._drained.clear()
                    await self._drained.wait()
        connector.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await connector

    @property
    def connected(self) -> bool:
        return self._connection is not None

    @property
    def queued(self) -> int:
        return self._outstanding

    async def submit_each(self, records: list[RequestRecord]) -> list[HeliographError | None]:
        if self._connector is None:
            raise Unavailable("Ingestion is not running; retry shortly")
        if self._connection is None:
            raise Unavailable(WRITER_DOWN)
        if self._queue_size - self._outstanding < len(records):
            raise Unavailable("Ingestion queue is full; retry shortly")
        loop = self._connector.get_loop()
        if not self._unsent:
            loop.call_soon(self._send)
        futures = [loop.create_future() for _ in records]
        for future in futures:
            future.add_done_callback(self._count)
        self._unsent.extend(zip(records, futures, strict=True))
        self._outstanding += len(records)
        return await settled(futures)

    def _count(self, future: asyncio.Future[None]) -> None:
        self._outstanding -= 1
        if not future.cancelled() and future.exception() is None:
            self.committed += 1
        else:
            self.failed += 1
        if not self._outstanding:
            self._drained.set()

    def _send(self) -> None:
        """Send what was submitted this turn, in batches of at most BATCH_BYTES."""
        items, self._unsent = self._unsent, []
        connection = self._connection
        if connection is None:  # the writer went away this very turn
            _settle([future for _, future in items], [Unavailable(WRITER_DOWN)] * len(items))
            return
        encoded: list[bytes] = []
        futures: list[asyncio.Future[None]] = []
        size = 0
        for record, future in items:
            try:
                data = encode_record(record)
            except orjson.JSONEncodeError:
                _settle([future], [StorageFault("The database refused this request; it was not stored")])
                continue
            if encoded and size + len(data) > BATCH_BYTES:
                connection.write(self._batch(encoded, futures))
                encoded, futures, size = [], [], 0
            encoded.append(data)
            futures.append(future)
            size += len(data)
        if encoded:
            connection.write(self._batch(encoded, futures))

    def _batch(self, encoded: list[bytes], futures: list[asyncio.Future[None]]) -> bytes:
        self._next_batch += 1
        self._sent[self._next_batch] = futures
        return records_frame(self._next_batch, encoded)

    async def _stay_connected(self) -> None:
        loop = asyncio.get_running_loop()
        down_logged = False
        while True:
            try:
                _, connection = await loop.create_unix_connection(
                    lambda: _Answers(self._answered), str(self._socket_path)
                )
            except OSError:
                if not down_logged:
                    log.warning("ingestion writer unreachable at %s; answering 503", self._socket_path)
                    down_logged = True
                await asyncio.sleep(RECONNECT_S)
                continue
            log.info("connected to the ingestion writer")
            down_logged = False
            self._connection = connection
            try:
                await connection.lost.wait()
                log.warning("the ingestion writer went away; answering 503 until it is back")
            finally:
                self._connection = None
                connection.close()
                self._fail_sent()

    def _answered(self, batch: int, entries: list[list[Any] | None] | None) -> None:
        futures = self._sent.pop(batch)
        _settle(futures, decode_errors(entries, len(futures)))

    def _fail_sent(self) -> None:
        """Answer Unavailable for every record sent and not yet answered."""
        sent, self._sent = self._sent, {}
        for futures in sent.values():
            _settle(futures, [Unavailable(WRITER_DOWN)] * len(futures))


class _Answers(FrameProtocol):
    """The client's end of the connection: each answer frame goes to `answered`."""

    def __init__(self, answered: Callable[[int, list[list[Any] | None] | None], None]) -> None:
        super().__init__()
        self._answered = answered
        self.lost = asyncio.Event()

    def frame_received(self, payload: Any) -> None:
        batch, entries = payload
        self._answered(batch, entries)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.set()


def _settle(futures: list[asyncio.Future[None]], errors: list[HeliographError | None]) -> None:
    for future, error in zip(futures, errors, strict=True):
        settle(future, error)
