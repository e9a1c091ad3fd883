"""Keeping ClickHouse session rollups equal to their requests: every write that changes a session is
followed by its recomputation, and a write cut short by a killed process is repaired at the next start.

A pending mark (`rollup_pending`) is written before the change. The recomputation (reads.py) writes a
new rollup version from the de-duplicated requests and drops the rollups it leaves out of date; a
mark newer than its session's rollup means the process died in between, and `repair_rollups` redoes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from heliograph.storage.clickhouse.client import WriteSession, now_ms
from heliograph.storage.clickhouse.reads import (
    Params,
    drop_stale_rollups,
    live,
    recompute_sessions,
    rollup_computed_ms,
)
from heliograph.storage.clickhouse.schema import ROLLUP_PENDING

__all__ = ["REPAIR_BATCH", "change_sessions", "recompute", "repair_rollups"]

REPAIR_BATCH = 10_000  # sessions recomputed per statement when repairing at start
SessionKeys = set[tuple[str, str]]  # (org id, session id)


def change_sessions(session: WriteSession, keys: SessionKeys, write: Callable[[], None]) -> None:
    """Mark the sessions `keys` pending, run `write` (which changes them), then recompute them."""
    if keys:
        marked_ms, version = now_ms(), time.time_ns()
        marks = [(org_id, session_id, marked_ms, version, 0) for org_id, session_id in sorted(keys)]
        session.insert(ROLLUP_PENDING.name, ROLLUP_PENDING.column_names(), marks)
    write()
    recompute(session, keys)


def recompute(session: WriteSession, keys: SessionKeys) -> None:
    """Write a new rollup version of each session in `keys` from its stored requests, and delete the
    rollups that this leaves out of date."""
    if keys:
        params = Params()
        sessions = params.add(sorted(keys), "Array(Tuple(String, String))")
        computed_ms = params.add(now_ms(), "Int64")
        session.command(recompute_sessions(sessions, computed_ms), params.values)
        session.command(drop_stale_rollups(sessions), params.values)


def repair_rollups(session: WriteSession) -> None:
    """Recompute the rollup of every session marked pending after its newest rollup was computed."""
    stale = session.rows(
        f"SELECT p.org_id, p.session_id FROM {live('rollup_pending', 'p')} "
        f"LEFT JOIN (SELECT org_id, session_id, max(version) AS version FROM {live('sessions')} "
        "GROUP BY org_id, session_id) AS s ON s.org_id = p.org_id AND s.session_id = p.session_id "
        f"WHERE {rollup_computed_ms('s.version')} < p.marked_ms"
    )
    for start in range(0, len(stale), REPAIR_BATCH):
        recompute(session, {(str(o), str(s)) for o, s in stale[start : start + REPAIR_BATCH]})
