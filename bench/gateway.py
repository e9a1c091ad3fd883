"""Gateway overhead: calls through `heliograph serve` against the same calls to the fake upstream direct.

Both servers run on loopback as their own processes: heliograph.testing.fake_upstream under uvicorn with no
pause between stream chunks (FAKE_UPSTREAM_PAUSE_S=0), and `heliograph serve` on a fresh SQLite
file with its OpenAI and Anthropic upstreams pointed at the fake. The same chat completion
(gpt-4o-mini) goes to `<fake>/v1/chat/completions` (direct) and to
`<heliograph>/openai/v1/chat/completions` (gateway, with Helicone-Auth and a Helicone-Session-Id).

- Non-streaming: wrk at 1 connection (1 thread) and 32 connections (2 threads). Each configuration
  gets --duration seconds of load, split into --rounds runs; the runs alternate direct and gateway
  (and which goes first) so that noise from other work hits both. The Lua script (written next to
  the servers' logs) stops sending at its deadline and lets every call in flight be answered, and
  its done() hook dumps wrk's latency histogram, so percentiles over the rounds are exact (1 us).
  Percentiles are of the calls as measured: wrk's coordinated-omission correction, which turns one
  stall into many synthetic samples, is undone (its p99 is shown too, as "p99 as wrk prints it").
- Streaming (stream: true): an aiohttp client session per target and concurrency level, its pool
  sized to the concurrency, measures the time to the first body chunk (TTFT), --stream-calls per
  configuration, split and alternated the same way, after a short warm-up. (aiohttp rather than
  httpx: at 32 clients httpx's own CPU per call made the measuring client the bottleneck, and the
  TTFT it reported was mostly its own queueing.)

Printed: p50/p99 latency and TTFT for direct and gateway, the added latency (gateway - direct)
against the aim (under 2 ms at p50, under 10 ms at p99), calls/s, the CPU time each server spent
per call (all threads: far below the latency means waiting, not computing), both servers' peak RSS;
then the logging check: every call the gateway answered 200 must be a row in `requests` once the background
log writes have settled (fails if there are fewer rows).

Run: `.venv/bin/python bench/gateway.py [--duration 10] [--rounds 2] [--stream-calls 300]`
(needs `wrk` on PATH).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import httpx
import psutil

from _harness import (
    Latency,
    PeakRss,
    Server,
    console,
    create_api_key,
    fail,
    heliograph_argv,
    mib,
    percentile,
    print_context,
    print_table,
    ratio,
    run_main,
    running_server,
)

CHAT_PATH = "/v1/chat/completions"
GATEWAY_PATH = "/openai/v1/chat/completions"
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello."}]}
CHAT_BODY = json.dumps(CHAT, separators=(",", ":"))
STREAM_BODY = json.dumps({**CHAT, "stream": True}, separators=(",", ":")).encode()
UPSTREAM_AUTH = {"Authorization": "Bearer sk-bench-not-a-real-key"}  # forwarded to the fake, unchecked
CONCURRENCY = (1, 32)
TARGETS = ("direct", "gateway")
AIM_P50_MS, AIM_P99_MS = 2.0, 10.0
WARMUP_SECONDS = 2
DRAIN_SECONDS = 2
SESSIONS = 1000
STREAM_RUN_SECONDS = 300.0  # bound on one streaming run
SETTLE_SECONDS = 30.0

# wrk script. Arguments after `--`: <path> <heliograph key, or - for direct> <tag> <load seconds> <body>.
# After <load seconds> each connection, once answered, stops sending (request() returns an empty
# request and the connection idles); wrk's -d leaves DRAIN_SECONDS for that, so every call sent is
# answered and the gateway's 200s can be matched with logged rows. done() prints one line
# `WRK_RESULT {json}`: exact per-thread counts, the load's wall time and wrk's latency histogram
# ([microseconds, count] pairs) so that runs can be merged into exact percentiles. That histogram
# has wrk's coordinated-omission correction applied (see without_wrk_correction).
WRK_LUA = r"""
local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } gw_timespec;
int clock_gettime(int clock_id, gw_timespec *tp);
]])
local timespec = ffi.new("gw_timespec")
local function now()
   ffi.C.clock_gettime(1, timespec) -- CLOCK_MONOTONIC
   return tonumber(timespec.tv_sec) + tonumber(timespec.tv_nsec) * 1e-9
