"""Session feedback latency on a populated database, against `GET /healthz` on the same server.

The database holds --requests requests in --sessions sessions of one organization (default 1,000,000
in 100,000), seeded directly through `SqlStore.insert_requests` in batches: realistic records with
3-5 properties (Helicone-Session-Id/-Path/-Name and 0-2 more), user ids, tokens and costs. On
SQLite the seeded file is cached under the temp dir, keyed by the parameters and the schema
revision, and reused by later runs; on PostgreSQL (--database-url postgresql://...) a complete
seed of the same organization is reused likewise.

Then `heliograph serve` runs on that database and one client over keep-alive (httpx.Client) makes
--calls `POST /v1/session/{id}/feedback` calls on random sessions (ratings alternate true/false),
each followed by one `GET /healthz`, the baseline: same server, same stack, same client, one
trivial query. Printed: p50/p95/p99 in ms for both and the ratios, the seeding rate, peak RSS.

Run: `.venv/bin/python bench/feedback.py [--requests N] [--sessions N] [--database-url URL]`.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import hashlib
import json
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import httpx
import orjson
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

import heliograph.storage.migrations as migrations
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
from heliograph.domain.keys import hash_api_key
from heliograph.domain.records import SESSION_ID_KEY, SESSION_NAME_KEY, SESSION_PATH_KEY, RequestRecord
from heliograph.storage.migrations.apply import upgrade_to_head
from heliograph.storage.sql.schema import organizations, requests
from heliograph.storage.sql.store import SqlStore

SEED_VERSION = 2  # bump when the seeded data changes shape, to invalidate caches
SESSION_NAMESPACE = uuid.UUID("5d1c0a3e-7c43-4f0e-9a57-1b2f3c4d5e6f")
EPOCH_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z; sessions spread over the 30 days after it
SPREAD_MS = 30 * 24 * 3600 * 1000
WARMUP_CALLS = 50
VERIFY_SESSIONS = 20
SEED_LOCK_WAIT_SECONDS = 3600  # a first 1M seed takes about 10 minutes

OPENAI_URL, ANTHROPIC_URL = (
    "https://api.openai.com/v1/chat/completions",
    "https://api.anthropic.com/v1/messages",
)
# (provider, target URL, model, nano-USD per prompt token, per completion token)
MODELS = (
    ("OPENAI", OPENAI_URL, "gpt-4o-mini", 150, 600),
    ("OPENAI", OPENAI_URL, "gpt-4o", 2_500, 10_000),
    ("ANTHROPIC", ANTHROPIC_URL, "claude-3-5-haiku-20241022", 800, 4_000),
)
STEPS = ("/plan", "/plan/search", "/plan/search/fetch", "/answer", "/answer/review")
EXTRA_PROPERTIES = (
    ("App", ("support-bot", "research-agent", "sql-copilot")),
    ("Environment", ("prod", "staging")),
)


@dataclass(frozen=True)
class Seeding:
    """How the seed was obtained: seeded now (with its rate) or reused."""

    reused: bool
    where: str
    seconds: float | None = None

    def rate(self, rows: int) -> float | None:
        return rows / self.seconds if self.seconds else None


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--requests", type=int, default=1_000_000, help="requests stored (default 1,000,000)")
    parser.add_argument("--sessions", type=int, default=100_000, help="sessions they form (default 100,000)")
    parser.add_argument("--calls", type=int, default=2000, help="feedback calls measured (default 2000)")
    parser.add_argument("--database-url", help="default: a cached SQLite file in the temp dir")
    parser.add_argument("--batch", type=int, default=5000, help="records per insert_requests call")
    parser.add_argument("--seed", type=int, default=1, help="random seed (data and session choice)")
    parser.add_argument("--max-seconds", type=float, default=300, help="time cap on the measured calls")
    args = parser.parse_args()
    if not 0 < args.sessions <= args.requests:
        parser.error("need 0 < --sessions <= --requests")
    return args


# -- seed data ---------------------------------------------------------------------------------


def session_id(index: int) -> str:
    """The id of session number `index`: a stable UUID, so runs can pick sessions without a query."""
    return str(uuid.uuid5(SESSION_NAMESPACE, str(index)))


def session_sizes(rng: random.Random, n_requests: int, n_sessions: int) -> list[int]:
    """Requests per session: at least one each, the rest spread at random (about Poisson)."""
    sizes = [1] * n_sessions
    for _ in range(n_requests - n_sessions):
        sizes[rng.randrange(n_sessions)] += 1
    return sizes


def session_records(
    rng: random.Random, org_id: str, index: int, size: int, start_ms: int
) -> list[RequestRecord]:
    """One session's requests: one user, one model, steps a few seconds apart from `start_ms`."""
    sid, user = session_id(index), f"user-{rng.randrange(5000):04d}"
    provider, url, model, prompt_price, completion_price = rng.choice(MODELS)
    shared = {SESSION_ID_KEY: sid, SESSION_NAME_KEY: f"Task {index % 997}"}
    for name, values in rng.sample(EXTRA_PROPERTIES, rng.randint(0, len(EXTRA_PROPERTIES))):
        shared[name] = rng.choice(values)
    created = start_ms
    records = []
    for step in range(size):
        created += rng.randint(300, 20_000)
        latency, prompt, completion = rng.randint(200, 9_000), rng.randint(20, 3_000), rng.randint(5, 900)
        question = f"Step {step} of task {index}: summarise the findings so far."
        records.append(
            RequestRecord(
                org_id=org_id,
                request_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                created_at_ms=created,
                response_created_at_ms=created + latency,
                latency_ms=latency,
                time_to_first_token_ms=rng.randint(100, latency),
                status=200,
                provider=provider,
                model=model,
                request_model=model,
                user_id=user,
                prompt_tokens=prompt,
                completion_tokens=completion,
                cache_read_tokens=0,
                cache_write_tokens=0,
                cost_nano_usd=prompt * prompt_price + completion * completion_price,
                cost_known=True,
                target_url=url,
                request_body=_request_body(model, question),
                response_body=_response_body(model, prompt, completion),
                properties={**shared, SESSION_PATH_KEY: STEPS[step % len(STEPS)]},
            )
        )
    return records


