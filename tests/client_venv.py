"""Cached virtual environments for client packages that cannot share the server's environment.

helicone-async pins an OpenTelemetry release older than the one the server's own tests need, so its
test runs it from a venv of its own, made once under ~/.cache/heliograph-test-venvs (or
$XDG_CACHE_HOME) and reused. Without PyPI the test skips, saying so; any other install failure fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

__all__ = ["client_venv"]

INSTALL_TIMEOUT_S = 900


def client_venv(name: str, requirements: list[str]) -> Path:
    """The python of a venv named `name` holding exactly `requirements`, created on first use."""
    root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "heliograph-test-venvs"
    venv = root / name
    python = venv / "bin" / "python"
    if (venv / ".ready").exists():
        return python
    building = root / f"{name}.building-{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(building)], check=True)
    install = subprocess.run(
        [
            str(building / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "-q",
            *requirements,
        ],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
    )
    if install.returncode != 0:
        shutil.rmtree(building, ignore_errors=True)
        if not _pypi_reachable():
            pytest.skip(f"PyPI is unreachable, so {name} cannot be installed for its test")
        pytest.fail(f"installing {requirements} failed:\n{install.stdout[-3000:]}\n{install.stderr[-3000:]}")
    (building / ".ready").touch()
    # A venv keeps working when its directory is renamed, as long as it is run as `<venv>/bin/python`.
    try:
        building.rename(venv)
    except OSError:  # another run finished first: use its venv
        shutil.rmtree(building, ignore_errors=True)
    return python


def _pypi_reachable() -> bool:
    """Whether pip's configured index answers at all (it lists pip's own versions)."""
    probe = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", "pip"], capture_output=True, text=True, timeout=120
    )
    return probe.returncode == 0
