"""The database goes away under load and comes back: how fast the 503s come, and how fast service returns.

Scenarios, each on a fresh database with its own server and concurrent clients (async logs and
gateway calls, heliograph.testing.chaos):
  sqlite-locked     another process holds BEGIN EXCLUSIVE on the SQLite file
  postgres-refused  a TCP proxy between server and PostgreSQL drops every connection, refuses new ones
  postgres-stalled  the proxy keeps connections open but moves no bytes (a silent network partition)
The shared PostgreSQL cluster itself is never stopped.

Printed per scenario: answers before and during the outage (a 500 or an unanswered call is a
failure), how long a 503 took during the outage (against the 200 latency before it, the baseline),
the time from the database's return to the first async log answered 200 and to /healthz 200, and
the acknowledged calls lost (must be 0).

Run: `.venv/bin/python bench/faults.py [--outage 20] [--scenario ...]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from _harness import (
    console,
    create_api_key,
    fail,
    free_port,
    print_context,
    print_table,
    run_main,
    running_server,
)
from _reliability import fresh_database, org_of_key, serve_argv, serve_fake_upstream
from heliograph.testing.chaos import Load, TcpProxy, check_stored, drive, holding_sqlite_lock

SCENARIOS = ("sqlite-locked", "postgres-refused", "postgres-stalled")
RECOVERY_LIMIT_S = 120.0


@dataclass(frozen=True)
class Outage:
    database_url: str  # as given to the server
    begin: Callable[[], None]
    end: Callable[[], None]


@dataclass(frozen=True)
class Result:
    scenario: str
    before: Counter[int]
    during: Counter[int]
    baseline_ms: float  # median 200 latency before the outage
    refusal_ms: tuple[float, float]  # median and worst latency of answers during the outage
    to_first_200_s: float
    to_healthy_s: float
    acknowledged: int
    lost: int
    problems: int


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--scenario", choices=SCENARIOS, action="append", help="default: all")
    parser.add_argument(
        "--outage", type=float, default=20.0, help="seconds the database is away (default 20)"
    )
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before (default 3)")
    parser.add_argument("--clients", type=int, default=8)
    return parser.parse_args()


@contextmanager
def outage_for(scenario: str, database_url: str) -> Iterator[Outage]:
    if scenario == "sqlite-locked":
        held: list[contextlib.AbstractContextManager[object]] = []

        def lock() -> None:
            held.append(holding_sqlite_lock(database_url.split(":///", 1)[1]))
            held[-1].__enter__()

        yield Outage(database_url, lock, lambda: held.pop().__exit__(None, None, None))
        return
    with TcpProxy.in_front_of(database_url) as proxy:
        cut = proxy.cut if scenario == "postgres-refused" else proxy.stall
        yield Outage(proxy.url_through(database_url), cut, proxy.restore)


async def run_outage(
    base_url: str, load: Load, outage: Outage, args: argparse.Namespace
) -> tuple[float, float, float]:
    """Load, outage, load until a log is answered 200 again; when the outage began and ended, and when
    /healthz answered 200 again."""
    stop = asyncio.Event()
    clients = asyncio.create_task(drive(base_url, load, stop, clients=args.clients))
    await asyncio.sleep(args.warmup)
    outage.begin()
    begun = time.monotonic()
    await asyncio.sleep(args.outage)
    outage.end()
    ended = time.monotonic()
    healthy = await _first_healthy(base_url)
    while not any(status == 200 and answered > ended for _, answered, status in load.timeline):
        assert time.monotonic() - ended < RECOVERY_LIMIT_S, "no 200 after the database returned"
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)  # a little steady state after recovery
    stop.set()
    await clients
    return begun, ended, healthy


async def _first_healthy(base_url: str) -> float:
    async with httpx.AsyncClient(base_url=base_url, timeout=RECOVERY_LIMIT_S) as client:
        while (await client.get("/healthz")).status_code != 200:
            await asyncio.sleep(0.05)
    return time.monotonic()


def summarise(
    scenario: str, load: Load, window: tuple[float, float, float], *, lost: int, problems: int
) -> Result:
    begun, ended, healthy = window
    timeline = load.timeline
    before = [(s, a, st) for s, a, st in timeline if a < begun]
    during = [(s, a, st) for s, a, st in timeline if begun <= s < ended]
    first_200 = min(a for _, a, st in timeline if st == 200 and a > ended)
    refusals = [(a - s) * 1000 for s, a, st in during if st != 200] or [0.0]
    return Result(
        scenario=scenario,
        before=Counter(st for _, _, st in before),
        during=Counter(st for _, _, st in during),
        baseline_ms=statistics.median([(a - s) * 1000 for s, a, st in before if st == 200] or [0.0]),
        refusal_ms=(statistics.median(refusals), max(refusals)),
        to_first_200_s=first_200 - ended,
        to_healthy_s=healthy - ended,
        acknowledged=len(load.acknowledged),
        lost=lost,
        problems=problems,
    )


def bench(scenario: str, args: argparse.Namespace, workdir: Path, upstream: str) -> Result:
    kind = "sqlite" if scenario.startswith("sqlite") else "postgresql"
    workdir.mkdir()
    with fresh_database(kind, workdir) as database_url, outage_for(scenario, database_url) as outage:
        key = create_api_key(database_url, "bench-faults")
        load = Load(run=scenario, key=key)
        with running_server(scenario, serve_argv(outage.database_url, upstream), workdir) as server:
            window = asyncio.run(run_outage(server.base_url, load, outage, args))
        check = asyncio.run(check_stored(database_url, org_of_key(database_url, key), load))
    return summarise(scenario, load, window, lost=len(check.acknowledged_lost), problems=len(check.problems))


def _statuses(counts: Counter[int]) -> str:
    names = {0: "conn error"}
    return ", ".join(f"{names.get(s, s)}: {n}" for s, n in sorted(counts.items())) or "none"


def main() -> None:
    args = parse_args()
    print_context("Database faults benchmark")
    results = []
    with (
        tempfile.TemporaryDirectory(prefix="heliograph-bench-faults-") as tmp,
        serve_fake_upstream(free_port()) as upstream,
    ):
        for scenario in args.scenario or SCENARIOS:
            console.print(f"{scenario}: {args.warmup:g} s load, {args.outage:g} s outage, then recovery")
            results.append(bench(scenario, args, Path(tmp) / scenario, upstream))
    print_table(
        f"Database outages of {args.outage:g} s under load ({args.clients} clients)",
        [
            "scenario",
            "before",
            "during",
            "200 before p50",
            "refusal p50/max",
            "to 200",
            "to healthy",
            "acked",
            "lost",
        ],
        [
            (
                r.scenario,
                _statuses(r.before),
                _statuses(r.during),
                f"{r.baseline_ms:.0f} ms",
                f"{r.refusal_ms[0]:.0f} / {r.refusal_ms[1]:.0f} ms",
                f"{r.to_first_200_s:.2f} s",
                f"{r.to_healthy_s:.2f} s",
                f"{r.acknowledged:,}",
                f"{r.lost:,}",
            )
            for r in results
        ],
    )
    bad = [r.scenario for r in results if r.lost or r.problems or r.during.get(500) or r.before.get(500)]
    if bad:
        fail(f"acknowledged calls lost, rows not whole, or 500 answers in: {', '.join(bad)}")
    console.print("[bold green]No 500, nothing acknowledged lost, every stored row whole.[/bold green]")


if __name__ == "__main__":
    run_main(main)
