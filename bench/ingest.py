"""Single-record ingestion throughput: `heliograph serve` on each --backends store against a bare
FastAPI baseline, in one run.

Both servers get the same load from wrk: 32 keep-alive connections, 2 threads, each request one
captured async-log body (helicone-helpers' manual logger, bench/data/) with session, path, user and
property headers, after a short warm-up. Printed: requests/s, p50/p99 latency, non-2xx answers, the
server's peak RSS, its CPU time per answered request, and the heliograph/baseline ratios.
With --workers N both servers run N processes, and --writers picks who commits heliograph's records
(HELIOGRAPH_INGEST_WRITER): `shared,per-process` measures both, one after the other, in the same run.
The CPU time counted is the whole server's: its supervisor, workers and shared writer.

Then the durability check, for each backend: the requests stored for the measured run's organization
(counted through the store once the server has stopped: rows in SQLite, de-duplicated rows in
ClickHouse) must equal the 2xx answers wrk counted. For that count to be exact, ingest.lua stops
sending at the deadline and lets every request in flight be answered before wrk ends (see the comment
at its top).

Run: `.venv/bin/python bench/ingest.py [--duration 10] [--backends sqlite,postgresql,chdb]` (needs
`wrk` on PATH; postgresql makes a new database on the local server, 127.0.0.1:5432, and drops it
afterwards).
chdb is embedded ClickHouse; with it, --workers must be 1 (one process per chdb directory).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path

from _harness import (
    BENCH_DIR,
    PeakRss,
    Server,
    console,
    cpu_seconds,
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
from _reliability import fresh_database
from heliograph.domain.keys import hash_api_key
from heliograph.storage import open_store

BODY_PATH = BENCH_DIR / "data" / "manual_logger_body.json"
LUA_PATH = BENCH_DIR / "ingest.lua"


@dataclass(frozen=True)
class WrkResult:
    """What ingest.lua's done() hook reports: exact counts, the load's wall time, wrk's latencies."""

    load_seconds: float
    requests: int
    sent: int
    answered: int
    ok: int
    non2xx: int
    connect_errors: int
    read_errors: int
    write_errors: int
    timeouts: int
    p50_us: int
    p99_us: int
    mean_us: float
    max_us: int

    @property
    def rps(self) -> float:
        return self.answered / self.load_seconds

    @property
    def unanswered(self) -> int:
        return self.sent - self.answered

    @property
    def socket_errors(self) -> int:
        return self.connect_errors + self.read_errors + self.write_errors + self.timeouts


@dataclass(frozen=True)
class Measured:
    """One server's measured wrk run, its peak RSS over warm-up and run, and its CPU seconds per answer
    in the measured run (user + system, all its processes): the figure least moved by other load."""

    result: WrkResult
    peak_rss: int
    cpu_per_request: float


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="measured seconds per server (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds per server (default 2)")
    parser.add_argument(
        "--drain", type=int, default=3, help="seconds wrk waits for in-flight answers (default 3)"
    )
    parser.add_argument(
        "--connections", default="32", help="comma-separated wrk connection counts, each a run (default 32)"
    )
    parser.add_argument(
        "--workers",
        default="1",
        help="comma-separated server process counts, each a run, for both servers (default 1)",
    )
    parser.add_argument(
        "--writers",
        default="auto",
        help="comma-separated HELIOGRAPH_INGEST_WRITER values to measure with --workers > 1: auto, shared, "
        "per-process (default auto)",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sessions", type=int, default=1000, help="session ids rotated over (default 1000)")
    parser.add_argument("--body", type=Path, default=BODY_PATH, help="async-log body to POST")
    parser.add_argument(
        "--backends",
        default="sqlite",
        help="comma-separated stores to measure: sqlite, postgresql (a new database on 127.0.0.1:5432), chdb "
        "(default sqlite)",
    )
    args = parser.parse_args()
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    args.writers = [w.strip() for w in args.writers.split(",") if w.strip()]
    args.connections = [int(c) for c in args.connections.split(",")]
    args.workers = [int(w) for w in args.workers.split(",")]
    if not set(args.writers) <= set(WRITERS):
        parser.error(f"--writers takes {', '.join(WRITERS)}")
    if not set(args.backends) <= set(BACKENDS):
        parser.error(f"--backends takes {', '.join(BACKENDS)}")
    return args


@dataclass(frozen=True)
class Shape:
    """One measured configuration: server processes and wrk connections."""

    workers: int
    connections: int

    def __str__(self) -> str:
        return f"{self.workers} process(es), {self.connections} connections"


def run_wrk(
    server: Server, key: str, seconds: int, tag: str, shape: Shape, args: argparse.Namespace
) -> WrkResult:
    """`seconds` of load then a drain, all bounded; the result comes from the Lua done() hook."""
    argv = [
        *("wrk", f"-t{args.threads}", f"-c{shape.connections}", f"-d{seconds + args.drain}s"),
        *("--timeout", "30s", "-s", str(LUA_PATH), f"{server.base_url}/oai/v1/log"),
        *("--", str(args.body), key, str(args.sessions), tag, str(seconds)),
    ]
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=seconds + args.drain + 60, check=False
    )
    for line in done.stdout.splitlines():
        if line.startswith("WRK_RESULT "):
            values = json.loads(line.removeprefix("WRK_RESULT "))
            return WrkResult(**{f.name: values[f.name] for f in fields(WrkResult)})
    raise RuntimeError(f"wrk gave no result (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")


