"""Query API latency on 1,000,000 requests in 100,000 sessions, against `GET /healthz` on the same server.

Uses the seed of bench/feedback.py (reused when cached), then rates about 19% of the sessions in one
transaction (12.5% up, 6.25% down, chosen by the first hex digit of the session id) the way the
store does: the rollup column and the property on the first request. Then, with one keep-alive
client, each query below runs --calls times interleaved with `GET /healthz` (the in-run baseline):

- sessions: first page of 50, no filter
- sessions: filtered by positive feedback
- sessions: filtered by a custom property and a session cost range
- session metrics (no filter)
- requests: first page, filtered on a property

Run: `.venv/bin/python bench/queries.py [--database-url postgresql://...] [--calls N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import time
from collections.abc import Callable
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import httpx
import sqlalchemy as sa

from _harness import (
    Latency,
    console,
    create_api_key,
    exit_cleanly_on_signals,
    fail,
    heliograph_argv,
    print_context,
    print_table,
    ratio,
    running_server,
)
from feedback import ensure_seeded, seed_org
from heliograph.domain.records import FEEDBACK_KEY
from heliograph.storage.sql.schema import organizations, properties, sessions
from heliograph.storage.sql.store import SqlStore

R, S = "request_response_rmt", "sessions_request_response_rmt"
ALL_TIME = {"startTimeUnixMs": 0, "endTimeUnixMs": 4_102_444_800_000}
POSITIVE_PREFIXES, NEGATIVE_PREFIXES = ("0", "1"), ("2",)


def session_query(filter_: Any = "all") -> dict[str, Any]:
    return {"search": "", "timeFilter": ALL_TIME, "timezoneDifference": 0, "filter": filter_, "limit": 50}


QUERIES: list[tuple[str, str, dict[str, Any]]] = [
    ("sessions, first page, no filter", "/v1/session/query", session_query()),
    (
        "sessions, positive feedback",
        "/v1/session/query",
        session_query({R: {"properties": {FEEDBACK_KEY: {"equals": "1"}}}}),
    ),
    (
        "sessions, property + cost range",
        "/v1/session/query",
        session_query(
            {
                "left": {R: {"properties": {"app": {"equals": "support-bot"}}}},
                "operator": "and",
                "right": {
                    "left": {S: {"session_total_cost": {"gte": 0.01}}},
                    "operator": "and",
                    "right": {S: {"session_total_cost": {"lt": 0.2}}},
                },
            }
        ),
    ),
    (
        "session metrics, no filter",
        "/v1/session/metrics/query",
        {"nameContains": "", "timezoneDifference": 0},
    ),
    (
        "requests, first page, property filter",
        "/v1/request/query",
        {"filter": {R: {"properties": {"environment": {"equals": "prod"}}}}, "limit": 10},
    ),
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=100, help="measured calls per query (default 100)")
    parser.add_argument("--database-url", help="default: the cached SQLite seed of bench/feedback.py")
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args()


async def _rate_sessions(url: str, org_name: str) -> int:
    """Give the seed its feedback once: the rollup column and the first request's property, together."""
    store = SqlStore.from_url(url)
    try:
        async with store.engines.writer.begin() as conn:
            org_id = (
                await conn.execute(sa.select(organizations.c.id).where(organizations.c.name == org_name))
            ).scalar()
            rated = sa.select(sa.func.count()).where(
                sessions.c.org_id == org_id, sessions.c.feedback.is_not(None)
            )
            if (await conn.execute(rated)).scalar():
                return 0
            first_digit = sa.func.substr(sessions.c.session_id, 1, 1)
            for prefixes, rating in ((POSITIVE_PREFIXES, 1), (NEGATIVE_PREFIXES, 0)):
                chosen = sa.and_(sessions.c.org_id == org_id, first_digit.in_(prefixes))
                await conn.execute(sa.update(sessions).where(chosen).values(feedback=rating))
                await conn.execute(
                    sa.insert(properties).from_select(
                        ["org_id", "request_id", "key", "value"],
                        sa.select(
                            sessions.c.org_id,
                            sessions.c.first_request_id,
                            sa.literal(FEEDBACK_KEY),
                            sa.literal(str(rating)),
                        ).where(chosen),
                    )
                )
            return int((await conn.execute(rated)).scalar() or 0)
    finally:
        await store.close()


def _timed(call: Callable[[], httpx.Response]) -> float:
    started = time.perf_counter()
    response = call()
    elapsed = time.perf_counter() - started
    if response.status_code not in (200, 201):
        fail(f"{response.request.url} answered {response.status_code}: {response.text[:300]}")
    return elapsed


def main() -> None:
    args = parse_args()
    print_context("Query benchmark")
    url, _ = ensure_seeded(args)
    newly_rated = asyncio.run(_rate_sessions(url, seed_org(args)))
    if newly_rated:
        console.print(f"Rated {newly_rated:,} sessions of the seed")
    key = create_api_key(url, seed_org(args))
    dialect = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    rows = []
    with (
        TemporaryDirectory() as tmp,
        running_server("heliograph", lambda port: heliograph_argv(port, url), Path(tmp)) as server,
        httpx.Client(
            base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=120
        ) as client,
    ):
        for label, path, body in QUERIES:
            run_query = functools.partial(client.post, path, json=body)
            for _ in range(3):  # warm-up
                _timed(run_query)
            query, healthz = [], []
            for _ in range(args.calls):
                query.append(_timed(run_query))
                healthz.append(_timed(functools.partial(client.get, "/healthz")))
            q, h = Latency.of(query), Latency.of(healthz)
            rows.append((label, f"{q.p50:.1f} ms", f"{q.p95:.1f} ms", f"{h.p50:.2f} ms", ratio(q.p50, h.p50)))
    print_table(
        f"Query latency on {dialect}: {args.requests:,} requests in {args.sessions:,} sessions, "
        f"{args.calls} calls each, one keep-alive client",
        ("query", "p50", "p95", "healthz p50 (baseline)", "p50 / baseline"),
        rows,
    )


if __name__ == "__main__":
    exit_cleanly_on_signals()
    main()
