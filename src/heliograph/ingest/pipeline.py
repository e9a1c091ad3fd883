"""Group commit: many concurrent log calls share one transaction, and each is answered after it.

Each call puts its record on a bounded queue and waits on a future. One writer task takes
everything queued (up to `batch_size`), writes it in one transaction and resolves every future.
A full queue answers 503 at once rather than letting memory grow.

When a batch fails because the database is unavailable (down, locked, too slow), every record
queued behind it is refused with it, and new records are refused at once for UNAVAILABLE_HOLD_S
(the Retry-After the callers get), instead of each waiting out its own timeout against a database
that is not there; the next batch after that finds out whether it is back.

Writers nobody waits on (the gateway logs a call after answering it) use `submit_with_retry`
(see ingest.submitter): an unavailable database is retried with capped exponential backoff for a
bounded time, and only a bounded number of records may wait to retry at once, so an outage costs
bounded memory.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from heliograph.domain.records import RequestRecord
from heliograph.domain.store import Store
from heliograph.errors import HeliographError, StorageFault, Unavailable
from heliograph.ingest.submitter import RecordSubmitter, settle, settled

__all__ = ["IngestPipeline"]

log = logging.getLogger(__name__)

_STOP: Final = object()
UNAVAILABLE_HOLD_S = 1.0
_Item = tuple[RequestRecord, "asyncio.Future[None]"]


class IngestPipeline(RecordSubmitter):
    """Bounded queue plus a single writer task that commits records in batches.

    Parameters:
        store: where batches are written.
        queue_size: records that may wait for a commit before `submit` answers Unavailable.
        batch_size: most records written in one transaction.
    """

    def __init__(self, store: Store, *, queue_size: int, batch_size: int) -> None:
        super().__init__(queue_size=queue_size)
        self._store = store
        self._queue: asyncio.Queue[_Item | object] = asyncio.Queue(maxsize=queue_size)
        self._batch_size = batch_size
        self._writer: asyncio.Task[None] | None = None
        self._fault: str | None = None  # why the last batch failed, while new records are refused
        self._refuse_until = 0.0
        self.transactions = 0  # batches committed

    def start(self) -> None:
        self._writer = asyncio.create_task(self._run(), name="heliograph-ingest-writer")

    async def stop(self) -> None:
        """Write everything already queued, then end the writer."""
        if self._writer is None:
            return
        await self._queue.put(_STOP)
        await self._writer
        self._writer = None

    @property
    def queued(self) -> int:
        return self._queue.qsize()

    async def submit_each(self, records: list[RequestRecord]) -> list[HeliographError | None]:
        return await settled(self.take(records))

    def take(self, records: list[RequestRecord]) -> list[asyncio.Future[None]]:
        """Queue all of `records` or raise Unavailable; a future for each, settled once it is committed.

        For callers that settle many records without a task each (the shared writer); others await
        `submit_each`.
        """
        if self._writer is None:
            raise Unavailable("Ingestion is not running; retry shortly")
        loop = self._writer.get_loop()
        if self._fault is not None and loop.time() < self._refuse_until:
            raise Unavailable(self._fault)
        if self._queue.maxsize - self._queue.qsize() < len(records):
            raise Unavailable("Ingestion queue is full; retry shortly")
        futures: list[asyncio.Future[None]] = []
        for record in records:
            futures.append(loop.create_future())
            self._queue.put_nowait((record, futures[-1]))
        return futures

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            first = await self._queue.get()
            if first is _STOP:
                return
            batch: list[_Item] = [first]  # type: ignore[list-item]
            while len(batch) < self._batch_size and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)  # type: ignore[arg-type]
            fault = await self._write(batch)
            if fault is not None and not stopping:
                stopping = self._refuse_queued(fault)

    async def _write(self, batch: list[_Item]) -> Unavailable | None:
        """Write `batch` and settle its futures; the fault if the database was unavailable."""
        try:
            await self._store.insert_requests([record for record, _ in batch])
        except Unavailable as exc:  # the database is down or locked: refuse the batch, callers may retry
            log.warning("ingest write failed, database unavailable: %s", exc.message)
            self.failed += len(batch)
            self._fault, self._refuse_until = (
                exc.message,
                asyncio.get_running_loop().time() + UNAVAILABLE_HOLD_S,
            )
            _settle(batch, exc)
            return exc
        except Exception as exc:  # the writer must outlive any fault a record provokes
            if len(batch) > 1:
                # One bad record must not fail its neighbours: write them one by one.
                faults = [await self._write([item]) for item in batch]
                return next((fault for fault in faults if fault is not None), None)
            # Retrying cannot help a record the database refuses, so this is a 500, not a 503.
            log.error("ingest write refused a record: %s", type(exc).__name__)
            self.failed += 1
            _settle(batch, StorageFault("The database refused this request; it was not stored"))
            return None
        self._fault = None
        self.committed += len(batch)
        self.transactions += 1
        _settle(batch, None)
        return None

    def _refuse_queued(self, fault: Unavailable) -> bool:
        """Refuse every record queued behind a batch the database refused; True if a stop was queued."""
        refused: list[_Item] = []
        stop_queued = False
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is _STOP:
                stop_queued = True
            else:
                refused.append(item)  # type: ignore[arg-type]
        self.failed += len(refused)
        _settle(refused, Unavailable(fault.message))
        return stop_queued


def _settle(batch: list[_Item], error: Exception | None) -> None:
    for _, future in batch:
        settle(future, error)
