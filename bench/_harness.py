"""What the benchmark scripts share: servers on loopback, API keys, RSS sampling, percentiles, output.

Every server is a subprocess started here and stopped here, by its own pid, whatever way the
script ends (normal exit, exception, Ctrl-C or SIGTERM). Every wait loop has a deadline.
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import NoReturn

import httpx
import psutil
from rich.console import Console
from rich.table import Table

BENCH_DIR = Path(__file__).resolve().parent
BIN_DIR = Path(sys.executable).parent
HELIOGRAPH = BIN_DIR / "heliograph"
LOOPBACK = "127.0.0.1"
SERVER_START_SECONDS = 60.0
SERVER_STOP_SECONDS = 20.0

console = Console(highlight=False, width=None if sys.stdout.isatty() else 120)  # wide tables in logs


# -- process hygiene ---------------------------------------------------------------------------


def exit_cleanly_on_signals() -> None:
    """Turn SIGTERM and SIGHUP into SystemExit, and SIGINT into KeyboardInterrupt even when started in
    the background (where SIGINT is inherited ignored), so that every `finally` (and server stop) runs."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def run_main(main: Callable[[], None]) -> None:
    """Run a benchmark's main with clean signal handling; Ctrl-C ends it quietly (status 130)."""
    exit_cleanly_on_signals()
    try:
        main()
    except KeyboardInterrupt:
        console.print("[yellow]Interrupted; servers stopped.[/yellow]")
        raise SystemExit(130) from None


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def stop_process(process: subprocess.Popen[bytes], timeout: float = SERVER_STOP_SECONDS) -> None:
    """SIGTERM the process we started (by its pid), then SIGKILL it if it does not exit in time."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


# -- servers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    """A server subprocess listening on loopback."""

    name: str
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def heliograph_argv(port: int, database_url: str) -> list[str]:
    """`heliograph serve` exactly as an operator runs it."""
    return [str(HELIOGRAPH), "serve", "--host", LOOPBACK, "--port", str(port), "--database-url", database_url]


@contextmanager
def running_server(
    name: str,
    argv_for_port: Callable[[int], list[str]],
    log_dir: Path,
    *,
    ready_path: str = "/healthz",
    ready: Callable[[httpx.Client], bool] | None = None,
) -> Iterator[Server]:
    """Start a server on a free port, wait until `ready_path` answers 200, and stop it on the way out.

    `ready`, if given, replaces the GET of `ready_path`: it is called with a client on the server's
    base URL (2 s timeout) until it returns True, for servers with no GET route that answers 200."""
    port = free_port()
    log_path = log_dir / f"{name}.log"
    with log_path.open("ab") as log_file:  # the child keeps its own descriptor
        process = subprocess.Popen(
            argv_for_port(port), stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(name, f"http://{LOOPBACK}:{port}", process, log_path)
    try:
        _wait_ready(server, ready or (lambda client: client.get(ready_path).status_code == 200))
        yield server
    finally:
        stop_process(process)


def _wait_ready(server: Server, ready: Callable[[httpx.Client], bool]) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    with httpx.Client(base_url=server.base_url, timeout=2) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(
                    f"{server.name} exited with {server.process.returncode}:\n{server.log_tail()}"
                )
            with contextlib.suppress(httpx.TransportError):
                if ready(client):
                    return
            time.sleep(0.1)
    raise RuntimeError(
        f"{server.name} was not ready within {SERVER_START_SECONDS:.0f}s:\n{server.log_tail()}"
    )


def create_api_key(database_url: str, org: str) -> str:
    """A new key for `org` (created if missing) through `heliograph keys create`, as an operator would."""
    result = subprocess.run(
        [str(HELIOGRAPH), "keys", "create", "--org", org, "--name", "bench", "--database-url", database_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"`heliograph keys create` failed ({result.returncode}):\n{result.stderr}")
    return result.stdout.strip().splitlines()[-1]


# -- measurements ------------------------------------------------------------------------------


class PeakRss:
    """Polls the resident set size of a process and its children (workers) in a background thread and
    keeps the peak of their sum."""

    def __init__(self, pid: int, *, interval: float = 0.05, max_seconds: float = 3600.0) -> None:
        self._process = psutil.Process(pid)
        self._interval = interval
        self._max_seconds = max_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-rss", daemon=True)
        self.peak_bytes = 0

    def __enter__(self) -> PeakRss:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sample()

    def sample(self) -> None:
        with contextlib.suppress(psutil.Error):  # the process has gone: keep what was seen
            rss = sum(process.memory_info().rss for process in process_tree(self._process))
            self.peak_bytes = max(self.peak_bytes, rss)

    def _run(self) -> None:
        deadline = time.monotonic() + self._max_seconds
        while not self._stop.wait(self._interval) and time.monotonic() < deadline:
            self.sample()


def process_tree(process: psutil.Process) -> list[psutil.Process]:
    """The process and all its descendants (a server's worker processes)."""
    return [process, *process.children(recursive=True)]


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time used so far by a process and its descendants."""
    return sum(sum(process.cpu_times()[:2]) for process in process_tree(psutil.Process(pid)))


def percentile(samples: Sequence[float], p: float) -> float:
    """The p-th percentile (0..100) with linear interpolation between closest ranks."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Latency:
    """Latency percentiles in milliseconds."""

    p50: float
    p95: float
    p99: float
    count: int

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Latency:
        ms = [s * 1000 for s in seconds]
        return cls(percentile(ms, 50), percentile(ms, 95), percentile(ms, 99), len(ms))


def ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.2f}x" if denominator else "n/a"


def mib(n_bytes: int) -> str:
    return f"{n_bytes / 2**20:.0f} MiB"


# -- output ------------------------------------------------------------------------------------


def print_context(what: str) -> None:
    """When and where the figures were taken; warns when other work is loading the CPUs."""
    cores, load = os.cpu_count() or 1, os.getloadavg()[0]
    console.print(
        f"{what}: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {cores} cores, load average {load:.2f}, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )
    if load > cores / 4:
        console.print(
            "[yellow]Other processes are using the CPUs: figures will be lower and noisier.[/yellow]"
        )


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A right-aligned figures table (first column left-aligned)."""
    console.print(f"\n[bold]{title}[/bold]")
    table = Table()
    for index, name in enumerate(header):
        table.add_column(name, justify="left" if index == 0 else "right")
    for row in rows:
        table.add_row(*row)
    console.print(table)


def fail(message: str) -> NoReturn:
    """Say loudly what went wrong and exit non-zero."""
    console.print(f"[bold red]FAILED:[/bold red] {message}")
    raise SystemExit(1)