def _request_body(model: str, question: str) -> str:
    messages = [{"role": "system", "content": "You are a careful research assistant."}]
    messages.append({"role": "user", "content": question})
    return orjson.dumps({"model": model, "messages": messages, "temperature": 0.2}).decode()


def _response_body(model: str, prompt: int, completion: int) -> str:
    message = {"role": "assistant", "content": "Here is a short summary of what was found so far."}
    usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    choice = {"index": 0, "message": message, "finish_reason": "stop"}
    body = {"id": "chatcmpl-bench", "object": "chat.completion", "model": model, "choices": [choice]}
    return orjson.dumps({**body, "usage": usage}).decode()


def record_batches(org_id: str, args: argparse.Namespace) -> Iterator[list[RequestRecord]]:
    """All seed records in batches of about --batch (whole sessions), deterministic for --seed."""
    rng = random.Random(args.seed)
    batch: list[RequestRecord] = []
    for index, size in enumerate(session_sizes(rng, args.requests, args.sessions)):
        start_ms = EPOCH_MS + index * SPREAD_MS // args.sessions
        batch.extend(session_records(rng, org_id, index, size, start_ms))
        if len(batch) >= args.batch:
            yield batch
            batch = []
    if batch:
        yield batch


# -- seeding and its cache ---------------------------------------------------------------------


def seed_org(args: argparse.Namespace) -> str:
    """The organization that holds a complete seed for these parameters (its name is the cache key)."""
    return f"bench-feedback-r{args.requests}-s{args.sessions}-seed{args.seed}-v{SEED_VERSION}"


def sqlite_cache_path(args: argparse.Namespace) -> Path:
    head = ScriptDirectory(str(Path(migrations.__file__).parent)).get_current_head()
    return Path(tempfile.gettempdir()) / f"heliograph-bench-{seed_org(args)}-schema{head}.db"


def ensure_seeded(args: argparse.Namespace) -> tuple[str, Seeding]:
    """The database URL to measure on, holding a complete seed: reused if there, else made now.

    A seed is complete when its organization has --requests requests (each batch commits whole).
    An incomplete or unreadable SQLite cache is seeded again; an incomplete --database-url is refused.
    """
    cache = None if args.database_url else sqlite_cache_path(args)
    url = args.database_url or f"sqlite:///{cache}"
    with seed_lock(url, args):
        return _ensure_seeded(url, cache, args)


def _ensure_seeded(url: str, cache: Path | None, args: argparse.Namespace) -> tuple[str, Seeding]:
    stored = asyncio.run(stored_requests(url, seed_org(args), tolerate_corrupt=cache is not None))
    if stored == args.requests:
        return url, Seeding(reused=True, where=_redact(url), seconds=_noted_seconds(cache))
    if stored != 0 and cache is None:
        fail(f"{_redact(url)} holds a partial seed ({stored:,} requests): use a fresh database")
    if stored != 0 and cache is not None:
        console.print(f"[yellow]{cache} holds an incomplete or unreadable seed: seeding it again[/yellow]")
        _remove_sqlite_files(cache)
    seconds = asyncio.run(seed(url, args))
    if cache is not None:
        _note_path(cache).write_text(json.dumps({"seconds": seconds, "when": time.ctime()}))
    return url, Seeding(reused=False, where=_redact(url), seconds=seconds)


