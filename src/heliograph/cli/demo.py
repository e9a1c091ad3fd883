"""`heliograph demo`: load a realistic sample into an organization, through the real ingestion path.

Agent sessions walk a path tree (plan, search, fetch, answer, ...), on several OpenAI and Anthropic
models, for a few dozen users, over the last two weeks. Half the sessions run prompt version A and half
version B (property `prompt-version`); B satisfies more often, so the feedback comparison has something
to find. About 60% of sessions are rated.

Every call is built as the async-log body Helicone's clients send and goes through
`ingest.asynclog.parse_async_log` (headers, usage, pricing), then `Store.insert_requests` in batches;
feedback goes through `domain.feedback.rate_session`. Ids derive from --seed, so loading the same seed
twice adds nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any

import orjson
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from heliograph.cli.common import DatabaseUrlOption, err, open_store, settings_with
from heliograph.domain import feedback, records
from heliograph.domain.pricing import PriceTable
from heliograph.domain.records import RequestRecord
from heliograph.domain.sessions import SessionQuery
from heliograph.domain.store import Store
from heliograph.ingest.asynclog import parse_async_log

__all__ = ["DEFAULT_SESSIONS", "DemoSummary", "demo", "load_demo", "load_demo_into"]

DEFAULT_SESSIONS = 500
DEFAULT_SEED = 7
BATCH_SIZE = 500  # records per insert_requests call (one transaction)
DAYS = 14
RATED_SHARE = 0.6
USERS = 40

# (agent name, the steps it walks; a step's parent is its path minus the last segment)
AGENTS = (
    ("Trip planner", ("/plan", "/plan/search", "/plan/search/fetch", "/plan/book", "/answer")),
    ("Support triage", ("/classify", "/classify/lookup", "/draft", "/draft/review")),
    ("Research agent", ("/outline", "/outline/search", "/outline/search/read", "/write", "/write/cite")),
    ("SQL copilot", ("/understand", "/understand/schema", "/generate", "/generate/validate", "/explain")),
)
REPEATABLE = ("search", "fetch", "lookup", "read", "validate")  # steps an agent may take several times
# (async-log provider, target URL, model, share of sessions, effect on satisfaction)
MODELS = (
    ("OPENAI", "https://api.openai.com/v1/chat/completions", "gpt-4o-mini", 0.4, -0.04),
    ("OPENAI", "https://api.openai.com/v1/chat/completions", "gpt-4o", 0.25, 0.04),
    ("ANTHROPIC", "https://api.anthropic.com/v1/messages", "claude-3-5-haiku-20241022", 0.2, -0.02),
    ("ANTHROPIC", "https://api.anthropic.com/v1/messages", "claude-sonnet-4-20250514", 0.15, 0.06),
)
# The true chance that a session of each prompt version is rated thumbs up (before model effects).
SATISFACTION = {"A": 0.5, "B": 0.8}
FAILED_CALL_PENALTY = 0.3
FAILURE_RATE = 0.03


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What a load did: the sample's size, and how much of it was new to the organization."""

    sessions: int
    requests: int
    rated: int
    added_sessions: int = 0
    added_requests: int = 0

    def report(self, org: str) -> str:
        """One line saying what the load did (a second load of the same seed adds nothing)."""
        if self.added_sessions == self.added_requests == 0:
            return f"The demo's {self.sessions:,} sessions were already in organization {org}: nothing added."
        already = self.sessions - self.added_sessions
        kept = f"; {already:,} were already there" if already else ""
        return (
            f"Added {self.added_sessions:,} demo sessions ({self.added_requests:,} requests, "
            f"{self.rated:,} of the sample rated) to organization {org}{kept}."
        )


@dataclass(slots=True)
class _Session:
    session_id: str
    records: list[RequestRecord] = field(default_factory=list)
    rating: bool | None = None