def load(server: Server, warmup_key: str, key: str, shape: Shape, args: argparse.Namespace) -> Measured:
    """Warm up, then measure, sampling the server's RSS throughout."""
    console.print(f"{server.name}: warm-up {args.warmup}s, then {args.duration}s measured")
    with PeakRss(server.pid) as rss:
        run_wrk(server, warmup_key, args.warmup, "warmup", shape, args)
        cpu_before = cpu_seconds(server.pid)
        result = run_wrk(server, key, args.duration, "measured", shape, args)
        cpu = cpu_seconds(server.pid) - cpu_before
    return Measured(result, rss.peak_bytes, cpu / max(result.answered, 1))


def bench_baseline(shape: Shape, args: argparse.Namespace, workdir: Path) -> Measured:
    def argv(port: int) -> list[str]:
        return [
            sys.executable,
            str(BENCH_DIR / "bare_app.py"),
            "--port",
            str(port),
            "--workers",
            str(shape.workers),
        ]

    with running_server(f"baseline {shape.workers}w {shape.connections}c", argv, workdir) as server:
        return load(server, "unused", "unused", shape, args)


def bench_heliograph(
    shape: Shape, args: argparse.Namespace, workdir: Path, backend: str, writer: str
) -> tuple[Measured, int]:
    """The measured run on `backend` with `writer` committing, and the requests its organization has
    once the server has stopped (SIGTERM writes every queued record first)."""
    os.environ["HELIOGRAPH_INGEST_WRITER"] = writer  # the server inherits it
    workdir = workdir / f"{backend}-{writer}-{shape.workers}w-{shape.connections}c"  # a store of its own
    workdir.mkdir()
    with _store_url(backend, workdir) as url:
        warmup_key = create_api_key(url, "bench-ingest-warmup")  # warm-up rows go to another organization
        key = create_api_key(url, "bench-ingest")

        def argv(port: int) -> list[str]:
            return [*heliograph_argv(port, url), "--workers", str(shape.workers)]

        with running_server(f"heliograph on {backend}, {writer} writer", argv, workdir) as server:
            measured = load(server, warmup_key, key, shape, args)
        return measured, asyncio.run(stored_requests(url, key))


@contextmanager
def _store_url(backend: str, workdir: Path) -> Iterator[str]:
    """A new, empty store of `backend` in the run's temporary directory (PostgreSQL: a new database on
    the local server, dropped afterwards)."""
    if backend == "chdb":
        yield f"chdb://{workdir / 'chdb'}"
        return
    with fresh_database(backend, workdir) as url:
        yield url


BACKENDS = ("sqlite", "postgresql", "chdb")
WRITERS = ("auto", "shared", "per-process")


async def stored_requests(url: str, key: str) -> int:
    """Requests stored for the organization of `key`, read through the store."""
    store = open_store(url)
    try:
        org_id = await store.org_for_key_hash(hash_api_key(key))
        if org_id is None:
            fail("the measured run's key is not in the store")
        return (await store.copy_counts(org_id=org_id))["requests"]
    finally:
        await store.close()


