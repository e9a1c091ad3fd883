"""The threads a function ran on, for tests that prove work is done off the event loop.

Such a test wraps the function that does the heavy work (parsing a large body, compiling a filter's
SQL) and asserts that it ran, and never on the thread that runs the event loop. Timing the loop's
steps instead would fail by chance on a busy machine.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

__all__ = ["threads_running"]


def threads_running(
    monkeypatch: pytest.MonkeyPatch, owner: object, name: str, *, when: Callable[..., bool] | None = None
) -> list[threading.Thread]:
    """Replace `owner.name` with a wrapper that records the thread of each call (of each call for
    which `when(*args, **kwargs)` holds); the list fills as the test runs."""
    real = getattr(owner, name)
    threads: list[threading.Thread] = []

    def recording(*args: Any, **kwargs: Any) -> Any:
        if when is None or when(*args, **kwargs):
            threads.append(threading.current_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, recording)
    return threads
