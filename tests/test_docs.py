"""The README documents every setting and every command; the docs that name code name what exists."""

from __future__ import annotations

import ast
import re
import time
from pathlib import Path

from typer.main import get_command

from heliograph import errors
from heliograph.cli.main import app
from heliograph.config import Settings
from heliograph.domain.webhooks import sign
from heliograph.storage.sql.schema import metadata

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


# -- docs that name code -------------------------------------------------------------------------

SRC = Path(__file__).parent.parent / "src" / "heliograph"
STORAGE_README = SRC / "storage" / "README.md"


def _defined_names() -> set[str]:
    """Every function, class, method, constant and keyword parameter defined in the package."""
    names: set[str] = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names.update(t.id for t in targets if isinstance(t, ast.Name))
            elif isinstance(node, ast.arg):
                names.add(node.arg)
    return names


def _schema_names() -> set[str]:
    """The tables and columns of the SQL schema, and every word in the storage code's strings (the
    ClickHouse tables and columns, pragmas and settings are named in SQL text)."""
    words = {
        word
        for path in (SRC / "storage").rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        for word in re.findall(r"\w+", node.value)
    }
    return (
        words
        | {table.name for table in metadata.tables.values()}
        | {column.name for table in metadata.tables.values() for column in table.columns}
    )


def test_the_storage_readme_names_only_files_and_code_that_exist() -> None:
    known = _defined_names() | _schema_names()
    for token in re.findall(r"`([^`\n]+)`", STORAGE_README.read_text()):
        if re.fullmatch(r"[\w/.]+(\.py|/)", token):  # a file or a folder of the package
            assert any((base / token).exists() for base in (SRC / "storage", SRC, SRC.parent.parent)), token
        elif re.fullmatch(r"[A-Za-z_]\w*(\.\w+)*", token) and ("_" in token or "." in token):
            *_, name = token.split(".")
            assert name in known or token.startswith("heliograph."), f"storage README names {token!r}"


def test_the_errors_docstring_draws_every_error_with_its_status() -> None:
    drawn = dict(re.findall(r"[├└]── (\w+)\s+(\d{3})", errors.__doc__ or ""))
    actual = {cls.__name__: str(cls.status_code) for cls in errors.HeliographError.__subclasses__()}
    assert drawn == actual


def test_the_monitor_webhook_verification_in_the_docs_accepts_heliograph_s_signature_alone() -> None:
    text = (Path(__file__).parent.parent / "docs" / "monitors.md").read_text()
    (code,) = re.findall(r"```python\n(.*?)```", text, re.S)
    namespace: dict[str, object] = {}
    exec(code, namespace)  # the documented snippet, as a receiver would paste it
    verify = namespace["verify"]
    assert callable(verify)
    body, now = '{"state":"firing","value":0.4}', int(time.time())
    header = sign("whsec-0123456789", body, timestamp=now)
    assert verify("whsec-0123456789", body.encode(), header) is True
    assert verify("another-secret", body.encode(), header) is False
    assert verify("whsec-0123456789", body.replace("0.4", "0.1").encode(), header) is False
    stale = sign("whsec-0123456789", body, timestamp=now - 3600)
    assert verify("whsec-0123456789", body.encode(), stale) is False
    assert verify("whsec-0123456789", body.encode(), "garbage") is False
