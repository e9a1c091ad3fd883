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
from pathlib import Path

from heliograph.config import Settings
from heliograph.errors import HeliographError
from heliograph.ingest.pipeline import IngestPipeline
from heliograph.ingest.writer_frames import decode_records, encode_errors, read_frame
from heliograph.storage import open_store

__all__ = ["DRAIN_BOUND_S", "serve_writer"]

log = logging.getLogger("heliograph.ingest.writer_service")  # not __name__: run as __main__

# Longest a drain waits for workers to disconnect: their own graceful stop (10 s) plus the time a
# gateway record may be retried (15 s), with room to spare.
DRAIN_BOUND_S = 40.0
STDIN = 0


async def serve_writer(settings: Settings, socket_path: Path) -> None:
    """Take records on `socket_path` and commit them until asked to stop; then drain."""
    store = open_store(settings.database_url)
    pipeline = IngestPipeline(
        store, queue_size=settings.ingest_queue_size, batch_size=settings.ingest_batch_size
    )
    pipeline.start()
    connections: set[asyncio.Task[None]] = set()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        connections.add(task)
        try:
            await _serve_connection(pipeline, reader, writer)
        finally:
            connections.discard(task)

    socket_path.unlink(missing_ok=True)  # left by a writer that was killed
    server = await asyncio.start_unix_server(on_connect, path=str(socket_path))
    log.info("writer %s taking records on %s", settings.database_url.split(":", 1)[0], socket_path)
    await _stop_requested()
    server.close()
    log.info("writer draining %d connection(s)", len(connections))
    if connections:
        await asyncio.wait(connections, timeout=DRAIN_BOUND_S)
    await pipeline.stop()
    await store.close()
    log.info("writer stopped: %d committed, %d failed", pipeline.committed, pipeline.failed)


async def _serve_connection(
    pipeline: IngestPipeline, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Answer every batch the worker sends, each as soon as it is settled, until it disconnects."""
    answering: set[asyncio.Task[None]] = set()
    try:
        while True:
            try:
                batch, fields = await read_frame(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                break
            task = asyncio.create_task(_answer(pipeline, writer, batch, fields))
            answering.add(task)
            task.add_done_callback(answering.discard)
        if answering:  # the worker went away: its batches still commit, unanswered
            await asyncio.wait(answering)
    finally:
        writer.close()


async def _answer(
    pipeline: IngestPipeline, writer: asyncio.StreamWriter, batch: int, fields: list[dict[str, object]]
) -> None:
    records = decode_records(fields)
    errors: list[HeliographError | None]
    try:
        errors = await pipeline.submit_each(records)
    except HeliographError as exc:  # not taken at all: queue full, or the database just found down
        errors = [exc] * len(records)
    if not writer.is_closing():
        writer.write(encode_errors(batch, errors))


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
    asyncio.run(serve_writer(settings, Path(sys.argv[1])))


if __name__ == "__main__":
    main()
