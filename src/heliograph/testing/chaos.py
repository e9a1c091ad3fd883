"""What the reliability tests and bench scripts share: a planned load, its driver, the check of what
was stored, and faults to inject (a TCP proxy in front of PostgreSQL, a lock held on SQLite).

Imported by the reliability tests and by bench/crash.py and bench/faults.py.

Every call is planned before it is sent, with its own Helicone-Request-Id, so the check knows what
each stored row must hold, and can tell a row nobody planned or a row missing a part.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sqlite3
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import httpx

from heliograph.domain.records import RequestRecord
from heliograph.domain.sessions import SessionQuery
from heliograph.storage import open_store
from heliograph.testing.bodies import log_body

__all__ = [
    "GATEWAY_COMPLETION_TOKENS",
    "GATEWAY_PROMPT_TOKENS",
    "Load",
    "PlannedCall",
    "StoredCheck",
    "TcpProxy",
    "check_stored",
    "drive",
    "holding_sqlite_lock",
    "load_around",
]

# What the fake upstream answers every chat completion with (heliograph.testing.fake_upstream).
GATEWAY_PROMPT_TOKENS, GATEWAY_COMPLETION_TOKENS = 11, 5
SESSIONS_PER_RUN, USERS = 7, 3
RETRY_PAUSE_S = 0.05  # between attempts while the server is down, so clients do not spin


@dataclass(frozen=True)
class PlannedCall:
    """One call as planned: everything its stored row, properties and session must show."""

    request_id: str
    via: Literal["log", "gateway"]
    seq: int
    session_id: str

    @property
    def prompt_tokens(self) -> int:
        return GATEWAY_PROMPT_TOKENS if self.via == "gateway" else 1 + self.seq % 97

    @property
    def completion_tokens(self) -> int:
        return GATEWAY_COMPLETION_TOKENS if self.via == "gateway" else 1 + self.seq % 13

    @property
    def user_id(self) -> str:
        return f"user-{self.seq % USERS}"

    def properties(self) -> dict[str, str]:
        return {
            "Helicone-Session-Id": self.session_id,
            "Helicone-Session-Path": f"/step-{self.seq % 3}",
            "Helicone-Session-Name": "Chaos",
            "seq": str(self.seq),
            "via": self.via,
        }

    def headers(self, key: str) -> dict[str, str]:
        auth = "Helicone-Auth" if self.via == "gateway" else "Authorization"
        return {
            auth: f"Bearer {key}",
            "Helicone-Request-Id": self.request_id,
            "Helicone-User-Id": self.user_id,
            "Helicone-Session-Id": self.session_id,
            "Helicone-Session-Path": f"/step-{self.seq % 3}",
            "Helicone-Session-Name": "Chaos",
            "Helicone-Property-Seq": str(self.seq),
            "Helicone-Property-Via": self.via,
        }

    async def send(self, client: httpx.AsyncClient, key: str) -> httpx.Response:
        if self.via == "gateway":
            body: dict[str, Any] = {
                "model": "gpt-4o-mini",
                "messages": [{"role": "user", "content": f"call {self.seq}"}],
            }
            return await client.post(
                "/openai/v1/chat/completions",
                json=body,
                headers={**self.headers(key), "Authorization": "Bearer sk-upstream"},
            )
        body = log_body(
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            latency_ms=self.seq % 50,
            content=f"call {self.seq}",
        )
        return await client.post("/custom/v1/log", json=body, headers=self.headers(key))


@dataclass
class Load:
    """Every call planned and what the clients saw of each, across any number of server restarts."""

    run: str
    key: str
    planned: dict[str, PlannedCall] = field(default_factory=dict)
    acknowledged: set[str] = field(default_factory=set)  # async log answered 200: committed
    gateway_answered: set[str] = field(default_factory=set)  # gateway answered 200: logged afterwards
    refused: Counter[int] = field(default_factory=Counter)  # other statuses
    transport_errors: int = 0
    # (sent, answered, status) per async-log call, monotonic seconds; status 0 for a transport error
    timeline: list[tuple[float, float, int]] = field(default_factory=list)
    _seq: Iterator[int] = field(default_factory=itertools.count)

    def plan(self, *, gateway_every: int) -> PlannedCall:
        seq = next(self._seq)
        via: Literal["log", "gateway"] = "gateway" if gateway_every and seq % gateway_every == 0 else "log"
        call = PlannedCall(
            request_id=f"00000000-0000-4000-8000-{seq:012d}",
            via=via,
            seq=seq,
            session_id=f"{self.run}-s{seq % SESSIONS_PER_RUN}",
        )
        self.planned[call.request_id] = call
        return call

    def record(self, call: PlannedCall, response: httpx.Response) -> None:
        if response.status_code != 200:
            self.refused[response.status_code] += 1
            return
        assert response.headers["helicone-id"] == call.request_id
        (self.gateway_answered if call.via == "gateway" else self.acknowledged).add(call.request_id)


async def drive(
    base_url: str, load: Load, stop: asyncio.Event, *, clients: int = 8, gateway_every: int = 4
) -> None:
    """`clients` concurrent clients send planned calls one after another until `stop` is set.

    A client whose server is gone (killed, stopping) keeps trying, pausing between attempts.
    """

    async def client_loop() -> None:
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
            while not stop.is_set():
                call = load.plan(gateway_every=gateway_every)
                sent = time.monotonic()
                try:
                    response = await call.send(client, load.key)
                except httpx.TransportError:
                    load.transport_errors += 1
                    load.timeline.append((sent, time.monotonic(), 0))
                    await asyncio.sleep(RETRY_PAUSE_S)
                    continue
                load.record(call, response)
                if call.via == "log":
                    load.timeline.append((sent, time.monotonic(), response.status_code))

    await asyncio.gather(*(client_loop() for _ in range(clients)))


def load_around(
    base_url: str,
    load: Load,
    action: Callable[[], None],
    *,
    clients: int,
    before_s: float,
    after_s: float = 0,
) -> None:
    """Drive `clients` against the server for `before_s`, do `action` (in a thread), drive `after_s` more."""

    async def run() -> None:
        stop = asyncio.Event()
        driving = asyncio.create_task(drive(base_url, load, stop, clients=clients))
        await asyncio.sleep(before_s)
        await asyncio.to_thread(action)
        await asyncio.sleep(after_s)
        stop.set()
        await driving

    asyncio.run(run())


# -- checking what was stored ------------------------------------------------------------------


@dataclass
class StoredCheck:
    """What a database holds of a load: lost acknowledgements, and any row that is not whole."""

    stored: int
    acknowledged_lost: list[str]
    gateway_missing: list[str]  # answered by the gateway but not stored (allowed after SIGKILL only)
    problems: list[str]


async def check_stored(database_url: str, org_id: str, load: Load) -> StoredCheck:
    """Read the organization's requests and session rollups through the store (the server is stopped)
    and compare them with the plan."""
    store = open_store(database_url)
    try:
        rows: list[RequestRecord] = []
        while page := await store.export_requests(
            org_id=org_id, after=rows[-1].request_id if rows else None, limit=1000
        ):
            rows += [stored.record for stored in page]
        rollups = await store.query_sessions(org_id=org_id, query=SessionQuery(limit=1_000_000))
    finally:
        await store.close()
    stored = {row.request_id for row in rows}
    problems = [problem for row in rows for problem in _row_problems(row, row.properties, load)]
    problems += _rollup_problems(rows, rollups, {r.session_id: set(r.user_ids) for r in rollups})
    return StoredCheck(
        stored=len(rows),
        acknowledged_lost=sorted(load.acknowledged - stored),
        gateway_missing=sorted(load.gateway_answered - stored),
        problems=problems,
    )


def _row_problems(row: Any, stored_properties: dict[str, str], load: Load) -> list[str]:
    call = load.planned.get(row.request_id)
    if call is None:
        return [f"{row.request_id}: stored but never sent"]
    expected = {
        "session_id": call.session_id,
        "user_id": call.user_id,
        "model": "gpt-4o-mini",
        "status": 200,
        "prompt_tokens": call.prompt_tokens,
        "completion_tokens": call.completion_tokens,
        "total_tokens": call.prompt_tokens + call.completion_tokens,
        "properties": call.properties(),
    }
    actual = {name: getattr(row, name) for name in expected if name != "properties"}
    actual["properties"] = stored_properties
    problems = [
        f"{row.request_id}: {name} is {actual[name]!r}, expected {value!r}"
        for name, value in expected.items()
        if actual[name] != value
    ]
    if not row.request_body or not row.response_body:
        problems.append(f"{row.request_id}: empty request or response body")
    return problems


def _rollup_problems(rows: Sequence[Any], rollups: Sequence[Any], users: dict[str, set[str]]) -> list[str]:
    """Each session's rollup must equal the sums over its stored requests, and no session may be missing."""
    by_session: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        by_session[row.session_id].append(row)
    problems = [
        f"session {sid}: has requests but no rollup"
        for sid in by_session.keys() - {r.session_id for r in rollups}
    ]
    for rollup in rollups:
        members = by_session.get(rollup.session_id, [])
        expected = {
            "request_count": len(members),
            "prompt_tokens": sum(r.prompt_tokens for r in members),
            "completion_tokens": sum(r.completion_tokens for r in members),
            "total_tokens": sum(r.total_tokens for r in members),
            "cost_nano_usd": sum(r.cost_nano_usd for r in members),
            "latency_sum_ms": sum(r.latency_ms for r in members),
        }
        problems += [
            f"session {rollup.session_id}: {name} is {getattr(rollup, name)}, requests sum to {value}"
            for name, value in expected.items()
            if getattr(rollup, name) != value
        ]
        if rollup.first_request_id not in {r.request_id for r in members}:
            problems.append(
                f"session {rollup.session_id}: first request {rollup.first_request_id} not stored"
            )
        if users.get(rollup.session_id, set()) != {r.user_id for r in members}:
            problems.append(f"session {rollup.session_id}: users disagree with its requests")
    return problems


