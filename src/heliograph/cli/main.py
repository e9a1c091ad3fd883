"""`heliograph`: serve, migrate, manage keys, load the demo and copy between stores."""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import socket
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
import uvicorn
from fastapi import FastAPI

from heliograph.app import create_app
from heliograph.cli import demo, keys
from heliograph.cli.common import DatabaseUrlOption, err, open_store, setting_help, settings_with
from heliograph.cli.copy import copy
from heliograph.config import Settings
from heliograph.dashboard import dashboard_secret
from heliograph.domain.keys import hash_api_key
from heliograph.http_protocol import TimedHttpProtocol
from heliograph.ingest.writer_supervisor import shared_writer

# How long a SIGTERM waits for requests in flight (a long gateway stream is cut after it), below the
# 30 s most process managers allow before SIGKILL.
SHUTDOWN_GRACE_S = 10

app = typer.Typer(
    help="Heliograph: self-hostable LLM observability, wire-compatible with Helicone.",
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help: flags read as flags, and "[env ...; default: ...]" stays as written
)
app.add_typer(keys.app, name="keys")
app.command("demo")(demo.demo)
app.command("copy")(copy)


@app.command()
def migrate(
    database_url: DatabaseUrlOption = None,
    clickhouse_cluster: Annotated[
        str | None,
        typer.Option(
            help="ClickHouse only: create replicated tables on every node of this cluster (ON CLUSTER), "
            "behind Distributed tables of the same names."
        ),
    ] = None,
) -> None:
    """Create or upgrade the database schema."""
    settings = settings_with(database_url=database_url)
    if clickhouse_cluster is not None:
        if not settings.database_url.startswith(("clickhouse:", "clickhouses:")):
            err.print("[red]--clickhouse-cluster needs a clickhouse:// or clickhouses:// database URL[/red]")
            raise typer.Exit(2)
        from heliograph.storage.clickhouse.store import ClickHouseStore

        async def on_cluster(url: str, cluster: str) -> None:
            store = ClickHouseStore.from_url(url, cluster=cluster)
            try:
                await store.migrate()
            finally:
                await store.close()

        asyncio.run(on_cluster(settings.database_url, clickhouse_cluster))
    else:
        asyncio.run(_migrate(settings.database_url))
    err.print("Database is up to date.")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help=setting_help("host"))] = None,
    port: Annotated[int | None, typer.Option(help=setting_help("port"))] = None,
    database_url: DatabaseUrlOption = None,
    ready_key: Annotated[
        Path | None,
        typer.Option(help="Keep a ready API key for organization 'default' in this file (for local use)."),
    ] = None,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="Log every request line.")
    ] = False,
    openai_base_url: Annotated[str | None, typer.Option(help=setting_help("openai_base_url"))] = None,
    anthropic_base_url: Annotated[str | None, typer.Option(help=setting_help("anthropic_base_url"))] = None,
    workers: Annotated[int | None, typer.Option(help=setting_help("workers"))] = None,
    load_demo: Annotated[
        bool,
        typer.Option(
            "--demo/--no-demo",
            help="With --ready-key: load the demo sample into 'default' when the key is newly created.",
        ),
    ] = False,
) -> None:
    """Apply migrations and serve the API, the gateway and the dashboard."""
    settings = settings_with(
        host=host,
        port=port,
        database_url=database_url,
        openai_base_url=openai_base_url,
        anthropic_base_url=anthropic_base_url,
        workers=workers,
    )
    if load_demo and ready_key is None:
        err.print("[red]--demo needs --ready-key[/red] (the sample goes to the ready key's organization)")
        raise typer.Exit(2)
    _check_port_free(settings.host, settings.port)
    asyncio.run(_migrate(settings.database_url))
    base = f"http://{settings.host}:{settings.port}"
    if ready_key is not None:
        key, created = asyncio.run(_ready_key(settings.database_url, ready_key))
        err.print(f"API key (organization 'default', kept in {ready_key}):\n  [bold]{key}[/bold]")
        if created and load_demo:
            summary = asyncio.run(demo.load_demo_into(settings.database_url, org="default"))
            err.print(summary.report("default"), highlight=False)
    err.print(f"Heliograph {base}  ·  dashboard {base}/  ·  API docs {base}/docs")
    err.print(f"Database {settings.database_url}")
    # uvicorn answers SIGTERM/SIGINT by refusing new connections, finishing requests in flight (for up
    # to SHUTDOWN_GRACE_S), then running the lifespan shutdown, which writes every queued record; it
    # then re-raises the signal, which this handler turns into exit status 0.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    TimedHttpProtocol.configure(header_timeout=settings.header_timeout, body_timeout=settings.body_timeout)
    if settings.workers == 1:
        _run_uvicorn(settings, create_app(settings, migrate=False), access_log=access_log)
        return
    # Each worker process builds its app from the environment: hand it these settings, with the
    # dashboard secret fixed here so that a cookie one worker signed is valid on every worker.
    environment = settings.environment(secret_key=dashboard_secret(settings))
    os.environ.update(environment)
    if not settings.shares_a_writer():
        _run_uvicorn(settings, "heliograph.app:create_worker_app", access_log=access_log)
        return
    # The workers hand their records to one writer process; it outlives them, to commit what they send
    # while they drain, and is stopped after them.
    with shared_writer(environment) as socket_path:
        os.environ["HELIOGRAPH_INGEST_WRITER_SOCKET"] = str(socket_path)
        err.print(
            f"Ingestion writer on {socket_path}: one process commits for the {settings.workers} workers"
        )
        _run_uvicorn(settings, "heliograph.app:create_worker_app", access_log=access_log)


def _run_uvicorn(settings: Settings, app: FastAPI | str, *, access_log: bool) -> None:
    uvicorn.run(
        app,
        factory=isinstance(app, str),
        workers=settings.workers,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=access_log,
        server_header=False,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        http="heliograph.http_protocol:TimedHttpProtocol",  # deadlines for slow heads and bodies
        limit_concurrency=settings.max_connections,
    )


def _check_port_free(host: str, port: int) -> None:
    """End with a hint, rather than uvicorn's bare bind error, when the port is taken."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            err.print(
                f"[red]Port {port} on {host} is already in use[/red] (another Heliograph, or another "
                f"program). Stop it, or pick another port: --port {port + 1}, HELIOGRAPH_PORT={port + 1}, "
                f"or make run PORT={port + 1}.",
                highlight=False,
            )
            raise typer.Exit(1) from None


def _exit_cleanly(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


async def _migrate(database_url: str) -> None:
    async with open_store(database_url):
        pass


async def _ready_key(database_url: str, path: Path) -> tuple[str, bool]:
    """The key in `path` if it is still active, else a new one written there (mode 0600); and whether
    it is new."""
    if path.exists():
        key = path.read_text().strip()
        async with open_store(database_url) as store:
            if await store.org_for_key_hash(hash_api_key(key)) is not None:
                return key, False
    key = await keys.create_key(database_url, org="default", name="ready key")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(key + "\n")
    return key, True
