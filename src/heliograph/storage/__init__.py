"""Storage: the backends behind the `Store` port (`heliograph.domain.store`), chosen by database URL."""

from __future__ import annotations

from heliograph.domain.store import Store

__all__ = ["CLICKHOUSE_SCHEMES", "open_store", "single_process_only"]

CLICKHOUSE_SCHEMES = ("clickhouse:", "clickhouses:", "chdb:")


def open_store(url: str) -> Store:
    """The store for `url`: SQLite or PostgreSQL (sql/), or ClickHouse and chdb (clickhouse/)."""
    if url.startswith(CLICKHOUSE_SCHEMES):
        from heliograph.storage.clickhouse.store import ClickHouseStore  # the `clickhouse` extra

        return ClickHouseStore.from_url(url)
    from heliograph.storage.sql.store import SqlStore

    return SqlStore.from_url(url)


def single_process_only(url: str) -> bool:
    """Whether only one process may open the database at a time (embedded ClickHouse)."""
    return url.startswith("chdb:")
