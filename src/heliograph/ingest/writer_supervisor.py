"""Runs the shared writer process beside `serve --workers N` and restarts it whenever it dies.

`shared_writer(settings)` starts `ingest.writer_service` on a socket in a private directory (mode 0700:
only this user's processes can connect), waits until it takes connections, and yields the socket's
path for the workers. A thread watches the process and starts a new one, after RESTART_DELAY_S, if it
dies (exits with a status other than 0: it exits 0 only after a drain); meanwhile the workers answer
503. On leaving (the workers have stopped), the writer is sent
SIGTERM and has DRAIN_BOUND_S to commit what it holds.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from heliograph.ingest.writer_service import DRAIN_BOUND_S

__all__ = ["WriterSupervisor", "shared_writer"]

log = logging.getLogger(__name__)

RESTART_DELAY_S = 0.5
START_BOUND_S = 60.0


@contextmanager
def shared_writer(environment: dict[str, str]) -> Iterator[Path]:
    """A running writer for the duration of the block, with `environment` (its `HELIOGRAPH_*` settings)."""
    directory = Path(tempfile.mkdtemp(prefix="heliograph-writer-"))
    supervisor = WriterSupervisor(directory / "writer.sock", environment)
    try:
        supervisor.start()
        yield supervisor.socket_path
    finally:
        supervisor.stop()
        shutil.rmtree(directory, ignore_errors=True)


class WriterSupervisor:
    """Keeps one `ingest.writer_service` process alive on `socket_path` until `stop`."""

    def __init__(self, socket_path: Path, environment: dict[str, str]) -> None:
        self.socket_path = socket_path
        self._environment = {**os.environ, **environment}
        self._stopping = threading.Event()
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._watcher = threading.Thread(target=self._watch, name="heliograph-writer-watch", daemon=True)

    def start(self) -> None:
        """Start the writer and wait until it takes connections; raise RuntimeError if it cannot."""
        self._spawn()
        deadline = time.monotonic() + START_BOUND_S
        while not self._accepts():
            process = self._process
            assert process is not None
            if process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the ingestion writer did not start (exit status {process.poll()})")
            time.sleep(0.02)
        self._watcher.start()

    def stop(self) -> None:
        """SIGTERM the writer and wait for its drain (SIGKILL after DRAIN_BOUND_S)."""
        with self._lock:
            self._stopping.set()
            process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=DRAIN_BOUND_S + 5)
        except subprocess.TimeoutExpired:
            log.error("the ingestion writer did not drain in time; killing it")
            process.kill()
            process.wait()

    def _spawn(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "heliograph.ingest.writer_service", str(self.socket_path)],
            env=self._environment,
            stdin=subprocess.PIPE,  # its end tells the writer this process has gone
        )

    def _accepts(self) -> bool:
        with socket.socket(socket.AF_UNIX) as probe:
            try:
                probe.connect(str(self.socket_path))
            except OSError:
                return False
        return True

    def _watch(self) -> None:
        while True:
            process = self._process
            assert process is not None
            status = process.wait()
            if status == 0:  # it drained and stopped on a signal of its own (SIGTERM to the whole group)
                return
            if self._stopping.wait(RESTART_DELAY_S):
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                log.error("the ingestion writer exited with status %s; starting it again", status)
                self._spawn()
