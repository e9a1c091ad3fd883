"""OTLP span ingestion on SQLite beside the async-log endpoint, in the same run on the same server.

One `heliograph serve` on a fresh SQLite file gets three loads from wrk, one after the other, each
with 32 keep-alive connections and 2 threads after a short warm-up: async logs (`ingest.lua`, one
record per request, the figure of bench/ingest.py), then OTLP/HTTP protobuf exports to `/v1/traces`
(`otlp.lua`) of 1 span and of 100 spans each. The spans are helicone-async's (Traceloop attributes,
an openai chat call with session, path, user and a property), encoded by the OpenTelemetry SDK's own
encoder; every request gets a new trace id, so every span is stored.

Printed: requests/s, records (spans) stored per second, p50/p99 latency, the server's CPU time per
record, non-2xx answers, and each rate against the async log's. Then the durability check: each run's
organization holds exactly 2xx answers x spans per export rows.

Run: `.venv/bin/python bench/otlp.py [--duration 10]` (needs `wrk` on PATH).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator

from _harness import (
    BENCH_DIR,
    Server,
    console,
    cpu_seconds,
    create_api_key,
    fail,
    heliograph_argv,
    print_context,
    print_table,
    ratio,
    run_main,
    running_server,
)
from ingest import BODY_PATH, WrkResult, run_wrk, settled_row_count

LUA_PATH = BENCH_DIR / "otlp.lua"
TRACE_MARKER, SESSION_MARKER = b"TRACEIDMARKER000", "SESSIONMARKER00000"
START_NS = 1_764_150_000_000_000_000
ASSOCIATION = "traceloop.association.properties."


@dataclass(frozen=True)
class Run:
    """One measured load: wrk's result, records stored per request, server CPU seconds per record."""

    name: str
    result: WrkResult
    per_request: int
    cpu_per_record: float

    @property
    def records_per_second(self) -> float:
        return self.result.rps * self.per_request


class _MarkedIds(IdGenerator):
    """The marker as every trace id (otlp.lua replaces it), and span ids 1, 2, 3, ..."""

    def __init__(self) -> None:
        self._span = 0

    def generate_trace_id(self) -> int:
        return int.from_bytes(TRACE_MARKER, "big")

    def generate_span_id(self) -> int:
        self._span += 1
        return self._span


def export_body(spans: int) -> bytes:
    """An ExportTraceServiceRequest of `spans` helicone-async LLM spans, with the two markers."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(id_generator=_MarkedIds())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("opentelemetry.instrumentation.openai.v1")
    for n in range(spans):
        start = START_NS + n * 10_000_000
        span = tracer.start_span(
            "openai.chat",
            start_time=start,
            attributes={
                "llm.request.type": "chat",
                "gen_ai.system": "OpenAI",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
                "gen_ai.usage.prompt_tokens": 12,
                "gen_ai.usage.completion_tokens": 40,
                "gen_ai.prompt.0.role": "user",
                "gen_ai.prompt.0.content": "Plan a trip",
                "gen_ai.completion.0.role": "assistant",
                "gen_ai.completion.0.content": "Day 1: ...",
                f"{ASSOCIATION}Helicone-Session-Id": SESSION_MARKER,
                f"{ASSOCIATION}Helicone-Session-Path": f"/agent/step-{n % 7}",
                f"{ASSOCIATION}Helicone-User-Id": "user-7",
                f"{ASSOCIATION}Helicone-Property-Environment": "bench",
            },
        )
        span.end(end_time=start + 1_250_000_000)
    body = encode_spans(exporter.get_finished_spans()).SerializeToString()
    assert body.count(TRACE_MARKER) == spans
    return body


def run_otlp_wrk(server: Server, key: str, body: Path, seconds: int, args: argparse.Namespace) -> WrkResult:
    """`seconds` of OTLP load then a drain, bounded; the result comes from otlp.lua's done() hook."""
    argv = [
        *("wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds + args.drain}s"),
        *("--timeout", "30s", "-s", str(LUA_PATH), f"{server.base_url}/v1/traces"),
        *("--", str(body), key, str(args.sessions), str(seconds)),
    ]
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=seconds + args.drain + 60, check=False
    )
    for line in done.stdout.splitlines():
        if line.startswith("WRK_RESULT "):
            values = json.loads(line.removeprefix("WRK_RESULT "))
            return WrkResult(**{f.name: values[f.name] for f in fields(WrkResult)})
    raise RuntimeError(f"wrk gave no result (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="measured seconds per load (at most 10)")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up seconds per load (default 1)")
    parser.add_argument("--drain", type=int, default=3, help="seconds wrk waits for in-flight answers")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sessions", type=int, default=1000, help="session ids rotated over (default 1000)")
    args = parser.parse_args()
    args.duration = min(args.duration, 10)
    args.body = BODY_PATH  # for ingest.run_wrk
    return args


