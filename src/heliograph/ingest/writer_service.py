"""The shared writer: the one process that commits the records of every `serve --workers N` worker.

Workers parse, authenticate and price; they send records here over a Unix socket (`writer_frames`).
Every connection's records go into one `IngestPipeline`, so group commit spans all workers and one
process keeps SQLite's page cache warm. Each batch is answered once its records are committed, so a
worker's 200 still means committed.

Run as `python -m heliograph.ingest.writer_service SOCKET` with the server's `HELIOGRAPH_*` settings,
by `ingest.writer_supervisor`, which restarts it if it dies. SIGTERM or SIGINT, or the end of its
standard input (its supervisor has gone), starts a drain: no new connections; the workers connected
get every batch they send answered until they disconnect (at most DRAIN_BOUND_S); then everything
queued is committed and the process exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from heliograph.config import Settings
from heliograph.errors import HeliographError
from heliograph.ingest.pipeline import IngestPipeline
from heliograph.ingest.submitter import error_of
from heliograph.ingest.writer_frames import FrameProtocol, decode_records, encode_errors
from heliograph.storage import open_store

__all__ = ["DRAIN_BOUND_S", "serve_writer"]

log = logging.getLogger("heliograph.ingest.writer_service")  # not __name__: run as __main__

# Longest a drain waits for workers to disconnect: their own graceful stop (10 s) plus the time a
# gateway record may be retried (15 s), with room to spare.
DRAIN_BOUND_S = 40.0
STDIN = 0


async def serve_writer(settings: Settings, socket_path: Path, stop_requested: Awaitable[object]) -> None:
    """Take records on `socket_path` and commit them until `stop_requested` is done; then drain."""
    store = open_store(settings.database_url)
    pipeline = IngestPipeline(
        store, queue_size=settings.ingest_queue_size, batch_size=settings.ingest_batch_size
    )
    pipeline.start()
    connections: set[WorkerConnection] = set()

    def connected() -> WorkerConnection:
        connection = WorkerConnection(pipeline, connections.discard)
        connections.add(connection)
        return connection

    socket_path.unlink(missing_ok=True)  # left by a writer that was killed
    server = await asyncio.get_running_loop().create_unix_server(connected, path=str(socket_path))
    log.info("writer %s taking records on %s", settings.database_url.split(":", 1)[0], socket_path)
    await stop_requested
    server.close()
    log.info("writer draining %d connection(s)", len(connections))
    if connections:
        await asyncio.wait([asyncio.create_task(c.closed.wait()) for c in connections], timeout=DRAIN_BOUND_S)
    await pipeline.stop()
    await store.close()
    log.info(
        "writer stopped: %d committed in %d transactions, %d failed",
        pipeline.committed,
        pipeline.transactions,
        pipeline.failed,
    )


class WorkerConnection(FrameProtocol):
    """One worker's connection: each batch it sends is queued whole, and answered as its last record
    settles, with no task or waiter of its own (the profile of a loaded writer had those, and a
    coroutine reading each frame, as its largest costs). `closed` is set once the worker has gone and
    every batch it sent is settled."""

    def __init__(self, pipeline: IngestPipeline, forget: Callable[[WorkerConnection], None]) -> None:
        super().__init__()
        self._pipeline = pipeline
        self._forget = forget
        self._pending = 0
        self._gone = False
        self.closed = asyncio.Event()

    def frame_received(self, payload: Any) -> None:
        batch, fields = payload
        records = decode_records(fields)
        try:
            futures = self._pipeline.take(records)
        except HeliographError as exc:  # not taken at all: queue full, or the database just found down
            self.send(encode_errors(batch, [exc] * len(records)))
            return
        left = len(futures)
        if not left:
            self.send(encode_errors(batch, []))
            return

        def one_settled(_: asyncio.Future[None]) -> None:
            nonlocal left
            left -= 1
            if not left:
                self.send(encode_errors(batch, [error_of(future) for future in futures]))
                self._pending -= 1
                self._close_if_done()

        self._pending += 1
        for future in futures:
            future.add_done_callback(one_settled)

    def connection_lost(self, exc: Exception | None) -> None:
        self._gone = True  # its batches still commit, unanswered
        self._close_if_done()

    def _close_if_done(self) -> None:
        if self._gone and not self._pending:
            self._forget(self)
            self.closed.set()


async def _stop_requested() -> None:
    """Return on SIGTERM or SIGINT, or when standard input ends (the supervisor has gone)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    def on_stdin() -> None:  # the supervisor writes nothing: readable means its end has closed
        if not os.read(STDIN, 4096):
            loop.remove_reader(STDIN)
            stop.set()

    loop.add_reader(STDIN, on_stdin)
    await stop.wait()


def main() -> None:
    settings = Settings()
    logging.basicConfig(format="%(levelname)s:     [writer] %(message)s", stream=sys.stderr)
    logging.getLogger("heliograph").setLevel(settings.log_level.upper())
    writing = serve_writer(settings, Path(sys.argv[1]), _stop_requested())
    try:  # the event loop uvicorn runs the workers on, where installed (uvicorn[standard])
        import uvloop
    except ImportError:
        asyncio.run(writing)
        return
    uvloop.run(writing)


if __name__ == "__main__":
    main()