@contextmanager
def seed_lock(url: str, args: argparse.Namespace) -> Iterator[None]:
    """One seeder per database and seed at a time, across processes: others wait (bounded)."""
    digest = hashlib.sha256(f"{url} {seed_org(args)}".encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"heliograph-bench-seed-{digest}.lock"
    with path.open("a") as handle:
        deadline = time.monotonic() + SEED_LOCK_WAIT_SECONDS
        if not _try_lock(handle):
            console.print(f"Another run is seeding {_redact(url)}; waiting for it ({path})")
        while not _try_lock(handle):
            if time.monotonic() > deadline:
                fail(f"another run kept the seed lock {path} for {SEED_LOCK_WAIT_SECONDS}s")
            time.sleep(2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _try_lock(handle: TextIO) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _note_path(cache: Path) -> Path:
    return cache.with_suffix(".json")


def _noted_seconds(cache: Path | None) -> float | None:
    """How long the cached seed took to make, as its note says (None if unknown)."""
    try:
        return None if cache is None else float(json.loads(_note_path(cache).read_text())["seconds"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _remove_sqlite_files(path: Path) -> None:
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), _note_path(path)):
        leftover.unlink(missing_ok=True)


async def stored_requests(url: str, org: str, *, tolerate_corrupt: bool) -> int | None:
    """Requests stored for organization `org` (migrating the schema first); None if unreadable."""
    store = SqlStore.from_url(url)
    try:
        await upgrade_to_head(store.engines.writer)
        stmt = (
            sa.select(sa.func.count())
            .select_from(requests.join(organizations, organizations.c.id == requests.c.org_id))
            .where(organizations.c.name == org)
        )
        async with store.engines.reader.connect() as conn:
            return int((await conn.execute(stmt)).scalar_one())
    except sa.exc.DatabaseError:
        if tolerate_corrupt:
            return None
        raise
    finally:
        await store.close()


async def seed(url: str, args: argparse.Namespace) -> float:
    """Write the whole seed through `SqlStore.insert_requests`; return the seconds it took."""
    store = SqlStore.from_url(url)
    try:
        await upgrade_to_head(store.engines.writer)
        org_id = await store.ensure_org(name=seed_org(args))
        console.print(f"Seeding {args.requests:,} requests in {args.sessions:,} sessions into {_redact(url)}")
        started = time.perf_counter()
        with progress(args.requests, "seeding") as advance:
            for batch in record_batches(org_id, args):
                await store.insert_requests(batch)
                advance(len(batch))
        return time.perf_counter() - started
    finally:
        await store.close()


def _redact(url: str) -> str:
    """The URL without a password, for printing."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    return f"{scheme}{sep}{credentials.split(':', 1)[0]}{at}{host}" if at else url


@contextmanager
def progress(total: int, what: str) -> Iterator[Callable[[int], None]]:
    """An `advance(n)` callback: a Rich bar on a terminal, a line every 10% otherwise."""
    if console.is_terminal:
        columns = (TextColumn(what), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=console) as bar:
            task = bar.add_task(what, total=total)
            yield lambda n: bar.advance(task, n)
        return
    done, next_report, started = 0, total / 10, time.perf_counter()

    def advance(n: int) -> None:
        nonlocal done, next_report
        done += n
        if done >= next_report or done == total:
            rate = done / (time.perf_counter() - started)
            console.print(f"  {what}: {done:,}/{total:,} ({rate:,.0f}/s)")
            next_report += total / 10

    yield advance


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
    rate = seeding.rate(args.requests)
    how = f"{args.requests:,} requests through SqlStore.insert_requests in batches of {args.batch:,}"
    if rate is None or seeding.seconds is None:
        console.print(f"Seed: reused {seeding.where}; its seeding rate is unknown")
    else:
        when = "when it was made (reused now)" if seeding.reused else "in this run"
        console.print(
            f"Seed: {how}: {seeding.seconds:,.1f}s = {rate:,.0f} requests/s {when}, {seeding.where}"
        )
    console.print(f"Server peak RSS: {mib(peak_rss)}")


def main() -> None:
    args = parse_args()
    print_context("Feedback benchmark")
    url, seeding = ensure_seeded(args)
    if seeding.reused:
        console.print(f"Reusing the seeded database {seeding.where}")
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
