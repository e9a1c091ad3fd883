"""The shared writer of `serve --workers N`, in this process: its service, and clients of it as the
workers hold them, on a real store. (tests/reliability/test_worker_faults.py kills the real processes.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from heliograph.config import Settings
from heliograph.domain.records import RequestRecord, new_record, now_ms
from heliograph.errors import StorageFault, Unavailable
from heliograph.ingest.writer_client import SharedWriterClient
from heliograph.ingest.writer_service import serve_writer
from heliograph.storage import open_store

pytestmark = pytest.mark.backends("sqlite", "postgresql")
ORG = "org-writer"


@dataclass
class Running:
    socket_path: Path
    stop: asyncio.Event
    service: asyncio.Task[None]


@asynccontextmanager
async def running_writer(database_url: str, tmp_path: Path, queue_size: int = 100) -> AsyncIterator[Running]:
    store = open_store(database_url)
    await store.migrate()
    await store.close()
    stop = asyncio.Event()
    socket_path = tmp_path / "writer.sock"
    service = asyncio.create_task(
        serve_writer(
            Settings(database_url=database_url, ingest_queue_size=queue_size), socket_path, stop.wait()
        )
    )
    while not socket_path.exists():
        await asyncio.sleep(0.01)
    try:
        yield Running(socket_path, stop, service)
    finally:
        stop.set()
        await service


@asynccontextmanager
async def connected_client(socket_path: Path, queue_size: int = 100) -> AsyncIterator[SharedWriterClient]:
    client = SharedWriterClient(socket_path, queue_size=queue_size)
    client.start()
    while not client.connected:
        await asyncio.sleep(0.01)
    try:
        yield client
    finally:
        await client.stop()


async def stored_ids(database_url: str) -> set[str]:
    store = open_store(database_url)
    try:
        rows = await store.export_requests(org_id=ORG, after=None, limit=10_000)
    finally:
        await store.close()
    return {row.record.request_id for row in rows}


def record(index: int, response_body: str = "{}") -> RequestRecord:
    return new_record(
        org_id=ORG, created_at_ms=now_ms(), session_id=f"s-{index % 3}", response_body=response_body
    )


def test_two_workers_records_are_committed_and_answered(empty_database_url: str, tmp_path: Path) -> None:
    async def run() -> tuple[set[str], set[str]]:
        async with running_writer(empty_database_url, tmp_path) as writer:
            # one and two connect after the writer is up (the writer's socket exists)
            one, two = connected_client(writer.socket_path), connected_client(writer.socket_path)
            async with one as first, two as second:
                records = [record(i) for i in range(40)]
                await asyncio.gather(*((first if i % 2 else second).submit(r) for i, r in enumerate(records)))
                assert first.committed == second.committed == 20
                # Answered means committed: read back before the writer stops.
                return {r.request_id for r in records}, await stored_ids(empty_database_url)

    sent, stored = asyncio.run(run())
    assert stored == sent


def test_a_record_json_cannot_carry_is_refused_alone(empty_database_url: str, tmp_path: Path) -> None:
    async def run() -> None:
        async with (
            running_writer(empty_database_url, tmp_path) as writer,
            connected_client(writer.socket_path) as client,
        ):
            good, bad = record(1), record(2, response_body="\ud800")
            results = await client.submit_each([good, bad])
            assert results[0] is None
            assert isinstance(results[1], StorageFault)
            assert await stored_ids(empty_database_url) == {good.request_id}

    asyncio.run(run())


def test_a_batch_past_the_writers_queue_is_refused_with_503_and_nothing_stored(
    empty_database_url: str, tmp_path: Path
) -> None:
    async def run() -> None:
        async with (
            running_writer(empty_database_url, tmp_path, queue_size=5) as writer,
            connected_client(writer.socket_path) as client,
        ):
            results = await client.submit_each([record(i) for i in range(6)])
            assert all(isinstance(result, Unavailable) for result in results)
            assert await stored_ids(empty_database_url) == set()

    asyncio.run(run())


def test_a_client_refuses_past_its_own_queue_and_while_the_writer_is_unreachable(tmp_path: Path) -> None:
    async def run() -> None:
        client = SharedWriterClient(tmp_path / "nobody.sock", queue_size=5)
        with pytest.raises(Unavailable, match="not running"):
            await client.submit(record(0))
        client.start()
        await asyncio.sleep(0.05)
        with pytest.raises(Unavailable, match="writer is unavailable"):
            await client.submit(record(0))
        await client.stop()

    asyncio.run(run())


def test_the_writer_drains_a_connected_worker_before_it_stops(
    empty_database_url: str, tmp_path: Path
) -> None:
    async def run() -> None:
        async with running_writer(empty_database_url, tmp_path) as writer:
            client = SharedWriterClient(writer.socket_path, queue_size=100)
            client.start()
            while not client.connected:
                await asyncio.sleep(0.01)
            writer.stop.set()  # asked to stop while a worker is connected: it still answers that worker
            await asyncio.sleep(0.05)
            assert not writer.service.done()
            late = record(7)
            await client.submit(late)
            await client.stop()  # the worker leaves; the writer may now end
            await asyncio.wait_for(writer.service, timeout=30)
            assert await stored_ids(empty_database_url) == {late.request_id}

    asyncio.run(run())
