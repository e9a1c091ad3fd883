"""A flood of async logs far beyond what the server can commit: 503s at once, bounded memory, and
every 200 stored.

One `heliograph serve` on SQLite with a bounded ingest queue (--queue-size, 256 by default so the
bound is reached with a few thousand connections; the default setting is 10,000). First the baseline:
bench/ingest.py's load (32 wrk connections, the captured manual-logger body), whose 2xx rate is the
sustainable rate. Then the flood: the same body from --flood-connections connections (default
2,000), each sending again as soon as it is answered, so the server is offered far more than it can
commit and the queue stays full. wrk cannot send at a fixed rate, so the offered rate is what the
server answered per second, shown as a ratio to the sustainable rate.

Printed: sustainable and offered rates, 2xx and 503 counts, other answers and socket errors, the
server's peak RSS in each phase (the baseline phase is the memory baseline), and the durability
check: rows stored == 2xx answers for each phase.

Run: `.venv/bin/python bench/flood.py [--seconds 10] [--flood-connections 2000] [--queue-size 256]`
(needs `wrk` on PATH).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

from _harness import (
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
from ingest import BODY_PATH, WrkResult, run_wrk, settled_row_count


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10, help="seconds of load per phase (default 10)")
    parser.add_argument("--baseline-connections", type=int, default=32)
    parser.add_argument("--flood-connections", type=int, default=2000)
    parser.add_argument("--queue-size", type=int, default=256, help="HELIOGRAPH_INGEST_QUEUE_SIZE")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--drain", type=int, default=10, help="seconds wrk waits for answers in flight")
    return parser.parse_args()


def phase(connections: int, args: argparse.Namespace) -> argparse.Namespace:
    """The arguments bench/ingest.py's run_wrk takes, for one phase."""
    return argparse.Namespace(
        threads=args.threads, connections=connections, drain=args.drain, body=BODY_PATH, sessions=1000
    )


def main() -> None:
    args = parse_args()
    print_context("Flood benchmark")
    if shutil.which("wrk") is None:
        fail("wrk is not installed (Debian/Ubuntu: apt-get install -y wrk)")
    os.environ["HELIOGRAPH_INGEST_QUEUE_SIZE"] = str(args.queue_size)  # the server inherits it
    with tempfile.TemporaryDirectory(prefix="heliograph-bench-flood-") as tmp:
        workdir = Path(tmp)
        db_path = workdir / "flood.db"
        url = f"sqlite:///{db_path}"
        keys = {name: create_api_key(url, f"bench-flood-{name}") for name in ("baseline", "flood")}
        with running_server("heliograph", lambda port: heliograph_argv(port, url), workdir) as server:
            results: dict[str, tuple[WrkResult, int, int]] = {}
            for name, connections in (
                ("baseline", args.baseline_connections),
                ("flood", args.flood_connections),
            ):
                console.print(f"{name}: {connections} connections for {args.seconds} s")
                with PeakRss(server.pid) as rss:
                    result = run_wrk(server, keys[name], args.seconds, name, phase(connections, args))
                rows = settled_row_count(server, db_path, keys[name])
                results[name] = (result, rss.peak_bytes, rows)
    report(args, results)


def report(args: argparse.Namespace, results: dict[str, tuple[WrkResult, int, int]]) -> None:
    (base, base_rss, base_rows), (flood, flood_rss, flood_rows) = results["baseline"], results["flood"]
    sustainable = base.ok / base.load_seconds
    offered = flood.answered / flood.load_seconds
    print_table(
        f"Flood on SQLite, queue {args.queue_size}: {args.flood_connections} connections against a "
        f"{args.baseline_connections}-connection baseline, {args.seconds} s each",
        ["figure", "baseline", "flood", "flood / baseline"],
        [
            ("answered / s", f"{base.rps:,.0f}", f"{offered:,.0f}", ratio(offered, sustainable)),
            ("2xx / s (committed)", f"{sustainable:,.0f}", f"{flood.ok / flood.load_seconds:,.0f}", ""),
            ("2xx answers", f"{base.ok:,}", f"{flood.ok:,}", ""),
            ("non-2xx answers (503)", f"{base.non2xx:,}", f"{flood.non2xx:,}", ""),
            ("socket errors", f"{base.socket_errors:,}", f"{flood.socket_errors:,}", ""),
            ("unanswered at the end", f"{base.unanswered:,}", f"{flood.unanswered:,}", ""),
            ("p99 latency", f"{base.p99_us / 1000:.0f} ms", f"{flood.p99_us / 1000:.0f} ms", ""),
            ("peak RSS", mib(base_rss), mib(flood_rss), ratio(flood_rss, base_rss)),
            ("rows stored", f"{base_rows:,}", f"{flood_rows:,}", ""),
        ],
    )
    for name, (result, _, rows) in results.items():
        if rows != result.ok:
            fail(f"{name}: rows stored ({rows:,}) != 2xx answers ({result.ok:,})")
    console.print("[bold green]Every 2xx answer is stored, in both phases.[/bold green]")


if __name__ == "__main__":
    run_main(main)
