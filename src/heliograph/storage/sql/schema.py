"""SQLAlchemy Core tables, shared by SQLite and PostgreSQL (migrations create exactly these).

Times are UTC epoch milliseconds (BigInteger); money is integer nano-USD (USD x 1e9).
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "PROPERTY_VALUE_PREFIX_CHARS",
    "api_keys",
    "dashboard_sign_ins",
    "feedback_configs",
    "feedback_records",
    "hidden_properties",
    "leases",
    "metadata",
    "monitor_deliveries",
    "monitors",
    "organizations",
    "properties",
    "property_value_prefix",
    "requests",
    "scores",
    "session_duration_ms",
    "session_tags",
    "session_users",
    "sessions",
]

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ORG_ID = sa.String(36)
REQUEST_ID = sa.String(36)
SESSION_ID = sa.String(256)

organizations = sa.Table(
    "organizations",
    metadata,
    sa.Column("id", ORG_ID, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("created_at_ms", sa.BigInteger, nullable=False),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("org_id", ORG_ID, sa.ForeignKey("organizations.id"), nullable=False, index=True),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(32), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at_ms", sa.BigInteger, nullable=False),
    sa.Column("revoked_at_ms", sa.BigInteger, nullable=True),
)

# A dashboard sign-in, named by the random id its signed cookie carries: signing out deletes it, and
# it ends when unused for the idle timeout (rows idle that long are deleted at the next sign-in).
dashboard_sign_ins = sa.Table(
    "dashboard_sign_ins",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("key_hash", sa.String(64), nullable=False),
    sa.Column("created_at_ms", sa.BigInteger, nullable=False),
    sa.Column("last_seen_at_ms", sa.BigInteger, nullable=False, index=True),
)

requests = sa.Table(
    "requests",
    metadata,
    sa.Column("org_id", ORG_ID, primary_key=True),
    sa.Column("request_id", REQUEST_ID, primary_key=True),
    sa.Column("created_at_ms", sa.BigInteger, nullable=False),
    sa.Column("response_created_at_ms", sa.BigInteger, nullable=False),
    sa.Column("latency_ms", sa.BigInteger, nullable=False),
    sa.Column("time_to_first_token_ms", sa.BigInteger, nullable=True),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("model", sa.Text, nullable=False),
    sa.Column("request_model", sa.Text, nullable=True),
    sa.Column("user_id", sa.Text, nullable=True),
    sa.Column("prompt_tokens", sa.BigInteger, nullable=False),
    sa.Column("completion_tokens", sa.BigInteger, nullable=False),
    sa.Column("total_tokens", sa.BigInteger, nullable=False),
    sa.Column("cache_read_tokens", sa.BigInteger, nullable=False),
    sa.Column("cache_write_tokens", sa.BigInteger, nullable=False),
    sa.Column("cost_nano_usd", sa.BigInteger, nullable=False),
    sa.Column("cost_known", sa.Boolean, nullable=False),
    sa.Column("target_url", sa.Text, nullable=False),
    # Denormalised from the Helicone-Session-* properties so a session's requests are one index range.
    sa.Column("session_id", SESSION_ID, nullable=True),
    sa.Column("session_path", sa.Text, nullable=True),
    sa.Column("request_body", sa.Text, nullable=False),
    sa.Column("response_body", sa.Text, nullable=False),
    sa.Index("ix_requests_org_created", "org_id", "created_at_ms", "request_id"),
    sa.Index("ix_requests_org_session", "org_id", "session_id", "created_at_ms", "request_id"),
)

# Property values may be 4 KiB, more than a PostgreSQL btree entry holds, so the (org, key, value)
# index covers a prefix of the value; equality filters test the prefix (indexed) and the full value.
PROPERTY_VALUE_PREFIX_CHARS = 128


def property_value_prefix(value: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
    """The indexed prefix of a property value; use the same expression in queries to hit the index."""
    return sa.func.substr(value, 1, PROPERTY_VALUE_PREFIX_CHARS)


properties = sa.Table(
    "properties",
    metadata,
    sa.Column("org_id", ORG_ID, primary_key=True),
    sa.Column("request_id", REQUEST_ID, primary_key=True),
    sa.Column("key", sa.String(256), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    # The request's session, copied from it: a session query's property filter then probes one index
    # range per session instead of one per request of the session.
    sa.Column("session_id", SESSION_ID, nullable=True),
)
sa.Index(
    "ix_properties_org_key_value",
    properties.c.org_id,
    properties.c.key,
    property_value_prefix(properties.c.value),
)
sa.Index(
    "ix_properties_org_session_key_value",
    properties.c.org_id,
    properties.c.session_id,
    properties.c.key,
    property_value_prefix(properties.c.value),
)

scores = sa.Table(
    "scores",
    metadata,
    sa.Column("org_id", ORG_ID, primary_key=True),
    sa.Column("request_id", REQUEST_ID, primary_key=True),
    sa.Column("key", sa.String(256), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
    sa.Index("ix_scores_org_key_value", "org_id", "key", "value"),
)

# One row per session, maintained in the same transaction as its requests (see store.py).
sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("org_id", ORG_ID, primary_key=True),
    sa.Column("session_id", SESSION_ID, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("name_at_ms", sa.BigInteger, nullable=False),  # created_at of the request that named it
    sa.Column("first_request_id", REQUEST_ID, nullable=False),
    sa.Column("first_created_at_ms", sa.BigInteger, nullable=False),
    sa.Column("last_created_at_ms", sa.BigInteger, nullable=False),
    sa.Column("request_count", sa.BigInteger, nullable=False),
    sa.Column("prompt_tokens", sa.BigInteger, nullable=False),
    sa.Column("completion_tokens", sa.BigInteger, nullable=False),
    sa.Column("total_tokens", sa.BigInteger, nullable=False),
    sa.Column("cost_nano_usd", sa.BigInteger, nullable=False),
    sa.Column("latency_sum_ms", sa.BigInteger, nullable=False),
    sa.Column("feedback", sa.SmallInteger, nullable=True),  # 1 positive, 0 negative, NULL none
    sa.Column("feedback_at_ms", sa.BigInteger, nullable=True),
    sa.Index("ix_sessions_org_created", "org_id", "first_created_at_ms", "session_id"),
    # The metrics endpoint reads order statistics (ranks, bounds, ranges) of these three per session.
    sa.Index("ix_sessions_org_request_count", "org_id", "request_count"),
    sa.Index("ix_sessions_org_cost", "org_id", "cost_nano_usd"),
)
# A session's duration; the expression index below serves queries that spell it exactly so.
session_duration_ms: sa.ColumnElement[int] = sessions.c.last_created_at_ms - sessions.c.first_created_at_ms
sa.Index("ix_sessions_org_duration", sessions.c.org_id, session_duration_ms)

session_users = sa.Table(
    "session_users",
    metadata,
    sa.Column("org_id", ORG_ID, primary_key=True),
    sa.Column("session_id", SESSION_ID, primary_key=True),
    sa.Column("user_id", sa.Text, primary_key=True),
)

session_tags = sa.Table(
    "session_tags",
    metadata,
    sa.Column("org_id", ORG_ID, primary_key=True),
    sa.Column("session_id", SESSION_ID, primary_key=True),
    sa.Column("tag", sa.Text, nullable=False),
    sa.Column("tagged_at_ms", sa.BigInteger, nullable=False),
)

# Property keys an organization hid from its property lists (Helicone's hide and restore).
hidden_properties = sa.Table(
    "hidden_properties",
    metadata,
    sa.Column("org_id", ORG_ID, primary_key=True),
    sa.Column("key", sa.String(256), primary_key=True),
    sa.Column("hidden_at_ms", sa.BigInteger, nullable=False),
)

# One row per (session, request, name, rater); `request_id` is '' for a record on the whole session, so
# the unique key holds without NULLs. `id` is derived from that key (domain.feedback_values.feedback_id).
# A value is kept by kind: a boolean as `number` 1 or 0, a number in `number`, a label in `label`.
feedback_records = sa.Table(
    "feedback_records",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("org_id", ORG_ID, nullable=False),
    sa.Column("session_id", SESSION_ID, nullable=False),
    sa.Column("request_id", sa.String(36), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("rater", sa.String(256), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("number", sa.Float, nullable=True),
    sa.Column("label", sa.String(64), nullable=True),
    sa.Column("comment", sa.Text, nullable=True),
    sa.Column("created_at_ms", sa.BigInteger, nullable=False),
    sa.Column("updated_at_ms", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("org_id", "session_id", "request_id", "name", "rater"),
    sa.Index("ix_feedback_records_org_name_updated", "org_id", "name", "updated_at_ms"),
    sa.Index("ix_feedback_records_org_updated", "org_id", "updated_at_ms"),
)

feedback_configs = sa.Table(
    "feedback_configs",
    metadata,
    sa.Column("org_id", ORG_ID, primary_key=True),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("min_value", sa.Float, nullable=True),
    sa.Column("max_value", sa.Float, nullable=True),
    sa.Column("labels", sa.Text, nullable=False),  # a JSON array of strings
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("updated_at_ms", sa.BigInteger, nullable=False),
)

# A feedback monitor (domain.monitors): its spec, and the status of its last evaluation, which only the
# evaluator writes (an edit changes the spec columns alone). `transitions` numbers its changes into and
# out of `firing`; a change is written only where the stored count is the one the evaluator read.
monitors = sa.Table(
    "monitors",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("org_id", ORG_ID, nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("feedback_name", sa.String(64), nullable=False),
    sa.Column("metric", sa.String(16), nullable=False),
    sa.Column("operator", sa.String(4), nullable=False),
    sa.Column("threshold", sa.Float, nullable=False),
    sa.Column("window_s", sa.BigInteger, nullable=False),
    sa.Column("min_rated", sa.BigInteger, nullable=False),
    sa.Column("filter", sa.Text, nullable=True),  # JSON text
    sa.Column("webhook_url", sa.Text, nullable=False),
    sa.Column("webhook_secret", sa.Text, nullable=False),
    sa.Column("created_at_ms", sa.BigInteger, nullable=False),
    sa.Column("updated_at_ms", sa.BigInteger, nullable=False),
    sa.Column("state", sa.String(24), nullable=False),
    sa.Column("value", sa.Float, nullable=True),
    sa.Column("rated", sa.BigInteger, nullable=False),
    sa.Column("evaluated_at_ms", sa.BigInteger, nullable=True),
    sa.Column("transitions", sa.BigInteger, nullable=False),
)

# One webhook of a monitor; `body` is sent as it is on every attempt (each with a fresh signature).
monitor_deliveries = sa.Table(
    "monitor_deliveries",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("org_id", ORG_ID, nullable=False),
    sa.Column("monitor_id", sa.String(36), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.BigInteger, nullable=False),
    sa.Column("next_attempt_at_ms", sa.BigInteger, nullable=False),
    sa.Column("status_code", sa.Integer, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_at_ms", sa.BigInteger, nullable=False),
    sa.Column("updated_at_ms", sa.BigInteger, nullable=False),
    sa.Index("ix_monitor_deliveries_org_monitor", "org_id", "monitor_id", "created_at_ms"),
    sa.Index("ix_monitor_deliveries_status_next", "status", "next_attempt_at_ms"),
)

# Who does a job that one process of all those on the database must do (the monitor evaluator, the
# webhook sender), until when; taken by an UPDATE conditional on expiry (sql/monitors.py).
leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("holder", sa.String(64), nullable=False),
    sa.Column("expires_at_ms", sa.BigInteger, nullable=False),
)
