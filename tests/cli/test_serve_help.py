"""`heliograph serve` for a newcomer: its help names defaults and variables, a busy port gets a hint."""

from __future__ import annotations

import re
import socket
from pathlib import Path

from typer.testing import CliRunner

from heliograph.cli.main import app
from heliograph.config import Settings


def test_serve_help_shows_each_setting_s_variable_and_default() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"], terminal_width=200)
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for name in ("host", "port", "database_url", "openai_base_url", "anthropic_base_url", "workers"):
        assert f"[env HELIOGRAPH_{name.upper()}; default: {Settings.model_fields[name].default}]" in text, (
            name
        )


def test_boolean_options_read_as_flags() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"], terminal_width=200)
    assert "--demo / --no-demo" in result.output
    assert "--access-log / --no-access-log" in result.output
    assert "<bool>" not in result.output
    assert not re.search(r"--demo\s+<", result.output)


def test_a_busy_port_ends_with_a_hint_not_a_traceback(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            app, ["serve", "--port", str(port), "--database-url", f"sqlite:///{tmp_path}/x.db"]
        )
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert f"Port {port} on 127.0.0.1 is already in use" in text
    assert f"--port {port + 1}" in text and f"HELIOGRAPH_PORT={port + 1}" in text
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.db").exists()  # it stopped before touching the database
