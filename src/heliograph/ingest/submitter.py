"""What the endpoints hand records to: `RecordSubmitter`, answered once a record is committed.

Two kinds do the work: `IngestPipeline` commits in this process (one writer task, group commit), and
`SharedWriterClient` sends to the one writer process that `serve --workers N` runs for them all
(`ingest.writer_service`). Both refuse with Unavailable (503) what they cannot take or write now.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod

from heliograph.domain.records import RequestRecord
from heliograph.errors import HeliographError, Unavailable

__all__ = ["RETRY_FOR_S", "RecordSubmitter", "error_of", "raise_first", "settle", "settled"]

# Backoff for submit_with_retry: 0.25 s doubling to 4 s, for at most 15 s per record (which also
# bounds how long a graceful shutdown waits for gateway records during a database outage).
RETRY_FIRST_DELAY_S, RETRY_MAX_DELAY_S, RETRY_FOR_S = 0.25, 4.0, 15.0


class RecordSubmitter(ABC):
    """Takes records and answers once each is committed; counts what it committed and what failed."""

    def __init__(self, *, queue_size: int) -> None:
        self._max_retrying = queue_size
        self.retrying = 0
        self.committed = 0
        self.failed = 0

    @abstractmethod
    def start(self) -> None:
        """Begin taking records (in the running event loop)."""

    @abstractmethod
    async def stop(self) -> None:
        """Commit (or refuse) everything already taken, then stop taking records."""

    @property
    @abstractmethod
    def queued(self) -> int:
        """Records taken and not yet settled."""

    @abstractmethod
    async def submit_each(self, records: list[RequestRecord]) -> list[HeliographError | None]:
        """Take all of `records` or raise Unavailable for all; return once each is settled, with its error.

        Taken together they share transactions; a record's error is Unavailable (the database could
        not write it now) or StorageFault (the database refused it).
        """

    async def submit(self, record: RequestRecord) -> None:
        """Return once `record` is committed; raise Unavailable if it cannot be taken or written."""
        raise_first(await self.submit_each([record]))

    async def submit_all(self, records: list[RequestRecord]) -> None:
        """`submit` for several records: all are taken or none is, and this returns once all are settled.

        If a write fails, the first error is raised after every record is settled (a retry stores only
        what is missing, by request id).
        """
        raise_first(await self.submit_each(records))

    async def submit_with_retry(self, record: RequestRecord) -> None:
        """`submit`, retrying Unavailable with backoff for up to RETRY_FOR_S; raise the last error after.

        At most `queue_size` records wait to retry at once; beyond that the error is raised at once.
        """
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + RETRY_FOR_S
        delay = RETRY_FIRST_DELAY_S
        while True:
            try:
                await self.submit(record)
                return
            except Unavailable:
                if loop.time() + delay > give_up_at or self.retrying >= self._max_retrying:
                    raise
            self.retrying += 1
            try:
                await asyncio.sleep(delay)
            finally:
                self.retrying -= 1
            delay = min(delay * 2, RETRY_MAX_DELAY_S)


def settle(future: asyncio.Future[None], error: Exception | None) -> None:
    """Give `future` its outcome, unless its caller was cancelled (the record is committed, or not,
    regardless)."""
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


def raise_first(errors: list[HeliographError | None]) -> None:
    """Raise the first error of a settled batch, if any."""
    error = next((error for error in errors if error is not None), None)
    if error is not None:
        raise error


async def settled(futures: list[asyncio.Future[None]]) -> list[HeliographError | None]:
    """Wait for every future; each one's error (a HeliographError), or None where it succeeded."""
    if len(futures) == 1:  # the common case (one logged call), without asyncio.wait's own waiter
        try:
            await futures[0]
        except HeliographError as error:
            return [error]
        return [None]
    if futures:
        await asyncio.wait(futures)
    return [error_of(future) for future in futures]


def error_of(future: asyncio.Future[None]) -> HeliographError | None:
    """A settled future's HeliographError, or None if it succeeded; any other exception is raised."""
    error = future.exception()
    if error is None or isinstance(error, HeliographError):
        return error
    raise error