end

local threads = {}

function setup(thread)
   thread:set("index", #threads)
   table.insert(threads, thread)
end

function init(args)
   path, key, tag, load_seconds, body = args[1], args[2], args[3], tonumber(args[4]), args[5]
   counter = index * 7919
   sent, answered, ok, other = 0, 0, 0, 0
   started, deadline, last_answer = 0, nil, 0
   headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer sk-bench-not-a-real-key" }
   if key ~= "-" then
      headers["Helicone-Auth"] = "Bearer " .. key
   end
end

function request()
   local t = now()
   if deadline == nil then
      started, deadline = t, t + load_seconds
   elseif t >= deadline then
      return "" -- drain: send nothing more on this connection
   end
   counter = counter + 1
   sent = sent + 1
   if key ~= "-" then
      headers["Helicone-Session-Id"] = string.format("%s-%05d", tag, counter % SESSIONS)
   end
   return wrk.format("POST", path, headers, body)
end

function response(status, response_headers, response_body)
   answered = answered + 1
   last_answer = now()
   if status == 200 then
      ok = ok + 1
   else
      other = other + 1
   end
end

function done(summary, latency, requests)
   local totals = { sent = 0, answered = 0, ok = 0, other = 0 }
   local first_start, last_answer_all = math.huge, 0
   for _, thread in ipairs(threads) do
      for name, _ in pairs(totals) do
         totals[name] = totals[name] + thread:get(name)
      end
      first_start = math.min(first_start, thread:get("started"))
      last_answer_all = math.max(last_answer_all, thread:get("last_answer"))
   end
   totals.sent = totals.sent - 1 -- wrk calls request() once in the first thread to check it; never sent
   local histogram = {}
   for i = 1, #latency do
      local value, count = latency(i)
      histogram[i] = string.format("[%d,%d]", value, count)
   end
   local errors = summary.errors
   io.write(string.format(
      'WRK_RESULT {"load_seconds": %.6f, "sent": %d, "answered": %d, "ok": %d, "other": %d, '
         .. '"socket_errors": %d, "duration_us": %d, "complete": %d, "histogram": [%s]}\n',
      last_answer_all - first_start, totals.sent, totals.answered, totals.ok, totals.other,
      errors.connect + errors.read + errors.write + errors.timeout, summary.duration, summary.requests,
      table.concat(histogram, ",")
   ))
end
""".replace("SESSIONS", str(SESSIONS))


@dataclass
class Tally:
    """One configuration's calls over all its runs: latencies (seconds), counts and load time."""

    seconds: list[float] = field(default_factory=list)
    corrected: list[float] = field(default_factory=list)  # wrk only: with its omission correction
    load_seconds: float = 0.0
    sent: int = 0
    answered: int = 0
    ok: int = 0
    other: int = 0
    socket_errors: int = 0
    cpu: Counter[str] = field(default_factory=Counter)  # CPU seconds each server spent on the calls

    @property
    def latency(self) -> Latency:
        return Latency.of(self.seconds)

    @property
    def rate(self) -> float:
        return self.answered / self.load_seconds if self.load_seconds else 0.0

    @property
    def unanswered(self) -> int:
        return self.sent - self.answered

    def cpu_ms_per_call(self, server: str) -> float:
        return self.cpu[server] * 1000 / self.answered if self.answered else math.nan


@dataclass
class Servers:
    direct: Server
    gateway: Server
    key: str
    db_path: Path
    lua_path: Path
    gateway_ok: int = 0  # every 200 the gateway gave, warm-ups included: each must become a row

    def base_url(self, target: str) -> str:
        return self.direct.base_url if target == "direct" else self.gateway.base_url

    def path(self, target: str) -> str:
        return CHAT_PATH if target == "direct" else GATEWAY_PATH

    @contextmanager
    def cpu_spent(self) -> Iterator[Counter[str]]:
        """CPU seconds (user + system, all threads) each server uses inside the block."""
        processes = {"fake": psutil.Process(self.direct.pid), "heliograph": psutil.Process(self.gateway.pid)}
        before = {name: sum(process.cpu_times()[:2]) for name, process in processes.items()}
        spent: Counter[str] = Counter()
        yield spent
        for name, process in processes.items():
            spent[name] = sum(process.cpu_times()[:2]) - before[name]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument(
        "--duration", type=int, default=10, help="wrk seconds per configuration, over all rounds (default 10)"
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="alternating runs per configuration (default 2)"
    )
    parser.add_argument(
        "--stream-calls", type=int, default=300, help="streamed calls per configuration (default 300)"
    )
    return parser.parse_args()


def run_orders(rounds: int) -> Iterator[tuple[int, tuple[str, ...]]]:
    """For each round, each concurrency level with its targets, the first target alternating."""
    for round_index in range(rounds):
        for concurrency in CONCURRENCY:
            yield concurrency, TARGETS if round_index % 2 == 0 else TARGETS[::-1]


# -- non-streaming, with wrk -------------------------------------------------------------------


def run_wrk(servers: Servers, target: str, concurrency: int, seconds: int, tag: str) -> Tally:
    """`seconds` of load then a drain, all bounded; the counts and histogram come from done()."""
    threads = min(2, concurrency)
    key = servers.key if target == "gateway" else "-"
    argv = [
        *("wrk", f"-t{threads}", f"-c{concurrency}", f"-d{seconds + DRAIN_SECONDS}s", "--timeout", "30s"),
        *("-s", str(servers.lua_path), servers.base_url(target) + servers.path(target)),
        *("--", servers.path(target), key, tag, str(seconds), CHAT_BODY),
    ]
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=seconds + DRAIN_SECONDS + 60, check=False
    )
    for line in done.stdout.splitlines():
        if line.startswith("WRK_RESULT "):
            values = json.loads(line.removeprefix("WRK_RESULT "))
            break
    else:
        raise RuntimeError(f"wrk gave no result (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    corrected = {int(us): int(count) for us, count in values["histogram"]}
    raw = without_wrk_correction(corrected, values["duration_us"], values["complete"], concurrency)
    if (recorded := sum(raw.values())) != values["complete"]:  # e.g. a latency beyond --timeout
        console.print(
            f"[yellow]wrk recorded {recorded:,} latencies for {values['complete']:,} answers[/yellow]"
        )
    tally = Tally(
        seconds=_expand(raw),
        corrected=_expand(corrected),
        load_seconds=values["load_seconds"],
        **{name: values[name] for name in ("sent", "answered", "ok", "other", "socket_errors")},
    )
    if target == "gateway":
        servers.gateway_ok += tally.ok
    return tally


def without_wrk_correction(
    histogram: dict[int, int], duration_us: int, complete: int, connections: int
) -> dict[int, int]:
    """The latencies wrk measured, before the correction it applies ahead of done().

    wrk 4 (stats_correct in stats.c) takes interval = duration / (answers / connections) and, for
    each latency n >= 2 * interval, adds its count again at n - interval, n - 2 * interval, ... while
    above one interval: the calls a client sending at a fixed rate would have seen delayed behind a
    stall. In a closed loop one 170 ms pause at 1 connection becomes some 25 samples, enough to make
    the p99. The pass reads every bucket before anything is added to it, so walking the buckets from
    the top down and subtracting what higher buckets added gives back the measured counts exactly.
    """
    if complete // connections == 0:
        return dict(histogram)
    interval = duration_us // (complete // connections)
    added: Counter[int] = Counter()
    raw: dict[int, int] = {}
    for n in sorted(histogram, reverse=True):
        count = histogram[n] - added[n]
        if count < 0:
            raise RuntimeError(
                f"wrk's latency histogram does not undo (bucket {n} us, interval {interval} us)"
            )
        if count:
            raw[n] = count
        if n >= 2 * interval:
            for m in range(n - interval, interval, -interval):
                added[m] += count
    return raw


def _expand(histogram: dict[int, int]) -> list[float]:
    return [us / 1e6 for us, count in histogram.items() for _ in range(count)]


def merge(into: Tally, run: Tally) -> None:
    into.seconds.extend(run.seconds)
    into.corrected.extend(run.corrected)
    into.load_seconds += run.load_seconds
    into.sent += run.sent
    into.answered += run.answered
    into.ok += run.ok
    into.other += run.other
    into.socket_errors += run.socket_errors
    into.cpu.update(run.cpu)


def bench_plain(servers: Servers, args: argparse.Namespace) -> dict[tuple[str, int], Tally]:
    seconds = max(1, args.duration // args.rounds)
    for target in TARGETS:
        console.print(f"non-streaming warm-up: {target}, {WARMUP_SECONDS}s at 32 connections")
        run_wrk(servers, target, 32, WARMUP_SECONDS, "warmup")
    tallies = {(t, c): Tally() for t in TARGETS for c in CONCURRENCY}
    for round_index, (concurrency, targets) in enumerate(run_orders(args.rounds)):
        for target in targets:
            console.print(f"non-streaming: {target}, {concurrency} connection(s), {seconds}s")
            with servers.cpu_spent() as cpu:
                run = run_wrk(servers, target, concurrency, seconds, f"r{round_index}")
            run.cpu = cpu
            merge(tallies[target, concurrency], run)
    return tallies


# -- streaming, with aiohttp -------------------------------------------------------------------


async def stream_calls(
    client: aiohttp.ClientSession, url: str, headers: dict[str, str], concurrency: int, calls: int
) -> Tally:
    """`calls` streamed calls from `concurrency` workers; each records the time to its first body chunk."""
    tally = Tally()
    statuses: Counter[int] = Counter()
    remaining = calls
    deadline = time.monotonic() + STREAM_RUN_SECONDS

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0 and time.monotonic() < deadline:
            remaining -= 1
            tally.sent += 1
            started = time.perf_counter()
            try:
                async with client.post(url, data=STREAM_BODY, headers=headers) as response:
                    first = None
                    async for _chunk in response.content.iter_any():
                        if first is None:
                            first = time.perf_counter()
            except aiohttp.ClientError:
                tally.socket_errors += 1
                continue
            tally.answered += 1
            statuses[response.status] += 1
            if response.status == 200 and first is not None:
                tally.seconds.append(first - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    tally.load_seconds = time.perf_counter() - started
    tally.ok = statuses[200]
    tally.other = tally.answered - tally.ok
    return tally


async def bench_streaming_async(servers: Servers, args: argparse.Namespace) -> dict[tuple[str, int], Tally]:
    calls = max(1, args.stream_calls // args.rounds)
    tallies = {(t, c): Tally() for t in TARGETS for c in CONCURRENCY}
    headers = {
        "direct": {"Content-Type": "application/json", **UPSTREAM_AUTH},
        "gateway": {
            "Content-Type": "application/json",
            **UPSTREAM_AUTH,
            "Helicone-Auth": f"Bearer {servers.key}",
            "Helicone-Session-Id": "bench-stream",
        },
    }
    clients: dict[tuple[str, int], aiohttp.ClientSession] = {}
    try:
        for concurrency in CONCURRENCY:
            for target in TARGETS:
                client = aiohttp.ClientSession(
                    base_url=servers.base_url(target),
                    connector=aiohttp.TCPConnector(limit=concurrency),
                    timeout=aiohttp.ClientTimeout(total=30),
                    auto_decompress=False,
                )
                clients[target, concurrency] = client
                warmup = await stream_calls(
                    client, servers.path(target), headers[target], concurrency, 2 * concurrency
                )
                if target == "gateway":
                    servers.gateway_ok += warmup.ok
        for concurrency, targets in run_orders(args.rounds):
            for target in targets:
                console.print(f"streaming: {target}, {concurrency} client(s), {calls} calls")
                client = clients[target, concurrency]
                with servers.cpu_spent() as cpu:
                    run = await stream_calls(
                        client, servers.path(target), headers[target], concurrency, calls
                    )
                run.cpu = cpu
                if target == "gateway":
                    servers.gateway_ok += run.ok
                merge(tallies[target, concurrency], run)
    finally:
        for client in clients.values():
            await client.close()
    return tallies


# -- logging check -----------------------------------------------------------------------------


def gateway_metrics(server: Server) -> dict[str, float]:
    text = httpx.get(f"{server.base_url}/metrics", timeout=5).text
    samples = (line.split() for line in text.splitlines() if line and not line.startswith("#"))
    return {name: float(value) for name, value in samples}


def count_rows(db_path: Path) -> tuple[int, int]:
    """Rows in `requests`, and those of them with status 200, read from the file (read-only)."""
    with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)) as conn:
        total, ok = conn.execute("SELECT count(*), coalesce(sum(status = 200), 0) FROM requests").fetchone()
    return int(total), int(ok)


def settled(servers: Servers) -> tuple[int, int, dict[str, float], float]:
    """Rows once every proxied call has been logged, the queue is empty and the count stopped moving
    (bounded wait); with the gateway's counters and how long the wait took."""
    started = time.monotonic()
    previous = (-1, -1)
    while True:
        rows = count_rows(servers.db_path)
        metrics = gateway_metrics(servers.gateway)
        handled = (
            metrics["heliograph_gateway_logged_total"] + metrics["heliograph_gateway_log_failures_total"]
        )
        quiet = handled == metrics["heliograph_gateway_calls_total"]
        if quiet and metrics["heliograph_ingest_queue_depth"] == 0 and rows == previous:
            return *rows, metrics, time.monotonic() - started
        if time.monotonic() - started > SETTLE_SECONDS:
            console.print(f"[yellow]Rows still changing {SETTLE_SECONDS:.0f}s after the load ended[/yellow]")
            return *rows, metrics, time.monotonic() - started
        previous = rows
        time.sleep(0.3)


def check_logging(servers: Servers, plain: dict[tuple[str, int], Tally]) -> None:
    rows, rows_ok, metrics, waited = settled(servers)
    unanswered = sum(t.unanswered for (target, _), t in plain.items() if target == "gateway")
    print_table(
        f"Logging: gateway calls answered 200 vs rows in `requests` (settled after {waited:.1f}s)",
        ("", "count"),
        [
            ("gateway calls answered 200 (warm-ups included)", f"{servers.gateway_ok:,}"),
            ("rows in `requests`", f"{rows:,}"),
            ("  of which status 200", f"{rows_ok:,}"),
            (
                "gateway calls (heliograph_gateway_calls_total)",
                f"{metrics['heliograph_gateway_calls_total']:,.0f}",
            ),
            (
                "logged (heliograph_gateway_logged_total)",
                f"{metrics['heliograph_gateway_logged_total']:,.0f}",
            ),
            ("log failures", f"{metrics['heliograph_gateway_log_failures_total']:,.0f}"),
            ("ingest queue depth", f"{metrics['heliograph_ingest_queue_depth']:,.0f}"),
            ("wrk calls sent but unanswered at the end", f"{unanswered:,}"),
        ],
    )
    if rows_ok < servers.gateway_ok:
        fail(f"only {rows_ok:,} rows with status 200 for {servers.gateway_ok:,} gateway calls answered 200")
    if rows != rows_ok:
        console.print(f"[yellow]{rows - rows_ok:,} rows have another status than 200[/yellow]")
    console.print(
        "[bold green]Logging check passed[/bold green]: every call the gateway answered 200 is a row."
    )


# -- output ------------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return f"{value:.2f} ms"


def figure_rows(tallies: dict[tuple[str, int], Tally], what: str) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for concurrency in CONCURRENCY:
        d, g = tallies["direct", concurrency], tallies["gateway", concurrency]
        dl, gl = d.latency, g.latency
        clients = f"{concurrency} client{'s' if concurrency > 1 else ''}"
        rows += [
            (f"{clients}: {what} p50", _ms(dl.p50), _ms(gl.p50), _ms(gl.p50 - dl.p50), ratio(gl.p50, dl.p50)),
            (f"{clients}: {what} p99", _ms(dl.p99), _ms(gl.p99), _ms(gl.p99 - dl.p99), ratio(gl.p99, dl.p99)),
        ]
        if d.corrected and g.corrected:  # wrk's own p99, with its coordinated-omission correction
            d99, g99 = percentile(d.corrected, 99) * 1000, percentile(g.corrected, 99) * 1000
            rows.append(
                (f"{clients}: p99 as wrk prints it", _ms(d99), _ms(g99), _ms(g99 - d99), ratio(g99, d99))
            )
        rows += [
            (f"{clients}: calls/s", f"{d.rate:,.0f}", f"{g.rate:,.0f}", "", ratio(g.rate, d.rate)),
            (
                f"{clients}: CPU per call, fake upstream",
                _ms(d.cpu_ms_per_call("fake")),
                _ms(g.cpu_ms_per_call("fake")),
                "",
                "",
            ),
            (f"{clients}: CPU per call, heliograph", "", _ms(g.cpu_ms_per_call("heliograph")), "", ""),
            (f"{clients}: calls measured", f"{dl.count:,}", f"{gl.count:,}", "", ""),
            (
                f"{clients}: non-200 / socket errors",
                f"{d.other:,} / {d.socket_errors:,}",
                f"{g.other:,} / {g.socket_errors:,}",
                "",
                "",
            ),
        ]
    return rows


def aim_rows(label: str, tallies: dict[tuple[str, int], Tally]) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for concurrency in CONCURRENCY:
        dl, gl = tallies["direct", concurrency].latency, tallies["gateway", concurrency].latency
        added50, added99 = gl.p50 - dl.p50, gl.p99 - dl.p99
        rows.append(
            (
                f"{label}, {concurrency} client{'s' if concurrency > 1 else ''}",
                _ms(added50),
                "met" if added50 < AIM_P50_MS else "MISSED",
                _ms(added99),
                "met" if added99 < AIM_P99_MS else "MISSED",
            )
        )
    return rows


def report(
    plain: dict[tuple[str, int], Tally],
    stream: dict[tuple[str, int], Tally],
    rss: dict[str, int],
    args: argparse.Namespace,
) -> None:
    header = ("", "direct", "gateway", "added (gateway - direct)", "gateway/direct")
    per_run = max(1, args.duration // args.rounds)
    print_table(
        f"Non-streaming chat completions (wrk, {args.rounds} x {per_run}s per configuration; 1 client = "
        "-c1 -t1, 32 clients = -c32 -t2)",
        header,
        figure_rows(plain, "latency"),
    )
    calls = max(1, args.stream_calls // args.rounds)
    print_table(
        f"Streaming chat completions: time to first body chunk (aiohttp, {args.rounds} x {calls} calls "
        "per configuration)",
        header,
        figure_rows(stream, "TTFT"),
    )
    print_table(
        f"Aim: added latency under {AIM_P50_MS:g} ms at p50 and under {AIM_P99_MS:g} ms at p99",
        ("", "added p50", "", "added p99", ""),
        aim_rows("non-streaming latency", plain) + aim_rows("streaming TTFT", stream),
    )
    print_table(
        "Servers",
        ("", "peak RSS"),
        [("heliograph serve", mib(rss["heliograph"])), ("fake upstream", mib(rss["fake"]))],
    )


# -- main --------------------------------------------------------------------------------------


def fake_upstream_argv(port: int) -> list[str]:
    return [
        *(sys.executable, "-m", "uvicorn", "heliograph.testing.fake_upstream:app"),
        *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"),
    ]


def answers_a_chat(client: httpx.Client) -> bool:
    """The fake has no GET route: it is ready once it answers a chat completion."""
    return client.post(CHAT_PATH, json=CHAT, headers=UPSTREAM_AUTH).status_code == 200


def main() -> None:
    args = parse_args()
    if args.duration < 1 or args.rounds < 1 or args.stream_calls < 1:
        fail("--duration, --rounds and --stream-calls must be at least 1")
    print_context("Gateway benchmark")
    if shutil.which("wrk") is None:
        fail("wrk is not installed (Debian/Ubuntu: apt-get install -y wrk)")
    os.environ["FAKE_UPSTREAM_PAUSE_S"] = "0"  # inherited by the fake upstream: no pause between chunks
    with tempfile.TemporaryDirectory(prefix="heliograph-bench-gateway-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        db_path = workdir / "heliograph.db"
        url = f"sqlite:///{db_path}"
        key = create_api_key(url, "bench-gateway")
        fake = stack.enter_context(
            running_server("fake-upstream", fake_upstream_argv, workdir, ready=answers_a_chat)
        )

        def heliograph(port: int) -> list[str]:
            upstreams = ("--openai-base-url", f"{fake.base_url}/v1", "--anthropic-base-url", fake.base_url)
            return [*heliograph_argv(port, url), *upstreams]

        gateway = stack.enter_context(running_server("heliograph", heliograph, workdir))
        lua_path = workdir / "gateway.lua"
        lua_path.write_text(WRK_LUA)
        servers = Servers(direct=fake, gateway=gateway, key=key, db_path=db_path, lua_path=lua_path)
        gateway_rss, fake_rss = (
            stack.enter_context(PeakRss(gateway.pid)),
            stack.enter_context(PeakRss(fake.pid)),
        )
        plain = bench_plain(servers, args)
        stream = asyncio.run(bench_streaming_async(servers, args))
        gateway_rss.sample()
        fake_rss.sample()
        report(plain, stream, {"heliograph": gateway_rss.peak_bytes, "fake": fake_rss.peak_bytes}, args)
        check_logging(servers, plain)
        print_context("Done")


if __name__ == "__main__":
    run_main(main)