def report(
    baseline: Measured, heliograph: Measured, run: str, shape: Shape, args: argparse.Namespace
) -> None:
    b, h = baseline.result, heliograph.result
    print_table(
        f"Ingestion on {run}: {shape}, "
        f"{args.threads} wrk threads, "
        f"{args.duration}s after {args.warmup}s warm-up",
        ("", "baseline", "heliograph", "heliograph/baseline"),
        [
            ("requests/s", f"{b.rps:,.0f}", f"{h.rps:,.0f}", ratio(h.rps, b.rps)),
            ("p50 latency", _ms(b.p50_us), _ms(h.p50_us), ratio(h.p50_us, b.p50_us)),
            ("p99 latency", _ms(b.p99_us), _ms(h.p99_us), ratio(h.p99_us, b.p99_us)),
            (
                "server CPU per request",
                _us(baseline.cpu_per_request),
                _us(heliograph.cpu_per_request),
                ratio(heliograph.cpu_per_request, baseline.cpu_per_request),
            ),
            ("answered", f"{b.answered:,}", f"{h.answered:,}", ""),
            ("non-2xx", f"{b.non2xx:,}", f"{h.non2xx:,}", ""),
            ("socket errors", f"{b.socket_errors:,}", f"{h.socket_errors:,}", ""),
            (
                "peak RSS",
                mib(baseline.peak_rss),
                mib(heliograph.peak_rss),
                ratio(heliograph.peak_rss, baseline.peak_rss),
            ),
        ],
    )


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f} us"


def _ms(microseconds: float) -> str:
    return f"{microseconds / 1000:.2f} ms"


def check_durability(result: WrkResult, rows: int) -> None:
    """Rows stored for the measured run must be exactly the 2xx answers wrk counted."""
    console.print(
        f"Durability: wrk sent {result.sent:,} requests and counted {result.answered:,} answers "
        f"(wrk's own total {result.requests:,}): {result.ok:,} 2xx, {result.non2xx:,} non-2xx; "
        f"requests stored: {rows:,}"
    )
    if result.unanswered:
        fail(f"{result.unanswered:,} requests were still unanswered when wrk stopped (try a longer --drain)")
    if rows != result.ok:
        fail(f"requests stored ({rows:,}) != 2xx answers counted by wrk ({result.ok:,})")
    console.print("[bold green]Durability check passed[/bold green]: requests stored == 2xx answers.")


def main() -> None:
    args = parse_args()
    print_context("Ingestion benchmark")
    if shutil.which("wrk") is None:
        fail("wrk is not installed (Debian/Ubuntu: apt-get install -y wrk)")
    shapes = [Shape(workers, connections) for connections in args.connections for workers in args.workers]
    runs: dict[tuple[Shape, str], tuple[Measured, Measured, int]] = {}
    with tempfile.TemporaryDirectory(prefix="heliograph-bench-ingest-") as tmp:
        for shape in shapes:
            baseline = bench_baseline(shape, args, Path(tmp))
            for backend in args.backends:
                for writer in args.writers if shape.workers > 1 else ["auto"]:
                    run = f"{backend}, {writer} writer" if shape.workers > 1 else backend
                    runs[shape, run] = (baseline, *bench_heliograph(shape, args, Path(tmp), backend, writer))
    for (shape, run), (baseline, heliograph, rows) in runs.items():
        report(baseline, heliograph, run, shape, args)
        check_durability(heliograph.result, rows)
    summarise(runs)


def summarise(runs: dict[tuple[Shape, str], tuple[Measured, Measured, int]]) -> None:
    """Every run in one table: its rate, CPU per request, and its rate against its baseline and against
    the same backend with one process at the same connections."""
    one_process = {
        (shape.connections, run): heliograph.result.rps
        for (shape, run), (_, heliograph, _) in runs.items()
        if shape.workers == 1
    }
    rows = []
    for (shape, run), (baseline, heliograph, _) in runs.items():
        single = one_process.get((shape.connections, run.split(",")[0]))
        rows.append(
            (
                f"{run}, {shape}",
                f"{heliograph.result.rps:,.0f}",
                _us(heliograph.cpu_per_request),
                ratio(heliograph.result.rps, baseline.result.rps),
                "" if single is None else ratio(heliograph.result.rps, single),
            )
        )
    print_table(
        "Summary",
        ("run", "requests/s", "CPU per request", "of baseline", "of 1 process"),
        rows,
    )


if __name__ == "__main__":
    run_main(main)
