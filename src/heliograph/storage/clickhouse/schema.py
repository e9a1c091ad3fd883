"""The ClickHouse schema as data, its versioned migrations, and the DDL for one server or a cluster.

Every table is a ReplacingMergeTree: a change is a new row with a higher `version` (and `deleted` = 1
for a removal), never an `ALTER TABLE … UPDATE` mutation. Merges collapse old versions some time
later, or never (chdb does not merge during the tests), so every read goes through `reads.py`, which
reads each table FINAL: the newest version of each key, without deleted rows.

`requests` is wide: one row per logged call with its session id, a Map of its properties and a Map
of its scores. Feedback and tags are rows of their own per session. `sessions` holds each session's
rollup, recomputed from the de-duplicated requests (and its feedback) by the writer after every write
that touches the session (reads.recompute_sessions), so a list, sort or filter reads one row per
session instead of grouping every request.
"""

from __future__ import annotations

from dataclasses import dataclass

from heliograph.domain.records import now_ms
from heliograph.storage.clickhouse.client import Connection, WriteSession

__all__ = [
    "HIDDEN_PROPERTIES",
    "MIGRATIONS",
    "TABLES",
    "Migration",
    "Table",
    "apply_migrations",
    "migration_ddl",
]

MIGRATIONS_TABLE = "heliograph_migrations"


@dataclass(frozen=True, slots=True)
class Table:
    """A ReplacingMergeTree table: columns, the key that identifies a row, and its sharding expression."""

    name: str
    columns: tuple[tuple[str, str], ...]
    order_by: tuple[str, ...]
    shard_by: str
    indexes: tuple[str, ...] = ()
    versioned: bool = True
    settings: str = ""  # more table settings, after the durable ones

    def column_names(self) -> list[str]:
        return [name for name, _ in self.columns]


_VERSIONED = (("version", "UInt64"), ("deleted", "UInt8"))

