"""The storage port: the interface every backend implements, and the rows it returns.

Every call that touches tenant data takes `org_id` as a keyword: another organization's data
is simply not found. Backends own their query language; nothing above this module sees SQL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from heliograph.domain.breakdown import FeedbackCounts
from heliograph.domain.feedback_values import (
    FeedbackConfig,
    FeedbackEntry,
    FeedbackQuery,
    FeedbackRecord,
    FeedbackTotals,
    FeedbackValue,
)
from heliograph.domain.filters import FilterNode
from heliograph.domain.metrics import SessionMetrics
from heliograph.domain.monitors import Delivery, Monitor, MonitorSpec, MonitorStatus, WindowRecord
from heliograph.domain.records import RequestRecord
from heliograph.domain.requests import RequestQuery
from heliograph.domain.sessions import SessionQuery

__all__ = [
    "COPIED_TABLES",
    "ApiKeyInfo",
    "Organization",
    "PropertyTotal",
    "ScoreCount",
    "SessionActivity",
    "SessionMark",
    "SessionNameSummary",
    "SessionSummary",
    "SessionTotals",
    "Store",
    "StoredApiKey",
    "StoredRequest",
]


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    id: str
    org_id: str
    org_name: str
    prefix: str
    name: str
    created_at_ms: int
    revoked_at_ms: int | None


@dataclass(frozen=True, slots=True)
class Organization:
    id: str
    name: str
    created_at_ms: int


@dataclass(frozen=True, slots=True)
class StoredApiKey:
    """A key as stored (its hash, never the key), for copying between stores."""

    info: ApiKeyInfo
    key_hash: str


@dataclass(frozen=True, slots=True)
class SessionMark:
    """What a person set on a session: its rating and its tag (None when unset)."""

    session_id: str
    rating: bool | None
    tag: str | None


# What `heliograph copy` counts on both sides, per organization (`Store.copy_counts`).
COPIED_TABLES = ("requests", "properties", "scores", "feedback", "tags", "feedback_records", "monitors")


@dataclass(frozen=True, slots=True)
class StoredRequest:
    record: RequestRecord
    scores: dict[str, int]


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """A session's rollup: every aggregate covers all of its requests."""

    session_id: str
    name: str
    first_request_id: str
    created_at_ms: int
    latest_request_created_at_ms: int
    request_count: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_nano_usd: int
    latency_sum_ms: int
    feedback: bool | None
    user_ids: list[str]

    @property
    def avg_latency_ms(self) -> float:
        return self.latency_sum_ms / self.request_count if self.request_count else 0.0


@dataclass(frozen=True, slots=True)
class SessionTotals:
    """Sums over a set of sessions."""

    session_count: int
    cost_nano_usd: int
    latency_sum_ms: int
    request_count: int


@dataclass(frozen=True, slots=True)
class SessionActivity:
    """Sessions started in one time bucket, and how they were rated."""

    bucket_start_ms: int
    sessions: int
    positive: int
    negative: int


@dataclass(frozen=True, slots=True)
class SessionNameSummary:
    """The sessions that share one name."""

    name: str
    first_used_ms: int
    last_used_ms: int
    latency_sum_ms: int
    request_count: int
    session_count: int


@dataclass(frozen=True, slots=True)
class PropertyTotal:
    """The requests carrying one value of a property (in one time bucket, when bucketed)."""

    value: str
    bucket_start_ms: int | None
    request_count: int
    cost_nano_usd: int


@dataclass(frozen=True, slots=True)
class ScoreCount:
    """How many requests (in one time bucket, when bucketed) have one value of one score."""

    name: str
    value: int
    bucket_start_ms: int | None
    count: int


