"""`heliograph keys create|list|revoke`: API keys, shown once and stored hashed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from heliograph.cli.common import DatabaseUrlOption, err, open_store, settings_with
from heliograph.domain.keys import create_api_key
from heliograph.domain.store import ApiKeyInfo

app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)


async def create_key(database_url: str, *, org: str, name: str, migrate: bool = True) -> str:
    """Create a key for `org` (creating the organization if needed) and return it in clear, once."""
    async with open_store(database_url, migrate=migrate) as store:
        key, _ = await create_api_key(store, org=org, name=name)
        return key


@app.command("create")
def create(
    org: Annotated[str, typer.Option("--org", help="Organization name; created if missing.")],
    name: Annotated[str, typer.Option("--name", help="A label for the key.")] = "default",
    database_url: DatabaseUrlOption = None,
) -> None:
    """Create a key. The key alone is the last line of stdout; store it now, it is not shown again."""
    settings = settings_with(database_url=database_url)
    key = asyncio.run(create_key(settings.database_url, org=org, name=name))
    err.print(f"Created a key for organization [bold]{org}[/bold]. It is shown only once:")
    typer.echo(key)


@app.command("list")
def list_keys(
    org: Annotated[str | None, typer.Option("--org", help="Only this organization's keys.")] = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """List keys by prefix (keys themselves are never stored)."""
    settings = settings_with(database_url=database_url)

    async def run() -> list[ApiKeyInfo]:
        async with open_store(settings.database_url) as store:
            return await store.list_api_keys(org_name=org)

    table = Table()
    table.add_column("key", no_wrap=True)  # the prefix that `keys revoke` takes
    for column in ("organization", "name", "created", "revoked"):
        table.add_column(column)
    for k in asyncio.run(run()):
        table.add_row(
            k.prefix + "…", k.org_name, k.name, _when(k.created_at_ms), _when(k.revoked_at_ms) or "active"
        )
    Console().print(table)


@app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key's prefix as `keys list` shows it (or its id).")],
    database_url: DatabaseUrlOption = None,
) -> None:
    """Revoke a key; requests with it fail from the next call on."""
    settings = settings_with(database_url=database_url)

    async def run() -> bool:
        async with open_store(settings.database_url) as store:
            return await store.revoke_api_key(key_id=key_id.rstrip("…"))

    if not asyncio.run(run()):
        err.print(f"[red]No active key matches {key_id!r}.[/red]")
        raise typer.Exit(1)
    err.print("Revoked.")


def _when(ms: int | None) -> str:
    return "" if ms is None else datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")
