"""Query API latency on the shared seed (1,000,000 requests in 100,000 sessions), against `GET /healthz`.

Uses the seed of bench/_seed.py (made once and cached; a fifth of its sessions rated), starts
`heliograph serve` on it, then, with one keep-alive client, runs each query below --calls times, each
call followed by one `GET /healthz` (the in-run baseline: same server, same stack, same client, one
trivial query):

- `POST /v1/session/query`: first page of 50, no filter
- the same, filtered on positive feedback (the `Helicone-Session-Feedback` property filter)
- the same, filtered on a custom property (`app` = `support-bot`) and a session cost range
- `POST /v1/session/metrics/query`, no filter (every session)
- `POST /v1/session/feedback/breakdown` by the custom property `app` (every session)
- `POST /v1/request/query`: first page of 50, filtered on a property (`environment` = `prod`)

Every answer is checked (its status, a full page whose rows satisfy the filter, metrics whose bins
count sessions), so a fast error cannot pass for a fast query; the first answer of each query is
checked in depth (one session's requests read back). A query whose calls exceed --max-seconds stops
early and says so. Printed: p50/p95/p99 in ms, the /healthz p50 and the ratios, the server's peak RSS.

Run: `.venv/bin/python bench/queries.py [--calls N] [--database-url postgresql://...|chdb:///dir]`;
ClickHouse at ten times the data: `--requests 10000000 --sessions 1000000 --database-url chdb:///dir`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from _harness import (
    Latency,
    PeakRss,
    console,
    create_api_key,
    fail,
    heliograph_argv,
    mib,
    print_context,
    print_table,
    ratio,
    run_main,
    running_server,
)
from _seed import EXTRA_PROPERTIES, add_seed_arguments, ensure_seeded, parse_seed_args, seed_org
from heliograph.domain.records import FEEDBACK_KEY

WARMUP_CALLS = 3
PAGE = 50
REQUESTS, SESSIONS = "request_response_rmt", "sessions_request_response_rmt"
APP, ENVIRONMENT = ("app", "support-bot"), ("environment", "prod")
COST_RANGE_USD = (0.01, 0.2)
ALL_TIME = {"startTimeUnixMs": 0, "endTimeUnixMs": 4_102_444_800_000}  # 1970 to 2100
EXTRA_VALUES = dict(EXTRA_PROPERTIES)


def _sessions(filter_: Any) -> dict[str, Any]:
    """A session query body: the required fields (all time, UTC) and a first page."""
    return {"search": "", "timeFilter": ALL_TIME, "timezoneDifference": 0, "filter": filter_, "limit": PAGE}


Answer = dict[str, Any]


@dataclass(frozen=True)
class Query:
    """One measured call: its label, path and body, and a check of every answer's `data`."""

    label: str
    path: str
    body: dict[str, Any]
    check: Callable[[Any], str | None]  # None when the answer is right, else what is wrong
    status: int = 200  # Helicone answers 201 on /v1/request/*


def _property(key: str, value: str) -> dict[str, Any]:
    return {REQUESTS: {"properties": {key: {"equals": value}}}}


def _and(left: Any, right: Any) -> dict[str, Any]:
    return {"left": left, "operator": "and", "right": right}


def _full_page(rows: list[Answer], row_ok: Callable[[Answer], bool]) -> str | None:
    if len(rows) != PAGE:
        return f"{len(rows)} rows instead of {PAGE}"
    wrong = [row for row in rows if not row_ok(row)]
    return f"{len(wrong)} rows do not match the filter, e.g. {wrong[0]}" if wrong else None


def _metrics_ok(sessions: int) -> Callable[[Answer], str | None]:
    def check(data: Answer) -> str | None:
        for name in ("session_count", "session_duration", "session_cost"):
            kept = sum(b["value"] for b in data[name])
            if not 0.5 * sessions <= kept <= sessions or len(data[name]) != 10:
                return f"{name}: {len(data[name])} bins holding {kept:,} of {sessions:,} sessions"
        if data["average"]["session_count"][0]["average"] <= 1:
            return f"average request count {data['average']['session_count']}"
        return None

    return check


def _breakdown_ok(sessions: int) -> Callable[[Any], str | None]:
    def check(rows: list[Answer]) -> str | None:
        values = {row["value"] for row in rows}
        if values != set(EXTRA_VALUES[APP[0]]):
            return f"values {sorted(values)}"
        counted = sum(row["sessions"] for row in rows)
        return None if 0 < counted < sessions else f"{counted:,} sessions of {sessions:,}"

    return check


