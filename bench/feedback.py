"""Session feedback latency on a populated database, against `GET /healthz` on the same server.

The database is the shared benchmark seed (bench/_seed.py; default 1,000,000 requests in 100,000
sessions of one organization, a fifth of them rated), cached and reused. `heliograph serve` runs on it
and one client over keep-alive (httpx.Client) makes --calls `POST /v1/session/{id}/feedback` calls on
random sessions (ratings alternate true/false), each followed by one `GET /healthz`, the baseline:
same server, same stack, same client, one trivial query. Printed: p50/p95/p99 in ms for both and the
ratios, the seeding rate, peak RSS. Afterwards a sample of the rated sessions is read back.

Run: `.venv/bin/python bench/feedback.py [--requests N] [--sessions N] [--database-url URL]`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from _harness import (
    Latency,
    PeakRss,
    Server,
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
from _seed import Seeding, add_seed_arguments, ensure_seeded, parse_seed_args, seed_org, session_id
from heliograph.domain.keys import hash_api_key
from heliograph.storage.sql.store import SqlStore

WARMUP_CALLS = 50
VERIFY_SESSIONS = 20


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    add_seed_arguments(parser)
    parser.add_argument("--calls", type=int, default=2000, help="feedback calls measured (default 2000)")
    parser.add_argument("--max-seconds", type=float, default=300, help="time cap on the measured calls")
    return parse_seed_args(parser)


# -- measurement -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timings:
    """Seconds per call, in call order, and the last rating sent to each session."""

    feedback: list[float]
    healthz: list[float]
    last_rating: dict[str, bool]


def measure(server: Server, key: str, args: argparse.Namespace) -> Timings:
    """Warm-up, then --calls feedback calls on random sessions, each followed by one /healthz."""
    rng = random.Random(args.seed + 1)
    feedback: list[float] = []
    healthz: list[float] = []
    last_rating: dict[str, bool] = {}
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as client:
        for i in range(WARMUP_CALLS):
            _timed_feedback(client, session_id(rng.randrange(args.sessions)), i % 2 == 0)
            _timed_healthz(client)
        deadline = time.monotonic() + args.max_seconds
        for i in range(args.calls):
            if time.monotonic() > deadline:
                console.print(f"[yellow]time cap reached after {i:,} calls[/yellow]")
                break
            sid, rating = session_id(rng.randrange(args.sessions)), i % 2 == 0
            feedback.append(_timed_feedback(client, sid, rating))
            last_rating[sid] = rating
            healthz.append(_timed_healthz(client))
    return Timings(feedback, healthz, last_rating)


def _timed_feedback(client: httpx.Client, sid: str, rating: bool) -> float:
    started = time.perf_counter()
    response = client.post(f"/v1/session/{sid}/feedback", json={"rating": rating})
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        fail(f"feedback on session {sid} answered {response.status_code}: {response.text[:300]}")
    return elapsed


def _timed_healthz(client: httpx.Client) -> float:
    started = time.perf_counter()
    response = client.get("/healthz")
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        fail(f"/healthz answered {response.status_code}: {response.text[:300]}")
    return elapsed


def verify(url: str, key: str, last_rating: dict[str, bool], seed: int) -> int:
    """Check, through the store, that a sample of rated sessions carries the last rating sent."""
    sample = random.Random(seed).sample(sorted(last_rating), min(VERIFY_SESSIONS, len(last_rating)))

    async def run() -> int:
        store = SqlStore.from_url(url)
        try:
            org_id = await store.org_for_key_hash(hash_api_key(key))
            assert org_id is not None
            for sid in sample:
                summary = await store.get_session(org_id=org_id, session_id=sid)
                stored = None if summary is None else summary.feedback
                if stored is not last_rating[sid]:
                    fail(f"session {sid}: stored feedback {stored}, last sent {last_rating[sid]}")
            return len(sample)
        finally:
            await store.close()

    return asyncio.run(run())


# -- main --------------------------------------------------------------------------------------


def report(args: argparse.Namespace, dialect: str, timings: Timings, seeding: Seeding, peak_rss: int) -> None:
    fb, hz = Latency.of(timings.feedback), Latency.of(timings.healthz)
    print_table(
        f"Session feedback on {dialect}: {args.requests:,} requests in {args.sessions:,} sessions, "
        f"{fb.count:,} calls, one keep-alive client",
        ("", "p50", "p95", "p99"),
        [
            ("POST /v1/session/{id}/feedback", f"{fb.p50:.2f} ms", f"{fb.p95:.2f} ms", f"{fb.p99:.2f} ms"),
            ("GET /healthz (baseline)", f"{hz.p50:.2f} ms", f"{hz.p95:.2f} ms", f"{hz.p99:.2f} ms"),
            ("feedback/healthz", ratio(fb.p50, hz.p50), ratio(fb.p95, hz.p95), ratio(fb.p99, hz.p99)),
        ],
    )
    console.print(seeding.describe(args))
    console.print(f"Server peak RSS: {mib(peak_rss)}")


def main() -> None:
    args = parse_args()
    print_context("Feedback benchmark")
    url, seeding = ensure_seeded(args)
    key = create_api_key(url, seed_org(args))
    with (
        tempfile.TemporaryDirectory(prefix="heliograph-bench-feedback-") as tmp,
        running_server("heliograph", lambda port: heliograph_argv(port, url), Path(tmp)) as server,
        PeakRss(server.pid) as rss,
    ):
        timings = measure(server, key, args)
    checked = verify(url, key, timings.last_rating, args.seed)
    report(args, url.split(":", 1)[0], timings, seeding, rss.peak_bytes)
    console.print(f"Verified: {checked} sampled sessions carry the last rating sent.")


if __name__ == "__main__":
    run_main(main)
