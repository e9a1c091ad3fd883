"""SIGKILL under load, again and again: acknowledged requests lost (must be 0) and time to be ready.

Each round starts `heliograph serve` on the same database, runs concurrent clients (async logs,
and every fourth call through the gateway to the fake upstream) for a few seconds, then SIGKILLs the
server mid-load. After the last round the database is read directly and compared with every call
planned (heliograph.testing.chaos, the same check as the CI test): every async log answered 200
must be stored whole, no row may be partial, and every session rollup must equal its requests.
Gateway records are written after the answer is sent, so a kill may lose a few: they are counted,
not failed. Time to ready (process start to /healthz 200) after a SIGKILL is compared with a
restart after a clean stop, measured in the same run.

Run: `.venv/bin/python bench/crash.py [--database sqlite|postgresql] [--rounds 20] [--seconds 2]`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from _harness import (
    Server,
    console,
    create_api_key,
    fail,
    free_port,
    print_context,
    print_table,
    ratio,
    run_main,
    running_server,
)
from _reliability import fresh_database, org_of_key, serve_argv, serve_fake_upstream
from heliograph.testing.chaos import Load, StoredCheck, check_stored, drive


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=20, help="SIGKILL restarts (default 20)")
    parser.add_argument("--seconds", type=float, default=2.0, help="load before each kill (default 2)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    return parser.parse_args()


async def load_then_kill(server: Server, load: Load, *, seconds: float, clients: int) -> None:
    """Run the clients for `seconds`, SIGKILL the server, then let the clients see it and stop."""
    stop = asyncio.Event()
    running = asyncio.create_task(drive(server.base_url, load, stop, clients=clients))
    await asyncio.sleep(seconds)
    server.process.kill()
    await asyncio.to_thread(server.process.wait)
    stop.set()
    await running


def main() -> None:
    args = parse_args()
    print_context(f"Crash benchmark ({args.database})")
    with (
        tempfile.TemporaryDirectory(prefix="heliograph-bench-crash-") as tmp,
        fresh_database(args.database, Path(tmp)) as database_url,
        serve_fake_upstream(free_port()) as upstream,
    ):
        workdir = Path(tmp)
        key = create_api_key(database_url, "bench-crash")
        load = Load(run="crash", key=key)
        argv = serve_argv(database_url, upstream)
        after_kill: list[float] = []
        for round_no in range(args.rounds):
            started = time.perf_counter()
            with running_server(f"round-{round_no}", argv, workdir) as server:
                if round_no:  # round 0 is a first start, not a restart after a kill
                    after_kill.append(time.perf_counter() - started)
                asyncio.run(load_then_kill(server, load, seconds=args.seconds, clients=args.clients))
            console.print(
                f"round {round_no + 1}/{args.rounds}: {len(load.acknowledged):,} acknowledged so far"
            )
        with running_server("clean-stop", argv, workdir):
            pass  # a clean stop (SIGTERM), so the next start is the baseline restart
        started = time.perf_counter()
        with running_server("baseline-restart", argv, workdir):
            after_clean = time.perf_counter() - started
        check = asyncio.run(check_stored(database_url, org_of_key(database_url, key), load))
    report(args, load, check, after_kill, after_clean)


def report(
    args: argparse.Namespace, load: Load, check: StoredCheck, after_kill: list[float], after_clean: float
) -> None:
    print_table(
        f"{args.rounds} SIGKILL restarts under load on {args.database}, {args.clients} clients, "
        f"{args.seconds:g} s of load per round",
        ["figure", "value"],
        [
            ("async logs acknowledged (200)", f"{len(load.acknowledged):,}"),
            ("acknowledged and lost", f"{len(check.acknowledged_lost):,}"),
            ("rows not whole or rollups off", f"{len(check.problems):,}"),
            ("gateway calls answered 200", f"{len(load.gateway_answered):,}"),
            ("gateway answered, record lost to a kill", f"{len(check.gateway_missing):,}"),
            ("rows stored", f"{check.stored:,}"),
            ("other answers", ", ".join(f"{s}: {n}" for s, n in sorted(load.refused.items())) or "none"),
            ("client connection errors", f"{load.transport_errors:,}"),
        ],
    )
    median, worst = statistics.median(after_kill), max(after_kill)
    print_table(
        "Time to ready (start to /healthz 200)",
        ["restart", "seconds", "vs clean restart"],
        [
            ("after a clean stop (baseline)", f"{after_clean:.2f}", "1.00x"),
            ("after SIGKILL, median", f"{median:.2f}", ratio(median, after_clean)),
            ("after SIGKILL, worst", f"{worst:.2f}", ratio(worst, after_clean)),
        ],
    )
    if not load.acknowledged:
        fail("no call was acknowledged: the load never reached the server")
    if check.acknowledged_lost or check.problems:
        for problem in (check.acknowledged_lost + check.problems)[:20]:
            console.print(f"  {problem}")
        fail("acknowledged requests were lost or rows are not whole")
    console.print("[bold green]No acknowledged request lost; every stored row whole.[/bold green]")


if __name__ == "__main__":
    run_main(main)
