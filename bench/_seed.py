"""The seeded database that feedback.py, dashboard.py and queries.py measure on: made once, then reused.

--requests requests (default 1,000,000) in --sessions sessions (default 100,000) of one organization,
written through `Store.insert_requests` in batches of --batch records, then about a fifth of the
sessions rated through `Store.rate_sessions` (the API's rating, a thousand sessions per call). Each
session has one user, one model and at least one request, a few seconds apart, with the properties
the ingestion endpoints would store: Helicone-Session-Id/-Path/-Name and 0-2 lower-cased custom ones (`app`,
`environment`). The data is deterministic for --seed.

The organization is named after the parameters (the cache key); a second, empty organization
`<name>-complete` is created only when the seed is whole, so a seed interrupted at any point is never
taken for a whole one. SQLite (default): a file under the temp dir named after the organization; an
incomplete or unreadable file is seeded again. PostgreSQL or ClickHouse (--database-url; chdb:///dir
works): an incomplete seed in it is refused. A reused seed is migrated to the current schema first,
as `heliograph serve` would. Everything goes through the `Store` port, so every backend gets the same.
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

import orjson
import sqlalchemy as sa
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from _harness import console, fail
from heliograph.domain.records import (
    SESSION_ID_KEY,
    SESSION_NAME_KEY,
    RequestRecord,
    new_record,
)
from heliograph.domain.store import Store
from heliograph.errors import Unavailable
from heliograph.storage import open_store
from heliograph.storage.sql.store import SqlStore

SEED_VERSION = 5  # bump when the seeded data changes shape, to invalidate caches
SESSION_NAMESPACE = uuid.UUID("5d1c0a3e-7c43-4f0e-9a57-1b2f3c4d5e6f")
EPOCH_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z; sessions spread over the 30 days after it
SPREAD_MS = 30 * 24 * 3600 * 1000
SEED_LOCK_WAIT_SECONDS = 3600  # a first 1M seed takes about 10 minutes
COMPLETE_SUFFIX = "-complete"
RATED_SHARE, POSITIVE_SHARE = 0.2, 0.65  # of all sessions; of the rated ones
RATINGS_PER_CALL = 1_000  # sessions rated per Store.rate_sessions call

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
# Custom properties as the ingestion endpoints store them: Helicone-Property-App arrives as `app`.
EXTRA_PROPERTIES = (
    ("app", ("support-bot", "research-agent", "sql-copilot")),
    ("environment", ("prod", "staging")),
)


@dataclass(frozen=True)
class Seeding:
    """How the seed was obtained: seeded now (with its duration) or reused."""

    reused: bool
    where: str
    seconds: float | None = None

    def describe(self, args: argparse.Namespace) -> str:
        """One line on where the seed is and how fast it was made."""
        how = f"{args.requests:,} requests through Store.insert_requests in batches of {args.batch:,}"
        if self.seconds is None:
            return "Seed: reused; its seeding rate is unknown"
        when = "when it was made (reused now)" if self.reused else "in this run"
        rate = args.requests / self.seconds
        return f"Seed: {how}, ratings included: {self.seconds:,.1f}s = {rate:,.0f} requests/s {when}"


def add_seed_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that choose (and key) the seed, shared by every script that uses it."""
    parser.add_argument("--requests", type=int, default=1_000_000, help="requests stored (default 1,000,000)")
    parser.add_argument("--sessions", type=int, default=100_000, help="sessions they form (default 100,000)")
    parser.add_argument("--database-url", help="default: a cached SQLite file in the temp dir")
    parser.add_argument("--batch", type=int, default=5000, help="records per insert_requests call")
    parser.add_argument("--seed", type=int, default=1, help="random seed (data, ratings, choices)")