def main() -> None:
    args = parse_args()
    print_context("OTLP ingestion benchmark")
    if shutil.which("wrk") is None:
        fail("wrk is not installed (Debian/Ubuntu: apt-get install -y wrk)")
    with tempfile.TemporaryDirectory(prefix="heliograph-bench-otlp-") as tmp:
        workdir = Path(tmp)
        db_path = workdir / "heliograph.db"
        url = f"sqlite:///{db_path}"
        bodies = {size: workdir / f"export-{size}.pb" for size in (1, 100)}
        for size, path in bodies.items():
            path.write_bytes(export_body(size))
        runs: list[Run] = []
        with running_server("heliograph", lambda port: heliograph_argv(port, url), workdir) as server:
            for name, size in (("async log", 1), ("OTLP, 1 span per export", 1), ("OTLP, 100 spans", 100)):
                warmup_key, key = (
                    create_api_key(url, f"bench-{len(runs)}-{role}") for role in ("warm", "run")
                )
                console.print(f"{name}: warm-up {args.warmup}s, then {args.duration}s measured")

                def load(key: str, seconds: int, size: int = size, name: str = name) -> WrkResult:
                    if name == "async log":
                        return run_wrk(server, key, seconds, "measured", args)
                    return run_otlp_wrk(server, key, bodies[size], seconds, args)

                load(warmup_key, args.warmup)
                cpu_before = cpu_seconds(server.pid)
                result = load(key, args.duration)
                cpu = cpu_seconds(server.pid) - cpu_before
                rows = settled_row_count(server, db_path, key)
                runs.append(Run(name, result, size, cpu / max(result.answered * size, 1)))
                check_durability(runs[-1], rows)
        report(runs, args)


def check_durability(run: Run, rows: int) -> None:
    expected = run.result.ok * run.per_request
    if run.result.unanswered:
        fail(
            f"{run.name}: {run.result.unanswered:,} requests unanswered when wrk stopped "
            "(try a longer --drain)"
        )
    if rows != expected:
        fail(f"{run.name}: {rows:,} rows stored != {expected:,} (2xx answers x records per request)")


def report(runs: list[Run], args: argparse.Namespace) -> None:
    base = runs[0]
    print_table(
        f"Ingestion on SQLite, one server process, {args.connections} connections, "
        f"{args.threads} wrk threads, "
        f"{args.duration}s each after {args.warmup}s warm-up",
        ("", "requests/s", "records/s", "vs async log", "p50", "p99", "CPU per record", "non-2xx"),
        [
            (
                run.name,
                f"{run.result.rps:,.0f}",
                f"{run.records_per_second:,.0f}",
                ratio(run.records_per_second, base.records_per_second),
                f"{run.result.p50_us / 1000:.1f} ms",
                f"{run.result.p99_us / 1000:.1f} ms",
                f"{run.cpu_per_record * 1e6:,.0f} us",
                f"{run.result.non2xx:,}",
            )
            for run in runs
        ],
    )
    console.print(
        "[bold green]Durability check passed[/bold green]: rows == 2xx answers x records per request."
    )


if __name__ == "__main__":
    run_main(main)
