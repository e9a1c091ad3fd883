"""The ClickHouse DDL: plain tables for one server (what the other tests run on chdb), and for a cluster
replicated tables ON CLUSTER behind Distributed tables, checked as text and parsed by ClickHouse's own
parser (`formatQuery`). No cluster runs here, so the cluster statements are never executed."""

from __future__ import annotations

import clickhouse_connect
import pytest
from typer.testing import CliRunner

from heliograph.cli.main import app
from heliograph.storage.clickhouse.schema import MIGRATIONS, TABLES, migration_ddl


def _all_statements(cluster: str | None = None) -> list[str]:
    return [statement for migration in MIGRATIONS for statement in migration_ddl(migration, cluster=cluster)]


def test_the_migrations_create_every_declared_table_once() -> None:
    assert [table for migration in MIGRATIONS for table in migration.tables] == list(TABLES)
    assert [migration.version for migration in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))


def test_one_server_gets_one_replacing_table_per_declaration() -> None:
    statements = _all_statements()
    assert len(statements) == len(TABLES)
    for table, statement in zip(TABLES, statements, strict=True):
        assert statement.startswith(f"CREATE TABLE IF NOT EXISTS {table.name} (")
        assert "ENGINE = ReplacingMergeTree(version, deleted)" in statement
        assert "ON CLUSTER" not in statement


def test_a_cluster_gets_replicated_local_tables_and_distributed_ones_sharded_by_their_key() -> None:
    statements = _all_statements(cluster="prod")
    assert len(statements) == 2 * len(TABLES)
    for table, local, distributed in zip(TABLES, statements[::2], statements[1::2], strict=True):
        assert local.startswith(f"CREATE TABLE IF NOT EXISTS {table.name}_local ON CLUSTER prod (")
        assert (
            "ENGINE = ReplicatedReplacingMergeTree("
            f"'/clickhouse/tables/{{shard}}/{{database}}/{table.name}_local', "
            "'{replica}', version, deleted)" in local
        )
        assert distributed == (
            f"CREATE TABLE IF NOT EXISTS {table.name} ON CLUSTER prod AS {table.name}_local"
            f"\nENGINE = Distributed(prod, currentDatabase(), {table.name}_local, {table.shard_by})"
        )


def test_clickhouse_parses_every_cluster_statement(chdb_url: str) -> None:
    client = clickhouse_connect.get_client(dsn=chdb_url)
    try:
        for statement in _all_statements(cluster="prod"):
            formatted = client.query("SELECT formatQuery({q:String})", {"q": statement}).result_rows[0][0]
            assert "ON CLUSTER prod" in formatted
    finally:
        client.close()


@pytest.mark.parametrize("url", ["sqlite:///tmp/x.db", "chdb:///tmp/x"])
def test_the_cluster_option_needs_a_clickhouse_server_url(url: str) -> None:
    result = CliRunner().invoke(app, ["migrate", "--database-url", url, "--clickhouse-cluster", "prod"])
    assert result.exit_code == 2
    assert "--clickhouse-cluster needs a clickhouse:// or clickhouses:// database URL" in result.stderr
