"""Keeping ClickHouse session rollups equal to their requests: every write that changes a session is
followed by its recomputation, and a write cut short by a killed process is repaired at the next start.

Two kinds of pending mark say that a session's rollup is about to change. A batch of new requests
carries one for each of its sessions in its own INSERT (a deleted row of request id '', which no read
of live requests sees), so it costs no statement of its own; the rollups it changes are recomputed
right after, off the acknowledgement path, by `RollupQueue`. Any other change (a rating, a property,
a deletion) writes a mark to `rollup_pending` first and recomputes in the same unit of work.

The recomputation (reads.py) writes a new rollup version from the de-duplicated requests and drops the
rollups it leaves out of date. A mark newer than its session's rollup means the process died in
between, and `repair_rollups` redoes it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Set
from functools import partial

from heliograph.domain.records import now_ms
from heliograph.storage.clickhouse.client import (
    Connection,
    WriteSession,
    change_ms_sql,
    change_version,
)
from heliograph.storage.clickhouse.reads import (
    Params,
    drop_stale_rollups,
    live,
    recompute_sessions,
    rollup_computed_ms,
)
from heliograph.storage.clickhouse.rows import PENDING_REQUEST_ID
from heliograph.storage.clickhouse.schema import ROLLUP_PENDING

__all__ = ["REPAIR_BATCH", "RollupQueue", "change_sessions", "recompute", "repair_rollups"]

log = logging.getLogger(__name__)

REPAIR_BATCH = 10_000  # sessions recomputed per statement
# Under a steady load, recompute at most this often unless a read waits: a cycle's cost grows far
# slower than its sessions, so fewer, larger cycles leave more CPU to ingestion.
CYCLE_SPACING_S = 1.0
# Sessions queued at most: past this, a batch of requests waits for the queue before it is
# acknowledged, so rollups never lag far behind (nor the queue grow) when requests come faster than
# rollups are recomputed (a bulk load, a copy).
MAX_BACKLOG = 50_000
SessionKeys = set[tuple[str, str]]  # (org id, session id)
RequestKeys = Set[tuple[str, str]]  # (org id, request id)


def change_sessions(session: WriteSession, keys: SessionKeys, write: Callable[[], None]) -> None:
    """Mark the sessions `keys` pending, run `write` (which changes them), then recompute them."""
    if keys:
        marked_ms, version = now_ms(), time.time_ns()
        marks = [(org_id, session_id, marked_ms, version, 0) for org_id, session_id in sorted(keys)]
        session.insert(ROLLUP_PENDING.name, ROLLUP_PENDING.column_names(), marks)
    write()
    recompute(session, keys)


def recompute(
    session: WriteSession,
    keys: SessionKeys,
    *,
    covered_ms: int | None = None,
    new_requests: RequestKeys = frozenset(),
) -> None:
    """Write a new rollup version of each session in `keys` from its stored requests, and delete the
    rollups that this leaves out of date. The rollups count as computed at `covered_ms` (default now):
    a mark made after it is not known to be in them. A copy of one of `new_requests` sent with another
    session id than the request's first copy is deleted first (and its session recomputed)."""
    keys = keys | _delete_moved_retries(session, new_requests)
    ordered = sorted(keys)
    for start in range(0, len(ordered), REPAIR_BATCH):
        params = Params()
        sessions = params.add(ordered[start : start + REPAIR_BATCH], "Array(Tuple(String, String))")
        computed_ms = params.add(now_ms() if covered_ms is None else covered_ms, "Int64")
        session.command(recompute_sessions(sessions, computed_ms), params.values)
        session.command(drop_stale_rollups(sessions), params.values)


def _delete_moved_retries(session: WriteSession, requests: RequestKeys) -> SessionKeys:
    """Delete each live copy of `requests` that a copy under another session key outranks (the first
    copy has the highest version), so a retry is stored once even when its session id changed,
    without a read before its INSERT. Returns the sessions that lost a copy."""
    moved: list[tuple[str, str, str, int]] = []
    ordered = sorted(requests)
    for start in range(0, len(ordered), REPAIR_BATCH):
        params = Params()
        ids = params.add(ordered[start : start + REPAIR_BATCH], "Array(Tuple(String, String))")
        moved += session.rows(
            f"""SELECT org_id, session_id, request_id, created_at_ms FROM (
                SELECT org_id, session_id, request_id, created_at_ms, version,
                    max(version) OVER (PARTITION BY org_id, request_id) AS newest
                FROM {live("requests")} WHERE (org_id, request_id) IN {ids}
            ) WHERE version < newest""",
            params.values,
        )
    version = change_version()
    deletions = [(*row, version, 1) for row in moved]  # with its time, as every version (store.py)
    columns = ("org_id", "session_id", "request_id", "created_at_ms", "version", "deleted")
    session.insert("requests", columns, deletions)
    return {(str(org_id), str(session_id)) for org_id, session_id, _, _ in moved if session_id}


