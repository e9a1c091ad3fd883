"""What every command shares: settings with command-line overrides, and an open, migrated store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console

from heliograph.config import Settings
from heliograph.domain.store import Store
from heliograph.errors import Unavailable
from heliograph.storage import open_store as store_for_url

__all__ = ["DatabaseUrlOption", "err", "open_store", "setting_help", "settings_with"]

err = Console(stderr=True, soft_wrap=True)


def setting_help(name: str) -> str:
    """The help of an option that overrides setting `name`: its description, variable and default."""
    field = Settings.model_fields[name]
    return f"{field.description} [env HELIOGRAPH_{name.upper()}; default: {field.default}]"


DatabaseUrlOption = Annotated[
    str | None, typer.Option("--database-url", help=setting_help("database_url"), show_default=False)
]


def settings_with(**overrides: Any) -> Settings:
    """Settings from the environment, with the options given on the command line winning."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        for error in exc.errors():
            err.print(f"[red]Configuration error:[/red] {str(error['msg']).removeprefix('Value error, ')}")
        raise typer.Exit(2) from None


@asynccontextmanager
async def open_store(database_url: str, *, migrate: bool = True) -> AsyncIterator[Store]:
    """A store on `database_url`, with the schema brought up to date unless `migrate` is False; a store
    that cannot be opened ends the command with its reason (exit status 1), not a traceback."""
    try:
        store = store_for_url(database_url)
    except Unavailable as exc:
        err.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None
    try:
        if migrate:
            await store.migrate()
        yield store
    finally:
        await store.close()
