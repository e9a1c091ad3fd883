"""Newest-first request pages without reading every request.

`requests` is ordered by session (rollups read one session's requests as one key range), so a page of
the newest requests cannot be read in key order. It is found from the session rollups instead: every
request created at or after a time `t` belongs to a session whose last request is at or after `t`,
or to no session. `t` starts at the last request of the k-th most recent session, so the page reads
those sessions' requests by key (and the requests outside sessions); when fewer than the page's rows
match from `t` on, k grows eightfold, and past MAX_SESSIONS the page reads every request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from heliograph.storage.clickhouse.reads import Params

__all__ = ["MAX_SESSIONS", "newest_page"]

FIRST_SESSIONS = 256  # the first attempt reads the most recent max(256, 8 * (limit + offset)) sessions
MAX_SESSIONS = 1 << 20
T = TypeVar("T")
Rows = Callable[[str, dict[str, object]], Awaitable[list[tuple[object, ...]]]]


async def newest_page(
    rows: Rows,
    params: Params,
    org_id: str,
    limit: int,
    offset: int,
    page: Callable[[str], Awaitable[list[T]]],
) -> list[T]:
    """`page(bound)`, a page of `limit` rows after `offset` in newest-first order, with the narrowest
    `bound` that leaves it every row it would have without one: a condition on the key columns and the
    time of requests, which every version of a request shares, so it is read before de-duplication
    (through the primary index and the time index)."""
    if not limit:
        return await page("false")
    sessions = max(FIRST_SESSIONS, (limit + offset) * 8)
    org = params.text(org_id)
    while sessions <= MAX_SESSIONS:
        count = params.number(sessions)
        # Without FINAL: an old rollup version only adds a candidate session, read and ruled out.
        found = await rows(
            f"SELECT count(), min(last) FROM (SELECT last_created_at_ms AS last FROM sessions "
            f"WHERE org_id = {org} ORDER BY last DESC LIMIT {count})",
            params.values,
        )
        in_store, since = found[0]
        if int(str(in_store)) < sessions:  # every session is a candidate: read everything
            break
        t = params.number(int(str(since)))
        bound = (
            f"created_at_ms >= {t} AND (session_id = '' OR session_id IN (SELECT session_id FROM sessions "
            f"WHERE org_id = {org} AND last_created_at_ms >= {t}))"
        )
        result = await page(bound)
        if len(result) >= limit:  # limit + offset rows match from t on: the page is whole
            return result
        sessions *= 8
    return await page("true")