class Store(Protocol):
    """What the domain, API and ingest layers need from a database."""

    async def ping(self) -> None:
        """Raise if the database cannot be reached."""

    async def close(self) -> None: ...

    async def migrate(self) -> None:
        """Create the schema, or bring it up to the newest version."""

    async def refresh_statistics(self) -> None:
        """Bring the query planner's statistics up to date where the database does not do it itself."""

    # Organizations and keys
    async def ensure_org(self, *, name: str) -> str:
        """The id of the organization called `name`, created if missing."""

    async def add_api_key(self, *, org_id: str, key_hash: str, prefix: str, name: str) -> ApiKeyInfo: ...

    async def list_api_keys(self, *, org_name: str | None = None) -> list[ApiKeyInfo]: ...

    async def revoke_api_key(self, *, key_id: str) -> bool:
        """Revoke by id or display prefix; False when nothing matched."""

    async def start_sign_in(self, *, key_hash: str, idle_ms: int) -> str:
        """Record a dashboard sign-in with the key of `key_hash`; its random id, for the cookie.
        Sign-ins unused for `idle_ms` may be deleted meanwhile."""

    async def continue_sign_in(self, *, sign_in_id: str, idle_ms: int) -> str | None:
        """The key hash of a sign-in used within `idle_ms`, which this use keeps alive; None if it
        was ended, idled out or never existed."""

    async def end_sign_in(self, *, sign_in_id: str) -> None:
        """End a sign-in (signing out); nothing happens for an unknown id."""

    async def org_for_key_hash(self, key_hash: str) -> str | None:
        """The organization of an active key, or None."""

    # Ingestion
    async def insert_requests(self, records: Sequence[RequestRecord]) -> None:
        """Store a batch in one transaction with its properties and session rollups.

        A record whose (org, request id) is already stored is skipped, so client retries are safe.
        """

    # Requests
    async def get_request(self, *, org_id: str, request_id: str) -> StoredRequest | None: ...

    async def set_request_property(self, *, org_id: str, request_id: str, key: str, value: str) -> bool:
        """Upsert one property; False when the request is not found."""

    async def set_request_scores(self, *, org_id: str, request_id: str, values: Mapping[str, int]) -> bool:
        """Upsert scores; False when the request is not found."""

    async def delete_request(self, *, org_id: str, request_id: str) -> bool:
        """Delete a request with its properties and scores, and fold it out of its session (which goes
        when it has no request left); False if the organization has no such request."""

    # Sessions
    async def delete_session(self, *, org_id: str, session_id: str) -> bool:
        """Delete a session with all its requests, their properties and scores, its users, tag and
        feedback; False if the organization has no such session."""

    async def set_session_feedback(self, *, org_id: str, session_id: str, rating: bool | None) -> str | None:
        """Set (or with None delete) the `rating` record of rater `api` (source `api`) on a session.

        Returns the session's first request id, or None when the session has no request in this
        organization. As with every change to a `rating` record, the session's feedback (its rollup,
        and the property on its first request) becomes the newest boolean `rating` of any rater.
        """

    async def rate_sessions(self, *, org_id: str, ratings: Mapping[str, bool]) -> int:
        """Set many sessions' `api` ratings at once (a seed, a copy), as `set_session_feedback` would each;
        returns how many of the sessions exist in this organization (the others are left alone)."""

    # Feedback records and configs
    async def put_feedback(self, *, org_id: str, entry: FeedbackEntry) -> FeedbackRecord | None:
        """Store a record, or update the one with the same (session, request, name, rater), keeping its
        creation time. None (and nothing stored) when the session, or `entry.request_id` within that
        session, has no request in this organization. A `rating` updates the session's feedback."""

    async def query_feedback(self, *, org_id: str, query: FeedbackQuery) -> list[FeedbackRecord]:
        """A page of matching records, newest update first (ties by id)."""

    async def delete_feedback(self, *, org_id: str, feedback_id: str) -> bool:
        """Delete one record (a `rating` updates the session's feedback); False when absent."""

    async def feedback_totals(self, *, org_id: str, session_ids: Sequence[str]) -> dict[str, FeedbackTotals]:
        """The records of each of `session_ids` that has any (the others are absent)."""

    async def feedback_observations(
        self, *, org_id: str, query: SessionQuery, dimension: str, name: str, limit: int
    ) -> list[tuple[str, FeedbackValue]]:
        """(value of `dimension`, record value) for each record of `name` on each matching session, once
        per value of `dimension` its requests carry (as `feedback_by_value` counts sessions); at most
        `limit` pairs."""

    async def put_feedback_config(self, *, org_id: str, config: FeedbackConfig) -> None:
        """Create or replace the config of `config.name`."""

    async def list_feedback_configs(self, *, org_id: str) -> list[FeedbackConfig]: ...

    async def restore_feedback(self, *, org_id: str, records: Sequence[FeedbackRecord]) -> None:
        """Store copied records as they are (ids and times kept, an existing id overwritten), then give
        each of their sessions with a `rating` record the newest boolean rating (`heliograph copy`)."""

    async def get_session(self, *, org_id: str, session_id: str) -> SessionSummary | None: ...

    async def session_requests(self, *, org_id: str, session_id: str) -> list[StoredRequest]:
        """All requests of a session, oldest first (ties broken by request id)."""

    async def query_sessions(self, *, org_id: str, query: SessionQuery) -> list[SessionSummary]:
        """A page of matching sessions, newest first (ties by session id, descending)."""

    async def count_sessions(self, *, org_id: str, query: SessionQuery) -> SessionTotals:
        """Totals over every matching session (the page in `query` is ignored)."""

    async def session_names(
        self, *, org_id: str, query: SessionQuery, limit: int
    ) -> list[SessionNameSummary]:
        """Matching sessions grouped by name, most recently used first."""

    async def session_metrics(
        self, *, org_id: str, query: SessionQuery, fraction: float, interquartile: bool
    ) -> SessionMetrics:
        """Distributions of request count, duration and cost over the matching sessions (domain.metrics)."""

    async def feedback_by_value(
        self, *, org_id: str, query: SessionQuery, dimension: str, limit: int
    ) -> list[FeedbackCounts]:
        """For each value of `dimension` (a property key, or model/provider) among the matching
        sessions' requests: how many sessions carry it and how they were rated; most sessions first."""

    async def sessions_over_time(
        self, *, org_id: str, query: SessionQuery, bucket_ms: int
    ) -> list[SessionActivity]:
        """Matching sessions by the bucket of their start time (epoch-aligned), oldest first."""

    async def get_session_tag(self, *, org_id: str, session_id: str) -> str | None: ...

    async def set_session_tag(self, *, org_id: str, session_id: str, tag: str) -> bool:
        """Tag a session; False when the session has no request in this organization."""

    async def query_requests(self, *, org_id: str, query: RequestQuery) -> list[StoredRequest]: ...

    async def count_requests(self, *, org_id: str, filter: FilterNode, is_scored: bool | None) -> int: ...

    # Properties and scores over the matching requests
    async def property_keys(self, *, org_id: str) -> list[str]:
        """Every property key the organization's requests carry, sorted."""

    async def property_totals(
        self, *, org_id: str, key: str, filter: FilterNode, bucket_ms: int | None, shift_ms: int = 0
    ) -> list[PropertyTotal]:
        """Request count and cost per value of property `key` among the matching requests; with
        `bucket_ms`, per value and bucket of `created_at + shift_ms` (bucket starts are unshifted)."""

    async def set_property_hidden(self, *, org_id: str, key: str, hidden: bool) -> None:
        """Hide a property key from the organization's property lists, or show it again."""

    async def hidden_property_keys(self, *, org_id: str) -> list[str]:
        """The property keys the organization hid, sorted."""

    async def score_counts(
        self, *, org_id: str, filter: FilterNode, bucket_ms: int | None, shift_ms: int = 0
    ) -> list[ScoreCount]:
        """Requests per (score name, value) among the matching requests, bucketed as property_totals."""

    # Copying between stores (`heliograph copy`): read everything in pages, write it back idempotently.
    async def list_organizations(self) -> list[Organization]: ...

    async def restore_organization(self, org: Organization) -> None:
        """Store `org` under its own id unless that id is stored; InvalidInput if its name has another id."""

    async def export_api_keys(self) -> list[StoredApiKey]: ...

    async def restore_api_key(self, key: StoredApiKey) -> None:
        """Store the key unless its id is stored; a key revoked in the source ends revoked here too."""

    async def export_requests(self, *, org_id: str, after: str | None, limit: int) -> list[StoredRequest]:
        """Requests by ascending id after `after`, with the properties set on them (session feedback is
        not among them: it comes with `export_session_marks`)."""

    async def export_session_marks(self, *, org_id: str) -> list[SessionMark]:
        """Every session with a rating or a tag."""

    async def copy_counts(self, *, org_id: str) -> dict[str, int]:
        """Stored rows per COPIED_TABLES name (properties without session feedback)."""

    # Feedback monitors and their webhooks (domain.monitors)
    async def feedback_window(
        self, *, org_id: str, filter: FilterNode, name: str, start_ms: int, end_ms: int, limit: int
    ) -> list[WindowRecord]:
        """The records of `name` updated in [start_ms, end_ms) on the sessions `filter` matches, newest
        update first, at most `limit`."""

    async def create_monitor(self, *, org_id: str, spec: MonitorSpec) -> Monitor:
        """Store a new monitor (state `insufficient_data`, never evaluated)."""

    async def restore_monitor(self, monitor: Monitor) -> None:
        """Store a copied monitor as it is (id, spec, times, status), so the target's evaluator goes on
        from its state and sends no second `firing`; nothing when the id is there already (copy)."""

    async def update_monitor(self, *, org_id: str, monitor_id: str, spec: MonitorSpec) -> Monitor | None:
        """Replace a monitor's spec, keeping its status; None when the organization has no such monitor."""

    async def get_monitor(self, *, org_id: str, monitor_id: str) -> Monitor | None: ...

    async def list_monitors(self, *, org_id: str | None) -> list[Monitor]:
        """The organization's monitors by creation time (every organization's with None: the evaluator)."""

    async def delete_monitor(self, *, org_id: str, monitor_id: str) -> bool:
        """Delete a monitor with its deliveries (pending ones are never sent); False when absent."""

    async def record_evaluation(
        self, *, org_id: str, monitor_id: str, status: MonitorStatus, delivery: Delivery | None
    ) -> bool:
        """Store a monitor's new status together with the delivery of its transition, if any. Nothing is
        stored (False) when the stored status has counted other transitions than `status.transitions`
        less one for a delivery (another evaluator got there first), or the monitor is gone. A delivery
        whose id is stored is kept as it is."""

    async def add_delivery(self, *, delivery: Delivery) -> None:
        """Store a new delivery (a test delivery)."""

    async def due_deliveries(self, *, now_ms: int, limit: int) -> list[Delivery]:
        """Pending deliveries of every organization whose next attempt is due, oldest due first."""

    async def update_delivery(self, *, delivery: Delivery) -> None:
        """Store the outcome of an attempt (status, attempts, next attempt, status code, error)."""

    async def list_deliveries(self, *, org_id: str, monitor_id: str, limit: int) -> list[Delivery]:
        """A monitor's deliveries, newest first."""

    async def take_lease(self, *, name: str, holder: str, ttl_ms: int) -> bool:
        """Take or keep the lease `name` for `ttl_ms` from now: True when `holder` holds it now (it was
        free, expired or already its own), False when another holder's lease is still running. Every
        process and server on one database sees one holder at a time (see each backend's limits)."""