# -- faults ------------------------------------------------------------------------------------


class TcpProxy:
    """A TCP forwarder on loopback, run on its own event loop in a thread, that can fail on demand.

    `cut()` drops every connection and refuses new ones (a database that went away); `stall()` keeps
    connections open but moves no bytes (a network that silently drops packets); `restore()` undoes
    either. The database itself is never touched, so other users of it are unaffected.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._flowing = asyncio.Event()
        self._transports: set[asyncio.WriteTransport] = set()
        self.port = 0

    @classmethod
    def in_front_of(cls, url: str) -> TcpProxy:
        parts = urlsplit(url)
        return cls(parts.hostname or "127.0.0.1", parts.port or 5432)

    def url_through(self, url: str) -> str:
        """`url` with its host and port replaced by this proxy's."""
        parts = urlsplit(url)
        netloc = parts.netloc.rsplit("@", 1)
        user = f"{netloc[0]}@" if len(netloc) == 2 else ""
        return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{self.port}"))

    def start(self) -> TcpProxy:
        self._thread.start()
        self._call(self._flow())
        self._call(self._listen())
        return self

    def cut(self) -> None:
        self._call(self._cut())

    def stall(self) -> None:
        self._call(self._stall())

    def restore(self) -> None:
        self._call(self._listen())
        self._call(self._flow())

    def close(self) -> None:
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _call(self, coroutine: Any) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    async def _flow(self) -> None:
        self._flowing.set()

    async def _stall(self) -> None:
        self._flowing.clear()

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
            self.port = self._server.sockets[0].getsockname()[1]

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for transport in list(self._transports):
            transport.abort()
        self._transports.clear()

    async def _shutdown(self) -> None:
        await self._cut()
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self._transports.add(client_writer.transport)
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        except OSError:
            client_writer.transport.abort()
            return
        self._transports.add(upstream_writer.transport)
        await asyncio.gather(
            self._pipe(client_reader, upstream_writer),
            self._pipe(upstream_reader, client_writer),
            return_exceptions=True,
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self._flowing.wait()  # stalled: hold the bytes, as a partitioned network does
                writer.write(data)
                await writer.drain()
        finally:
            self._transports.discard(writer.transport)
            writer.transport.abort()


@contextlib.contextmanager
def holding_sqlite_lock(path: str) -> Iterator[sqlite3.Connection]:
    """Hold SQLite's write lock on `path` from this process (another process than the server's)."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=10)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        yield conn
    finally:
        conn.execute("ROLLBACK")
        conn.close()
