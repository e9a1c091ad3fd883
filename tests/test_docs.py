"""The README documents every setting and every command."""

from __future__ import annotations

from pathlib import Path

from typer.main import get_command

from heliograph.cli.main import app
from heliograph.config import Settings

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_every_setting_is_in_the_configuration_table_with_its_description() -> None:
    for name, field in Settings.model_fields.items():
        row = f"| `HELIOGRAPH_{name.upper()}` | `{field.default}` | {field.description} |"
        assert row in README, f"README is missing or has a stale row for {name}:\n{row}"


def test_every_command_is_in_the_readme() -> None:
    group = get_command(app)
    names = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        sub = getattr(command, "commands", None)
        names += [f"heliograph {name} {s}" for s in sub] if sub else [f"heliograph {name}"]
    for name in names:
        assert f"`{name}" in README, f"README does not document {name}"
