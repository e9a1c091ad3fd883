"""The ClickHouse backend: a ClickHouse server or cluster (`clickhouse://`), or embedded ClickHouse (`chdb://`)."""
