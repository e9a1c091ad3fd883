"""The README's shell examples, run as written against a real server with the demo loaded (issue 14).

Each `$ ` command of the README's console blocks runs in one bash session, in a directory laid out as
`make run` leaves it (`.heliograph/api-key`); what it prints must be what the README shows: JSON equal
as JSON, other lines present in order (ids may differ). Only the blocks that call curl run (the others
start servers or install).
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from support import Server, start_server, stop_server

README = Path(__file__).parent.parent / "README.md"
README_BASE_URL = "http://127.0.0.1:8585"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_MARK = "--- next README command ---"


@dataclass(frozen=True)
class Example:
    command: str
    shown: str


def readme_examples(text: str) -> list[Example]:
    """The commands of every console block that calls curl, each with the output the README shows."""
    examples = []
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        if "curl " not in block:
            continue
        lines = block.splitlines()
        i = 0
        while i < len(lines):
            assert lines[i].startswith("$ "), lines[i]
            command = [lines[i][2:]]
            while command[-1].endswith("\\") or "".join(command).count("'") % 2:
                i += 1
                command.append(lines[i])
            i += 1
            shown = []
            while i < len(lines) and not lines[i].startswith("$ "):
                shown.append(lines[i])
                i += 1
            examples.append(Example("\n".join(command), "\n".join(shown).strip()))
    return examples


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    """A server as `make run` starts it: a ready key in .heliograph/api-key and the demo loaded."""
    home = tmp_path_factory.mktemp("readme")
    key_file = home / ".heliograph" / "api-key"
    server = start_server(
        f"sqlite:///{home / 'heliograph.db'}", home / "server.log", "--ready-key", str(key_file), "--demo"
    )
    yield server, home
    stop_server(server)


def _outputs(examples: list[Example], *, base_url: str, cwd: Path) -> list[str]:
    script = f"\necho '{_MARK}'\n".join(e.command.replace(README_BASE_URL, base_url) for e in examples)
    done = subprocess.run(["bash", "-c", script], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [part.strip() for part in done.stdout.replace("\r", "").split(_MARK)]


def _same(shown: str, printed: str) -> bool:
    if shown.startswith("{"):
        return bool(json.loads(shown) == json.loads(printed))
    printed_lines = iter(_UUID.sub("<id>", printed).splitlines())
    return all(any(line == got for got in printed_lines) for line in _UUID.sub("<id>", shown).splitlines())


def test_the_readme_has_curl_examples_to_run() -> None:
    examples = readme_examples(README.read_text())
    assert sum("curl" in e.command for e in examples) >= 3


def test_every_readme_shell_example_prints_what_the_readme_shows(demo_server: tuple[Server, Path]) -> None:
    server, home = demo_server
    examples = readme_examples(README.read_text())
    for example, printed in zip(
        examples, _outputs(examples, base_url=server.base_url, cwd=home), strict=True
    ):
        assert _same(example.shown, printed), (
            f"{example.command}\n--- README shows:\n{example.shown}\n--- got:\n{printed}"
        )