def repair_rollups(session: WriteSession) -> None:
    """Recompute the rollup of every session marked pending after its newest rollup was computed."""
    stale = session.rows(
        f"""SELECT m.org_id, m.session_id FROM (
            SELECT org_id, session_id, max(marked_ms) AS marked_ms FROM (
                SELECT org_id, session_id, marked_ms FROM {live("rollup_pending")}
                UNION ALL
                SELECT org_id, session_id, {change_ms_sql("version")} FROM requests
                WHERE request_id = '{PENDING_REQUEST_ID}' AND deleted = 1
            ) GROUP BY org_id, session_id
        ) AS m
        LEFT JOIN (SELECT org_id, session_id, max(version) AS version FROM {live("sessions")}
            GROUP BY org_id, session_id) AS s ON s.org_id = m.org_id AND s.session_id = m.session_id
        WHERE {rollup_computed_ms("s.version")} < m.marked_ms"""
    )
    # The retries a killed process had not checked for a changed session id are not looked for here:
    # that needs every request id of every stale session (minutes at 10M requests, for what a retry
    # with another session id and a kill within the same second leave: one duplicate request).
    recompute(session, {(str(o), str(s)) for o, s in stale})


class RollupQueue:
    """The sessions whose rollups new requests changed, recomputed in batches on the writer thread.

    `inserting` brackets each INSERT of requests (its marks' time in epoch ms) and queues its sessions
    once it returns. A batch of recomputations counts as computed no later than the earliest INSERT
    still running, which it may not see. `settle` waits until every session queued before the call is
    recomputed, so a read after an acknowledged write sees it in the rollups.
    """

    def __init__(self, db: Connection) -> None:
        self._db = db
        self._pending: SessionKeys = set()
        self._new_requests: set[tuple[str, str]] = set()
        self._running: dict[int, int] = {}  # INSERTs in progress: token -> their marks' time (ms)
        self._tokens = 0
        self._queued = 0  # batches queued so far
        self._done = 0  # batches whose sessions are all recomputed
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._flushing: asyncio.Task[None] | None = None
        self._read_waits: asyncio.Event | None = None  # set when a read waits for the next cycle
        self._closing = False

    def begin(self, marked_ms: int) -> int:
        """Note an INSERT of requests whose marks say `marked_ms`; returns its token for `end`."""
        self._tokens += 1
        self._running[self._tokens] = marked_ms
        return self._tokens

    def end(self, token: int, keys: SessionKeys, requests: RequestKeys) -> None:
        """Note that the INSERT of `token` stored `requests` in the sessions `keys`, which are queued."""
        del self._running[token]
        self._pending |= keys
        self._new_requests |= requests
        self._queued += 1
        self._flush_soon()

    def cancel(self, token: int) -> None:
        """Note that the INSERT of `token` failed."""
        del self._running[token]

    @property
    def behind(self) -> bool:
        """Whether more sessions wait for their rollups than MAX_BACKLOG."""
        return len(self._pending) > MAX_BACKLOG

    async def settle(self) -> None:
        """Return once the sessions queued before this call are recomputed."""
        target = self._queued
        if self._done >= target:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append((target, waiter))
        if self._read_waits is not None:
            self._read_waits.set()
        self._flush_soon()
        await waiter

    async def close(self) -> None:
        """Recompute everything queued (what cannot be is repaired at the next start)."""
        self._closing = True
        if self._read_waits is not None:
            self._read_waits.set()
        while self._flushing is not None:
            await asyncio.wait([self._flushing])

    def _flush_soon(self) -> None:
        if self._flushing is None and (self._pending or self._new_requests):
            self._flushing = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        try:
            while self._pending or self._new_requests:
                started = time.monotonic()
                keys, requests, target = self._pending, self._new_requests, self._queued
                self._pending, self._new_requests = set(), set()
                covered_ms = min([now_ms(), *self._running.values()]) - 1
                try:
                    await self._db.write(
                        partial(recompute, keys=keys, covered_ms=covered_ms, new_requests=requests)
                    )
                except Exception as exc:  # the waiters get it; the marks stay for repair
                    log.warning("Session rollups not recomputed (%s); retried on the next write", exc)
                    self._pending |= keys
                    self._new_requests |= requests
                    self._wake(target, exc)
                    return
                self._done = target
                self._wake(target, None)
                await self._space(started)
        finally:
            self._flushing = None

    async def _space(self, started: float) -> None:
        """Wait until CYCLE_SPACING_S after the cycle that `started`, or until a read waits."""
        if self._closing or self._waiters or not (self._pending or self._new_requests):
            return
        self._read_waits = asyncio.Event()
        try:
            remaining = started + CYCLE_SPACING_S - time.monotonic()
            await asyncio.wait_for(self._read_waits.wait(), max(remaining, 0))
        except TimeoutError:
            pass
        finally:
            self._read_waits = None

    def _wake(self, target: int, error: Exception | None) -> None:
        waiting = []
        for wanted, waiter in self._waiters:
            if waiter.done():
                continue
            if error is not None:
                waiter.set_exception(error)
            elif wanted <= target:
                waiter.set_result(None)
            else:
                waiting.append((wanted, waiter))
        self._waiters = waiting