ORGANIZATIONS = Table(
    "organizations",
    (("id", "String"), ("name", "String"), ("created_at_ms", "Int64"), *_VERSIONED),
    ("id",),
    "cityHash64(id)",
)
API_KEYS = Table(
    "api_keys",
    (
        ("id", "String"),
        ("org_id", "String"),
        ("key_hash", "String"),
        ("prefix", "String"),
        ("name", "String"),
        ("created_at_ms", "Int64"),
        ("revoked_at_ms", "Nullable(Int64)"),
        *_VERSIONED,
    ),
    ("id",),
    "cityHash64(id)",
    indexes=("INDEX ix_key_hash key_hash TYPE bloom_filter GRANULARITY 1",),
)
REQUESTS = Table(
    "requests",
    (
        ("org_id", "String"),
        ("session_id", "String"),  # '' for a request outside sessions
        ("request_id", "String"),
        ("created_at_ms", "Int64"),
        ("response_created_at_ms", "Int64"),
        ("latency_ms", "Int64"),
        ("time_to_first_token_ms", "Nullable(Int64)"),
        ("status", "Int64"),
        ("provider", "LowCardinality(String)"),
        ("model", "String"),
        ("request_model", "Nullable(String)"),
        ("user_id", "Nullable(String)"),
        ("prompt_tokens", "Int64"),
        ("completion_tokens", "Int64"),
        ("total_tokens", "Int64"),
        ("cache_read_tokens", "Int64"),
        ("cache_write_tokens", "Int64"),
        ("cost_nano_usd", "Int64"),
        ("cost_known", "Bool"),
        ("target_url", "String"),
        ("session_name", "String"),
        ("session_path", "Nullable(String)"),
        ("request_body", "String CODEC(ZSTD(3))"),
        ("response_body", "String CODEC(ZSTD(3))"),
        ("properties", "Map(String, String)"),
        ("scores", "Map(String, Int64)"),
        *_VERSIONED,
    ),
    # A session's requests are one range of the key; a retry of a request has the same key.
    ("org_id", "session_id", "request_id"),
    "cityHash64(org_id, session_id)",
    # Rows are wide (bodies): small granules, so recomputing a session reads few rows beside its own.
    settings="index_granularity = 1024",
    indexes=(
        "INDEX ix_request_id request_id TYPE bloom_filter GRANULARITY 1",
        "INDEX ix_created created_at_ms TYPE minmax GRANULARITY 1",
        "INDEX ix_property_keys mapKeys(properties) TYPE bloom_filter GRANULARITY 1",
        "INDEX ix_property_values mapValues(properties) TYPE bloom_filter GRANULARITY 1",
    ),
)
SESSION_FEEDBACK = Table(
    "session_feedback",
    (
        ("org_id", "String"),
        ("session_id", "String"),
        ("rating", "UInt8"),
        ("rated_at_ms", "Int64"),
        *_VERSIONED,
    ),
    ("org_id", "session_id"),
    "cityHash64(org_id, session_id)",
)
SESSION_TAGS = Table(
    "session_tags",
    (
        ("org_id", "String"),
        ("session_id", "String"),
        ("tag", "String"),
        ("tagged_at_ms", "Int64"),
        *_VERSIONED,
    ),
    ("org_id", "session_id"),
    "cityHash64(org_id, session_id)",
)
SESSIONS = Table(
    "sessions",
    (
        ("org_id", "String"),
        ("session_id", "String"),
        ("name", "String"),
        ("first_request_id", "String"),
        ("first_created_at_ms", "Int64"),
        ("last_created_at_ms", "Int64"),
        ("request_count", "Int64"),
        ("prompt_tokens", "Int64"),
        ("completion_tokens", "Int64"),
        ("total_tokens", "Int64"),
        ("cost_nano_usd", "Int64"),
        ("latency_sum_ms", "Int64"),
        ("feedback", "Nullable(UInt8)"),
        ("user_ids", "Array(String)"),
        # Every (key, value) property, model and provider its requests carry: a session's property
        # filter and the feedback breakdown read this row instead of the session's requests.
        ("property_pairs", "Array(Tuple(String, String))"),
        ("models", "Array(String)"),
        ("providers", "Array(String)"),
        *_VERSIONED,
    ),
    # Newest first is a read in order of the key. A late request that starts earlier moves the
    # session to a new key: the writer deletes the old one (ClickHouseStore.insert_requests).
    ("org_id", "first_created_at_ms", "session_id"),
    "cityHash64(org_id, session_id)",
    indexes=("INDEX ix_session_id session_id TYPE bloom_filter GRANULARITY 1",),
)
# A session whose rollup is about to change: written before the change, so that a rollup a killed
# process never recomputed is found (and recomputed) at the next start.
ROLLUP_PENDING = Table(
    "rollup_pending",
    (("org_id", "String"), ("session_id", "String"), ("marked_ms", "Int64"), *_VERSIONED),
    ("org_id", "session_id"),
    "cityHash64(org_id, session_id)",
)
SIGN_INS = Table(
    "dashboard_sign_ins",
    (
        ("id", "String"),
        ("key_hash", "String"),
        ("created_at_ms", "Int64"),
        ("last_seen_at_ms", "Int64"),
        *_VERSIONED,
    ),
    ("id",),
    "cityHash64(id)",
)
# Property keys an organization hid from its property lists; restoring one writes a deleted version.
HIDDEN_PROPERTIES = Table(
    "hidden_properties",
    (("org_id", "String"), ("key", "String"), ("hidden_at_ms", "Int64"), *_VERSIONED),
    ("org_id", "key"),
    "cityHash64(org_id)",
)
# One row per (session, request, name, rater) (request_id '' for the whole session); `id` is derived from
# that key. A value is kept by kind: a boolean as `number` 1 or 0, a number in `number`, a label in `label`.
FEEDBACK_RECORDS = Table(
    "feedback_records",
    (
        ("org_id", "String"),
        ("session_id", "String"),
        ("request_id", "String"),
        ("name", "String"),
        ("rater", "String"),
        ("id", "String"),
        ("source", "LowCardinality(String)"),
        ("kind", "LowCardinality(String)"),
        ("number", "Nullable(Float64)"),
        ("label", "Nullable(String)"),
        ("comment", "Nullable(String)"),
        ("created_at_ms", "Int64"),
        ("updated_at_ms", "Int64"),
        *_VERSIONED,
    ),
    ("org_id", "session_id", "request_id", "name", "rater"),
    "cityHash64(org_id, session_id)",
    indexes=("INDEX ix_feedback_id id TYPE bloom_filter GRANULARITY 1",),
)
FEEDBACK_CONFIGS = Table(
    "feedback_configs",
    (
        ("org_id", "String"),
        ("name", "String"),
        ("kind", "LowCardinality(String)"),
        ("min_value", "Nullable(Float64)"),
        ("max_value", "Nullable(Float64)"),
        ("labels", "Array(String)"),
        ("description", "String"),
        ("updated_at_ms", "Int64"),
        *_VERSIONED,
    ),
    ("org_id", "name"),
    "cityHash64(org_id, name)",
)
# Feedback monitors (clickhouse/monitors.py): the spec a caller edits, and apart from it the status the
# evaluator writes, so that neither write overwrites the other.
MONITORS = Table(
    "monitors",
    (
        ("org_id", "String"),
        ("id", "String"),
        ("name", "String"),
        ("feedback_name", "String"),
        ("metric", "LowCardinality(String)"),
        ("operator", "LowCardinality(String)"),
        ("threshold", "Float64"),
        ("window_s", "Int64"),
        ("min_rated", "Int64"),
        ("filter", "Nullable(String)"),
        ("webhook_url", "String"),
        ("webhook_secret", "String"),
        ("created_at_ms", "Int64"),
        ("updated_at_ms", "Int64"),
        *_VERSIONED,
    ),
    ("org_id", "id"),
    "cityHash64(org_id)",
)
MONITOR_STATES = Table(
    "monitor_states",
    (
        ("org_id", "String"),
        ("monitor_id", "String"),
        ("state", "LowCardinality(String)"),
        ("value", "Nullable(Float64)"),
        ("rated", "Int64"),
        ("evaluated_at_ms", "Nullable(Int64)"),
        ("transitions", "Int64"),
        *_VERSIONED,
    ),
    ("org_id", "monitor_id"),
    "cityHash64(org_id)",
)
# A delivery is first written with version 1, below every later change of it: writing it again (a
# restart that finds the transition unwritten) never undoes a recorded attempt.
MONITOR_DELIVERIES = Table(
    "monitor_deliveries",
    (
        ("org_id", "String"),
        ("monitor_id", "String"),
        ("id", "String"),
        ("kind", "LowCardinality(String)"),
        ("body", "String"),
        ("status", "LowCardinality(String)"),
        ("attempts", "Int64"),
        ("next_attempt_at_ms", "Int64"),
        ("status_code", "Nullable(Int64)"),
        ("error", "Nullable(String)"),
        ("created_at_ms", "Int64"),
        ("updated_at_ms", "Int64"),
        *_VERSIONED,
    ),
    ("org_id", "monitor_id", "id"),
    "cityHash64(org_id)",
)
# A lease's claims: each is a newer version of the row of its name; the newest is the holder.
LEASES = Table(
    "leases",
    (("name", "String"), ("holder", "String"), ("expires_at_ms", "Int64"), *_VERSIONED),
    ("name",),
    "cityHash64(name)",
)
TABLES = (
    ORGANIZATIONS,
    API_KEYS,
    REQUESTS,
    SESSION_FEEDBACK,
    SESSION_TAGS,
    SESSIONS,
    ROLLUP_PENDING,
    SIGN_INS,
    HIDDEN_PROPERTIES,
    FEEDBACK_RECORDS,
    FEEDBACK_CONFIGS,
    MONITORS,
    MONITOR_STATES,
    MONITOR_DELIVERIES,
    LEASES,
)


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    tables: tuple[Table, ...]


