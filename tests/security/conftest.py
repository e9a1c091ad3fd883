"""Reports how many requests the schemathesis run sent, by operation and status, after the tests."""

from __future__ import annotations

import sys

import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    module = sys.modules.get("test_schemathesis") or next(
        (m for name, m in sys.modules.items() if name.endswith("security.test_schemathesis")), None
    )
    cases: dict[str, dict[int, int]] = getattr(module, "CASES", {})
    if not cases:
        return
    total = sum(sum(by_status.values()) for by_status in cases.values())
    terminalreporter.section("schemathesis")
    terminalreporter.write_line(f"{total} cases over {len(cases)} operations")
    for operation, by_status in sorted(cases.items()):
        statuses = ", ".join(f"{status}: {n}" for status, n in sorted(by_status.items()))
        terminalreporter.write_line(f"  {operation}  {statuses}")