def queries(args: argparse.Namespace) -> list[Query]:
    low, high = COST_RANGE_USD
    cost_range = _and(
        {SESSIONS: {"session_total_cost": {"gte": low}}}, {SESSIONS: {"session_total_cost": {"lt": high}}}
    )
    return [
        Query(
            "sessions, first page, no filter",
            "/v1/session/query",
            _sessions("all"),
            lambda rows: _full_page(rows, lambda _row: True),
        ),
        Query(
            "sessions, positive feedback",
            "/v1/session/query",
            _sessions(_property(FEEDBACK_KEY, "1")),
            lambda rows: _full_page(rows, lambda row: row["feedback"] is True),
        ),
        Query(
            "sessions, property + cost range",
            "/v1/session/query",
            _sessions(_and(_property(*APP), cost_range)),
            lambda rows: _full_page(rows, lambda row: low <= row["total_cost"] < high),
        ),
        Query(
            "session metrics, every session",
            "/v1/session/metrics/query",
            {"nameContains": "", "timezoneDifference": 0},
            _metrics_ok(args.sessions),
        ),
        Query(
            "feedback breakdown by a property",
            "/v1/session/feedback/breakdown",
            {"property": APP[0]},
            _breakdown_ok(args.sessions),
        ),
        Query(
            "requests, first page, property",
            "/v1/request/query",
            {"filter": _property(*ENVIRONMENT), "limit": PAGE},
            lambda rows: _full_page(
                rows, lambda row: row["properties"].get(ENVIRONMENT[0]) == ENVIRONMENT[1]
            ),
            status=201,
        ),
    ]


def check_in_depth(client: httpx.Client, query: Query, data: Any) -> None:
    """Read one answered session back: it must carry the property the filter asked for."""
    if query.label != "sessions, property + cost range":
        return
    session = data[0]["session_id"]
    detail = client.get(f"/v1/session/{session}")
    if detail.status_code != 200:
        fail(f"GET /v1/session/{session} answered {detail.status_code}")
    properties = [r["properties"].get(APP[0]) for r in detail.json()["data"]["requests"]]
    if APP[1] not in properties:
        fail(f"session {session} has no request with {APP[0]}={APP[1]}: {properties}")


def _timed(client: httpx.Client, method: str, path: str, body: Any = None) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = client.request(method, path, json=body)
    return time.perf_counter() - started, response


def measure(client: httpx.Client, query: Query, args: argparse.Namespace) -> tuple[list[float], list[float]]:
    """Warm-up, then up to --calls checked calls, each followed by one /healthz; seconds per call."""
    timed: list[float] = []
    healthz: list[float] = []
    deadline = time.monotonic() + args.max_seconds
    for i in range(WARMUP_CALLS + args.calls):
        seconds, response = _timed(client, "POST", query.path, query.body)
        if response.status_code != query.status:
            fail(f"{query.label}: answered {response.status_code}: {response.text[:300]}")
        data = response.json()["data"]
        problem = query.check(data)
        if problem is not None:
            fail(f"{query.label}: {problem}")
        if i == 0:
            check_in_depth(client, query, data)
            console.print(f"  {query.label}: first call {seconds * 1000:,.1f} ms")
        baseline, health = _timed(client, "GET", "/healthz")
        if health.status_code != 200:
            fail(f"/healthz answered {health.status_code}")
        if i >= WARMUP_CALLS:
            timed.append(seconds)
            healthz.append(baseline)
        if time.monotonic() > deadline:
            console.print(f"  [yellow]{query.label}: time cap reached after {i + 1} calls[/yellow]")
            break
    return timed, healthz


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    add_seed_arguments(parser)
    parser.add_argument("--calls", type=int, default=100, help="measured calls per query (default 100)")
    parser.add_argument("--max-seconds", type=float, default=120, help="time cap per query (default 120)")
    parser.add_argument("--only", default="", help="measure only the queries whose label contains this")
    return parse_seed_args(parser)


def main() -> None:
    args = parse_args()
    print_context("Query benchmark")
    url, _seeding = ensure_seeded(args)
    key = create_api_key(url, seed_org(args))
    rows = []
    with (
        tempfile.TemporaryDirectory(prefix="heliograph-bench-queries-") as tmp,
        running_server("heliograph", lambda port: heliograph_argv(port, url), Path(tmp)) as server,
        PeakRss(server.pid) as rss,
        httpx.Client(
            base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=60
        ) as client,
    ):
        for query in (q for q in queries(args) if args.only in q.label):
            timed, healthz = measure(client, query, args)
            q, h = Latency.of(timed), Latency.of(healthz)
            rows.append(
                (
                    query.label,
                    f"{q.count}",
                    f"{q.p50:.1f} ms",
                    f"{q.p95:.1f} ms",
                    f"{q.p99:.1f} ms",
                    f"{h.p50:.2f} ms",
                    ratio(q.p50, h.p50),
                    ratio(q.p95, h.p95),
                )
            )
    print_table(
        f"Query API on {url.split(':', 1)[0]}: {args.requests:,} requests in {args.sessions:,} sessions, "
        "one keep-alive client",
        ("query", "calls", "p50", "p95", "p99", "/healthz p50", "p50 ratio", "p95 ratio"),
        rows,
    )
    console.print(f"Server peak RSS: {mib(rss.peak_bytes)}")


if __name__ == "__main__":
    run_main(main)