MIGRATIONS = (
    Migration(1, "initial schema", TABLES[:6]),
    Migration(2, "rollups pending recomputation", (ROLLUP_PENDING,)),
    Migration(3, "dashboard sign-ins kept on the server", (SIGN_INS,)),
    Migration(4, "property keys hidden from property lists", (HIDDEN_PROPERTIES,)),
    Migration(5, "feedback records of many raters and their configs", (FEEDBACK_RECORDS, FEEDBACK_CONFIGS)),
    Migration(
        6,
        "feedback monitors, their deliveries and leases",
        (MONITORS, MONITOR_STATES, MONITOR_DELIVERIES, LEASES),
    ),
)


# An INSERT returns once its part is on disk (fsynced, with its directory), as SQLite's
# synchronous=FULL commits: acknowledged means it survives a power cut, not only a killed process.
_DURABLE = "SETTINGS fsync_after_insert = 1, fsync_part_directory = 1"


def migration_ddl(migration: Migration, *, cluster: str | None = None) -> list[str]:
    """The statements of one migration: plain tables, or with `cluster` replicated tables on every node
    of the cluster (`ON CLUSTER`) behind Distributed tables of the same names."""
    statements: list[str] = []
    for table in migration.tables:
        statements.extend(_table_ddl(table, cluster))
    return statements