def parse_seed_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Parse the command line of a script that called `add_seed_arguments`, checking the seed's options."""
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
            new_record(
                org_id=org_id,
                created_at_ms=created,
                request_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                session_path=STEPS[step % len(STEPS)],
                latency_ms=latency,
                time_to_first_token_ms=rng.randint(100, latency),
                provider=provider,
                model=model,
                user_id=user,
                prompt_tokens=prompt,
                completion_tokens=completion,
                cost_nano_usd=prompt * prompt_price + completion * completion_price,
                target_url=url,
                request_body=_request_body(model, question),
                response_body=_response_body(model, prompt, completion),
                properties=shared,
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


def seed_ratings(args: argparse.Namespace) -> list[tuple[str, bool]]:
    """The (session id, rating) pairs the seed gives: about a fifth of the sessions, mostly positive."""
    rng = random.Random(args.seed + 100)
    return [
        (session_id(index), rng.random() < POSITIVE_SHARE)
        for index in range(args.sessions)
        if rng.random() < RATED_SHARE
    ]


# -- seeding and its cache ---------------------------------------------------------------------


def seed_org(args: argparse.Namespace) -> str:
    """The organization that holds a complete seed for these parameters (its name is the cache key)."""
    return f"bench-seed-r{args.requests}-s{args.sessions}-seed{args.seed}-v{SEED_VERSION}"


def sqlite_cache_path(args: argparse.Namespace) -> Path:
    return Path(tempfile.gettempdir()) / f"heliograph-bench-{seed_org(args)}.db"


def ensure_seeded(args: argparse.Namespace) -> tuple[str, Seeding]:
    """The database URL to measure on, holding a complete seed: reused if there, else made now."""
    cache = None if args.database_url else sqlite_cache_path(args)
    url = args.database_url or f"sqlite:///{cache}"
    with seed_lock(url, args):
        seeding = _ensure_seeded(url, cache, args)
    if seeding.reused:
        console.print(f"Reusing the seeded database {seeding.where}")
    return url, seeding


def _ensure_seeded(url: str, cache: Path | None, args: argparse.Namespace) -> Seeding:
    state = asyncio.run(seed_state(url, args, tolerate_corrupt=cache is not None))
    if state == "complete":
        return Seeding(reused=True, where=redact(url), seconds=_noted_seconds(cache))
    if state != "absent" and cache is None:
        fail(f"{redact(url)} holds a partial seed: drop and recreate the database")
    if state != "absent" and cache is not None:
        console.print(f"[yellow]{cache} holds an incomplete or unreadable seed: seeding it again[/yellow]")
        _remove_sqlite_files(cache)
    seconds = asyncio.run(seed(url, args))
    if cache is not None:
        _note_path(cache).write_text(json.dumps({"seconds": seconds, "when": time.ctime()}))
    return Seeding(reused=False, where=redact(url), seconds=seconds)


@contextmanager
def seed_lock(url: str, args: argparse.Namespace) -> Iterator[None]:
    """One seeder per database and seed at a time, across processes: others wait (bounded)."""
    digest = hashlib.sha256(f"{url} {seed_org(args)}".encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"heliograph-bench-seed-{digest}.lock"
    with path.open("a") as handle:
        deadline = time.monotonic() + SEED_LOCK_WAIT_SECONDS
        if not _try_lock(handle):
            console.print(f"Another run is seeding {redact(url)}; waiting for it ({path})")
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


async def seed_state(url: str, args: argparse.Namespace, *, tolerate_corrupt: bool) -> str:
    """ "complete", "partial" (or unreadable) or "absent"; migrates the schema first, as `serve` does."""
    store = open_store(url)
    try:
        await store.migrate()
        names = {org.name: org.id for org in await store.list_organizations()}
        data = names.get(seed_org(args))
        stored = 0 if data is None else (await store.copy_counts(org_id=data))["requests"]
    except (sa.exc.DatabaseError, Unavailable):
        if tolerate_corrupt:
            return "partial"
        raise
    finally:
        await store.close()
    if data is not None and seed_org(args) + COMPLETE_SUFFIX in names and stored == args.requests:
        return "complete"
    return "partial" if data is not None else "absent"


async def seed(url: str, args: argparse.Namespace) -> float:
    """Write the whole seed through the store (requests, then ratings); return the seconds it took.
    The seed is whole once the marker organization `<name>-complete` exists, created last."""
    store = open_store(url)
    try:
        await store.migrate()
        org_id = await store.ensure_org(name=seed_org(args))
        console.print(f"Seeding {args.requests:,} requests in {args.sessions:,} sessions into {redact(url)}")
        started = time.perf_counter()
        with progress(args.requests, "seeding requests") as advance:
            for batch in record_batches(org_id, args):
                await store.insert_requests(batch)
                advance(len(batch))
        ratings = seed_ratings(args)
        with progress(len(ratings), "rating sessions") as advance:
            for start in range(0, len(ratings), RATINGS_PER_CALL):
                chunk = dict(ratings[start : start + RATINGS_PER_CALL])
                if await store.rate_sessions(org_id=org_id, ratings=chunk) != len(chunk):
                    fail("a seeded session to rate is missing")
                advance(len(chunk))
        await _gather_statistics(store)
        await store.ensure_org(name=seed_org(args) + COMPLETE_SUFFIX)
        return time.perf_counter() - started
    finally:
        await store.close()


async def _gather_statistics(store: Store) -> None:
    """What a database left running would have by now: PostgreSQL's autovacuum (VACUUM ANALYZE: planner
    statistics and the visibility map of index-only scans; it is off on some servers, this machine's
    among them) and, on SQLite, what `heliograph serve` refreshes at start and every hour. ClickHouse
    needs neither."""
    if not isinstance(store, SqlStore) or store.engines.writer.dialect.name != "postgresql":
        await store.refresh_statistics()
        return
    async with store.engines.writer.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql("VACUUM ANALYZE")


def redact(url: str) -> str:
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