def _chat_bodies(
    call_id: str, model: str, question: str, answer: str, prompt: int, completion: int
) -> tuple[Any, Any]:
    request = {
        "model": model,
        "messages": [
            {"role": "system", "content": "You are a careful agent. Think step by step."},
            {"role": "user", "content": question},
        ],
        "temperature": 0.2,
    }
    response = {
        "id": f"chatcmpl-{call_id[:12]}",
        "object": "chat.completion",
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }
    return request, response


def _anthropic_bodies(
    call_id: str, model: str, question: str, answer: str, prompt: int, completion: int
) -> tuple[Any, Any]:
    request = {"model": model, "max_tokens": 1024, "messages": [{"role": "user", "content": question}]}
    response = {
        "id": f"msg_{call_id[:16]}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": answer}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": prompt, "output_tokens": completion},
    }
    return request, response


def _epoch(ms: int) -> dict[str, int]:
    return {"seconds": ms // 1000, "milliseconds": ms % 1000}


def _walk(rng: random.Random, steps: tuple[str, ...]) -> list[str]:
    """The paths one session visits: the agent's steps in order, some repeated, some runs cut short."""
    paths: list[str] = []
    last = rng.randint(2, len(steps))  # a third of sessions or so stop early
    for step in steps[:last]:
        repeats = rng.randint(1, 3) if step.rsplit("/", 1)[-1] in REPEATABLE else 1
        paths.extend([step] * repeats)
    return paths


def _session(rng: random.Random, *, org_id: str, now_ms: int, prices: PriceTable) -> _Session:
    name, steps = rng.choice(AGENTS)
    provider, url, model, _share, effect = rng.choices(MODELS, weights=[m[3] for m in MODELS])[0]
    version = "A" if rng.random() < 0.5 else "B"
    user = f"user-{rng.randrange(1, USERS + 1):03d}"
    environment = "production" if rng.random() < 0.85 else "staging"
    session = _Session(session_id=f"demo-{uuid.UUID(int=rng.getrandbits(128), version=4)}")
    clock = now_ms - rng.randrange(DAYS * 24 * 3600 * 1000)
    failed = False
    for step, path in enumerate(_walk(rng, steps)):
        latency = int(min(rng.lognormvariate(math.log(1400), 0.6), 30_000))
        prompt, completion = rng.randint(180, 2_400) * (step + 1) // 2 + 120, rng.randint(20, 700)
        status = rng.choice((429, 500, 503)) if rng.random() < FAILURE_RATE else 200
        failed = failed or status != 200
        question = f"{name}, step {step + 1} ({path}): continue with the task for {user}."
        answer = f"Step {step + 1} done: {path.rsplit('/', 1)[-1]} finished; handing over to the next step."
        make = _anthropic_bodies if provider == "ANTHROPIC" else _chat_bodies
        request_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        request_json, response_json = make(request_id.hex, model, question, answer, prompt, completion)
        if status != 200:
            response_json = {"error": {"message": "upstream error", "type": "server_error", "code": status}}
        body = {
            "providerRequest": {"url": url, "json": request_json, "meta": {}},
            "providerResponse": {"status": status, "headers": {}, "json": response_json},
            "timing": {
                "startTime": _epoch(clock),
                "endTime": _epoch(clock + latency),
                "timeToFirstToken": min(latency, rng.randint(150, 900)),
            },
        }
        headers = [
            ("Helicone-Session-Id", session.session_id),
            ("Helicone-Session-Path", path),
            ("Helicone-Session-Name", name),
            ("Helicone-User-Id", user),
            ("Helicone-Request-Id", str(request_id)),
            ("Helicone-Property-Prompt-Version", version),
            ("Helicone-Property-Environment", environment),
        ]
        session.records.append(
            parse_async_log(
                orjson.dumps(body),
                provider=provider,
                headers=headers,
                org_id=org_id,
                received_at_ms=now_ms,
                prices=prices,
            )
        )
        clock += latency + rng.randint(50, 4_000)
    if rng.random() < RATED_SHARE:
        chance = SATISFACTION[version] + effect - (FAILED_CALL_PENALTY if failed else 0.0)
        session.rating = rng.random() < chance
    return session


def _sessions(count: int, *, seed: int, org_id: str, now_ms: int) -> Iterator[_Session]:
    rng, prices = random.Random(seed), PriceTable.load_default()
    for _ in range(count):
        yield _session(rng, org_id=org_id, now_ms=now_ms, prices=prices)


async def load_demo(
    store: Store,
    *,
    org_id: str,
    sessions: int = DEFAULT_SESSIONS,
    seed: int = DEFAULT_SEED,
    now_ms: int | None = None,
    advance: Callable[[int], None] = lambda _n: None,
) -> DemoSummary:
    """Insert `sessions` sample sessions (in batches of about BATCH_SIZE records), then rate ~60% of them.

    `advance(n)` is called as sessions are stored and as they are rated (2 x `sessions` in all).
    """
    now = now_ms if now_ms is not None else records.now_ms()
    batch: list[RequestRecord] = []
    pending: list[_Session] = []
    ratings: list[tuple[str, bool]] = []
    requests = 0
    for session in _sessions(sessions, seed=seed, org_id=org_id, now_ms=now):
        batch.extend(session.records)
        pending.append(session)
        if session.rating is not None:
            ratings.append((session.session_id, session.rating))
        if len(batch) >= BATCH_SIZE:
            await store.insert_requests(batch)
            requests += len(batch)
            advance(len(pending))
            batch, pending = [], []
    if batch:
        await store.insert_requests(batch)
        requests += len(batch)
        advance(len(pending))
    for session_id, rating in ratings:
        await feedback.rate_session(store, org_id=org_id, session_id=session_id, rating=rating)
        advance(1)
    advance(sessions - len(ratings))
    return DemoSummary(sessions=sessions, requests=requests, rated=len(ratings))


async def load_demo_into(
    database_url: str, *, org: str, sessions: int = DEFAULT_SESSIONS, seed: int = DEFAULT_SEED
) -> DemoSummary:
    """Load the sample into organization `org` (created if needed), with a progress bar on stderr."""
    columns = (TextColumn("loading the demo"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    async with open_store(database_url) as store:
        org_id = await store.ensure_org(name=org)
        before = await store.count_sessions(org_id=org_id, query=SessionQuery())
        with Progress(*columns, console=err, transient=True) as progress:
            task = progress.add_task("demo", total=2 * sessions)
            summary = await load_demo(
                store,
                org_id=org_id,
                sessions=sessions,
                seed=seed,
                advance=lambda n: progress.advance(task, n),
            )
        after = await store.count_sessions(org_id=org_id, query=SessionQuery())
    return dataclasses.replace(
        summary,
        added_sessions=after.session_count - before.session_count,
        added_requests=after.request_count - before.request_count,
    )


def demo(
    sessions: Annotated[
        int, typer.Option("--sessions", min=1, max=1_000_000, help="How many sessions to load.")
    ] = DEFAULT_SESSIONS,
    database_url: DatabaseUrlOption = None,
    org: Annotated[
        str, typer.Option("--org", help="Organization to load into; created if missing.")
    ] = "default",
    seed: Annotated[
        int, typer.Option("--seed", help="Same seed, same data (loading it twice adds nothing).")
    ] = (DEFAULT_SEED),
) -> None:
    """Load a realistic sample: agent sessions with paths, prompt versions A/B, several models, feedback."""
    settings = settings_with(database_url=database_url)
    started = time.perf_counter()
    summary = asyncio.run(load_demo_into(settings.database_url, org=org, sessions=sessions, seed=seed))
    err.print(f"{summary.report(org)} ({time.perf_counter() - started:.1f} s)", highlight=False)