def _table_ddl(table: Table, cluster: str | None) -> list[str]:
    settings = f"{_DURABLE}, {table.settings}" if table.settings else _DURABLE
    body = ",\n    ".join([*(f"{name} {kind}" for name, kind in table.columns), *table.indexes])
    engine_args = "version, deleted" if table.versioned else ""
    order_by = ", ".join(table.order_by)
    if cluster is None:
        return [
            f"CREATE TABLE IF NOT EXISTS {table.name} (\n    {body}\n)\n"
            f"ENGINE = ReplacingMergeTree({engine_args})\nORDER BY ({order_by})\n{settings}"
        ]
    local = f"{table.name}_local"
    replicated = f"'/clickhouse/tables/{{shard}}/{{database}}/{local}', '{{replica}}'"
    return [
        f"CREATE TABLE IF NOT EXISTS {local} ON CLUSTER {cluster} (\n    {body}\n)\n"
        f"ENGINE = ReplicatedReplacingMergeTree({replicated}, {engine_args})\n"
        f"ORDER BY ({order_by})\n{settings}",
        # Rows of one key land on one shard, so FINAL on each shard sees every version of them.
        f"CREATE TABLE IF NOT EXISTS {table.name} ON CLUSTER {cluster} AS {local}\n"
        f"ENGINE = Distributed({cluster}, currentDatabase(), {local}, {table.shard_by})",
    ]


async def apply_migrations(db: Connection, *, cluster: str | None = None) -> None:
    """Apply the migrations not applied yet, in order, recording each in MIGRATIONS_TABLE."""
    on_cluster = f" ON CLUSTER {cluster}" if cluster else ""
    await db.command(
        f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE}{on_cluster} "
        "(version UInt32, description String, applied_at_ms Int64) "
        "ENGINE = ReplacingMergeTree ORDER BY version"
    )
    applied = {int(v) for (v,) in await db.rows(f"SELECT version FROM {MIGRATIONS_TABLE}")}
    for migration in MIGRATIONS:
        if migration.version in applied:
            continue
        for statement in migration_ddl(migration, cluster=cluster):
            await db.command(statement)
        row = (migration.version, migration.description, now_ms())

        def record(session: WriteSession, row: tuple[int, str, int] = row) -> None:
            session.insert(MIGRATIONS_TABLE, ("version", "description", "applied_at_ms"), [row])

        await db.write(record)
