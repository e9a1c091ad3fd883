"""Applies the migrations to a database: `heliograph migrate` and `heliograph serve` call this."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from heliograph.storage.sql.engine import POSTGRES_CONNECT_TIMEOUT_S

__all__ = ["upgrade_to_head"]

_HERE = Path(__file__).parent


def _config(connection: Connection) -> Config:
    config = Config(str(_HERE / "alembic.ini"))
    config.set_main_option("script_location", str(_HERE))
    config.attributes["connection"] = connection
    return config


async def upgrade_to_head(engine: AsyncEngine) -> None:
    """Bring the schema up to the newest revision, in one transaction where the database allows.

    On PostgreSQL the migrations run on a connection of their own without the per-statement timeout
    that bounds serving: a migration that rewrites a table of millions of rows takes longer.
    """
    if engine.dialect.name != "postgresql":
        await _upgrade(engine)
        return
    unbounded = create_async_engine(
        engine.url, poolclass=NullPool, connect_args={"timeout": POSTGRES_CONNECT_TIMEOUT_S}
    )
    try:
        await _upgrade(unbounded)
    finally:
        await unbounded.dispose()


async def _upgrade(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync_conn: command.upgrade(_config(sync_conn), "head"))
