"""Dashboard page latency on 1,000,000 requests in 100,000 sessions, against `GET /healthz` (same server).

Uses the shared seed of bench/_seed.py (made once and cached; see its docstring), signs in to the dashboard
by posting the sign-in form with a key of the seeded organization, then, with one keep-alive client
holding the cookie, fetches each page below --calls times, each fetch followed by one `GET /healthz`
(the in-run baseline: same server, same stack, same client, one trivial query):

- the sessions page: first page of 50, no filter (one indexed query; the totals come separately)
- the sessions page: page 1,000 (offset 49,950), to show what deep OFFSET paging costs
- the sessions page: thumbs-down sessions only
- the sessions totals (the htmx partial that counts every matching session)
- the session page of a random session (about 10 requests, bodies included)
- the metrics page (histograms from indexed order statistics, and sessions per day: --calls / 4 fetches)

Printed: p50/p95 in ms for each and its ratio to /healthz in the same run. Every answer is checked
(status 200 and the expected content) so a fast error cannot pass for a fast page.

Run: `.venv/bin/python bench/dashboard.py [--calls N] [--database-url postgresql://...]`.
"""

from __future__ import annotations

import argparse
import random
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from _harness import (
    Latency,
    console,
    create_api_key,
    fail,
    heliograph_argv,
    print_context,
    print_table,
    ratio,
    run_main,
    running_server,
)
from _seed import add_seed_arguments, ensure_seeded, parse_seed_args, seed_org, session_id

WARMUP_CALLS = 20
PAGE_SIZE = 50
ROW = re.compile(r'<code class="id">')


@dataclass(frozen=True)
class Page:
    """One thing to fetch: its label, how to build the request, how to check the answer, how often."""

    label: str
    path: Callable[[random.Random], str]
    check: Callable[[str, str], bool]
    headers: dict[str, str] | None = None
    share: float = 1.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    add_seed_arguments(parser)
    parser.add_argument("--calls", type=int, default=200, help="fetches per page (default 200)")
    return parse_seed_args(parser)


def pages(args: argparse.Namespace) -> list[Page]:
    deep = min(1000, max(1, args.sessions // PAGE_SIZE))
    return [
        Page(
            "sessions page 1",
            lambda _rng: "/dashboard/sessions",
            lambda _p, html: len(ROW.findall(html)) == 50,
        ),
        Page(
            f"sessions page {deep:,}",
            lambda _rng: f"/dashboard/sessions?page={deep}",
            lambda _p, html: len(ROW.findall(html)) == PAGE_SIZE,
        ),
        Page(
            "sessions, thumbs down",
            lambda _rng: "/dashboard/sessions?feedback=negative",
            lambda _p, html: len(ROW.findall(html)) == PAGE_SIZE,
        ),
        Page(
            "sessions totals (htmx)",
            lambda _rng: "/dashboard/sessions",
            lambda _p, html: f"{args.sessions:,} matching sessions" in html,
            headers={"HX-Request": "true", "HX-Target": "session-totals"},
        ),
        Page(
            "session page (random)",
            lambda rng: f"/dashboard/sessions/{session_id(rng.randrange(args.sessions))}",
            lambda path, html: path.rsplit("/", 1)[1] in html and 'class="timeline-bar' in html,
        ),
        Page(
            "metrics page",
            lambda _rng: "/dashboard/metrics",
            lambda _p, html: "chart-activity" in html and f"{args.sessions:,}" in html,
            share=0.25,
        ),
    ]


def sign_in(client: httpx.Client, key: str) -> None:
    """Post the sign-in form, as a browser does; the client keeps the cookie."""
    origin = {"Origin": str(client.base_url).rstrip("/")}  # form posts must come from the dashboard's origin
    response = client.post("/dashboard/sign-in", data={"api_key": key}, headers=origin)
    if response.status_code != 303 or "heliograph_dashboard" not in client.cookies:
        fail(f"sign-in answered {response.status_code}: {response.text[:300]}")


def _timed(client: httpx.Client, path: str, headers: dict[str, str] | None) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = client.get(path, headers=headers)
    return time.perf_counter() - started, response


def measure(
    client: httpx.Client, page: Page, calls: int, rng: random.Random
) -> tuple[list[float], list[float]]:
    """Warm-up, then `calls` fetches of the page, each followed by one /healthz; seconds per call."""
    fetched: list[float] = []
    healthz: list[float] = []
    for i in range(WARMUP_CALLS + calls):
        path = page.path(rng)
        seconds, response = _timed(client, path, page.headers)
        if response.status_code != 200 or not page.check(path, response.text):
            fail(f"{page.label}: GET {path} answered {response.status_code}: {response.text[:300]}")
        baseline, health = _timed(client, "/healthz", None)
        if health.status_code != 200:
            fail(f"/healthz answered {health.status_code}")
        if i >= WARMUP_CALLS:
            fetched.append(seconds)
            healthz.append(baseline)
    return fetched, healthz


def main() -> None:
    args = parse_args()
    print_context("Dashboard benchmark")
    url, _seeding = ensure_seeded(args)
    key = create_api_key(url, seed_org(args))
    rows = []
    with (
        tempfile.TemporaryDirectory(prefix="heliograph-bench-dashboard-") as tmp,
        running_server("heliograph", lambda port: heliograph_argv(port, url), Path(tmp)) as server,
        httpx.Client(base_url=server.base_url, timeout=120) as client,
    ):
        sign_in(client, key)
        rng = random.Random(args.seed + 2)
        for page in pages(args):
            calls = max(10, int(args.calls * page.share))
            console.print(f"  {page.label}: {calls} fetches")
            fetched, healthz = measure(client, page, calls, rng)
            f, h = Latency.of(fetched), Latency.of(healthz)
            rows.append(
                (
                    page.label,
                    f"{f.count}",
                    f"{f.p50:.2f} ms",
                    f"{f.p95:.2f} ms",
                    f"{h.p50:.2f} ms",
                    ratio(f.p50, h.p50),
                    ratio(f.p95, h.p95),
                )
            )
    dialect = url.split(":", 1)[0]
    print_table(
        f"Dashboard pages on {dialect}: {args.requests:,} requests in {args.sessions:,} sessions, "
        "one keep-alive client signed in by cookie",
        ("page", "fetches", "p50", "p95", "/healthz p50", "p50 ratio", "p95 ratio"),
        rows,
    )


if __name__ == "__main__":
    run_main(main)
