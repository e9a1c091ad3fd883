"""The fields of the filter language: every table and field of Helicone's filter schemas, declared once.

Each field is one row: the request or session value a store compares, a legacy name for one of them
(Helicone's old `request`, `response`, `feedback`, `properties` and `values` tables, mapped as
Helicone maps them), or a field Heliograph does not record, which compares against the value a
request row reports for it (null, or false for the cache and threat flags).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "FEEDBACK_TABLE",
    "FIELDS",
    "KEYED_TABLES",
    "LEGACY_FIELDS",
    "REQUEST_TABLE",
    "SESSION_TABLE",
    "TABLES",
    "UNSTORED",
    "FieldSpec",
    "Kind",
    "Unstored",
]

REQUEST_TABLE = "request_response_rmt"
SESSION_TABLE = "sessions_request_response_rmt"
# Heliograph's own: a session's feedback records (issue 17). A leaf means "the session has a record that
# matches" (for not-equals and not-contains: "has none that matches"). Helicone's legacy `feedback`
# table shares the name; its fields (rating, created_at, id, response_id) are others.
FEEDBACK_TABLE = "feedback"

# A score compares as a number, or as its text under the text operators (Helicone's scores are text).
Kind = Literal["text", "number", "timestamp", "bool", "score"]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """A filterable field: keyed ones take a sub-key (`properties.<key>`), usd ones become nano-USD."""

    table: str
    name: str
    kind: Kind
    keyed: bool = False
    usd: bool = False
    equals_only: bool = False


@dataclass(frozen=True, slots=True)
class Unstored:
    """A field Heliograph does not record: every request reports `reported` for it."""

    kind: Kind
    reported: bool | None = None


def _request(name: str, kind: Kind, **extra: bool) -> FieldSpec:
    return FieldSpec(REQUEST_TABLE, name, kind, **extra)


def _session(name: str, kind: Kind, **extra: bool) -> FieldSpec:
    return FieldSpec(SESSION_TABLE, name, kind, **extra)


def _feedback(name: str, kind: Kind, **extra: bool) -> FieldSpec:
    return FieldSpec(FEEDBACK_TABLE, name, kind, **extra)


FIELDS: dict[tuple[str, str], FieldSpec] = {
    (spec.table, spec.name): spec
    for spec in (
        _request("properties", "text", keyed=True),
        _request("property_key", "text", equals_only=True),
        _request("scores", "score", keyed=True),
        _request("scores_column", "text"),  # the name of one of the request's scores
        _request("helicone-score-feedback", "bool"),
        _request("model", "text"),
        _request("provider", "text"),
        _request("user_id", "text"),
        _request("request_id", "text"),
        _request("organization_id", "text"),
        _request("status", "number"),
        _request("latency", "number"),
        _request("time_to_first_token", "number"),
        _request("prompt_tokens", "number"),
        _request("completion_tokens", "number"),
        _request("total_tokens", "number"),
        _request("prompt_cache_read_tokens", "number"),
        _request("prompt_cache_write_tokens", "number"),
        _request("cost", "number", usd=True),
        _request("request_created_at", "timestamp"),
        _request("response_created_at", "timestamp"),
        _request("target_url", "text"),
        _request("request_body", "text"),
        _request("response_body", "text"),
        _session("session_session_id", "text"),
        _session("session_session_name", "text"),
        _session("session_total_cost", "number", usd=True),
        _session("session_total_tokens", "number"),
        _session("session_prompt_tokens", "number"),
        _session("session_completion_tokens", "number"),
        _session("session_total_requests", "number"),
        _session("session_created_at", "timestamp"),
        _session("session_latest_request_created_at", "timestamp"),
        _session("session_tag", "text"),
        _feedback("name", "text"),
        _feedback("rater", "text"),
        _feedback("source", "text"),
        _feedback("value", "number", keyed=True),  # value.<name>: a number, or a boolean as 1 or 0
        _feedback("label", "text", keyed=True),  # label.<name>: the label of a categorical record
        _feedback("has_comment", "bool"),
    )
}

_NULL_TEXT = Unstored("text")
UNSTORED: dict[tuple[str, str], Unstored] = {
    (REQUEST_TABLE, "assets"): _NULL_TEXT,
    (REQUEST_TABLE, "cache_enabled"): Unstored("bool", False),
    (REQUEST_TABLE, "cache_reference_id"): _NULL_TEXT,
    (REQUEST_TABLE, "cached"): Unstored("bool", False),
    (REQUEST_TABLE, "country_code"): _NULL_TEXT,
    (REQUEST_TABLE, "is_passthrough_billing"): Unstored("bool", False),
    (REQUEST_TABLE, "job_id"): _NULL_TEXT,
    (REQUEST_TABLE, "node_id"): _NULL_TEXT,
    (REQUEST_TABLE, "prompt_id"): _NULL_TEXT,
    (REQUEST_TABLE, "prompt_version"): _NULL_TEXT,
    (REQUEST_TABLE, "request_referrer"): _NULL_TEXT,
    (REQUEST_TABLE, "threat"): Unstored("bool", False),
    ("request", "auth_hash"): _NULL_TEXT,
    ("request", "country_code"): _NULL_TEXT,
    ("request", "modelOverride"): _NULL_TEXT,
    ("request", "node_id"): _NULL_TEXT,
    ("request", "prompt_id"): _NULL_TEXT,
    ("feedback", "created_at"): Unstored("timestamp"),
    ("feedback", "id"): Unstored("number"),
    ("feedback", "response_id"): _NULL_TEXT,
}

# Helicone's legacy tables: (table, field) -> the request_response_rmt field it means.
LEGACY_FIELDS: dict[tuple[str, str], str] = {
    ("request", "created_at"): "request_created_at",
    ("request", "id"): "request_id",
    ("request", "model"): "model",
    ("request", "org_id"): "organization_id",
    ("request", "path"): "target_url",
    ("request", "prompt"): "request_body",
    ("request", "user_id"): "user_id",
    ("response", "body_completion"): "response_body",
    ("response", "body_model"): "model",
    ("response", "body_tokens"): "completion_tokens",
    ("response", "model"): "model",
    ("response", "status"): "status",
    ("feedback", "rating"): "helicone-score-feedback",
    # Helicone's search_properties is its properties under another name.
    (REQUEST_TABLE, "search_properties"): "properties",
}
# Tables whose fields are keys: a property (`properties`), a prompt input (`values`, never recorded).
KEYED_TABLES: dict[str, FieldSpec | Unstored] = {
    "properties": FIELDS[(REQUEST_TABLE, "properties")],
    "values": Unstored("text"),
}
TABLES = (REQUEST_TABLE, SESSION_TABLE, "request", "response", FEEDBACK_TABLE, *KEYED_TABLES)
